/**
 * Experiment configs (experiments/<name>.json): parse, validate (errors name the JSON path), and
 * resolve the n grid of a variant. A config fixes everything before anything runs: the true
 * model, the fit, the starts, the n grid, the replicates, the slope-fit range and the predictions.
 */
import { ConfigError, GatelabError, show } from '../errors.js';
import { defaultNuMin, validateFitOptions } from '../fitting/fit.js';
import type { BlockNoise } from '../fitting/starts.js';
import type { FitOptions } from '../fitting/types.js';
import { VORONOI_METRICS, type VoronoiMetric } from '../losses/voronoi.js';
import { parseModel } from '../models/validate.js';
import { validateSeed } from '../rng/rng.js';
import type { ExperimentConfig, NGridSpec, Prediction, VariantConfig } from './types.js';

type Obj = Record<string, unknown>;

function object(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${path}: ${show(v)} is not an object; must be a JSON object`);
  return v as Obj;
}

function allowKeys(o: Obj, path: string, keys: string[]): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) throw new ConfigError(`${path}.${key}: unknown field; allowed here: ${keys.join(', ')}`);
  }
}

function positiveInteger(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${path}: ${show(v)} is not allowed; must be an integer >= 1`);
  return v;
}

/** Largest sample size of a grid (the sampler's limit, 2^31). */
export const MAX_SAMPLE_SIZE = 2 ** 31;
/** Largest count of a linspace / geomspace segment. */
export const MAX_GRID_COUNT = 10000;
/** Most tasks (sizes x replicates) of one variant. */
export const MAX_TASKS = 1_000_000;
/** Largest Monte Carlo sample of the density distances per task. */
export const MAX_DENSITY_POINTS = 100000;
/** Largest near-truth start noise (beyond it the start carries no information about the truth). */
export const MAX_START_NOISE = 100;
/** Most starts per fit (every start is made before the fits run: far more exhaust the memory). */
export const MAX_RESTARTS = 1000;

function restartsValue(v: unknown, path: string): number {
  const r = positiveInteger(v, path);
  if (r > MAX_RESTARTS) throw new ConfigError(`${path}: ${r} is not allowed; must be an integer in 1..${MAX_RESTARTS} (starts per fit)`);
  return r;
}

/** Largest shrink exponent of a start's noise (n^-10 is already 1e-50 at n = 1e5). */
export const MAX_SHRINK_EXPONENT = 10;

/** A block noise {scale, shrinkExponent} of the demysNearTrue start (sd = scale n^-shrinkExponent). */
function blockNoise(v: unknown, path: string): BlockNoise | undefined {
  if (v === undefined) return undefined;
  const o = object(v, path);
  allowKeys(o, path, ['scale', 'shrinkExponent']);
  for (const [key, max] of [['scale', MAX_START_NOISE], ['shrinkExponent', MAX_SHRINK_EXPONENT]] as const) {
    const x = o[key];
    if (typeof x !== 'number' || !(x >= 0) || !(x <= max)) {
      throw new ConfigError(`${path}.${key}: ${show(x)} is not allowed; must be a number in [0, ${max}]${key === 'scale' ? ' (the noise sd at n = 1)' : ' (the sd shrinks as n^-shrinkExponent)'}`);
    }
  }
  return { scale: o.scale as number, shrinkExponent: o.shrinkExponent as number };
}

/** The sorted distinct sample sizes of a grid spec (linspace / geomspace values rounded). */
export function resolveNGrid(spec: NGridSpec, path = 'n'): number[] {
  const out = new Set<number>();
  const visit = (s: unknown, p: string): void => {
    if (typeof s === 'number') {
      if (!Number.isInteger(s) || s < 2 || s > MAX_SAMPLE_SIZE) throw new ConfigError(`${p}: ${show(s)} is not a sample size; must be an integer in 2..${MAX_SAMPLE_SIZE}`);
      out.add(s);
      return;
    }
    if (Array.isArray(s)) {
      if (s.length === 0) throw new ConfigError(`${p}: [] is empty; list sample sizes or segments`);
      s.forEach((t, i) => visit(t, `${p}[${i}]`));
      return;
    }
    const o = object(s, p);
    const kind = 'linspace' in o ? 'linspace' : 'geomspace' in o ? 'geomspace' : undefined;
    if (!kind || Object.keys(o).length !== 1) {
      throw new ConfigError(`${p}: ${show(s)} is not an n grid; must be a number, a list, {"linspace": [a, b, count]} or {"geomspace": [a, b, count]}`);
    }
    const args = o[kind];
    if (!Array.isArray(args) || args.length !== 3 || !args.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new ConfigError(`${p}.${kind}: ${show(args)} is not [low, high, count]; must be three numbers`);
    }
    const [a, b, count] = args as [number, number, number];
    if (!Number.isInteger(count) || count < 1 || count > MAX_GRID_COUNT || !(a >= 2) || !(b >= a) || !(b <= MAX_SAMPLE_SIZE)) {
      throw new ConfigError(`${p}.${kind}: ${show(args)} is not allowed; need 2 <= low <= high <= ${MAX_SAMPLE_SIZE} and an integer count in 1..${MAX_GRID_COUNT}`);
    }
    for (let i = 0; i < count; i++) {
      const t = count === 1 ? 0 : i / (count - 1);
      const v = kind === 'linspace' ? a + (b - a) * t : a * Math.pow(b / a, t);
      out.add(Math.round(v));
    }
  };
  visit(spec, path);
  return [...out].sort((x, y) => x - y);
}

function parseVariant(v: unknown, path: string): VariantConfig {
  const o = object(v, path);
  allowKeys(o, path, ['n', 'replicates', 'fitRange', 'densityPoints', 'restarts', 'maxIterations']);
  if (!('n' in o)) throw new ConfigError(`${path}.n: missing; give the sample sizes`);
  const grid = resolveNGrid(o.n as NGridSpec, `${path}.n`);
  const replicates = positiveInteger(o.replicates, `${path}.replicates`);
  if (grid.length * replicates > MAX_TASKS) {
    throw new ConfigError(`${path}.replicates: ${replicates} x ${grid.length} sample sizes = ${grid.length * replicates} tasks; at most ${MAX_TASKS} tasks per variant: lower replicates or the n grid`);
  }
  const raw = o.fitRange;
  if (!Array.isArray(raw) || raw.length !== 2 || !Number.isFinite(raw[0]) || !Number.isFinite(raw[1]) || !(raw[0] <= raw[1])) {
    throw new ConfigError(`${path}.fitRange: ${show(raw)} is not [nLow, nHigh]; must be two numbers with nLow <= nHigh`);
  }
  const range: [number, number] = [raw[0], raw[1]];
  const inRange = grid.filter((n) => n >= range[0] && n <= range[1]);
  if (inRange.length < 2) {
    throw new ConfigError(`${path}.fitRange: ${show(range)} holds ${inRange.length} of the grid's n; a slope needs at least 2`);
  }
  const densityPoints = o.densityPoints === undefined ? 0 : o.densityPoints;
  if (typeof densityPoints !== 'number' || !Number.isInteger(densityPoints) || densityPoints < 0 || densityPoints === 1 || densityPoints > MAX_DENSITY_POINTS) {
    throw new ConfigError(`${path}.densityPoints: ${show(densityPoints)} is not allowed; must be 0 (no density distances) or an integer in 2..${MAX_DENSITY_POINTS} (a Monte Carlo standard error needs 2 points)`);
  }
  // per-variant budget overrides (a quick variant may afford fewer starts and EM maps; rows still
  // say whether each fit converged)
  const restarts = o.restarts === undefined ? undefined : restartsValue(o.restarts, `${path}.restarts`);
  const maxIterations = o.maxIterations === undefined ? undefined : positiveInteger(o.maxIterations, `${path}.maxIterations`);
  return {
    n: o.n as NGridSpec,
    replicates,
    fitRange: range,
    densityPoints,
    ...(restarts !== undefined ? { restarts } : {}),
    ...(maxIterations !== undefined ? { maxIterations } : {}),
  };
}

function parsePrediction(v: unknown, path: string): Prediction {
  const o = object(v, path);
  allowKeys(o, path, ['slope', 'kind', 'source', 'note']);
  if (typeof o.slope !== 'number' || !Number.isFinite(o.slope) || o.slope > 0) {
    throw new ConfigError(`${path}.slope: ${show(o.slope)} is not a predicted slope; must be a number <= 0`);
  }
  const kind = o.kind ?? 'power';
  if (kind !== 'power' && kind !== 'none') throw new ConfigError(`${path}.kind: ${show(kind)} is not allowed; must be "power" or "none"`);
  for (const key of ['source', 'note'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string') throw new ConfigError(`${path}.${key}: ${show(o[key])} is not text`);
  }
  return { slope: o.slope, kind, ...(o.source ? { source: o.source as string } : {}), ...(o.note ? { note: o.note as string } : {}) };
}

/** Quantity names the rates analysis knows (j is a 1-based true atom). */
export const QUANTITY_PATTERN = /^(D1|D2|D1\.raw|D2\.raw|hellinger|tv|tau|(mass|beta1|a|b|nu|ratio)\[\d+\]|(mass|beta1|a|b|nu)\[size=\d+\])$/;

/** Validate an experiment config; `source` prefixes every error (e.g. the file name). */
export function parseExperimentConfig(v: unknown, source = 'config'): ExperimentConfig {
  try {
    const o = object(v, source);
    allowKeys(o, source, ['name', 'description', 'seed', 'truth', 'fit', 'start', 'loss', 'variants', 'predictions']);
    if (typeof o.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(o.name)) {
      throw new ConfigError(`name: ${show(o.name)} is not allowed; must be lower-case letters, digits and '-'`);
    }
    const description = typeof o.description === 'string' ? o.description : '';
    const seed = validateSeed(o.seed, 'seed');
    const truth = parseModel(o.truth, 'truth');
    const fitObj = object(o.fit, 'fit');
    if ('trace' in fitObj) throw new ConfigError('fit.trace: not allowed in a sweep (rows stay small)');
    let fit: FitOptions;
    try {
      fit = validateFitOptions(fitObj as unknown as FitOptions);
    } catch (e) {
      throw e instanceof GatelabError ? new ConfigError(`fit.${e.message}`) : e;
    }
    // the compact parameter space: a variance floor is part of every experiment (fitting.md)
    if (fit.nuMin === undefined) {
      const nuMin = defaultNuMin(fit, truth);
      if (!(nuMin > 0)) {
        // a subnormal true variance: its fraction underflows to 0, which no fit option accepts
        const smallest = Math.min(...truth.experts.map((e) => e.nu));
        throw new ConfigError(
          `fit.nuMin: the default variance floor (nuMinFactor x the smallest true variance, ${show(smallest)}) underflows to ${show(nuMin)}; set fit.nuMin (> 0), or give the truth larger variances`,
        );
      }
      fit = { ...fit, nuMin };
    }
    const kStar = truth.experts.length;
    // the Voronoi losses weigh atoms by exp(beta0): a true beta0 whose exp overflows fails every task
    truth.experts.forEach((e, i) => {
      if (!Number.isFinite(Math.exp(e.beta0))) {
        throw new ConfigError(`truth.experts[${i}].beta0: ${show(e.beta0)} is not allowed; exp(beta0) overflows float64, and the Voronoi losses weigh atoms by it: must be < 709 (softmax gates are unchanged by a common shift of every beta0)`);
      }
    });
    if (fit.k < kStar) {
      throw new ConfigError(`fit.k: ${fit.k} is below the number of true experts (${kStar}); Voronoi losses need k >= k*`);
    }
    // the largest possible Voronoi cell has k - k* + 1 atoms; D2's exponents need rbar, known for <= 3
    if (fit.k - kStar + 1 > 3) {
      throw new ConfigError(`fit.k: ${fit.k} with k* = ${kStar} true experts allows a Voronoi cell of ${fit.k - kStar + 1} atoms; the D2 loss needs rbar, known for cells of at most 3 atoms: k <= ${kStar + 2}`);
    }
    const s = object(o.start, 'start');
    let start: ExperimentConfig['start'];
    if (s.type === 'nearTruth') {
      allowKeys(s, 'start', ['type', 'noise', 'shrinkExponent', 'restarts']);
      if (typeof s.noise !== 'number' || !(s.noise >= 0) || !(s.noise <= MAX_START_NOISE)) {
        throw new ConfigError(`start.noise: ${show(s.noise)} is not a noise level; must be a number in [0, ${MAX_START_NOISE}]`);
      }
      if (s.shrinkExponent !== undefined && (typeof s.shrinkExponent !== 'number' || !(s.shrinkExponent >= 0) || !Number.isFinite(s.shrinkExponent))) {
        throw new ConfigError(`start.shrinkExponent: ${show(s.shrinkExponent)} is not allowed; must be a finite number >= 0`);
      }
      start = {
        type: 'nearTruth',
        noise: s.noise,
        ...(s.shrinkExponent !== undefined ? { shrinkExponent: s.shrinkExponent as number } : {}),
        restarts: s.restarts === undefined ? 1 : restartsValue(s.restarts, 'start.restarts'),
      };
    } else if (s.type === 'demysNearTrue') {
      // the [DEMYS] authors' nearTrue start (fitting/starts.ts demysNearTrueStart); their model has a softmax gate
      allowKeys(s, 'start', ['type', 'gate', 'experts', 'variance', 'varianceStart', 'restarts']);
      if (fit.gate.type !== 'softmax' || truth.gate.type !== 'softmax') {
        throw new ConfigError(`start.type: "demysNearTrue" is the [DEMYS] authors' start for softmax gates; fit.gate.type is ${show(fit.gate.type)} and truth.gate.type ${show(truth.gate.type)}: use "nearTruth"`);
      }
      const blocks: Record<string, BlockNoise> = {};
      for (const key of ['gate', 'experts', 'variance'] as const) {
        const b = blockNoise(s[key], `start.${key}`);
        if (b) blocks[key] = b;
      }
      if (s.varianceStart !== undefined && s.varianceStart !== 'variance' && s.varianceStart !== 'standardDeviation') {
        throw new ConfigError(`start.varianceStart: ${show(s.varianceStart)} is not allowed; must be "variance" (default: the true variance) or "standardDeviation" (the [DEMYS] authors' quirk: the true sd used as the starting variance)`);
      }
      start = {
        type: 'demysNearTrue',
        ...blocks,
        ...(s.varianceStart !== undefined ? { varianceStart: s.varianceStart as 'variance' | 'standardDeviation' } : {}),
        restarts: s.restarts === undefined ? 1 : restartsValue(s.restarts, 'start.restarts'),
      };
    } else if (s.type === 'random') {
      allowKeys(s, 'start', ['type', 'restarts']);
      start = { type: 'random', restarts: s.restarts === undefined ? 1 : restartsValue(s.restarts, 'start.restarts') };
    } else {
      throw new ConfigError(`start.type: ${show(s.type)} is not a start; must be "nearTruth", "demysNearTrue" or "random"`);
    }
    let loss: ExperimentConfig['loss'];
    if (o.loss !== undefined) {
      const l = object(o.loss, 'loss');
      allowKeys(l, 'loss', ['tauFitted', 'metric']);
      if (l.tauFitted !== undefined && typeof l.tauFitted !== 'boolean') throw new ConfigError(`loss.tauFitted: ${show(l.tauFitted)} is not true or false`);
      if (l.metric !== undefined && !VORONOI_METRICS.includes(l.metric as VoronoiMetric)) {
        throw new ConfigError(`loss.metric: ${show(l.metric)} is not a Voronoi metric; must be "euclidean" (default) or "blocks" (the [DEMYS] authors' sum of block norms)`);
      }
      loss = { tauFitted: l.tauFitted as boolean | undefined, ...(l.metric !== undefined ? { metric: l.metric as VoronoiMetric } : {}) };
    }
    const variantsObj = object(o.variants, 'variants');
    allowKeys(variantsObj, 'variants', ['quick', 'full']);
    const variants = { quick: parseVariant(variantsObj.quick, 'variants.quick'), full: parseVariant(variantsObj.full, 'variants.full') };
    const predictionsObj = object(o.predictions, 'predictions');
    const predictions: Record<string, Prediction> = {};
    for (const [quantity, p] of Object.entries(predictionsObj)) {
      if (!QUANTITY_PATTERN.test(quantity)) {
        throw new ConfigError(`predictions.${quantity}: unknown quantity; must be D1, D2, D1.raw, D2.raw, hellinger, tv, tau, mass[j], beta1[j], a[j], b[j], nu[j], ratio[j] or mass|beta1|a|b|nu[size=m]`);
      }
      const atom = /\[(\d+)\]$/.exec(quantity);
      if (atom && (Number(atom[1]) < 1 || Number(atom[1]) > kStar)) {
        throw new ConfigError(`predictions.${quantity}: true atom ${atom[1]} does not exist; the truth has atoms 1..${kStar}`);
      }
      const size = /\[size=(\d+)\]$/.exec(quantity);
      if (size && (Number(size[1]) < 2 || Number(size[1]) > fit.k - kStar + 1)) {
        throw new ConfigError(`predictions.${quantity}: no Voronoi cell can have ${size[1]} atoms with k = ${fit.k}, k* = ${kStar}; sizes 2..${fit.k - kStar + 1} exist`);
      }
      predictions[quantity] = parsePrediction(p, `predictions.${quantity}`);
    }
    return { name: o.name, description, seed, truth, fit, start, ...(loss ? { loss } : {}), variants, predictions };
  } catch (e) {
    if (e instanceof GatelabError && !e.message.startsWith(source)) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
}

/** The default results folder of an experiment: results/<name>/ (full) or results/<name>-quick/. */
export function defaultResultsDir(name: string, variant: 'quick' | 'full'): string {
  return `results/${variant === 'quick' ? `${name}-quick` : name}`;
}

/** The Voronoi loss options of an experiment's rows: tauFitted, and the cell metric where the config sets one. */
export function lossOptions(config: ExperimentConfig): { tauFitted: boolean; metric?: VoronoiMetric } {
  const metric = config.loss?.metric;
  return { tauFitted: lossTauFitted(config), ...(metric !== undefined ? { metric } : {}) };
}

/** Whether the losses of an experiment include tau: as configured, else when tau is fitted. */
export function lossTauFitted(config: ExperimentConfig): boolean {
  return config.loss?.tauFitted ?? config.fit.tau === 'free';
}
