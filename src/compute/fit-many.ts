/**
 * Many fits at once on the chosen backend: `fitMany(problems, options, backend)` is
 * `problems.map(p => fitMoE(p.data, options, p.start))` on the CPU. On the GPU every (problem,
 * start) pair becomes one fit of a batched EM (gpu/batched-em.ts) over data uploaded once (or the
 * GPU sample itself); the best start per problem is chosen by the float64 log-likelihood of its
 * final parameters, re-evaluated on the host, which is also the reported `loglik`.
 */
import { performance } from 'node:perf_hooks';
import type { ComputeBackend } from './backend-choice.js';
import { checkFitMagnitude, validateDataset, type Dataset } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { uploadBatchData, type BatchFit, type GpuBatchData } from '../gpu/batched-em.js';
import { runBatchedEM } from '../gpu/batched-run.js';
import { bufferBudget, type GpuBuffer, type GpuContext } from '../gpu/context.js';
import { maxReplicates } from '../gpu/sampler.js';
import { logLikelihood } from '../likelihood/density.js';
import type { EngineResult } from '../fitting/em.js';
import { bestFit, defaultNuMin, expandStarts, fitMoE, validateFitOptions, withNuMin, type StartSpec } from '../fitting/fit.js';
import { dataInputBox, packState, unpackState } from '../fitting/state.js';
import type { FitOptions, FitResult } from '../fitting/types.js';

export interface FitProblem {
  data: Dataset;
  start: StartSpec;
}

/**
 * Run the batched EM within the device's buffer limit: problems' data is uploaded in groups that
 * fit one buffer per coordinate (unless already on the GPU), and each group's fits run in batches
 * whose responsibilities (F n (k + 1) f32) fit one buffer. Returns the results in `fits` order.
 */
async function runInBuffers(
  ctx: GpuContext,
  problems: readonly FitProblem[],
  fits: readonly (BatchFit & { problem: number })[],
  opts: FitOptions,
  gpuData: GpuBatchData | undefined,
): Promise<EngineResult[]> {
  const { n } = problems[0]!.data;
  const budget = bufferBudget(ctx);
  const perFit = 4 * n * (opts.k + 1);
  if (perFit > budget) {
    throw new ConfigError(`n = ${n}: one GPU fit's responsibilities need ${perFit} bytes; this GPU allows ${ctx.maxBufferBytes} per buffer; use --backend cpu or a smaller n`);
  }
  const perBatch = Math.floor(budget / perFit);
  // data goes up in groups of as many datasets as one GPU sample may hold
  const perUpload = gpuData ? problems.length : maxReplicates(ctx, n);
  const results = new Array<EngineResult>(fits.length);
  for (let first = 0; first < problems.length; first += perUpload) {
    const last = Math.min(problems.length, first + perUpload);
    const data = gpuData ?? (await uploadBatchData(ctx, problems.slice(first, last).map((p) => p.data)));
    try {
      const group = fits.flatMap((fit, t) =>
        fit.problem >= first && fit.problem < last ? [{ t, fit: { dataIndex: fit.problem - (gpuData ? 0 : first), state: fit.state, host: problems[fit.problem]!.data } }] : [],
      );
      for (let b = 0; b < group.length; b += perBatch) {
        const batch = group.slice(b, b + perBatch);
        const out = await runBatchedEM(ctx, data, batch.map((g) => g.fit), opts);
        batch.forEach((g, i) => (results[g.t] = out[i]!));
      }
    } finally {
      if (!gpuData) for (const buffer of [...data.X, data.Y]) (buffer as GpuBuffer).delete();
    }
  }
  return results;
}

/**
 * Fit every problem (same options) on the backend.
 * @param gpuData the problems' data already on the GPU, problem j = dataset j (e.g. a GPU sample)
 * @throws ConfigError for MLE or a plug-in gate on the GPU (both run on the CPU backend only)
 */
export async function fitMany(problems: readonly FitProblem[], options: FitOptions, backend: ComputeBackend, gpuData?: GpuBatchData): Promise<FitResult[]> {
  if (backend.kind === 'cpu') return problems.map((p) => tagBackend('cpu')(fitMoE(p.data, options, p.start)));
  if (problems.length === 0) return [];
  const opts = validateFitOptions(options);
  if (opts.expertFamily && opts.expertFamily.kernel !== 'gaussian-linear') {
    throw new ConfigError(`expertFamily: "${opts.expertFamily.name}" runs on the CPU backend only (the GPU kernels are the Gaussian linear expert's); use --backend cpu`);
  }
  if (opts.relativeLag) throw new ConfigError('relativeLag: runs on the CPU backend only; use --backend cpu');
  if ((opts.method ?? 'em') !== 'em') throw new ConfigError(`method: "${opts.method}" runs on the CPU backend only; use --backend cpu (the GPU backend runs EM)`);
  const { n, d } = problems[0]!.data;
  for (const [j, p] of problems.entries()) {
    validateDataset(p.data);
    checkFitMagnitude(p.data);
    if (p.data.n !== n || p.data.d !== d) throw new ConfigError(`problems[${j}]: n = ${p.data.n}, d = ${p.data.d}; a GPU batch needs one n and d (problem 0 has n = ${n}, d = ${d})`);
  }
  // one variance floor for the batch: the first problem's default where none is given
  const first = withNuMin(opts, problems[0]!.start);
  const starts = problems.map((p) => expandStarts(p.data, first, p.start));
  if (first.nuMin === undefined) first.nuMin = defaultNuMin(opts, starts[0]![0]!.model);
  Object.assign(opts, { nuMin: first.nuMin });
  const fits: (BatchFit & { problem: number; label: string })[] = starts.flatMap((list, j) =>
    list.map((s) => ({ dataIndex: j, state: packState(s.model, opts), problem: j, label: s.label })),
  );
  const t0 = performance.now();
  const results = await runInBuffers(backend.ctx, problems, fits, opts, gpuData);
  const seconds = (performance.now() - t0) / 1000;
  // the reported log-likelihood: float64, on the host data, at the final parameters
  fits.forEach((fit, t) => {
    const p = problems[fit.problem]!;
    results[t]!.loglik = logLikelihood(unpackState(fit.state, dataInputBox(p.data)), p.data);
  });
  return problems.map((p, j) => {
    const runs = fits.flatMap((fit, t) => (fit.problem === j ? [{ result: results[t]!, state: fit.state, label: fit.label }] : []));
    const input = p.start.type === 'random' ? dataInputBox(p.data) : null;
    return tagBackend('gpu')(bestFit(runs, input, starts[j]!, opts, (seconds * runs.length) / fits.length));
  });
}

const tagBackend = (backend: 'cpu' | 'gpu') => (r: FitResult): FitResult => ({ ...r, fit: { ...r.fit, backend } });
