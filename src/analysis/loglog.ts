/**
 * Ordinary least squares on a log-log scale (spec: rates.md, "Measuring a rate", step 3).
 */
import { linearRegression } from 'simple-statistics';
import { DataError, show } from '../errors.js';

/** A fitted line log(y) = intercept + slope * log(n), natural logs. */
export interface LogLogFit {
  /** d log(y) / d log(n): the empirical rate; the same in every log base */
  slope: number;
  /** the fitted log(y) at n = 1, in natural-log units (y at n = 1 is exp(intercept)) */
  intercept: number;
}

/**
 * OLS of log(y) on log(n): minimises sum_i (log y_i - intercept - slope * log n_i)^2 over the
 * points as given (no weights; a repeated n counts once per occurrence). Natural logs: the slope
 * does not depend on the base, the intercept is ln(y) at n = 1. Computed by simple-statistics'
 * `linearRegression` (centred sums).
 *
 * @param n sample sizes, each finite and > 0; at least two distinct values
 * @param y the values at those n (same length), each finite and > 0 (a mean or median error)
 * @returns `{slope, intercept}`
 * @throws {DataError} lengths differ, fewer than two distinct n, an n that is not finite and > 0,
 *   or a y that is not finite and > 0 (the message names that n)
 * @example
 *   loglogFit([10, 100, 1000], [3, 0.3, 0.03]) // => { slope: -1, intercept: 3.4011973... } (ln 30: y = 30 / n; numpy.polyfit)
 *
 * Edge case: two points give the line through them exactly; one distinct n throws (no slope).
 */
export function loglogFit(n: readonly number[], y: readonly number[]): LogLogFit {
  if (n.length !== y.length) {
    throw new DataError(`loglogFit: n and y differ in length (got ${n.length} and ${y.length}); must be equal`);
  }
  const points: number[][] = [];
  for (let i = 0; i < n.length; i++) {
    const ni = n[i]!;
    const yi = y[i]!;
    if (typeof ni !== 'number' || !Number.isFinite(ni) || ni <= 0) {
      throw new DataError(`loglogFit: n[${i}]: not a sample size (got ${show(ni)}); must be finite and > 0`);
    }
    if (typeof yi !== 'number' || !Number.isFinite(yi) || yi <= 0) {
      throw new DataError(`loglogFit: y at n = ${ni}: not positive and finite (got ${show(yi)}); a log-log fit needs every y > 0`);
    }
    points.push([Math.log(ni), Math.log(yi)]);
  }
  if (new Set(n).size < 2) {
    throw new DataError(`loglogFit: fewer than two distinct n (got ${show([...new Set(n)])}); a slope needs at least two`);
  }
  const { m, b } = linearRegression(points);
  return { slope: m, intercept: b };
}
