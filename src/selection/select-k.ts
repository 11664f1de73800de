/**
 * Choosing the number of experts (docs/selection.md): fit k = kMin..kMax, report per k the
 * log-likelihood, the free parameters, AIC, BIC and ICL and the k each criterion chooses; build the
 * dendrogram of mixing measures of the k = kMax fit and its DIC choice where the gate allows it.
 *
 * Every k is fitted from `restarts` data-driven random starts (fitMoE's restarts and stopping
 * rule) and, for k > kMin, also warm-started from the k - 1 fit with its heaviest atom (largest
 * total responsibility) split in two (masses halved, intercepts b +- sqrt(nu)); the better fit is
 * kept. So that L cannot fall as k grows, when both end below L(k - 1) the k - 1 fit with its
 * heaviest atom split exactly (same parameters, masses halved: the same density) is kept instead,
 * labelled `split (exact, not refitted)`. That embedding exists for the gates with an exact merge
 * (gateDefinition(...).mixingTemperature); for the others a fall is reported as a warning.
 */
import type { Dataset } from '../data/dataset.js';
import { validateDataset } from '../data/dataset.js';
import { ConfigError, GatelabError, ModelError, show } from '../errors.js';
import { fitMoE, MAX_RESTARTS } from '../fitting/fit.js';
import type { FitOptions, FitResult, StopReason } from '../fitting/types.js';
import { gateDefinition } from '../gates/registry.js';
import type { GateSpec, Model } from '../models/types.js';
import { parseGate } from '../models/validate.js';
import { Rng, validateSeed } from '../rng/rng.js';
import { argminK, criteria } from './criteria.js';
import { dendrogram, dendrogramSupport, type Dendrogram, type DendrogramOptions } from './dendrogram.js';
import { parameterCount } from './parameters.js';
import { responsibilities } from './responsibilities.js';

/** Most k of one selection (each k is a full fit with restarts). */
export const MAX_SELECT_K = 50;

export interface SelectKOptions {
  /** the gate (a spec object; parsed at each k, so top-K's K must be <= k) */
  gate: unknown;
  /** the largest k fitted, >= 1 */
  kMax: number;
  /** the smallest k fitted (default: the smallest k >= 1 at which the gate spec is valid, e.g. K for top-K) */
  kMin?: number;
  /** seed of the random starts (each k derives its own) */
  seed: number;
  /** random starts per k (default 3) */
  restarts?: number;
  /** also warm-start k from the k - 1 fit with its heaviest atom split (default true) */
  split?: boolean;
  /** further fit settings (tau, method, stop, scoreTol, maxIterations, nuMin, ...) */
  fit?: Omit<FitOptions, 'k' | 'gate' | 'trace'>;
  /** the dendrogram's merge distance and DIC settings */
  dendrogram?: DendrogramOptions;
}

/** One fitted k. */
export interface KFit {
  k: number;
  /** log-likelihood of the kept fit (float64, on the data) */
  loglik: number;
  /** free parameters p (gate + experts) */
  params: number;
  gateParams: number;
  aic: number;
  bic: number;
  icl: number;
  /** entropy of the responsibilities EN (nats) */
  entropy: number;
  /** which fit was kept: 'random', 'split', or 'split (exact, not refitted)' */
  source: 'random' | 'split' | 'split (exact, not refitted)';
  stopReason: StopReason | 'notRefitted';
  converged: boolean;
  iterations: number;
  seconds: number;
  nuMin: number;
  /** final log-likelihood of each candidate (null: not run) */
  candidates: { random: number; split: number | null };
  model: Model;
}

export interface Selection {
  n: number;
  d: number;
  kMin: number;
  kMax: number;
  /** the gate spec at kMax */
  gate: GateSpec;
  /** how p is counted for this gate */
  counting: string;
  k: KFit[];
  /** the k each criterion chooses (argmin; ties: the smaller k); dic null where no dendrogram */
  chosen: { aic: number | null; bic: number | null; icl: number | null; dic: number | null };
  dendrogram: Dendrogram | null;
  /** why the dendrogram is null */
  dendrogramNote?: string;
  warnings: string[];
}

function gateAt(gate: unknown, k: number): GateSpec {
  try {
    return parseGate(gate, k, 'gate');
  } catch (e) {
    throw e instanceof ModelError ? new ConfigError(e.message) : e;
  }
}

/** The smallest k in 1..kMax at which the gate spec parses (top-K: K). */
function smallestK(gate: unknown, kMax: number): number {
  let last: unknown;
  for (let k = 1; k <= kMax; k++) {
    try {
      parseGate(gate, k, 'gate');
      return k;
    } catch (e) {
      if (!(e instanceof GatelabError)) throw e;
      last = e;
    }
  }
  throw new ConfigError(`kMax: ${kMax} is too small for this gate: ${(last as Error).message}`);
}

/**
 * The k - 1 fit with atom i split in two: both copies keep its parameters, their masses halve
 * (beta0 - tau log 2), and `spread` moves the intercepts apart (b +- spread sqrt(nu)). With spread 0
 * the density is unchanged (gates with an exact merge).
 */
function splitAtom(model: Model, i: number, tau: number, spread: number): Model {
  const e = model.experts[i]!;
  const half = tau * Math.LN2;
  const s = spread * Math.sqrt(e.nu);
  const experts = model.experts.flatMap((x, t) =>
    t === i ? [{ ...x, beta0: x.beta0 - half, b: x.b + s }, { ...x, beta0: x.beta0 - half, b: x.b - s }] : [{ ...x }],
  );
  return { gate: model.gate, experts, input: model.input };
}

function heaviest(totals: Float64Array): number {
  let best = 0;
  for (let i = 1; i < totals.length; i++) if (totals[i]! > totals[best]!) best = i;
  return best;
}

/**
 * Choose the number of experts: see the module comment and docs/selection.md.
 * @param data a dataset (validated here)
 * @param options.gate gate spec object; options.kMax the largest k (1..50 and at most n);
 *   options.seed the starts' seed; options.restarts random starts per k (default 3, 1..1000);
 *   options.split warm start by splitting (default true); options.fit further FitOptions;
 *   options.dendrogram the merge distance's exponents and slope, and the DIC's omega
 * @returns plain data: per k the fit and its criteria, the chosen k per criterion, the dendrogram
 * @throws ConfigError naming the option (kMax, kMin, restarts, seed, gate, fit.*)
 * @example
 *   const s = selectK(data, { gate: { type: 'softmax' }, kMax: 3, seed: 1 });
 *   s.chosen.bic // => 2 on data from the [DEMYS] truth (k* = 2) at n = 5000
 */
export function selectK(data: Dataset, options: SelectKOptions): Selection {
  validateDataset(data);
  const { kMax } = options;
  if (typeof kMax !== 'number' || !Number.isInteger(kMax) || kMax < 1 || kMax > MAX_SELECT_K) {
    throw new ConfigError(`kMax: ${show(kMax)} is not allowed; must be an integer in 1..${MAX_SELECT_K}`);
  }
  if (kMax > data.n) throw new ConfigError(`kMax: ${kMax} experts need at least ${kMax} data points; the data has ${data.n}`);
  const seed = validateSeed(options.seed, 'seed');
  const restarts = options.restarts ?? 3;
  if (!Number.isInteger(restarts) || restarts < 1 || restarts > MAX_RESTARTS) {
    throw new ConfigError(`restarts: ${show(restarts)} is not allowed; must be an integer in 1..${MAX_RESTARTS}`);
  }
  const kMin = options.kMin ?? smallestK(options.gate, kMax);
  if (!Number.isInteger(kMin) || kMin < 1 || kMin > kMax) throw new ConfigError(`kMin: ${show(kMin)} is not allowed; must be an integer in 1..kMax (${kMax})`);
  const fitExtra = options.fit ?? {};
  for (const key of ['k', 'gate', 'trace']) {
    if (key in fitExtra) throw new ConfigError(`fit.${key}: is set by selectK; leave it out`);
  }
  const tauMode = fitExtra.tau ?? 'known';
  const identifiability = fitExtra.identifiability ?? 'reference';
  const split = options.split ?? true;
  const warnings: string[] = [];
  const fits: KFit[] = [];
  let previous: { fit: KFit; totals: Float64Array } | undefined;
  const root = new Rng(seed);
  for (let k = kMin; k <= kMax; k++) {
    const gate = gateAt(options.gate, k);
    const def = gateDefinition(gate.type);
    const fitOptions: FitOptions = { ...fitExtra, k, gate };
    const t0 = Date.now();
    const startSeed = root.derive(k, 0x5e1ec7).nextUint32();
    const random = fitMoE(data, fitOptions, { type: 'random', seed: startSeed, restarts });
    let kept: { result: FitResult; source: KFit['source'] } = { result: random, source: 'random' };
    let splitLoglik: number | null = null;
    if (split && previous) {
      const tau = def.mixingTemperature ? def.mixingTemperature(previous.fit.model.gate as never) : 1;
      const start = splitAtom(previous.fit.model, heaviest(previous.totals), tau, 1);
      try {
        const warm = fitMoE(data, { ...fitOptions, nuMin: fitExtra.nuMin ?? random.fit.nuMin }, { type: 'given', model: start });
        splitLoglik = warm.fit.loglik;
        if (warm.fit.loglik > random.fit.loglik) kept = { result: warm, source: 'split' };
      } catch (e) {
        if (!(e instanceof GatelabError)) throw e;
        warnings.push(`k = ${k}: the split warm start failed (${e.message}); kept the random starts' fit`);
      }
    }
    let model = kept.result.model;
    let stats = responsibilities(model, data);
    let stopReason: KFit['stopReason'] = kept.result.fit.stopReason;
    if (previous && stats.loglik < previous.fit.loglik) {
      if (def.mixingTemperature) {
        const tau = def.mixingTemperature(previous.fit.model.gate as never);
        model = splitAtom(previous.fit.model, heaviest(previous.totals), tau, 0);
        stats = responsibilities(model, data);
        kept = { ...kept, source: 'split (exact, not refitted)' };
        stopReason = 'notRefitted';
      } else {
        warnings.push(
          `k = ${k}: L = ${stats.loglik.toFixed(4)} is below L(k - 1) = ${previous.fit.loglik.toFixed(4)}; the ${gate.type} gate has no exact split to fall back on: try more restarts`,
        );
      }
    }
    const count = parameterCount(gate, k, data.d, { tau: tauMode, identifiability });
    const c = criteria(stats.loglik, count.total, data.n, stats.entropy);
    const fit: KFit = {
      k,
      loglik: stats.loglik,
      params: count.total,
      gateParams: count.gate,
      ...c,
      entropy: stats.entropy,
      source: kept.source,
      stopReason,
      converged: stopReason === 'converged',
      iterations: kept.result.fit.iterations,
      seconds: (Date.now() - t0) / 1000,
      nuMin: kept.result.fit.nuMin,
      candidates: { random: random.fit.loglik, split: splitLoglik },
      model,
    };
    fits.push(fit);
    previous = { fit, totals: stats.totals };
  }
  const ks = fits.map((f) => f.k);
  const top = fits[fits.length - 1]!;
  const gateMax = gateAt(options.gate, kMax);
  const note = dendrogramSupport(gateMax);
  const tree = note === null ? dendrogram(top.model, data, options.dendrogram) : null;
  const count = parameterCount(gateMax, kMax, data.d, { tau: tauMode, identifiability });
  return {
    n: data.n,
    d: data.d,
    kMin,
    kMax,
    gate: gateMax,
    counting: `p = p_gate + k (d + 1) + k; p_gate = packed gating parameters minus ${count.removed.length > 0 ? count.removed.join('; ') : 'nothing'} (at k = ${kMax}; 0 at k = 1); fixed settings of the gate spec are not counted`,
    k: fits,
    chosen: {
      aic: argminK(fits.map((f) => f.aic), ks),
      bic: argminK(fits.map((f) => f.bic), ks),
      icl: argminK(fits.map((f) => f.icl), ks),
      dic: tree?.chosen ?? null,
    },
    dendrogram: tree,
    ...(note === null ? {} : { dendrogramNote: note }),
    warnings,
  };
}
