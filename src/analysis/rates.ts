/**
 * Empirical convergence rates of a sweep against the predicted ones (spec: rates.md, "Measuring a
 * rate", steps 2-4): per quantity and statistic, the log-log OLS slope over the declared fit range,
 * its bootstrap percentile interval over replicates, and a verdict against the prediction and its
 * log-corrected reference.
 */
import { quantileSorted } from 'simple-statistics';
import type { ExperimentConfig, Prediction, SweepRow } from '../sweeps/types.js';
import { ConfigError, DataError, show } from '../errors.js';
import { validateSeed } from '../rng/rng.js';
import { bootstrapSeries } from './bootstrap.js';
import { loglogFit } from './loglog.js';
import { referenceSlope } from './reference-slope.js';
import { checkRow, perNSummary, type PerNSummary } from './summary.js';

/** The per-n statistic whose log is regressed on log n. */
export type RateStatistic = 'mean' | 'median';

/** The statistics, in output order; the index is the second tag of the bootstrap stream. */
export const RATE_STATISTICS: readonly RateStatistic[] = Object.freeze(['mean', 'median'] as const);

/**
 * The verdict of one rate (rates.md, "Measuring a rate", step 4, revised so that a verdict can say
 * "cannot tell"). With P = [min(predicted, predictedLogCorrected), max(...)] (the prediction and its
 * log-corrected reference as an interval), CI = [ciLow, ciHigh], and every comparison widened by
 * {@link VERDICT_TOLERANCE}:
 * - 'consistent': the CI meets P, is at most {@link MAX_CI_WIDTH} wide, and meets the interval of no
 *   other exponent of {@link RATE_LADDER} (see {@link rateVerdict} for "other" and its interval);
 * - 'inconclusive': the CI meets P but also meets another exponent of the ladder (it cannot tell
 *   them apart; `note` lists them), or is wider than {@link MAX_CI_WIDTH};
 * - 'faster than predicted': the CI lies entirely below P (more negative slope), for a prediction
 *   of slope < 0;
 * - 'refuted': the CI lies entirely below P = [0, 0], for a prediction of slope 0 ("does not
 *   converge", "slower than any power"): the quantity converges at a power rate;
 * - 'slower than predicted': the CI lies entirely above P;
 * - 'no prediction': the config predicts nothing for the quantity (slope and CI still shown
 *   where defined; this verdict takes precedence over 'insufficient data');
 * - 'insufficient data': a predicted quantity with fewer than two distinct n with data in the fit
 *   range, or whose slope or CI is undefined (a per-n statistic <= 0); `note` says which.
 */
/**
 * Largest fraction of non-converged fits (not {@link isConverged}: stopReason !== 'converged', or a
 * gate outside the compact box) and failed tasks, among all tasks of the fit range, under which a
 * rate gets a definite verdict; above it the verdict is 'inconclusive' with a note (spec: rates.md step 4;
 * issue 15: full rates rest on converged fits, at most 5% not converged per quantity).
 */
export const MAX_NOT_CONVERGED = 0.05;

export type Verdict =
  | 'consistent'
  | 'inconclusive'
  | 'faster than predicted'
  | 'slower than predicted'
  | 'refuted'
  | 'no prediction'
  | 'insufficient data';

/**
 * The fit counts at one n of the fit range ({@link RateRow.perN}); same names and meaning as the
 * totals of {@link RateRow}, so each total is the sum of its column over `perN`.
 */
export interface RatePerN {
  n: number;
  /** rows with status 'ok' at this n (converged or not) */
  nFits: number;
  /** rows with status 'failed' plus the ok rows that did not converge */
  nFailed: number;
  /** the part of nFailed with status 'ok' (not converged): their values ARE in the statistics */
  nNotConverged: number;
  /** ok rows whose value of this quantity is absent, null, NaN or infinite */
  nMissing: number;
  /** values in the statistics at this n (nFits - nMissing): R_n of the power diagnostic */
  count: number;
}

/** One line of the slope table. Plain data: numbers are finite or null, never NaN. */
export interface RateRow {
  /** config.name */
  experiment: string;
  /** the variant whose fit range was used */
  variant: 'quick' | 'full';
  /** the quantity name, a key of SweepRow.quantities */
  quantity: string;
  statistic: RateStatistic;
  /** OLS slope of ln(statistic per n) on ln n over the fit range; null if undefined */
  slope: number | null;
  /** intercept of that line (ln of the fitted statistic at n = 1); null if undefined */
  intercept: number | null;
  /** percentile bootstrap interval of the slope at `level`; null if undefined */
  ciLow: number | null;
  ciHigh: number | null;
  /** predicted slope; null when there is no prediction */
  predicted: number | null;
  /** {@link referenceSlope} of the prediction over the sweep's n in the fit range; null when undefined */
  predictedLogCorrected: number | null;
  verdict: Verdict;
  /** ciHigh - ciLow, the width of the CI; null when the CI is undefined */
  ciWidth: number | null;
  /**
   * R Sxx of the power diagnostic ({@link powerDiagnostic}): sum over the n of the fit of
   * R_n (ln n - m)^2, R_n the values at n, m = sum R_n ln n / sum R_n; null with no values
   */
  rSxx: number | null;
  /**
   * the pooled per-replicate coefficient of variation ({@link powerDiagnostic}): the median over
   * the n of the fit with R_n >= 2 and mean > 0 of sd / mean (sd with divisor R_n - 1); null if none
   */
  cv: number | null;
  /** rows with status 'ok' in the fit range (converged or not) */
  nFits: number;
  /** rows in the fit range with status 'failed' or not converged (stopReason !== 'converged') */
  nFailed: number;
  /** the part of nFailed with status 'ok' (not converged): their values ARE in the statistics */
  nNotConverged: number;
  /** ok rows in the fit range whose value is absent, null, NaN or infinite: not in the statistics */
  nMissing: number;
  /** distinct n with at least one value in the fit range (the points of the fit) */
  nPoints: number;
  /** the counts per n of the fit range, ascending n (every n with a row, values or not) */
  perN: RatePerN[];
  /** the declared fit range [nLow, nHigh], inclusive */
  fitRange: [number, number];
  /** CI level */
  level: number;
  /** bootstrap resamples */
  resamples: number;
  /** root seed of the bootstrap */
  seed: number;
  /** the prediction's source, e.g. "[DEMYS] Thm 1" */
  source?: string;
  /** the prediction's note, then what the analysis has to say (joined by '; ') */
  note?: string;
}

/** Options of {@link analyseRates}. */
export interface RateOptions {
  /** bootstrap resamples, an integer >= 1; defaults to 2000 */
  resamples?: number;
  /** root seed of the bootstrap, an integer in [0, 2^53); defaults to config.seed */
  seed?: number;
  /** level of the percentile interval, in (0, 1); defaults to 0.95 */
  level?: number;
}

/** The parts of an experiment config the analysis reads (a full ExperimentConfig is one). */
export type RatesConfig = Pick<ExperimentConfig, 'name' | 'seed' | 'variants' | 'predictions'>;

const OPTION_KEYS = new Set(['resamples', 'seed', 'level']);

/**
 * Absolute tolerance of the verdict's comparisons, in slope units: rounding only (an exact power
 * law gives a CI of width ~1e-16 that may sit 1e-16 off its slope); real CIs are >= 1e-4 wide.
 */
export const VERDICT_TOLERANCE = 1e-9;

/**
 * The exponents the theory uses (rates.md, step 4): -1/2, -1/4, -1/6, -1/8, -1/12, 0, i.e. the
 * rates -1/(2p) of a parameter entering an O(sqrt(log n / n)) loss to the power p = 1, 2, 3, 4, 6,
 * and 0 (no convergence / slower than any power). The alternatives a verdict must exclude.
 */
export const RATE_LADDER: readonly number[] = Object.freeze([-1 / 2, -1 / 4, -1 / 6, -1 / 8, -1 / 12, 0]);

/**
 * A ladder exponent counts as "another exponent" of a prediction when its distance to the
 * prediction interval [min(predicted, reference), max(...)] is at least this (slope units).
 */
export const LADDER_SEPARATION = 0.05;

/** A CI wider than this (slope units) is 'inconclusive' even when it meets the prediction. */
export const MAX_CI_WIDTH = 0.5;

/**
 * The power rule of rates.md: telling -1/8 from -1/2 (a difference of 3/8) with a two-sided 95%
 * test at 80% power needs SE <= (3/8) / (1.960 + 0.842), i.e. R Sxx >= POWER_FACTOR CV^2
 * (55.8, rounded up).
 */
export const POWER_FACTOR = 56;

/** A ladder exponent and its log-corrected reference over the sweep's n in the fit range. */
export interface LadderExponent {
  /** the exponent, a value of {@link RATE_LADDER} */
  slope: number;
  /** {@link referenceSlope} of `{slope}` (kind 'power') over the grid; equals `slope` for 0 */
  logCorrected: number;
}

/** The result of {@link rateVerdict}. */
export interface VerdictResult {
  verdict: 'consistent' | 'inconclusive' | 'faster than predicted' | 'slower than predicted' | 'refuted';
  /** the other ladder exponents (plain values, ladder order) whose interval the CI meets */
  alsoMeets: number[];
  /** the CI is wider than {@link MAX_CI_WIDTH} */
  wide: boolean;
}

/** Distance from a point to an interval [a, b] (0 inside). */
function distance(x: number, a: number, b: number): number {
  return Math.max(0, a - x, x - b);
}

/**
 * The verdict of a bootstrap CI against a prediction (rates.md, step 4, revised). With
 * P = [min(predicted, predictedLogCorrected), max(...)] and t = {@link VERDICT_TOLERANCE}:
 *
 * 1. "meets" an interval [a, b]: ciHigh >= a - t and ciLow <= b + t;
 * 2. CI does not meet P: 'faster than predicted' if ciHigh < min P - t ('refuted' instead when
 *    predicted = 0: a CI entirely below 0 means a power rate), else 'slower than predicted';
 *    a one-sided miss is a definite answer whatever the width;
 * 3. CI meets P: the "other" exponents are the ladder values e with distance(e, P) >= 
 *    {@link LADDER_SEPARATION} - t (the distance from a point to an interval, 0 inside). Each
 *    other e stands for the interval [min(e, e'), max(e, e')], e' its log-corrected reference
 *    over the same grid (choice: the same treatment as the prediction, so a CI that would be
 *    consistent with e's log-corrected form counts as meeting e). The CI is 'inconclusive' if it
 *    meets any of them or if ciHigh - ciLow > {@link MAX_CI_WIDTH} + t, else 'consistent'.
 *
 * @param ciLow lower end of the CI, finite
 * @param ciHigh upper end, finite, >= ciLow
 * @param predicted the predicted slope, finite (<= 0 for the ladder to make sense)
 * @param predictedLogCorrected its log-corrected reference; defaults to `predicted`
 * @param ladder the ladder with references; defaults to {@link RATE_LADDER} with each reference
 *   equal to the plain value (no log correction)
 * @returns the verdict, the other ladder exponents the CI meets, and whether it is too wide
 * @example
 *   rateVerdict(-0.55, -0.45, -0.5)   // => { verdict: 'consistent', alsoMeets: [], wide: false }
 *   rateVerdict(-0.836, -0.01, -0.5)  // => { verdict: 'inconclusive', alsoMeets: [-1/4, -1/6, -1/8, -1/12], wide: true }
 *   rateVerdict(-0.6, -0.4, 0)        // => { verdict: 'refuted', alsoMeets: [], wide: false }
 *
 * Edge case: a point CI (an exact power law) sitting 1e-16 off the prediction is 'consistent':
 * the tolerance absorbs rounding.
 */
export function rateVerdict(
  ciLow: number,
  ciHigh: number,
  predicted: number,
  predictedLogCorrected: number = predicted,
  ladder: readonly LadderExponent[] = RATE_LADDER.map((e) => ({ slope: e, logCorrected: e })),
): VerdictResult {
  const t = VERDICT_TOLERANCE;
  const a = Math.min(predicted, predictedLogCorrected);
  const b = Math.max(predicted, predictedLogCorrected);
  const wide = ciHigh - ciLow > MAX_CI_WIDTH + t;
  if (ciHigh < a - t) return { verdict: predicted === 0 ? 'refuted' : 'faster than predicted', alsoMeets: [], wide };
  if (ciLow > b + t) return { verdict: 'slower than predicted', alsoMeets: [], wide };
  const alsoMeets: number[] = [];
  for (const e of ladder) {
    if (distance(e.slope, a, b) < LADDER_SEPARATION - t) continue;
    const lo = Math.min(e.slope, e.logCorrected);
    const hi = Math.max(e.slope, e.logCorrected);
    if (ciHigh >= lo - t && ciLow <= hi + t) alsoMeets.push(e.slope);
  }
  return { verdict: alsoMeets.length > 0 || wide ? 'inconclusive' : 'consistent', alsoMeets, wide };
}

/**
 * The ladder with each exponent's log-corrected reference over a grid: for e < 0,
 * {@link referenceSlope}({slope: e}, grid, fitRange); for 0 (or a grid with fewer than two n >= 2
 * in range, where no reference exists) the plain value.
 *
 * @param grid the sweep's n (any order, repeats ignored), finite
 * @param fitRange `[nLow, nHigh]` inclusive
 * @returns one {@link LadderExponent} per value of {@link RATE_LADDER}, in that order
 * @example
 *   ladderReferences([100, 1000, 10000], [100, 10000])[0] // => { slope: -0.5, logCorrected: -0.42474... }
 */
export function ladderReferences(grid: readonly number[], fitRange: readonly [number, number]): LadderExponent[] {
  const ns = [...new Set(grid)].filter((n) => n >= 2 && n >= fitRange[0] && n <= fitRange[1]);
  return RATE_LADDER.map((e) => ({ slope: e, logCorrected: e === 0 || ns.length < 2 ? e : referenceSlope({ slope: e }, ns, fitRange) }));
}

/** The result of {@link powerDiagnostic}. */
export interface PowerDiagnostic {
  /** sum_n R_n (ln n - m)^2, m = sum_n R_n ln n / sum_n R_n; null when no n has a value */
  rSxx: number | null;
  /** median over the n with R_n >= 2 and mean > 0 of sd_n / mean_n (sd divisor R_n - 1); null if none */
  cv: number | null;
}

/**
 * The power diagnostic of rates.md, step 4: the slope's standard error is about CV / sqrt(R Sxx),
 * so telling -1/8 from -1/2 at 95% with 80% power needs R Sxx >= {@link POWER_FACTOR} CV^2.
 * With R_n the number of values at n (unequal R_n allowed):
 *
 *   R Sxx = sum_n R_n (ln n - m)^2,   m = sum_n R_n ln n / sum_n R_n;
 *   CV    = median over n (R_n >= 2, mean_n > 0) of sd_n / mean_n,  sd_n = sqrt(sum (v - mean_n)^2 / (R_n - 1)).
 *
 * (choice: the median over n pools the per-n CVs robustly; one CV serves both the mean and the
 * median fit, the median's SE is somewhat larger for the same CV.)
 *
 * @param points per n the values in the statistics (n > 0 finite; values finite; an n without
 *   values adds nothing)
 * @returns rSxx and cv, each null where undefined (never NaN)
 * @example
 *   powerDiagnostic([{ n: 1, values: [1, 3] }, { n: Math.E ** 2, values: [2, 2, 2, 6] }])
 *   // m = (2*0 + 4*2)/6 = 4/3, rSxx = 2 (4/3)^2 + 4 (2/3)^2 = 16/3;
 *   // cv = median(sqrt(2)/2, 2/3) = (0.70711 + 0.66667) / 2
 */
export function powerDiagnostic(points: readonly { n: number; values: readonly number[] }[]): PowerDiagnostic {
  let R = 0;
  let sx = 0;
  for (const p of points) {
    R += p.values.length;
    sx += p.values.length * Math.log(p.n);
  }
  let rSxx: number | null = null;
  if (R > 0) {
    const m = sx / R;
    rSxx = 0;
    for (const p of points) rSxx += p.values.length * (Math.log(p.n) - m) ** 2;
  }
  const cvs: number[] = [];
  for (const p of points) {
    const c = p.values.length;
    if (c < 2) continue;
    let mean = 0;
    for (const v of p.values) mean += v;
    mean /= c;
    if (!(mean > 0)) continue;
    let ss = 0;
    for (const v of p.values) ss += (v - mean) ** 2;
    const cv = Math.sqrt(ss / (c - 1)) / mean;
    if (Number.isFinite(cv)) cvs.push(cv);
  }
  cvs.sort((x, y) => x - y);
  const cv = cvs.length === 0 ? null : cvs.length % 2 === 1 ? cvs[(cvs.length - 1) / 2]! : (cvs[cvs.length / 2 - 1]! + cvs[cvs.length / 2]!) / 2;
  return { rSxx, cv };
}

/** An exponent as the ladder writes it: -1/2, -1/4, ..., 0; other values to 3 decimals. */
function exponentName(e: number): string {
  if (e === 0) return '0';
  const q = -1 / e;
  return Number.isInteger(Math.round(q * 1e9) / 1e9) && q > 0 ? `-1/${Math.round(q)}` : e.toFixed(3);
}

interface ResolvedOptions {
  resamples: number;
  seed: number;
  level: number;
}

function resolveOptions(config: RatesConfig, options: RateOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(`analyseRates: options: not an object (got ${show(options)}); must be {resamples?, seed?, level?}`);
  }
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.has(k)) {
      throw new ConfigError(`analyseRates: options.${k}: unknown option (got ${show(k)}); allowed: resamples, seed, level`);
    }
  }
  const resamples = options.resamples ?? 2000;
  if (typeof resamples !== 'number' || !Number.isInteger(resamples) || resamples < 1) {
    throw new ConfigError(`analyseRates: options.resamples: not a count (got ${show(resamples)}); must be an integer >= 1 (defaults to 2000)`);
  }
  const level = options.level ?? 0.95;
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    throw new ConfigError(`analyseRates: options.level: not a CI level (got ${show(level)}); must be in (0, 1) (defaults to 0.95)`);
  }
  const seed = validateSeed(options.seed ?? config.seed, options.seed === undefined ? 'analyseRates: config.seed' : 'analyseRates: options.seed');
  return { resamples, seed, level };
}

function checkFitRange(variant: string, range: unknown): [number, number] {
  const where = `analyseRates: config.variants.${variant}.fitRange`;
  if (!Array.isArray(range) || range.length !== 2) {
    throw new ConfigError(`${where}: not a range (got ${show(range)}); must be [nLow, nHigh]`);
  }
  const [lo, hi] = range as unknown[];
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || lo <= 0 || lo > hi) {
    throw new ConfigError(`${where}: not a range (got ${show(range)}); must be finite with 0 < nLow <= nHigh`);
  }
  return [lo, hi];
}

function checkPrediction(name: string, p: Prediction): void {
  const where = `analyseRates: config.predictions[${JSON.stringify(name)}]`;
  if (p === null || typeof p !== 'object') {
    throw new ConfigError(`${where}: not a prediction (got ${show(p)}); must be {slope, kind?, source?, note?}`);
  }
  if (typeof p.slope !== 'number' || !Number.isFinite(p.slope)) {
    throw new ConfigError(`${where}.slope: not a finite number (got ${show(p.slope)}); must be a slope <= 0`);
  }
  const kind = p.kind ?? 'power';
  if (kind !== 'power' && kind !== 'none') {
    throw new ConfigError(`${where}.kind: unknown (got ${show(p.kind)}); must be 'power' or 'none'`);
  }
  if (kind === 'power' && p.slope > 0) {
    throw new ConfigError(`${where}.slope: positive for kind 'power' (got ${show(p.slope)}); must be <= 0, or use kind 'none'`);
  }
}

/** Natural order: digit runs compare as numbers, so 'mass[2]' < 'mass[10]'. */
function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

function sum(xs: readonly PerNSummary[], f: (s: PerNSummary) => number): number {
  let t = 0;
  for (const s of xs) t += f(s);
  return t;
}

/**
 * Slope table of one experiment's sweep (rates.md, "Measuring a rate"). For every quantity with
 * a prediction in `config.predictions` (in that order), then every other quantity found in the
 * rows' `quantities` (natural order, predicted null, verdict 'no prediction'), and for statistic
 * 'mean' then 'median':
 *
 * 1. per n in `config.variants[variant].fitRange` (inclusive): the finite values of the rows with
 *    status 'ok' (see {@link perNSummary}); their mean or median;
 * 2. slope: OLS of ln(statistic) on ln n ({@link loglogFit}) over the n with at least one value;
 * 3. CI: percentile bootstrap over replicates: each of `resamples` replicates resamples the values
 *    within each n with replacement (same count), recomputes the statistic per n and refits; the
 *    interval is the (1 - level)/2 and (1 + level)/2 quantiles of the slopes (simple-statistics
 *    `quantileSorted`: linear interpolation, R type 7 / numpy 'linear'). Streams (choice): at n
 *    with c values present, the resampled positions come from
 *    `new Rng(seed).derive(fnv1a32(String(n)), c)`, so mean and median, and the quantities with the
 *    same replicates present, are resampled jointly, replicate by replicate, from draws made once;
 *    each quantity's CI is a pure function of its own values and the seed, whatever the row order
 *    and whatever other quantities exist (see `bootstrapSeries` in bootstrap.ts);
 * 4. predictedLogCorrected: {@link referenceSlope} over the distinct n of all rows (any status)
 *    in the fit range, i.e. the sweep's grid as run; for kind 'none' or slope 0 it equals predicted;
 * 5. verdict: see {@link Verdict} and {@link rateVerdict}; the other exponents of the ladder take
 *    their log-corrected references over the same grid ({@link ladderReferences}); `ciWidth` is
 *    ciHigh - ciLow;
 * 6. power: `rSxx` and `cv` of {@link powerDiagnostic} over the per-n values of the fit; a
 *    predicted quantity with rSxx < {@link POWER_FACTOR} cv^2 gets the note "underpowered to tell
 *    -1/8 from -1/2" (the CI is then likely to be 'inconclusive').
 *
 * Failed and non-converged fits (choice): rows with status 'failed' carry no usable values and are
 * only counted (nFailed). Rows with status 'ok' that did not converge (stopReason !== 'converged';
 * a row without stopReason uses its `converged` flag) stay in the statistics, as their estimate is
 * still the estimator's output at the iteration limit, and are counted in both nFailed and
 * nNotConverged, so the table shows them. A quantity value that is absent, null, NaN or infinite
 * is counted in nMissing and never averaged. A predicted quantity that no row records still gets
 * its lines, with verdict 'insufficient data' and a note: nothing is dropped silently. `perN`
 * gives the same counts per n of the fit range.
 *
 * @param rows the sweep rows of `config.name` and `variant` (any order; every row must match)
 * @param config experiment config: name, seed, variants[variant].fitRange, predictions
 * @param variant 'quick' or 'full': selects the fit range
 * @param options `{resamples, seed, level}`, see {@link RateOptions}; unknown keys are rejected
 * @returns one RateRow per quantity and statistic; numbers are finite or null
 * @throws {ConfigError} a bad variant, fit range, prediction or option
 * @throws {DataError} a row of another experiment or variant, or a row without a finite n > 0
 * @example
 *   // rows: D1 = 2 n^-0.5 exactly, 3 replicates at n = 100, 1000, 10000
 *   analyseRates(rows, { name: 'x', seed: 1, variants, predictions: { D1: { slope: -0.5 } } }, 'quick')[0]
 *   // => { quantity: 'D1', statistic: 'mean', slope: -0.5, ciLow: -0.5, ciHigh: -0.5 (to 1e-15),
 *   //      predicted: -0.5, predictedLogCorrected: -0.42474 (numpy.polyfit), verdict: 'consistent',
 *   //      ciWidth: ~0, rSxx: 3 * 2 * ln(10)^2 = 31.8, cv: 0, ... }
 *
 * Edge case: a quantity with values at a single n in range gives slope, CI and intercept null and
 * verdict 'insufficient data'.
 */
export function analyseRates(
  rows: readonly SweepRow[],
  config: RatesConfig,
  variant: 'quick' | 'full',
  options?: RateOptions,
): RateRow[] {
  if (config === null || typeof config !== 'object') {
    throw new ConfigError(`analyseRates: config: not an experiment config (got ${show(config)}); must be an object`);
  }
  if (variant !== 'quick' && variant !== 'full') {
    throw new ConfigError(`analyseRates: variant: unknown (got ${show(variant)}); must be 'quick' or 'full'`);
  }
  const variantConfig = config.variants?.[variant];
  if (variantConfig === undefined || variantConfig === null) {
    throw new ConfigError(`analyseRates: config.variants.${variant}: missing (got ${show(variantConfig)}); must be a variant config`);
  }
  const fitRange = checkFitRange(variant, variantConfig.fitRange);
  const opts = resolveOptions(config, options);
  const predictions = config.predictions ?? {};
  if (predictions === null || typeof predictions !== 'object') {
    throw new ConfigError(`analyseRates: config.predictions: not an object (got ${show(predictions)}); must map quantity names to predictions`);
  }
  for (const [name, p] of Object.entries(predictions)) checkPrediction(name, p);
  if (!Array.isArray(rows)) {
    throw new DataError(`analyseRates: rows: not an array (got ${show(rows)}); must be an array of sweep rows`);
  }

  const [lo, hi] = fitRange;
  const inRange = (n: number) => n >= lo && n <= hi;
  const seen = new Set<string>();
  const gridInRange = new Set<number>();
  rows.forEach((row, i) => {
    checkRow('analyseRates', row, i);
    if (row.experiment !== config.name || row.variant !== variant) {
      throw new DataError(
        `analyseRates: rows[${i}] (key ${show(row.key)}): from another sweep (got experiment ${show(row.experiment)}, variant ${show(row.variant)}); ` +
          `pass only the rows of experiment ${show(config.name)}, variant ${show(variant)}`,
      );
    }
    if (inRange(row.n)) gridInRange.add(row.n);
    if (row.quantities !== undefined) for (const q of Object.keys(row.quantities)) seen.add(q);
  });
  const grid = [...gridInRange];

  const predicted = Object.keys(predictions);
  const others = [...seen].filter((q) => !Object.prototype.hasOwnProperty.call(predictions, q)).sort(naturalCompare);
  const quantities = [...predicted, ...others];
  const analysed = quantities.map((quantity) => {
    const summaries = perNSummary(rows, quantity).filter((s) => inRange(s.n));
    return { quantity, summaries, points: summaries.filter((s) => s.count > 0) };
  });
  const fitted = analysed.filter((a) => a.points.length >= 2);
  const boot = bootstrapSeries(
    fitted.map((a) => a.points),
    opts.resamples,
    opts.seed,
  );
  const slopesOf = new Map(fitted.map((a, i) => [a.quantity, boot[i]!]));

  let ladder: LadderExponent[] | undefined; // computed once, when the first verdict needs it
  const out: RateRow[] = [];
  for (const { quantity, summaries, points } of analysed) {
    const power = powerDiagnostic(points);
    const prediction = Object.prototype.hasOwnProperty.call(predictions, quantity) ? predictions[quantity] : undefined;
    let reference: number | null = null;
    if (prediction !== undefined) {
      const needsGrid = (prediction.kind ?? 'power') === 'power' && prediction.slope !== 0;
      reference = !needsGrid || grid.length >= 2 ? referenceSlope(prediction, grid, fitRange) : null;
    }
    for (const statistic of RATE_STATISTICS) {
      const notes: string[] = [];
      if (prediction?.note !== undefined) notes.push(prediction.note);
      if (!seen.has(quantity)) notes.push('not recorded in any row');
      let slope: number | null = null;
      let intercept: number | null = null;
      let ciLow: number | null = null;
      let ciHigh: number | null = null;
      if (points.length < 2 && seen.has(quantity)) {
        notes.push(`values at ${points.length} distinct n in the fit range; a slope needs 2`);
      }
      const slopes = slopesOf.get(quantity)?.[statistic];
      if (slopes !== undefined) {
        const y = points.map((s) => s[statistic]!);
        const bad = points.filter((_, i) => !(y[i]! > 0));
        if (points.every((p) => p.values.every((v) => v === 0))) {
          notes.push('every value in the fit range is 0: no rate to measure');
        } else if (bad.length > 0) {
          notes.push(`${statistic} <= 0 at n = ${bad.map((s) => s.n).join(', ')}; log-log slope undefined`);
        } else {
          const fit = loglogFit(
            points.map((s) => s.n),
            y,
          );
          slope = fit.slope;
          intercept = fit.intercept;
          let nonFinite = 0;
          for (let r = 0; r < slopes.length; r++) if (!Number.isFinite(slopes[r]!)) nonFinite++;
          if (nonFinite > 0) {
            notes.push(`${nonFinite} of ${opts.resamples} bootstrap resamples have a ${statistic} <= 0 at some n; CI undefined`);
          } else {
            const s = Array.from(slopes.sort());
            const alpha = (1 - opts.level) / 2;
            ciLow = quantileSorted(s, alpha);
            ciHigh = quantileSorted(s, 1 - alpha);
          }
        }
      }
      let verdict: Verdict;
      if (prediction === undefined) verdict = 'no prediction';
      else if (ciLow === null || ciHigh === null) verdict = 'insufficient data';
      else {
        ladder ??= ladderReferences(grid, fitRange);
        const v = rateVerdict(ciLow, ciHigh, prediction.slope, reference ?? prediction.slope, ladder);
        verdict = v.verdict;
        if (v.alsoMeets.length > 0) notes.push(`CI also meets ${v.alsoMeets.map(exponentName).join(', ')} of the ladder: cannot tell them apart`);
        if (v.wide) notes.push(`CI wider than ${MAX_CI_WIDTH} (${(ciHigh - ciLow).toFixed(3)})`);
        if (v.verdict === 'refuted') notes.push('CI entirely below 0: the quantity converges at a power rate');
        // a slope that rests on fits which stopped before converging may be the stopping rule's
        // (they sit near their start): no definite verdict above MAX_NOT_CONVERGED of the fits
        // (a failed task has no converged fit either: it counts, else failures would thin the
        // sample unseen)
        const nFailedOnly = sum(summaries, (x) => x.nFailed - x.nNotConverged);
        const nTasksHere = sum(summaries, (x) => x.nFits) + nFailedOnly;
        const notConverged = sum(summaries, (x) => x.nFailed);
        if (nTasksHere > 0 && notConverged > MAX_NOT_CONVERGED * nTasksHere && verdict !== 'inconclusive') {
          const what = nFailedOnly > 0 ? `fits not converged or failed (${nFailedOnly} failed)` : 'fits not converged';
          notes.push(`${notConverged} of ${nTasksHere} ${what} (more than ${100 * MAX_NOT_CONVERGED}%): the slope may be the stopping rule's; would read "${verdict}"`);
          verdict = 'inconclusive';
        }
      }
      if (prediction !== undefined && points.length >= 2 && power.rSxx !== null && power.cv !== null && power.rSxx < POWER_FACTOR * power.cv ** 2) {
        notes.push(`underpowered to tell -1/8 from -1/2: R Sxx = ${power.rSxx.toFixed(1)} < ${POWER_FACTOR} CV^2 = ${(POWER_FACTOR * power.cv ** 2).toFixed(1)}`);
      }
      const row: RateRow = {
        experiment: config.name,
        variant,
        quantity,
        statistic,
        slope,
        intercept,
        ciLow,
        ciHigh,
        predicted: prediction?.slope ?? null,
        predictedLogCorrected: reference,
        verdict,
        ciWidth: ciLow === null || ciHigh === null ? null : ciHigh - ciLow,
        rSxx: power.rSxx,
        cv: power.cv,
        nFits: sum(summaries, (s) => s.nFits),
        nFailed: sum(summaries, (s) => s.nFailed),
        nNotConverged: sum(summaries, (s) => s.nNotConverged),
        nMissing: sum(summaries, (s) => s.nMissing),
        nPoints: points.length,
        perN: summaries.map((x) => ({ n: x.n, nFits: x.nFits, nFailed: x.nFailed, nNotConverged: x.nNotConverged, nMissing: x.nMissing, count: x.count })),
        fitRange: [lo, hi],
        level: opts.level,
        resamples: opts.resamples,
        seed: opts.seed,
      };
      if (prediction?.source !== undefined) row.source = prediction.source;
      if (notes.length > 0) row.note = notes.join('; ');
      out.push(row);
    }
  }
  return out;
}
