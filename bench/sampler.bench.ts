/**
 * Benchmark (not a test): the sampler's points per second on one core, against the sampler as it
 * was before issue 14 (bench/sampler-reference.ts), alternating the two on the same model, n and
 * seed, the best of R rounds each; wall and CPU time (process.cpuUsage: on a loaded machine the
 * wall time includes waiting for a core). Also run as the last table of `npm run bench`.
 *
 *   npm run bench:sampler [-- --rounds R]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Dataset } from '../src/data/dataset.js';
import { DEMYS_MODEL, type Model } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { boxMullerWasmAvailable, philoxPlanesWasmAvailable } from '../src/sampling/philox-planes.js';
import { sampleReference } from './sampler-reference.js';
import { SOFTMAX_D2 as SOFTMAX_D2_K3 } from '../test/helpers.js';


function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Best wall and CPU milliseconds of `rounds` alternating runs of the two samplers. */
function race(model: Model, n: number, rounds: number) {
  const runs: Record<'fast' | 'reference', (m: Model, n: number, r: Rng) => Dataset> = { fast: sample, reference: sampleReference };
  const best = { fast: { wall: Infinity, cpu: Infinity }, reference: { wall: Infinity, cpu: Infinity } };
  // warm-up at full size: the JIT's tiers (on this loaded 2-core machine the first five samples
  // of 1e6 points ran at 60-85% of the later rate, with or without WebAssembly's baseline tier)
  for (let w = 0; w < 8; w++) runs.fast(model, n, new Rng(1));
  for (let w = 0; w < 2; w++) runs.reference(model, n, new Rng(1));
  for (let round = 0; round < rounds; round++) {
    for (const which of ['fast', 'reference'] as const) {
      const c = cpuMs();
      const t = performance.now();
      runs[which](model, n, new Rng(2 + round));
      const wall = performance.now() - t;
      const cpu = cpuMs() - c;
      best[which].wall = Math.min(best[which].wall, wall);
      best[which].cpu = Math.min(best[which].cpu, cpu);
    }
  }
  return best;
}

/** The sampler table: rows `| model | n | fast M/s (wall, CPU) | before M/s (wall, CPU) | ratio (wall, CPU) |`. */
export function samplerTable(rounds = 3): string[] {
  const lines = [
    `sampler, points per second (best of ${rounds} alternating rounds; kernels: Philox ${philoxPlanesWasmAvailable() ? 'wasm' : 'js'}, Box-Muller ${boxMullerWasmAvailable() ? 'wasm' : 'js'}):`,
    '| model | n | now, M/s wall | now, M/s CPU | before, M/s wall | before, M/s CPU | now / before (wall) | now / before (CPU) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, model, n] of [['[DEMYS] k = 2, d = 1', DEMYS_MODEL, 1000000], ['softmax k = 3, d = 2', SOFTMAX_D2_K3, 1000000]] as const) {
    const b = race(model, n, rounds);
    const rate = (ms: number) => n / ms / 1000;
    lines.push(
      `| ${name} | ${n.toExponential(0).replace('e+', 'e')} | ${rate(b.fast.wall).toFixed(2)} | ${rate(b.fast.cpu).toFixed(2)} | ${rate(b.reference.wall).toFixed(2)} | ${rate(b.reference.cpu).toFixed(2)} | ${(b.reference.wall / b.fast.wall).toFixed(2)}x | ${(b.reference.cpu / b.fast.cpu).toFixed(2)}x |`,
    );
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
  console.log(`node ${process.version}, one core`);
  for (const line of samplerTable(Number(values.rounds ?? 5))) console.log(line);
}
