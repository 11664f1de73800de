/**
 * Plain-data types of a Gaussian mixture of experts (spec: models.md).
 *
 *   p(y | x) = sum_{i=1..k} G_i(x) N(y | a_i.x + b_i, nu_i)
 *
 * nu is a VARIANCE, not a standard deviation.
 */

/** One expert with its gating parameters. beta1 and a have length d. */
export interface Expert {
  /** gating intercept */
  beta0: number;
  /** gating slope (length d) */
  beta1: number[];
  /** expert slope (length d) */
  a: number[];
  /** expert intercept */
  b: number;
  /** expert variance, > 0 */
  nu: number;
}

export type Activation = 'tanh' | 'sigmoid' | 'gelu' | 'identity' | 'relu';
export const ACTIVATIONS: readonly Activation[] = ['tanh', 'sigmoid', 'gelu', 'identity', 'relu'];

export interface SoftmaxGateSpec {
  type: 'softmax';
}
export interface TopKGateSpec {
  type: 'topk';
  /** number of experts kept at each x, 1..k */
  K: number;
  /** ranking score: 'slope' ranks by beta1.x (default), 'logit' by beta1.x + beta0 */
  rankBy: 'slope' | 'logit';
}
export interface TemperatureGateSpec {
  type: 'temperature';
  /** temperature, > 0: G = softmax((beta1.x + beta0) / tau) */
  tau: number;
}
export interface ActivationGateSpec {
  type: 'activation';
  activation: Activation;
  /** temperature, > 0: G = softmax(sigma(beta1.x) / tau + beta0) */
  tau: number;
}
export type GateSpec = SoftmaxGateSpec | TopKGateSpec | TemperatureGateSpec | ActivationGateSpec;
export type GateType = GateSpec['type'];

export interface UniformInput {
  type: 'uniform';
  low: number;
  high: number;
  dim: number;
}
export interface GridInput {
  type: 'grid';
  low: number;
  high: number;
  dim: 1;
}
export interface NormalInput {
  type: 'normal';
  /** length dim */
  mean: number[];
  /** dim x dim, symmetric positive definite */
  cov: number[][];
  dim: number;
}
export type InputSpec = UniformInput | GridInput | NormalInput;

/** A full model: gate, experts and input design (the JSON model file). */
export interface Model {
  gate: GateSpec;
  experts: Expert[];
  input: InputSpec;
}

/** Dimension d of the inputs of a model. */
export function modelDim(model: Model): number {
  return model.input.dim;
}

/** The gate temperature where the gate has one (temperature, activation), else undefined. */
export function gateTau(gate: GateSpec): number | undefined {
  return gate.type === 'temperature' || gate.type === 'activation' ? gate.tau : undefined;
}
