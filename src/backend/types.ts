/**
 * The seam between the mathematics and the hardware: batched reductions over points.
 * EM and MLE call these; the CPU backend implements them with Float64Array loops, and a GPU
 * backend can implement the same list for many replicates at once.
 */
import type { Dataset } from '../data/dataset.js';
import type { GaussianExperts } from '../experts/gaussian-linear.js';

export interface Backend {
  readonly name: string;
  /**
   * E-step with sufficient statistics, from gate weights G (n x k) at the current gate parameters:
   *   R_ni = G_i(x_n) N(y_n | a_i.x_n + b_i, nu_i) / p(y_n | x_n)                  (into R, n x k)
   *   stats: per expert the centred weighted statistics of `expertStatsSize` (experts/)
   *   returns L = sum_n log p(y_n | x_n).
   * `logWeightsAt(row, out)` gives exact log-weights of one point for the rare rows where the
   * probability-space computation would underflow.
   */
  eStep(
    data: Dataset,
    G: Float64Array,
    experts: GaussianExperts,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
  ): number;
}
