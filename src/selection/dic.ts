/**
 * The dendrogram information criterion (docs/selection.md, "DIC"; Do et al., arXiv 2403.01684,
 * adapted to SGMoE in arXiv 2510.12744). For the level with kappa atoms (kappa >= 2),
 *
 *   DIC(kappa) = -( h(kappa) + omega_n * L(kappa) / n ),
 *
 * h(kappa) the height of the merge that leaves the level (kappa -> kappa - 1 atoms), L(kappa) the
 * log-likelihood of the level's (merged, not refitted) model on the data and omega_n = log n by
 * default. Smaller is better; the chosen kappa is the argmin (ties: the smaller kappa). The level
 * with one atom has no merge height and is not a candidate.
 */

/** The default omega_n = log n. */
export function defaultOmega(n: number): number {
  return Math.log(n);
}

/**
 * DIC of one level.
 * @param height h(kappa) >= 0
 * @param loglik L(kappa) on the n points
 * @param n sample size >= 1
 * @param omega omega_n > 0 (default log n)
 * @example dicValue(2, -500, 1000, Math.log(1000)) // => -(2 + log(1000) * -0.5) = 1.4539
 */
export function dicValue(height: number, loglik: number, n: number, omega = defaultOmega(n)): number {
  return -(height + (omega * loglik) / n);
}
