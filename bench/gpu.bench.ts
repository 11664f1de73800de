/**
 * Benchmark (not a test): the GPU backend against the CPU backend (all cores, worker threads), in
 * one run, printed as ratios with the adapter's name.
 *   - sampler: points per second for R replicates x n points (GPU: kept on the GPU, no readback;
 *     CPU: sample() per replicate, spread over the worker threads);
 *   - EM: fits per second and time per fit-iteration for F fits of the [DEMYS] model (k = 2,
 *     softmax, near-truth start) at n = 1e4 and 1e5 (GPU: one batched EM over resident data).
 *   npm run bench:gpu [-- --fits 40,200] [-- --n 10000,100000] [-- --replicates 1000] [-- --backend gpu]
 * On Mesa's lavapipe (a software adapter: the kernels run on the CPU) the ratios say what the
 * GPU code costs without a GPU, not what a GPU gains.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveBackend } from '../src/compute/backend-choice.js';
import { fitMany } from '../src/compute/fit-many.js';
import { DEMYS_MODEL } from '../src/models/examples.js';
import { Rng } from '../src/rng/rng.js';
import { releaseSample, sampleOnGpu, readSamples } from '../src/gpu/sampler.js';

const { values } = parseArgs({
  options: { fits: { type: 'string' }, n: { type: 'string' }, replicates: { type: 'string' }, 'sampler-n': { type: 'string' } },
});
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const fitCounts = list(values.fits, [40, 200]);
const sizes = list(values.n, [1e4, 1e5]);
const replicates = Number(values.replicates ?? 1000);
const samplerN = Number(values['sampler-n'] ?? 1e5);
const cores = availableParallelism();

const backend = await resolveBackend('gpu');
if (backend.kind !== 'gpu') throw new Error('no GPU');
const ctx = backend.ctx;
console.log(`GPU: ${ctx.adapterName}; CPU: ${cores} worker threads; node ${process.version}\n`);

/** Run the CPU worker over `seeds` split across all cores; returns per-seed results and seconds. */
async function onCpu(n: number, seeds: number[], mode: 'sample' | 'fit'): Promise<{ out: number[]; seconds: number }> {
  const parts = Array.from({ length: Math.min(cores, seeds.length) }, (_, w) => seeds.filter((_, i) => i % cores === w));
  // GATELAB_BENCH_WORKER: the bundled worker on a GPU machine (scripts/device/pack-gpu-bench.sh)
  const entry = process.env.GATELAB_BENCH_WORKER ? pathToFileURL(resolvePath(process.env.GATELAB_BENCH_WORKER)) : new URL('./gpu-worker-entry.js', import.meta.url);
  const workers = parts.map((part) => new Worker(entry, { workerData: { n, seeds: part, mode } }));
  const next = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  await Promise.all(workers.map(next)); // started and warmed up
  const t0 = performance.now();
  const done = workers.map(next);
  for (const w of workers) w.postMessage('go');
  const results = (await Promise.all(done)) as number[][];
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  return { out: results.flat(), seconds };
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));

// sampler: GPU in groups of replicates whose buffers fit a 128 MiB binding (kept on the GPU)
{
  const group = Math.max(1, Math.floor((64 * 1024 * 1024) / (4 * samplerN)));
  const warm = await sampleOnGpu(ctx, DEMYS_MODEL, 1000, [new Rng(1)]);
  await readSamples(warm); // compile the kernels
  releaseSample(warm);
  const t0 = performance.now();
  for (let first = 0; first < replicates; first += group) {
    const rngs = Array.from({ length: Math.min(group, replicates - first) }, (_, j) => new Rng(first + j));
    const s = await sampleOnGpu(ctx, DEMYS_MODEL, samplerN, rngs);
    await (s.Y as { toArray(): Promise<unknown> }).toArray(); // wait for the GPU (one readback of Y)
    releaseSample(s);
  }
  const gpuSeconds = (performance.now() - t0) / 1000;
  const cpuReplicates = Math.max(cores, Math.min(replicates, 40));
  const cpu = await onCpu(samplerN, Array.from({ length: cpuReplicates }, (_, j) => j), 'sample');
  const gpuRate = (replicates * samplerN) / gpuSeconds;
  const cpuRate = (cpuReplicates * samplerN) / cpu.seconds;
  console.log('| sampler: replicates x n | GPU points/s | CPU points/s | GPU / CPU |');
  console.log('|---|---|---|---|');
  console.log(`| ${replicates} x ${samplerN} (GPU), ${cpuReplicates} x ${samplerN} (CPU) | ${fmt(gpuRate / 1e6)} M | ${fmt(cpuRate / 1e6)} M | ${fmt(gpuRate / cpuRate)}x |\n`);
}

// EM
console.log('| fits | n | GPU fits/s | CPU fits/s | GPU / CPU | GPU ms per fit-iteration | CPU ms per fit-iteration | mean iterations (GPU, CPU) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const n of sizes) {
  for (const F of fitCounts) {
    const seeds = Array.from({ length: F }, (_, j) => 1000 + j);
    // the same samples on both backends: the CPU sampler's, uploaded once for the GPU
    const { sample } = await import('../src/sampling/sample.js');
    const problems = seeds.map((seed) => ({
      data: sample(DEMYS_MODEL, n, new Rng(seed)),
      start: { type: 'nearTruth' as const, truth: DEMYS_MODEL, noise: 0.1, seed },
    }));
    await fitMany(problems.slice(0, 1), { k: 2, gate: { type: 'softmax' } }, backend); // compile
    const t0 = performance.now();
    const g = await fitMany(problems, { k: 2, gate: { type: 'softmax' } }, backend);
    const gpuSeconds = (performance.now() - t0) / 1000;
    const gpuIterations = g.reduce((s, r) => s + r.fit.iterations, 0);
    const cpu = await onCpu(n, seeds, 'fit');
    const cpuIterations = cpu.out.reduce((s, v) => s + v, 0);
    console.log(
      `| ${F} | ${n} | ${fmt(F / gpuSeconds)} | ${fmt(F / cpu.seconds)} | ${fmt(cpu.seconds / gpuSeconds)}x | ${fmt((1000 * gpuSeconds) / gpuIterations)} | ${fmt((1000 * cpu.seconds) / cpuIterations)} | ${fmt(gpuIterations / F)}, ${fmt(cpuIterations / F)} |`,
    );
  }
}
ctx.destroy();
