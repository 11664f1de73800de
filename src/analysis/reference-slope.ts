/**
 * The log-corrected reference slope of a prediction (spec: rates.md, "From a loss bound to a slope").
 */
import type { Prediction } from '../sweeps/types.js';
import { ConfigError, show } from '../errors.js';
import { loglogFit } from './loglog.js';

/**
 * The slope a perfect experiment would measure if the error were exactly (log n / n)^(-s) rather
 * than n^s: the OLS slope of log((log n / n)^(-s)) on log n over the distinct n of `grid` inside
 * `fitRange` (inclusive). For s = -1/(2p), (log n / n)^(1/(2p)) is the rate of a parameter that
 * enters an O(sqrt(log n / n)) loss to the power p. Natural logs (the slope is the same in any base).
 * For kind 'none' or s = 0 there is no log correction and the reference is s itself.
 *
 * The value depends on the spacing of the grid, not only on its range: for s = -1/2 on
 * [1e2, 1e5] it is -0.4453 on 200 points linspace(1e2, 1e5, 200), -0.4472 on every integer and
 * -0.4355 on a dense geometric grid (numpy.polyfit); on [1e4, 1e5] -0.452 for all three.
 *
 * @param prediction `{slope, kind}`: slope s <= 0 (finite); kind 'power' (defaults to 'power') or 'none'
 * @param grid sample sizes (any order, repeats ignored), each finite and >= 2 (log n > 0)
 * @param fitRange `[nLow, nHigh]` inclusive; defaults to the whole grid
 * @returns the reference slope
 * @throws {ConfigError} s not finite, s > 0 with kind 'power', an unknown kind, a grid value that is
 *   not finite and >= 2, or (kind 'power', s < 0) fewer than two distinct n of the grid in range
 * @example
 *   referenceSlope({ slope: -0.5 }, [100, 1000, 10000]) // => -0.42474... (numpy.polyfit)
 *   referenceSlope({ slope: -0.5, kind: 'none' }, [100, 1000, 10000]) // => -0.5
 *
 * Edge case: the reference only depends on the set of distinct n, so a grid listed with repeats
 * (one entry per replicate) or in another order gives the same value, to the last bit.
 */
export function referenceSlope(
  prediction: Pick<Prediction, 'slope' | 'kind'>,
  grid: readonly number[],
  fitRange?: readonly [number, number],
): number {
  const s = prediction.slope;
  const kind = prediction.kind ?? 'power';
  if (typeof s !== 'number' || !Number.isFinite(s)) {
    throw new ConfigError(`referenceSlope: prediction.slope: not a finite number (got ${show(s)}); must be a finite slope <= 0`);
  }
  if (kind !== 'power' && kind !== 'none') {
    throw new ConfigError(`referenceSlope: prediction.kind: unknown (got ${show(kind)}); must be 'power' or 'none'`);
  }
  if (kind === 'none' || s === 0) return s;
  if (s > 0) {
    throw new ConfigError(`referenceSlope: prediction.slope: positive for kind 'power' (got ${show(s)}); must be <= 0 (an error that shrinks), or use kind 'none'`);
  }
  const lo = fitRange?.[0] ?? -Infinity;
  const hi = fitRange?.[1] ?? Infinity;
  const ns: number[] = [];
  for (const n of new Set(grid)) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 2) {
      throw new ConfigError(`referenceSlope: grid: not a sample size >= 2 (got ${show(n)}); log(log n / n) needs n >= 2`);
    }
    if (n >= lo && n <= hi) ns.push(n);
  }
  ns.sort((a, b) => a - b); // ascending: the result does not depend on the order of the grid
  if (ns.length < 2) {
    throw new ConfigError(
      `referenceSlope: fewer than two distinct n of the grid in the fit range (got ${show(ns)} in ${show(fitRange ?? null)}); need at least two`,
    );
  }
  const y = ns.map((n) => Math.exp(-s * (Math.log(Math.log(n)) - Math.log(n))));
  // fit on log y directly would avoid exp/log round trips; loglogFit keeps one OLS code path and
  // the round trip costs < 1e-15 relative
  return loglogFit(ns, y).slope;
}
