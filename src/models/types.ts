/**
 * Plain-data types of a Gaussian mixture of experts (spec: models.md).
 *
 *   p(y | x) = sum_{i=1..k} G_i(x) N(y | a_i.x + b_i, nu_i)
 *
 * nu is a VARIANCE, not a standard deviation.
 */

import type { GatingParameters } from '../gates/types.js';
import type { GateSpec } from '../gates/registry.js';

export type { ActivationGateSpec } from '../gates/activation.js';
export type { GaussianGateSpec } from '../gates/gaussian.js';
export type { SigmoidGateSpec } from '../gates/sigmoid.js';
export type { SoftmaxGateSpec } from '../gates/softmax.js';
export type { TemperatureGateSpec } from '../gates/temperature.js';
export type { TopKGateSpec } from '../gates/topk.js';
export type { GateSpec, GateType } from '../gates/registry.js';
export { ACTIVATIONS, type Activation } from '../gates/activations.js';

/**
 * One expert with its gating parameters (the gate's fields, gates/types.ts GatingParameters:
 * beta0, beta1 of length d; the gaussian gate: beta0, c of length d, Gamma d x d and no beta1)
 * and its regression (a of length d, b, nu).
 */
export interface Expert extends GatingParameters {
  /** expert slope (length d) */
  a: number[];
  /** expert intercept */
  b: number;
  /** expert variance, > 0 */
  nu: number;
}

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

/** The gate temperature where the gate has one (the temperature trait), else undefined. */
export { specTau as gateTau } from '../gates/registry.js';
