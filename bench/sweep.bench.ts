/**
 * Benchmark (not a test): wall time of demys-over3 `full` (200 n in [1e4, 1e5] x 40 replicates x
 * best of 5 starts), measured on a documented fraction and extrapolated:
 *   - tasks: every 20th n of the full grid (10 n) x R replicates (default 3), run exactly as the
 *     sweep runs them (runTask: sample, 5 EM fits, losses, density distances);
 *   - time per task is fitted as a + b n (least squares), summed over all 8000 tasks of the full
 *     grid, and divided by the worker count (tasks are independent);
 *   - mean EM iterations per fit, from the rows; the same with a tighter tolerance (1e-8) on
 *     every 40th n x 1 replicate (each fit takes many more iterations).
 *   npm run bench:sweep [-- --replicates R] [-- --workers W]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseExperimentConfig, resolveNGrid } from '../src/sweeps/config.js';
import { runTask } from '../src/sweeps/run-task.js';
import { taskKey, taskSeed } from '../src/sweeps/tasks.js';
import type { ExperimentConfig } from '../src/sweeps/types.js';

const { values } = parseArgs({ options: { replicates: { type: 'string' }, workers: { type: 'string' } } });
const replicates = Number(values.replicates ?? 3);
const workers = Number(values.workers ?? 2);
const base = parseExperimentConfig(JSON.parse(readFileSync('experiments/demys-over3.json', 'utf8')), 'demys-over3.json');
const grid = resolveNGrid(base.variants.full.n);

function measure(config: ExperimentConfig, label: string, every: number, reps: number) {
  const points: { n: number; seconds: number; iterations: number }[] = [];
  const sampleN = grid.filter((_, i) => i % every === 0);
  runTask(config, 'full', { key: 'warm', n: 2000, replicate: 0, seed: 1 }); // JIT warm-up
  for (const n of sampleN) {
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const row = runTask(config, 'full', { key: taskKey(n, r), n, replicate: r, seed: taskSeed(config.seed, n, r) });
      points.push({ n, seconds: (performance.now() - t0) / 1000, iterations: row.iterations ?? NaN });
    }
  }
  // least squares seconds = a + b n
  const m = points.length;
  const mx = points.reduce((s, p) => s + p.n, 0) / m;
  const my = points.reduce((s, p) => s + p.seconds, 0) / m;
  const b = points.reduce((s, p) => s + (p.n - mx) * (p.seconds - my), 0) / points.reduce((s, p) => s + (p.n - mx) ** 2, 0);
  const a = my - b * mx;
  const total = grid.reduce((s, n) => s + base.variants.full.replicates * (a + b * n), 0);
  const iterations = points.reduce((s, p) => s + p.iterations, 0) / m;
  console.log(`\n${label}: ${m} tasks measured (${sampleN.length} n, every ${every}th of the grid, x ${reps} replicates)`);
  console.log('| n | mean seconds per task (5 starts) |');
  console.log('|---|---|');
  for (const n of sampleN) {
    const ps = points.filter((p) => p.n === n);
    console.log(`| ${n} | ${(ps.reduce((s, p) => s + p.seconds, 0) / ps.length).toFixed(3)} |`);
  }
  console.log(`time per task ~ ${a.toFixed(3)} s + ${(b * 1e5).toFixed(3)} s per 1e5 points; EM iterations of the kept start: ${iterations.toFixed(1)} on average`);
  console.log(`extrapolated full sweep (${grid.length} n x ${base.variants.full.replicates} replicates): ${(total / 60).toFixed(1)} min on 1 core, ${(total / workers / 60).toFixed(1)} min on ${workers} workers`);
}

measure(base, 'demys-over3 full, tol 1e-6 (the authors\' rule)', 20, replicates);
// the tighter tolerance costs many more iterations (over-specified EM converges slowly): a
// smaller fraction
measure({ ...base, fit: { ...base.fit, tol: 1e-8 } }, 'demys-over3 full, tol 1e-8', 40, 1);
