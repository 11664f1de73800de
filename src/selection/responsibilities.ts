/**
 * One E-step pass over the data at a model: the log-likelihood, the entropy of the
 * responsibilities (for ICL) and each expert's total responsibility (which atom is heaviest).
 *
 *   log p_n = logsumexp_i (log G_i(x_n) + log N(y_n | a_i.x_n + b_i, nu_i))
 *   tau_ni  = exp(log G_i(x_n) + log N_ni - log p_n)
 *   EN      = - sum_n sum_i tau_ni log tau_ni        (>= 0; a term with tau_ni = 0 is 0)
 */
import type { Dataset } from '../data/dataset.js';
import { expertLogDensities, packExperts } from '../experts/gaussian-linear.js';
import { modelGate } from '../models/model-gate.js';
import type { Model } from '../models/types.js';

export interface Responsibilities {
  /** L = sum_n log p_n */
  loglik: number;
  /** EN = - sum_n sum_i tau_ni log tau_ni, in nats */
  entropy: number;
  /** sum_n tau_ni per expert (length k) */
  totals: Float64Array;
}

/**
 * The log-likelihood, the entropy of the responsibilities and their column totals at `model`.
 * @param model any gate; the experts' variances > 0
 * @param data a validated dataset of the model's dimension
 * @example responsibilities(model, data).entropy // 0 when every point belongs to one expert
 */
export function responsibilities(model: Model, data: Dataset): Responsibilities {
  const { n, X, Y } = data;
  const k = model.experts.length;
  const { gate, theta } = modelGate(model);
  const logT = new Float64Array(n * k);
  gate.logWeights(theta, X, n, logT);
  const logN = new Float64Array(n * k);
  expertLogDensities(packExperts(model.experts, model.input.dim), X, Y, n, logN);
  const totals = new Float64Array(k);
  let loglik = 0;
  let entropy = 0;
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let m = -Infinity;
    for (let i = 0; i < k; i++) {
      const v = logT[o + i]! + logN[o + i]!;
      logT[o + i] = v;
      if (v > m) m = v;
    }
    if (m === -Infinity) {
      loglik = -Infinity;
      continue;
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += Math.exp(logT[o + i]! - m);
    const logp = m + Math.log(s);
    loglik += logp;
    for (let i = 0; i < k; i++) {
      const lt = logT[o + i]! - logp;
      if (lt === -Infinity) continue;
      const t = Math.exp(lt);
      totals[i] = totals[i]! + t;
      entropy -= t * lt;
    }
  }
  return { loglik, entropy: Math.max(entropy, 0), totals };
}
