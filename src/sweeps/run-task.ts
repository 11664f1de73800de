/**
 * One sweep task: sample n points from the truth with the task's seed, fit, and record every loss
 * and error as a flat row. A task that throws becomes a row with status 'failed' and the message:
 * failures are counted by the analysis, never dropped.
 */
import { GatelabError } from '../errors.js';
import { fitMoE, type StartSpec } from '../fitting/fit.js';
import type { FitResult } from '../fitting/types.js';
import { densityDistance } from '../losses/density-distance.js';
import { parameterErrors, type GateShift } from '../losses/parameter-errors.js';
import { voronoiLoss, type ShiftMode } from '../losses/voronoi-loss.js';
import { gateTau, type Model } from '../models/types.js';
import { lossTauFitted } from './config.js';
import { Rng } from '../rng/rng.js';
import { sample } from '../sampling/sample.js';
import type { ExperimentConfig, SweepRow, SweepTask } from './types.js';

/**
 * Errors of the identifiable ratio of a temperature-type gate, per true atom j:
 *   ratio[j] = max_{i in A_j} || beta1_i / tau + c - beta1*_j / tau* ||,
 * aligned in ratio space (a common shift c of every beta1_i / tau leaves the gate unchanged):
 * c = sum_i w_i (beta1*_{j(i)} / tau* - beta1_i / tau) / sum_i w_i, w_i = exp(beta0_i), as for the
 * other per-parameter errors. null for an empty cell.
 */
export function ratioErrors(fit: Model, truth: Model, cells: number[][]): (number | null)[] {
  const tau = gateTau(fit.gate)!;
  const tauStar = gateTau(truth.gate)!;
  const d = truth.input.dim;
  const c = new Array<number>(d).fill(0);
  let total = 0;
  cells.forEach((cell, j) => {
    for (const i of cell) {
      const w = Math.exp(fit.experts[i]!.beta0);
      total += w;
      for (let p = 0; p < d; p++) c[p] = c[p]! + w * (truth.experts[j]!.beta1[p]! / tauStar - fit.experts[i]!.beta1[p]! / tau);
    }
  });
  if (total > 0) for (let p = 0; p < d; p++) c[p] = c[p]! / total;
  return cells.map((cell, j) => {
    if (cell.length === 0) return null;
    let worst = 0;
    for (const i of cell) {
      let s = 0;
      for (let p = 0; p < d; p++) s += (fit.experts[i]!.beta1[p]! / tau + c[p]! - truth.experts[j]!.beta1[p]! / tauStar) ** 2;
      worst = Math.max(worst, Math.sqrt(s));
    }
    return worst;
  });
}

/**
 * The common gating shift at which per-parameter errors are measured. The aligned Voronoi loss is
 * minimised at a vertex of its piecewise-linear landscape, where one atom's mass or beta1 error is
 * exactly 0: fine for the loss, degenerate for per-atom rates. So the errors use the smooth
 * least-squares alignment instead (a documented choice):
 *   t0 = log sum_j exp(beta0*_j) - log sum_i exp(beta0_i)                (total mass matched)
 *   t1 = sum_i w_i (beta1*_{j(i)} - beta1_i) / sum_i w_i,   w_i = exp(beta0_i),  j(i) = i's cell
 * with t1 = 0 when a slope shift changes the model (shift mode 'intercept': non-homogeneous
 * activations) and no shift at all in mode 'none'.
 */
export function parameterShift(fit: Model, truth: Model, cells: number[][], mode: Exclude<ShiftMode, 'auto'>): GateShift {
  const d = truth.input.dim;
  const t1 = new Array<number>(d).fill(0);
  if (mode === 'none') return { t0: 0, t1 };
  const massTrue = truth.experts.reduce((s, e) => s + Math.exp(e.beta0), 0);
  const massFit = fit.experts.reduce((s, e) => s + Math.exp(e.beta0), 0);
  const t0 = Math.log(massTrue) - Math.log(massFit);
  if (mode === 'full') {
    let total = 0;
    cells.forEach((cell, j) => {
      for (const i of cell) {
        const w = Math.exp(fit.experts[i]!.beta0);
        total += w;
        for (let p = 0; p < d; p++) t1[p] = t1[p]! + w * (truth.experts[j]!.beta1[p]! - fit.experts[i]!.beta1[p]!);
      }
    });
    if (total > 0) for (let p = 0; p < d; p++) t1[p] = t1[p]! / total;
  }
  return { t0, t1 };
}

/** The start of a task's fit: the config's start with the task's seed. */
export function taskStart(config: ExperimentConfig, task: SweepTask): StartSpec {
  const s = config.start;
  return s.type === 'nearTruth'
    ? { type: 'nearTruth', truth: config.truth, noise: s.noise, seed: task.seed, restarts: s.restarts ?? 1, ...(s.shrinkExponent !== undefined ? { shrinkExponent: s.shrinkExponent } : {}) }
    : { type: 'random', seed: task.seed, restarts: s.restarts ?? 1 };
}

function baseRow(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask) {
  return { experiment: config.name, variant, key: task.key, n: task.n, replicate: task.replicate, seed: task.seed };
}

/** The failed row of a task, with the error's message (a bug's message is marked internal). */
export function failedRow(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask, e: unknown): SweepRow {
  const message = e instanceof GatelabError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
  return { ...baseRow(config, variant, task), status: 'failed', error: message };
}

/** Sample, fit and score one task on the CPU (a worker thread runs this). */
export function runTask(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask): SweepRow {
  try {
    const data = sample(config.truth, task.n, new Rng(task.seed));
    return taskRow(config, variant, task, fitMoE(data, config.fit, taskStart(config, task)), 'cpu');
  } catch (e) {
    return failedRow(config, variant, task, e);
  }
}

/** The row of a finished fit: losses, per-parameter errors and density distances against the truth. */
export function taskRow(config: ExperimentConfig, variant: 'quick' | 'full', task: SweepTask, result: FitResult, backend: 'cpu' | 'gpu'): SweepRow {
  const base = baseRow(config, variant, task);
  try {
    const tauFitted = lossTauFitted(config);
    const loss = voronoiLoss(result.model, config.truth, { tauFitted });
    const q: Record<string, number | null> = { [loss.kind]: loss.aligned, [`${loss.kind}.raw`]: loss.raw };
    // per-parameter errors at the least-squares gating alignment (see parameterShift)
    const shift = parameterShift(result.model, config.truth, loss.alignedCells, loss.options.shift);
    const errors = parameterErrors(result.model, config.truth, { tauFitted, shift });
    for (const e of errors) {
      const j = e.atom + 1;
      q[`mass[${j}]`] = e.mass;
      q[`beta1[${j}]`] = e.beta1;
      q[`a[${j}]`] = e.a;
      q[`b[${j}]`] = e.b;
      q[`nu[${j}]`] = e.nu;
    }
    if (tauFitted && config.fit.gate.type === 'temperature') {
      ratioErrors(result.model, config.truth, loss.alignedCells).forEach((v, j) => (q[`ratio[${j + 1}]`] = v));
    }
    // by cell size: the worst error over the true atoms whose Voronoi cell has m > 1 fitted atoms
    // (with a random start map the doubled atom differs between replicates; rates depend on m)
    for (const e of errors) {
      if (e.size < 2) continue;
      for (const block of ['beta1', 'a', 'b', 'nu'] as const) {
        const name = `${block}[size=${e.size}]`;
        const value = e[block];
        if (value !== null) q[name] = Math.max(q[name] ?? 0, value);
      }
      const massName = `mass[size=${e.size}]`;
      q[massName] = Math.max(q[massName] ?? 0, e.mass);
    }
    if (tauFitted) q.tau = Math.abs(gateTau(result.model.gate)! - gateTau(config.truth.gate)!);
    const row: SweepRow = {
      ...base,
      status: 'ok',
      backend,
      loglik: result.fit.loglik,
      iterations: result.fit.iterations,
      stopReason: result.fit.stopReason,
      converged: result.fit.stopReason === 'converged',
      seconds: result.fit.seconds,
      start: result.fit.start,
      warnings: result.fit.warnings,
      model: result.model,
      lossKind: loss.kind,
      cells: loss.cells,
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
    return row;
  } catch (e) {
    return failedRow(config, variant, task, e);
  }
}
