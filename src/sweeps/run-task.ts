/**
 * One sweep task: sample n points from the truth with the task's seed, fit, and record every loss
 * and error as a flat row. A task that throws becomes a row with status 'failed' and the message:
 * failures are counted by the analysis, never dropped.
 */
import { definitionOf } from '../gates/registry.js';
import { GatelabError, ModelError, NumericalError, show } from '../errors.js';
import { fitMoE, type StartSpec } from '../fitting/fit.js';
import type { FitResult } from '../fitting/types.js';
import { densityDistance } from '../losses/density-distance.js';
import { voronoiLoss } from '../losses/voronoi-loss.js';
import { resolveShiftMode } from '../losses/alignment.js';
import { gateTau, type Model } from '../models/types.js';
import { gateBoundExcess } from '../models/gate-bound.js';
import { lossOptions } from './config.js';
import { Rng } from '../rng/rng.js';
import { sample } from '../sampling/sample.js';
import type { ExperimentConfig, SweepRow, SweepTask } from './types.js';

/**
 * Errors of the identifiable ratio of a temperature-type gate, per true atom j, mass-weighted over
 * the cell like the other per-parameter errors (losses.md, "Per-parameter errors"):
 *
 *     ratio[j] = ( sum_{i in A_j} w_i || beta1_i / tau + c - beta1*_j / tau* ||^r / sum_{i in A_j} w_i )^(1/r)
 *
 * with w_i = exp(beta0_i) and r = `exponents[j]` (the loss's beta1 exponent for that cell;
 * defaults to 1, which is also the exponent of every singleton cell). The alignment is its own, in
 * ratio space (a common shift c of every beta1_i / tau leaves the gate unchanged; the loss's t1 is
 * a shift of beta1, which is not the same when tau != tau*): the mass-weighted mean
 * c = sum_i w_i (beta1*_{j(i)} / tau* - beta1_i / tau) / sum_i w_i over all fitted atoms (a
 * documented choice). null for an empty cell.
 *
 * @param fit fitted model with a temperature or activation gate (has tau)
 * @param truth true model with tau, same input.dim
 * @param cells Voronoi cells, one list of 0-based fitted indices per true atom
 * @param exponents weighting exponent r > 0 per true atom; missing or null entries mean 1
 * @example
 *   ratioErrors(truth, truth, [[0], [1]]) // => [0, 0]
 */
export function ratioErrors(fit: Model, truth: Model, cells: number[][], exponents: readonly (number | null | undefined)[] = []): (number | null)[] {
  // gates with a temperature are linear (beta0, beta1): beta1 is present
  const tau = gateTau(fit.gate)!;
  const tauStar = gateTau(truth.gate)!;
  const d = truth.input.dim;
  const c = new Array<number>(d).fill(0);
  let total = 0;
  cells.forEach((cell, j) => {
    for (const i of cell) {
      const w = Math.exp(fit.experts[i]!.beta0);
      total += w;
      for (let p = 0; p < d; p++) c[p] = c[p]! + w * (truth.experts[j]!.beta1![p]! / tauStar - fit.experts[i]!.beta1![p]! / tau);
    }
  });
  if (total > 0) for (let p = 0; p < d; p++) c[p] = c[p]! / total;
  return cells.map((cell, j) => {
    if (cell.length === 0) return null;
    const r = exponents[j] ?? 1;
    const top = Math.max(...cell.map((i) => fit.experts[i]!.beta0));
    const errs = cell.map((i) => {
      let s = 0;
      for (let p = 0; p < d; p++) s += (fit.experts[i]!.beta1![p]! / tau + c[p]! - truth.experts[j]!.beta1![p]! / tauStar) ** 2;
      return Math.sqrt(s);
    });
    const dmax = Math.max(...errs);
    if (!(dmax > 0)) return dmax;
    let num = 0;
    let den = 0;
    cell.forEach((i, q) => {
      const w = Math.exp(fit.experts[i]!.beta0 - top);
      num += w * (errs[q]! / dmax) ** r;
      den += w;
    });
    return dmax * (num / den) ** (1 / r);
  });
}

/** Fraction of the smallest true variance below which a fitted atom counts as a "spike". */
export const SPIKE_FRACTION = 0.1;

/**
 * The number of "spike" atoms of a fit: variance below SPIKE_FRACTION times the smallest true
 * variance (narrow components that over-specified likelihoods grow on few points; fitting.md,
 * "Compact parameter space").
 */
export function spikeCount(fit: Model, truth: Model): number {
  const smallest = truth.experts.reduce((m, e) => Math.min(m, e.nu), Infinity);
  return fit.experts.filter((e) => e.nu < SPIKE_FRACTION * smallest).length;
}

/** The start of a task's fit: the config's start with the task's seed. */
export function taskStart(config: ExperimentConfig, task: SweepTask, variant: 'quick' | 'full' = 'full'): StartSpec {
  const s = config.start;
  const restarts = config.variants[variant].restarts ?? s.restarts ?? 1;
  if (s.type === 'demysNearTrue') {
    const { type: _type, restarts: _restarts, ...blocks } = s;
    return { type: 'demysNearTrue', truth: config.truth, seed: task.seed, restarts, ...blocks };
  }
  return s.type === 'nearTruth'
    ? { type: 'nearTruth', truth: config.truth, noise: s.noise, seed: task.seed, restarts, ...(s.shrinkExponent !== undefined ? { shrinkExponent: s.shrinkExponent } : {}) }
    : { type: 'random', seed: task.seed, restarts };
}

/** The fit options of a variant: the config's, with the variant's maxIterations where it sets one. */
export function taskFitOptions(config: ExperimentConfig, variant: 'quick' | 'full'): ExperimentConfig['fit'] {
  const maxIterations = config.variants[variant].maxIterations;
  return maxIterations === undefined ? config.fit : { ...config.fit, maxIterations };
}

function baseRow(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask) {
  return { experiment: config.name, variant, key: task.key, n: task.n, replicate: task.replicate, seed: task.seed };
}

/** The failed row of a task, with the error's message (a bug's message is marked internal). */
export function failedRow(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask, e: unknown): SweepRow {
  const message = e instanceof GatelabError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
  return { ...baseRow(config, variant, task), status: 'failed', error: message };
}

/**
 * The first number of a row that is NaN or infinite (JSON.stringify would write it as null,
 * indistinguishable from "not defined"): loglik, the fit statistics, the fitted model, the
 * quantities and standard errors. Undefined when every number is finite.
 */
export function nonFiniteField(row: SweepRow): { field: string; value: number } | undefined {
  for (const key of ['loglik', 'certificate', 'lastChange', 'hellingerSE', 'tvSE', 'model', 'quantities'] as const) {
    const bad = firstNonFinite(row[key], key);
    if (bad) return bad;
  }
  return undefined;
}

/** The first number in a plain value (objects, arrays) that is NaN or infinite, with its path. */
export function firstNonFinite(v: unknown, field: string): { field: string; value: number } | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : { field, value: v };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = firstNonFinite(v[i], `${field}[${i}]`);
      if (bad) return bad;
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const bad = firstNonFinite(x, `${field}.${k}`);
      if (bad) return bad;
    }
  }
  return undefined;
}

/** Sample, fit and score one task on the CPU (a worker thread runs this). */
export function runTask(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask): SweepRow {
  try {
    const data = sample(config.truth, task.n, new Rng(task.seed));
    return taskRow(config, variant, task, fitMoE(data, taskFitOptions(config, variant), taskStart(config, task, variant)), 'cpu');
  } catch (e) {
    return failedRow(config, variant, task, e);
  }
}

/** The row of a finished fit: losses, per-parameter errors and density distances against the truth. */
export function taskRow(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask, result: FitResult, backend: 'cpu' | 'gpu'): SweepRow {
  const base = baseRow(config, variant, task);
  try {
    // the config's loss options: tauFitted, and the cell metric (loss.metric: "blocks" is the [DEMYS] authors')
    const options = lossOptions(config);
    const tauFitted = options.tauFitted;
    const q: Record<string, number | null> = {};
    // a gate outside the compact box (a hard switch on a ray to infinity, models/gate-bound.ts) is
    // recorded, not failed: not converged, with its density distances, and with its Voronoi
    // quantities where the masses exp(beta0) are finite (as rows written before the box had them)
    const excess = gateBoundExcess(result.model);
    const warnings = [...result.fit.warnings];
    let loss: ReturnType<typeof voronoiLoss> | undefined;
    let rawRepresentable = true;
    const top = maxBeta0(result.model);
    try {
      loss = voronoiLoss(result.model, config.truth, options);
      rawRepresentable = Number.isFinite(loss.raw);
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      // inside the box a beta0 up to gateBound (1000) is allowed, and a softmax likelihood does
      // not identify a common shift t0: where the gate is unchanged by t0, the aligned quantities
      // are those of the fit with every beta0 lowered by the largest (the same model); the raw
      // loss, weighed by exp(beta0) > 1.8e308, is not representable
      if (excess === undefined && top > 709 && resolveShiftMode(result.model, 'auto') !== 'none') {
        loss = voronoiLoss(shiftBeta0(result.model, -top), config.truth, options);
        rawRepresentable = false;
      } else if (excess === undefined) throw e;
    }
    if (loss === undefined) {
      warnings.push('the Voronoi losses are undefined for this fit: exp(beta0) overflows (its gate is outside the compact box, see the fit warning)');
    } else {
      voronoiQuantities(q, loss, result.model, config, tauFitted);
      if (!rawRepresentable) {
        // the raw loss weighs by the unnormalised masses exp(beta0): fitted beta0 of several
        // hundred (a gate on or near the box's face) make it exceed float64; the aligned loss
        // normalises the masses. Stored as null: rates count it in nMissing, never average it.
        q[`${loss.kind}.raw`] = null;
        warnings.push(`${loss.kind}.raw is not representable in float64 (the fitted masses exp(beta0) overflow it, max beta0 ${show(top)}); stored as null`);
      }
    }
    if (tauFitted) q.tau = Math.abs(gateTau(result.model.gate)! - gateTau(config.truth.gate)!);
    const row: SweepRow = {
      ...base,
      status: 'ok',
      backend,
      loglik: result.fit.loglik,
      iterations: result.fit.iterations,
      stopReason: result.fit.stopReason,
      converged: result.fit.stopReason === 'converged' && excess === undefined,
      certificate: result.fit.certificate,
      lastChange: result.fit.lastChange,
      nuFloorHits: result.fit.nuFloorHits.length,
      spikes: spikeCount(result.model, config.truth),
      seconds: result.fit.seconds,
      start: result.fit.start,
      warnings,
      model: result.model,
      ...(loss !== undefined ? { lossKind: loss.kind, cells: loss.cells } : {}),
      quantities: q,
    };
    const points = config.variants[variant].densityPoints ?? 0;
    if (points > 0) {
      const dist = densityDistance(result.model, config.truth, { nx: points, seed: task.seed });
      q.hellinger = dist.hellinger;
      q.tv = dist.tv;
      row.hellingerSE = dist.hellingerSE;
      row.tvSE = dist.tvSE;
    }
    const bad = nonFiniteField(row);
    if (bad) {
      throw new NumericalError(
        `the fit's ${bad.field} is ${show(bad.value)} (stopReason ${result.fit.stopReason}): rows hold finite numbers only (JSON would store it as null); the task counts as failed`,
      );
    }
    return row;
  } catch (e) {
    return failedRow(config, variant, task, e);
  }
}

/** The Voronoi loss's quantities of a row (D, D.raw, per-parameter and per-cell-size errors, ratios) into q. */
function voronoiQuantities(q: Record<string, number | null>, loss: ReturnType<typeof voronoiLoss>, fit: Model, config: ExperimentConfig, tauFitted: boolean): void {
  q[loss.kind] = loss.aligned;
  q[`${loss.kind}.raw`] = loss.raw;
  // per-parameter errors: mass-weighted, at the loss's aligning t0 (normalising the fitted
  // masses) and the least-squares t1 (docs/losses.md, "Per-parameter errors")
  const errors = loss.errors.aligned;
  for (const e of errors) {
    const j = e.atom + 1;
    q[`mass[${j}]`] = e.mass;
    q[`beta1[${j}]`] = e.beta1;
    q[`a[${j}]`] = e.a;
    q[`b[${j}]`] = e.b;
    q[`nu[${j}]`] = e.nu;
  }
  if (tauFitted && definitionOf(config.fit.gate).traits.tauRay) {
    const r = errors.map((e) => e.exponents?.beta1);
    ratioErrors(fit, config.truth, loss.alignedCells, r).forEach((v, j) => (q[`ratio[${j + 1}]`] = v));
  }
  // by cell size m > 1 (with a random start map the doubled atom differs between replicates;
  // rates depend on m): block[size=m] is the mass-weighted error of the cell of m fitted atoms,
  // the largest of them if several cells have m atoms; block[size=m].max is the unweighted max
  // over those cells' atoms, a diagnostic (no prediction refers to it); mass[size=m] the largest
  // cell mass error
  for (const e of errors) {
    if (e.size < 2) continue;
    for (const block of ['beta1', 'a', 'b', 'nu'] as const) {
      const name = `${block}[size=${e.size}]`;
      const value = e[block];
      if (value !== null) q[name] = Math.max(q[name] ?? 0, value);
      const maxName = `${name}.max`;
      const worst = e.max[block];
      if (worst !== null) q[maxName] = Math.max(q[maxName] ?? 0, worst);
    }
    const massName = `mass[size=${e.size}]`;
    q[massName] = Math.max(q[massName] ?? 0, e.mass);
  }
}

/** The largest gate intercept beta0 of a model's experts. */
function maxBeta0(model: Model): number {
  return Math.max(...model.experts.map((e) => e.beta0));
}

/** The model with every beta0 moved by c (the same model for a gate with the t0 translation). */
function shiftBeta0(model: Model, c: number): Model {
  return { ...model, experts: model.experts.map((e) => ({ ...e, beta0: e.beta0 + c })) };
}
