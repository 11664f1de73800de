/**
 * The seam between the mathematics and the hardware: batched reductions over points.
 * EM and MLE call these; the CPU backend implements them with Float64Array loops, and a GPU
 * backend can implement the same list for many replicates at once.
 */
import type { Dataset } from '../data/dataset.js';
import type { ExpertParameters } from '../experts/types.js';
import type { Gate } from '../gates/types.js';

/**
 * The kernel list every backend implements (the EM engine, the gate M-step and the MLE call
 * these and nothing else that loops over points). The gate methods run the gate's own formulas
 * (gates/types.ts) over a batch; a backend decides where and how.
 */
/** Buffers of one fit (n x k each) that a backend's kernels read and write in place. */
export interface FitBuffers {
  /** gate weights at the current gate parameters */
  G: Float64Array;
  /** responsibilities of the last E-step */
  R: Float64Array;
  /** gate weights at a trial point of the gate's Newton step */
  Gtrial: Float64Array;
}

export interface Backend {
  readonly name: string;
  /**
   * Optional: buffers for a fit of k experts on `data`, placed where the kernels work (the CPU
   * backend's WASM kernels: views of their memory, so that no copy is made per iteration), or
   * null where plain arrays serve as well. Kernels accept any arrays either way.
   */
  fitBuffers?(data: Dataset, k: number): FitBuffers | null;
  /**
   * Optional: the E-step (as eStep) fused with the gate's Newton pass at theta: also linear =
   * sum R log-numerators, grad and H of Q at theta from the new R and the given G, what
   * gateNewtonPass(gate, theta, X, n, R, G, grad, H, 'fromWeights') gives after eStep, in one pass
   * over the points. Null (touching nothing) where the backend has no fused kernel for this gate
   * or these arrays.
   */
  eStepWithGatePass?(
    data: Dataset,
    G: Float64Array,
    experts: ExpertParameters,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
    gate: Gate,
    theta: Float64Array,
    grad: Float64Array,
    H: Float64Array,
  ): { L: number; linear: number } | null;
  /**
   * Optional: the sums of the stopping certificate (fitting/certificate.ts) over the points,
   * g = sum_n s_n and the upper triangle of J = sum_n s_n s_n', s_n the score of point n over
   * (free gate coordinates, a, b, log nu), from the responsibilities R and weights G of the E-step
   * at the current parameters. Returns false (touching nothing) where the backend has no kernel
   * for this gate or these arrays; the caller then runs its reference loop.
   */
  scoreSums?(
    gate: Gate,
    theta: Float64Array,
    free: Int32Array,
    experts: ExpertParameters,
    data: Dataset,
    R: Float64Array,
    G: Float64Array,
    g: Float64Array,
    J: Float64Array,
  ): boolean;
  /** G_i(x_n) at theta (n x k) */
  gateWeights(gate: Gate, theta: Float64Array, X: Float64Array, n: number, G: Float64Array): void;
  /**
   * Optional: gateWeights, returning also the log-normaliser sum lseSum = sum_n log sum_j
   * exp(u_nj) at theta that the gate's Newton pass ('evaluate') would give, bit for bit, or NaN
   * where the gate has no such pass. Lets the next M-step start from these weights without
   * recomputing them.
   */
  gateWeightsLse?(gate: Gate, theta: Float64Array, X: Float64Array, n: number, G: Float64Array): number;
  /** log G_i(x_n) at theta (n x k) */
  gateLogWeights(gate: Gate, theta: Float64Array, X: Float64Array, n: number, logG: Float64Array): void;
  /** Q(theta) = sum R log G, its gradient and (optionally) the weights at theta: Gate.objective */
  gateObjective(
    gate: Gate,
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    grad: Float64Array | null,
    G: Float64Array | null,
  ): number;
  /** Hessian of Q from the weights and responsibilities (gates with `hessian` only): Gate.hessian */
  gateHessian(gate: Gate, theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void;
  /** The fused Newton pass (gates with `newtonPass` only): Gate.newtonPass */
  gateNewtonPass(
    gate: Gate,
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    G: Float64Array,
    grad: Float64Array,
    H: Float64Array,
    variant: 'evaluate' | 'fromWeights' | 'trial',
  ): { linear: number; lseSum: number };
  /**
   * E-step with sufficient statistics, from gate weights G (n x k) at the current gate parameters:
   *   R_ni = G_i(x_n) f_i(y_n | x_n) / p(y_n | x_n)                  (into R, n x k)
   *   stats: per expert the weighted statistics of the experts' family (experts/types.ts,
   *   `statsSize`; for the Gaussian linear family the centred statistics of `expertStatsSize`)
   *   returns L = sum_n log p(y_n | x_n).
   * `logWeightsAt(row, out)` gives exact log-weights of one point for the rare rows where the
   * probability-space computation would underflow.
   */
  eStep(
    data: Dataset,
    G: Float64Array,
    experts: ExpertParameters,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
  ): number;
}
