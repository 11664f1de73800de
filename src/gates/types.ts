/**
 * The gate plug-in contract (spec: models.md, "Gates"). The EM engine, the MLE fitter and the
 * sampler call only these methods; adding a gate is one file implementing them plus one line in
 * `gates/index.ts`.
 *
 * Packed parameter vector theta (length nParams):
 *   theta[i]             = beta0_i                  i = 0..k-1
 *   theta[k + i*d + p]   = (beta1_i)_p              p = 0..d-1
 *   theta[k + k*d]       = log tau                  only when the gate's tau is fitted (free)
 * Batches of inputs are row-major Float64Array X (n x d); per-point-per-expert arrays are n x k.
 */
import type { GateSpec, GateType } from './registry.js';

/**
 * The gating parameters of one expert, as a model file holds them (models/types.ts Expert extends
 * it). Which fields an expert has is the gate's (GateDefinition.gating, gates/gating.ts): the
 * linear gates (softmax, topk, temperature, activation, sigmoid) have beta0 and beta1; the
 * gaussian gate has beta0, c and Gamma, and NO beta1 (the property is absent at run time, though
 * typed as present for the linear gates' many readers). Code that reads beta1 outside gates/
 * therefore first checks `gatingOf(def).linear` (or `requireLinearGating`) and refuses other
 * gates with a typed error; gating-generic code goes through GateDefinition.gating.
 */
export interface GatingParameters {
  /** gating intercept (gaussian gate: log pi_i up to a common shift) */
  beta0: number;
  /** gating slope (length d); absent for a gate whose gating has no slope (gaussian) */
  beta1?: number[];
  /** gaussian gate: the centre c_i (length d) */
  c?: number[];
  /** gaussian gate: the covariance Gamma_i (d x d, symmetric positive definite) */
  Gamma?: number[][];
}

export interface Gate {
  readonly type: GateType;
  /** number of experts */
  readonly k: number;
  /** input dimension */
  readonly d: number;
  /** length of the packed parameter vector */
  readonly nParams: number;
  /** index of log tau in theta, or -1 if the gate has no fitted temperature */
  readonly logTauIndex: number;
  /**
   * Trait: true when the gate selects experts (weights exactly 0 that depend on theta, top-K with
   * K < k). EM then keeps every point's selection (a step that would deselect an expert in use
   * makes Q = -Infinity), so its fixed points are maxima under that constraint; the stopping
   * certificate leaves out gate coordinates blocked by a selection boundary.
   */
  readonly selective?: boolean;

  /** Pack the gating parameters of `experts` (and tau of `spec` when free) into theta. */
  pack(experts: readonly GatingParameters[], spec: GateSpec): Float64Array;
  /**
   * Unpack theta into gating parameters and the gate spec (with the fitted tau, if any). A gate
   * whose gating fields are not (beta0, beta1) gives `gating` (each expert's full gating
   * parameters, beta1 absent) and an empty beta1 list.
   */
  unpack(theta: Float64Array): { beta0: number[]; beta1: number[][]; spec: GateSpec; gating?: GatingParameters[] };

  /** G_i(x_n) into G (n x k); rows sum to 1; exactly 0 for experts a sparse gate drops. */
  weights(theta: Float64Array, X: Float64Array, n: number, G: Float64Array): void;
  /** log G_i(x_n) into logG (n x k), by log-sum-exp; -Infinity for dropped experts. */
  logWeights(theta: Float64Array, X: Float64Array, n: number, logG: Float64Array): void;
  /**
   * The gating objective of the M-step, Q(theta) = sum_n sum_i R_ni log G_i(x_n; theta), for fixed
   * responsibilities R (n x k, rows summing to 1). Returns -Infinity when some R_ni > 0 has
   * G_i(x_n) = 0 (top-K). When `grad` is given it receives dQ/dtheta; when `G` is given it
   * receives the weights at theta.
   */
  objective(
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    grad: Float64Array | null,
    G: Float64Array | null,
  ): number;
  /**
   * Optional: the Hessian of Q in theta (nParams x nParams, row-major) from the weights G at theta
   * and the responsibilities R (rows summing to 1), for Newton M-steps. Where Q is not concave
   * (activation gates, a free temperature) the M-step damps the step (Levenberg-Marquardt).
   */
  hessian?(theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void;
  /**
   * Optional: the per-point gradients of the gating objective at theta, for the stopping
   * certificate (fitting/certificate.ts):
   *   S[n * nParams + t] = d/dtheta_t sum_i R_ni log G_i(x_n; theta)
   * from the weights G at theta and responsibilities R with rows summing to 1. Gates without it
   * are handled point by point through `objective`.
   */
  pointScores?(theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array, S: Float64Array): void;
  /**
   * Optional fast path for Newton M-steps (gates with linear logits): one pass giving
   * linear = sum R u, lseSum = sum_n log sum_j exp(u_nj) (so Q = linear - lseSum), the gradient and
   * the Hessian, for R with rows summing to 1. 'evaluate' writes the weights at theta into G;
   * 'fromWeights' reads G (weights at this theta, computed earlier), uses no exponential and
   * returns lseSum = NaN; 'trial' is 'evaluate' without the gradient and Hessian (grad and H may be
   * left untouched: for a trial point whose derivatives no later step reads). See
   * gates/linear-kernel.ts.
   */
  newtonPass?(
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    G: Float64Array,
    grad: Float64Array,
    H: Float64Array,
    variant: 'evaluate' | 'fromWeights' | 'trial',
  ): { linear: number; lseSum: number };
}

/** How a gate is fitted: which temperature mode. */
export interface GateOptions {
  /** 'known' (default): tau fixed at the spec's value; 'free': log tau is a parameter. */
  tau?: 'known' | 'free';
}
