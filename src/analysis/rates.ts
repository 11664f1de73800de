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
 * The verdict of one rate:
 * - 'consistent': the CI intersects [min(predicted, predictedLogCorrected), max(...)] (up to
 *   {@link VERDICT_TOLERANCE});
 * - 'faster than predicted': the CI lies entirely below that interval (more negative slope);
 * - 'slower than predicted': entirely above it;
 * - 'no prediction': the config predicts nothing for the quantity (slope and CI still shown
 *   where defined; this verdict takes precedence over 'insufficient data');
 * - 'insufficient data': a predicted quantity with fewer than two distinct n with data in the fit
 *   range, or whose slope or CI is undefined (a per-n statistic <= 0); `note` says which.
 */
export type Verdict = 'consistent' | 'faster than predicted' | 'slower than predicted' | 'no prediction' | 'insufficient data';

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
 * 5. verdict: see {@link Verdict}.
 *
 * Failed and non-converged fits (choice): rows with status 'failed' carry no usable values and are
 * only counted (nFailed). Rows with status 'ok' that did not converge (stopReason !== 'converged';
 * a row without stopReason uses its `converged` flag) stay in the statistics, as their estimate is
 * still the estimator's output at the iteration limit, and are counted in both nFailed and
 * nNotConverged, so the table shows them. A quantity value that is absent, null, NaN or infinite
 * is counted in nMissing and never averaged. A predicted quantity that no row records still gets
 * its lines, with verdict 'insufficient data' and a note: nothing is dropped silently.
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
 *   //      predicted: -0.5, predictedLogCorrected: -0.42474 (numpy.polyfit), verdict: 'consistent', ... }
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

  const out: RateRow[] = [];
  for (const { quantity, summaries, points } of analysed) {
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
        const a = Math.min(prediction.slope, reference ?? prediction.slope);
        const b = Math.max(prediction.slope, reference ?? prediction.slope);
        verdict = ciHigh < a - VERDICT_TOLERANCE ? 'faster than predicted' : ciLow > b + VERDICT_TOLERANCE ? 'slower than predicted' : 'consistent';
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
        nFits: sum(summaries, (s) => s.nFits),
        nFailed: sum(summaries, (s) => s.nFailed),
        nNotConverged: sum(summaries, (s) => s.nNotConverged),
        nMissing: sum(summaries, (s) => s.nMissing),
        nPoints: points.length,
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
