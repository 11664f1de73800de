/**
 * The estimator API (scikit-learn style): settings are validated once, `fitMoE` returns plain data.
 *
 *   fitMoE(data, options, start) -> { model, fit: { loglik, iterations, stopReason, seconds, ... } }
 *
 * Starts: a given model, a near-truth perturbation (gatelab's, or the [DEMYS] authors' demysNearTrue), or data-driven random starts; with several
 * starts (restarts) the fit with the highest final log-likelihood is kept.
 */
import { performance } from 'node:perf_hooks';
import type { Backend } from '../backend/types.js';
import { checkFitMagnitude, validateDataset, type Dataset } from '../data/dataset.js';
import { ConfigError, ModelError, NumericalError, show } from '../errors.js';
import { gateDefinition, temperatureGates } from '../gates/index.js';
import { parseGate, parseModel } from '../models/validate.js';
import type { InputSpec, Model } from '../models/types.js';
import { GATE_BOUND, gateBoundExcess, gateBoxFace } from '../models/gate-bound.js';
import { Rng, validateSeed } from '../rng/rng.js';
import { runEM, type EngineResult } from './em.js';
import { runMLE } from './mle.js';
import { demysNearTrueStart, nearTruthStart, randomStart, type DemysNearTrueStart, type NearTruthStart } from './starts.js';
import { dataInputBox, packState, unpackState, type PackedState } from './state.js';
import { checkFitOptionValues, FIT_DEFAULTS, FIT_OPTION_KEYS } from './options.js';
import { resolveStopping, type FitOptions, type FitResult } from './types.js';

export type StartSpec =
  | { type: 'given'; model: Model }
  | (NearTruthStart & { seed: number; restarts?: number })
  | (DemysNearTrueStart & { seed: number; restarts?: number })
  | { type: 'random'; seed: number; restarts?: number };

/** Most experts of a fit, and most starts of a restart set (both allocate per expert / start up front). */
export const MAX_EXPERTS = 10000;
export const MAX_RESTARTS = 1000;

/** The members an expert family must have (experts/types.ts). */
const FAMILY_MEMBERS = [
  'pack', 'unpack', 'copy', 'assign', 'logDensities', 'statsSize', 'addStatistics', 'finishStatistics', 'mStep',
  'vectorSize', 'toVector', 'fromVector', 'project', 'onFloor', 'gradient', 'pointScore', 'heldByFloor',
] as const;

function checkExpertFamily(v: unknown): void {
  if (v === null || typeof v !== 'object') throw new ConfigError(`expertFamily: ${show(v)} is not an expert family; must be an object implementing ExpertFamily (experts/types.ts), e.g. gaussianLinear`);
  const f = v as Record<string, unknown>;
  if (typeof f.name !== 'string' || f.name === '') throw new ConfigError(`expertFamily.name: ${show(f.name)} is not allowed; must be a non-empty string`);
  if (f.kernel !== null && f.kernel !== 'gaussian-linear') throw new ConfigError(`expertFamily.kernel: ${show(f.kernel)} is not allowed; must be null or "gaussian-linear"`);
  const missing = FAMILY_MEMBERS.filter((m) => typeof f[m] !== 'function');
  if (missing.length > 0) throw new ConfigError(`expertFamily: "${f.name}" lacks ${missing.join(', ')}; an expert family implements every member of ExpertFamily (experts/types.ts)`);
}

function positiveInteger(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(`${name}: ${show(v)} is not allowed; must be an integer >= 1`);
  }
  return v;
}

/**
 * Validate fit options (unknown keys rejected); returns a normalised copy. Domains, defaults and
 * the options that apply under one stopping rule only come from the options table
 * (fitting/options.ts FIT_OPTIONS); k, gate and expertFamily are checked here.
 * @throws ConfigError naming the option, in the one format of options.ts
 * @example validateFitOptions({ k: 2, gate: { type: 'softmax' } }) // => { k: 2, gate: { type: 'softmax' } }
 */
export function validateFitOptions(options: FitOptions): FitOptions {
  for (const key of Object.keys(options)) {
    if (!FIT_OPTION_KEYS.includes(key)) throw new ConfigError(`options.${key}: unknown option; allowed: ${FIT_OPTION_KEYS.join(', ')}`);
  }
  if (typeof options.k !== 'number' || !Number.isInteger(options.k) || options.k < 1) {
    throw new ConfigError(`k: ${show(options.k)} is not allowed; must be an integer >= 1`);
  }
  const k = options.k;
  if (k > MAX_EXPERTS) throw new ConfigError(`k: ${k} is not allowed; at most ${MAX_EXPERTS} experts`);
  let gate;
  try {
    gate = parseGate(options.gate, k, 'gate');
  } catch (e) {
    throw e instanceof ModelError ? new ConfigError(e.message) : e;
  }
  const out: FitOptions = { ...options, k, gate };
  checkFitOptionValues(options);
  if (options.tau === 'free' && !gateDefinition(gate.type).traits.temperature) {
    throw new ConfigError(`tau: "free" needs a gate with a temperature (${temperatureGates()}); the gate is ${gate.type}`);
  }
  if (options.expertFamily !== undefined) checkExpertFamily(options.expertFamily);
  if (options.gateBound !== undefined && (options.method ?? FIT_DEFAULTS.method) !== 'em') {
    // the box is a constraint of EM's M-step and extrapolations; L-BFGS here is unconstrained
    throw new ConfigError(`gateBound: applies to method "em" only (EM's gate M-step, SQUAREM and the polish keep the gate in the box); the method is "${options.method}"`);
  }
  if (options.relativeLag) {
    // the [DEMYS] authors' loop: EM under their relative rule only (its domain, boolean, is the table's)
    const stop = options.stop ?? FIT_DEFAULTS.stop;
    const method = options.method ?? FIT_DEFAULTS.method;
    if (stop !== 'relative' || method !== 'em') {
      throw new ConfigError(`relativeLag: applies to EM under the stopping rule "relative" only (the [DEMYS] authors' loop); the rule is "${stop}" and the method "${method}"`);
    }
  }
  return out;
}

function checkStartShape(start: Model, options: FitOptions, data: Dataset): void {
  if (start.experts.length !== options.k) {
    throw new ConfigError(`start: has ${start.experts.length} experts; the fit asks for k = ${options.k}`);
  }
  if (start.input.dim !== data.d) {
    throw new ConfigError(`start: has dimension ${start.input.dim}; the data has ${data.d} input columns`);
  }
}

/**
 * Fit a Gaussian MoE with k experts under the given gate to data.
 * @param data validated here (finite values, shapes)
 * @param options see {@link FitOptions}; validated here, unknown keys rejected
 * @param start a given model, a near-truth start (with seed) or random starts (with seed)
 * @param backend reductions over points (default: the float64 CPU backend)
 * @throws ConfigError / DataError / ModelError naming the bad field
 */
export function fitMoE(data: Dataset, options: FitOptions, start: StartSpec, backend?: Backend): FitResult {
  validateDataset(data);
  checkFitMagnitude(data);
  const validated = validateFitOptions(options);
  const method = validated.method ?? 'em';
  const opts = withNuMin(validated, start);
  const starts = expandStarts(data, opts, start);
  if (opts.nuMin === undefined) opts.nuMin = defaultNuMin(validated, starts[0]!.model);
  const t0 = performance.now();
  const runs = starts.map((s) => {
    const state = packState(s.model, opts);
    const result = method === 'em' ? runEM(data, state, opts, backend) : runMLE(data, state, opts, backend);
    return { result, state, label: s.label };
  });
  if (validated.relativeLag) lagBest(data, runs, opts, backend);
  return bestFit(runs, start.type === 'random' ? dataInputBox(data) : null, starts, opts, (performance.now() - t0) / 1000);
}

/**
 * `relativeLag` (the [DEMYS] authors' loop): the start with the highest log-likelihood at its stop
 * (the one bestFit keeps; a non-finite one loses) is moved by one more EM map, in place; its
 * loglik becomes that of the moved parameters (EM does not decrease it, so it stays the best) and
 * the map counts as an iteration. The stop reason is the rule's.
 */
function lagBest(data: Dataset, runs: { result: EngineResult; state: PackedState }[], opts: FitOptions, backend?: Backend): void {
  let best = 0;
  runs.forEach((run, t) => {
    const b = runs[best]!.result.loglik;
    if (run.result.loglik > b || !Number.isFinite(b)) best = t;
  });
  const run = runs[best]!;
  if (!Number.isFinite(run.result.loglik)) return;
  const lag = runEM(data, run.state, { ...opts, relativeLag: false, stop: 'relative', tol: 0, absTol: 0, maxIterations: 1 }, backend);
  run.result = {
    ...run.result,
    loglik: lag.loglik,
    iterations: run.result.iterations + lag.iterations,
    lastChange: lag.lastChange,
    nuFloorHits: lag.nuFloorHits,
    decreases: run.result.decreases + lag.decreases,
    evaluations: run.result.evaluations + lag.evaluations,
    trace: [...run.result.trace, ...lag.trace.slice(1)],
  };
}

/**
 * The scale-aware default variance floor (spec: fitting.md, "Compact parameter space"):
 *   nu_min = nuMinFactor * min_i nu_i(reference),   nuMinFactor default 0.01,
 * the reference being the truth of a near-truth start, the given start, or the first random start.
 * Far below any legitimate component (on the [DEMYS] truth, variances 0.09 and 0.16, it is 9e-4,
 * against 0.04 for a legitimately split atom) yet it bounds the likelihood, which is unbounded as
 * a variance goes to 0 when k > k*.
 * @example defaultNuMin({ k: 2, gate: { type: 'softmax' } }, demysTruth) // => 0.0009
 */
export function defaultNuMin(options: FitOptions, reference: Model): number {
  const smallest = reference.experts.reduce((m, e) => Math.min(m, e.nu), Infinity);
  return (options.nuMinFactor ?? FIT_DEFAULTS.nuMinFactor) * smallest;
}

/** Options with nuMin filled in where the reference model is known before the starts are drawn (a copy). */
export function withNuMin(opts: FitOptions, start: StartSpec): FitOptions {
  if (opts.nuMin !== undefined) return opts;
  if (start.type === 'nearTruth' || start.type === 'demysNearTrue') return { ...opts, nuMin: defaultNuMin(opts, parseModel(start.truth, 'truth')) };
  if (start.type === 'given') return { ...opts, nuMin: defaultNuMin(opts, parseModel(start.model, 'start')) };
  return { ...opts };
}

function boundedRestarts(v: unknown): number {
  const restarts = positiveInteger(v ?? 1, 'restarts');
  if (restarts > MAX_RESTARTS) throw new ConfigError(`restarts: ${restarts} is not allowed; at most ${MAX_RESTARTS} starts`);
  return restarts;
}

/**
 * The restarts of a start drawn around the truth (nearTruth, demysNearTrue): the truth parsed and
 * checked against the data's dimension, the seed and restarts checked, then the start's own
 * checks (`check`), one generator from the seed, `make` once per restart.
 */
function perturbedStarts(
  data: Dataset,
  start: { truth: unknown; seed: number; restarts?: number },
  make: (truth: Model, rng: Rng) => { model: Model; label: string },
  check: () => void = () => {},
): { model: Model; label: string }[] {
  const truth = parseModel(start.truth, 'truth');
  if (truth.input.dim !== data.d) {
    throw new ConfigError(`truth: has dimension ${truth.input.dim}; the data has ${data.d} input columns`);
  }
  const rng = new Rng(validateSeed(start.seed));
  const restarts = boundedRestarts(start.restarts);
  check();
  return Array.from({ length: restarts }, (_, t) => {
    const s = make(truth, rng);
    return { model: s.model, label: restarts > 1 ? `${s.label} (start ${t + 1} of ${restarts})` : s.label };
  });
}

/** The start models of a StartSpec (validated, shapes checked against the data and options). */
export function expandStarts(data: Dataset, opts: FitOptions, start: StartSpec): { model: Model; label: string }[] {
  const starts: { model: Model; label: string }[] = [];
  switch (start.type) {
    case 'given': {
      const model = parseModel(start.model, 'start');
      starts.push({ model, label: 'given' });
      break;
    }
    case 'nearTruth': {
      const checkNoise = () => {
        if (!(typeof start.noise === 'number' && start.noise >= 0 && start.noise <= 100)) {
          throw new ConfigError(`noise: ${show(start.noise)} is not allowed; must be a number in [0, 100] (a near-truth start's noise sd)`);
        }
        if (start.shrinkExponent !== undefined && !(typeof start.shrinkExponent === 'number' && start.shrinkExponent >= 0 && start.shrinkExponent <= 10)) {
          throw new ConfigError(`shrinkExponent: ${show(start.shrinkExponent)} is not allowed; must be a number in [0, 10] (the [DEMYS] code uses 0.083)`);
        }
      };
      const pinLast = (opts.identifiability ?? 'reference') === 'reference' && gateDefinition(opts.gate.type).traits.reference.beta1 === 'zero';
      starts.push(...perturbedStarts(data, start, (truth, rng) => nearTruthStart({ ...start, truth }, opts.k, data.n, opts.gate, rng, opts.nuMin, opts.tau === 'free', pinLast), checkNoise));
      break;
    }
    case 'demysNearTrue': {
      // the [DEMYS] authors' nearTrue start (starts.ts demysNearTrueStart): n_tries = restarts
      starts.push(...perturbedStarts(data, start, (truth, rng) => demysNearTrueStart({ ...start, truth }, opts.k, data.n, opts.gate, rng, opts.nuMin)));
      break;
    }
    case 'random': {
      const rng = new Rng(validateSeed(start.seed));
      const restarts = boundedRestarts(start.restarts);
      for (let t = 0; t < restarts; t++) {
        starts.push({ model: randomStart(data, opts.k, opts.gate, rng), label: `random (start ${t + 1} of ${restarts})` });
      }
      break;
    }
    default:
      throw new ConfigError(`start.type: ${show((start as { type: unknown }).type)} is not a start; must be given, nearTruth, demysNearTrue or random`);
  }
  for (const s of starts) checkStartShape(s.model, opts, data);
  return starts;
}

/** Every packed parameter finite (a failed start can end with NaN where its numerics broke). */
function finiteState(state: PackedState): boolean {
  const { experts } = state;
  const v = new Float64Array(experts.family.vectorSize(experts.k, experts.d));
  experts.family.toVector(experts, v, 0);
  return [state.theta, v].every((block) => block.every(Number.isFinite));
}

/** max - min of the finite values (0 for fewer than two); how far apart the starts' maxima are. */
function spread(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length < 2 ? 0 : Math.max(...finite) - Math.min(...finite);
}

/**
 * The result of the start with the highest final log-likelihood (a non-finite one loses).
 * @param input the input design recorded in the model; null: each start's own
 */
export function bestFit(
  runs: { result: EngineResult; state: PackedState; label: string }[],
  input: InputSpec | null,
  starts: { model: Model }[],
  opts: FitOptions,
  seconds: number,
): FitResult {
  let best = 0;
  runs.forEach((run, t) => {
    const b = runs[best]!.result.loglik;
    if (run.result.loglik > b || !Number.isFinite(b)) best = t;
  });
  const { result: r, state, label } = runs[best]!;
  if (!Number.isFinite(r.loglik) || !finiteState(state)) {
    // every start failed: a result with NaN parameters or L = -Infinity is not a fit
    throw new NumericalError(
      `start: ${runs.length > 1 ? `none of the ${runs.length} starts gives` : 'the start does not give'} a finite log-likelihood on this data ` +
        `(L = ${show(r.loglik)}, stop reason ${r.stopReason}); use a start closer to the data (a smaller near-truth noise, a given start, random starts), or rescale the data`,
    );
  }
  const rule = resolveStopping(opts);
  const model = unpackState(state, input ?? starts[best]!.model.input);
  const excess = gateBoundExcess(model);
  const onFace = opts.gateBound !== undefined ? gateBoxFace(model, opts.gateBound) : undefined;
  const warnings = [...r.warnings];
  if (excess !== undefined) {
    warnings.push(
      `the fitted gate leaves the box |beta| <= ${GATE_BOUND} (expert ${excess.expert + 1} ${excess.field} = ${show(excess.value)}): a hard switch, the likelihood climbing along a ray with no maximum, so the fit is not a point of a compact parameter space (sweeps count it as not converged); set gateBound to keep EM in the box, or fewer experts or other starts may avoid it`,
    );
  }
  if (onFace !== undefined) {
    warnings.push(
      `the fitted gate sits on the face of the box |beta| <= ${opts.gateBound} (expert ${onFace.expert + 1} ${onFace.field} = ${show(onFace.value)}): the maximum over the box is a constrained one there (the likelihood still rises outward: a hard switch of a fitted expert)`,
    );
  }
  return {
    model,
    fit: {
      loglik: r.loglik,
      iterations: r.iterations,
      stopReason: r.stopReason,
      stopRule: rule.stop === 'score' ? `score T <= ${rule.scoreTol}` : `relative |dL| <= ${rule.tol} |L|${rule.absTol > 0 ? ` or <= ${rule.absTol}` : ''}`,
      certificate: r.certificate !== null && Number.isFinite(r.certificate) ? r.certificate : null,
      lastChange: Number.isFinite(r.lastChange) ? r.lastChange : null,
      nuMin: rule.nuMin,
      seconds,
      method: opts.method ?? 'em',
      start: label,
      nuFloorHits: r.nuFloorHits,
      decreases: r.decreases,
      warnings,
      ...(r.polish ? { polish: r.polish } : {}),
      ...(r.selectionSearch ? { selectionSearch: r.selectionSearch } : {}),
      ...(opts.trace ? { trace: r.trace } : {}),
      ...(runs.length > 1
        ? {
            restarts: runs.map((run) => (Number.isFinite(run.result.loglik) ? run.result.loglik : null)),
            restartStops: runs.map((run) => run.result.stopReason),
            restartSpread: spread(runs.map((run) => run.result.loglik)),
          }
        : {}),
    },
  };
}
