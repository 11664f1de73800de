/**
 * Conditional density of a Gaussian MoE (spec: models.md):
 *   log p(y | x) = logsumexp_i ( log G_i(x) + log N(y | a_i.x + b_i, nu_i) ),
 * formed entirely in log space, so a gate weight of exactly 0 (log weight -Infinity) contributes
 * nothing and no underflow turns a valid point into -Infinity. A point whose every term is
 * -Infinity (far from every expert: (y - mean)^2 / nu overflows) gets log p = -Infinity, never NaN.
 * This is the reference evaluation
 * (used by `gatelab density`); the EM's E-step uses the faster equivalent in backend/cpu.ts.
 */
import type { Dataset } from '../data/dataset.js';
import { DataError } from '../errors.js';
import { expertLogDensities, packExperts } from '../experts/gaussian-linear.js';
import { modelGate } from '../models/model-gate.js';
import type { Model } from '../models/types.js';

/** log p(y_n | x_n) for each of the n points into `out` (length n); returns out. */
export function logDensity(model: Model, X: Float64Array, Y: Float64Array, n: number, out = new Float64Array(n)): Float64Array {
  const d = model.input.dim;
  const k = model.experts.length;
  if (X.length !== n * d) {
    const columns = X.length / Math.max(n, 1);
    throw new DataError(
      Number.isInteger(columns)
        ? `points: have ${columns} input columns; the model has dimension ${d}`
        : `points: X has ${X.length} values for ${n} points, not a whole number of input columns; the model has dimension ${d} (X needs n*d = ${n * d} values)`,
    );
  }
  const { gate, theta } = modelGate(model);
  const logG = new Float64Array(n * k);
  gate.logWeights(theta, X, n, logG);
  const logN = new Float64Array(n * k);
  expertLogDensities(packExperts(model.experts, d), X, Y, n, logN);
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let i = 0; i < k; i++) {
      const v = logG[r * k + i]! + logN[r * k + i]!;
      if (v > m) m = v;
    }
    if (m === -Infinity) {
      // every term underflows (the point is far from every expert, or has gate weight 0 for all
      // the experts that could explain it): the density is 0, log p = -Infinity, not NaN
      out[r] = -Infinity;
      continue;
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += Math.exp(logG[r * k + i]! + logN[r * k + i]! - m);
    out[r] = m + Math.log(s);
  }
  return out;
}

/** L = sum_n log p(y_n | x_n) for a data set. */
export function logLikelihood(model: Model, data: Dataset): number {
  const values = logDensity(model, data.X, data.Y, data.n);
  let total = 0;
  for (let r = 0; r < data.n; r++) total += values[r]!;
  return total;
}
