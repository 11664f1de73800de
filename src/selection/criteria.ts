/**
 * Information criteria, all "smaller is better", in the -2 L + penalty convention
 * (docs/selection.md, "Criteria"):
 *
 *   AIC = -2 L + 2 p
 *   BIC = -2 L + p log n
 *   ICL = BIC + 2 EN,   EN = - sum_n sum_i tau_ni log tau_ni >= 0  (the entropy of the responsibilities)
 *
 * with L the maximised log-likelihood, p the free parameters (parameters.ts) and n the sample size.
 */

export interface Criteria {
  aic: number;
  bic: number;
  icl: number;
}

/**
 * AIC, BIC and ICL of one fit.
 * @param loglik L, finite
 * @param params p >= 0
 * @param n sample size >= 1
 * @param entropy EN >= 0 (nats)
 * @example criteria(-100, 5, 1000, 3) // => { aic: 210, bic: 200 + 5 log 1000, icl: bic + 6 }
 */
export function criteria(loglik: number, params: number, n: number, entropy: number): Criteria {
  const bic = -2 * loglik + params * Math.log(n);
  return { aic: -2 * loglik + 2 * params, bic, icl: bic + 2 * entropy };
}

/**
 * The k of the smallest value (ties: the smaller k); null when no value is finite.
 * @example argminK([3, 2, 4], [1, 2, 3]) // => 2
 */
export function argminK(values: readonly number[], ks: readonly number[]): number | null {
  let best: number | null = null;
  let bestValue = Infinity;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && v < bestValue) {
      bestValue = v;
      best = ks[i]!;
    }
  });
  return best;
}
