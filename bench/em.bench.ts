/**
 * Benchmark (not a test): time per EM iteration at n = 1e3, 1e4, 1e5, k = 2 and 3, d = 1, one core,
 * against a straightforward vectorised numpy EM (bench/numpy_em.py) on the same data and start;
 * the CPU backend's kernel sets against each other (WebAssembly SIMD 'wasm' against the JavaScript
 * reference 'js', n = 1e5, k = 2 and 3, d = 1 and 2, alternating runs); and the sampler's points
 * per second against the sampler before issue 14 (bench/sampler.bench.ts). Ratios are measured in
 * one run (these machines are noisy).
 *
 *   npm run bench            (installs nothing; numpy is used if /usr/bin/python3 has it:
 *                             apt-get install -y python3-numpy)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CpuBackend, type CpuKernels } from '../src/backend/index.js';
import { fitMoE, packState, runEM, type FitOptions } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { D2, plainEmOptions } from './shared.js';
import { samplerTable } from './sampler.bench.js';

const DEMYS = DEMYS_MODEL;

function hasNumpy(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const numpy = hasNumpy();
const dir = mkdtempSync(join(tmpdir(), 'gatelab-bench-'));
const rows: string[] = [];
console.log(`gatelab EM benchmark: node ${process.version}, one core${numpy ? '' : ' (numpy not found: /usr/bin/python3 -c "import numpy" failed; numpy column skipped)'}`);

for (const k of [2, 3]) {
  for (const n of [1000, 10000, 100000]) {
    const data = sample(DEMYS, n, new Rng(1));
    const start = fitMoE(data, { k, gate: { type: 'softmax' }, maxIterations: 0 }, { type: 'nearTruth', truth: DEMYS, noise: 0.1, seed: 2 }).model;
    const iterations = n >= 100000 ? 40 : n >= 10000 ? 200 : 1000;
    // the EM engine for a fixed number of iterations (plainEmOptions: never stops early)
    const fixed = plainEmOptions(k);
    const run = (maxIterations: number) => {
      const state = packState(start, fixed);
      const t = performance.now();
      const r = runEM(data, state, { ...fixed, maxIterations });
      return { ms: performance.now() - t, iterations: r.iterations };
    };
    run(Math.min(iterations, 50)); // warm-up: JIT and generated kernels
    const timed = run(iterations);
    const msPerIteration = timed.ms / timed.iterations;
    // a fit as users run it: the defaults (score rule T <= 1e-3, SQUAREM)
    const t0 = performance.now();
    const converged = fitMoE(data, { k, gate: { type: 'softmax' } }, { type: 'given', model: start });
    const fitMs = performance.now() - t0;
    let numpyMs = NaN;
    if (numpy) {
      const file = join(dir, `k${k}n${n}.json`);
      writeFileSync(file, JSON.stringify({ x: Array.from(data.X), y: Array.from(data.Y), start: start.experts, gateSteps: 1 }));
      const npIterations = Math.max(5, Math.round(iterations / (n >= 100000 ? 4 : 20)));
      const out = execFileSync('/usr/bin/python3', ['bench/numpy_em.py', file, String(npIterations)], {
        encoding: 'utf8',
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      });
      numpyMs = 1000 * (JSON.parse(out) as { secondsPerIteration: number }).secondsPerIteration;
    }
    rows.push(
      `| ${k} | ${n.toExponential(0).replace('e+', 'e')} | ${msPerIteration.toFixed(3)} | ${Number.isNaN(numpyMs) ? '-' : numpyMs.toFixed(3)} | ${Number.isNaN(numpyMs) ? '-' : (numpyMs / msPerIteration).toFixed(1) + 'x'} | ${converged.fit.iterations} | ${fitMs.toFixed(1)} |`,
    );
    console.log(rows[rows.length - 1]);
  }
}
rmSync(dir, { recursive: true, force: true });

// the kernel sets: ns per point per EM iteration (plain EM, one gate Newton step, fixed count),
// js and wasm alternating in 3 rounds on the same data and start; the fastest round of each
const kernelRows: string[] = [];
for (const [d, truth] of [[1, DEMYS], [2, D2]] as const) {
  for (const k of [2, 3]) {
    const n = 100000;
    const data = sample(truth, n, new Rng(1));
    const start = fitMoE(data, { k, gate: { type: 'softmax' }, maxIterations: 0 }, { type: 'nearTruth', truth, noise: 0.1, seed: 2 }).model;
    const fixed: FitOptions = { ...plainEmOptions(k), maxIterations: 30 };
    const time = (kernels: CpuKernels) => {
      const backend = new CpuBackend({ kernels });
      const state = packState(start, fixed);
      const t = performance.now();
      const r = runEM(data, state, fixed, backend);
      return { ns: ((performance.now() - t) * 1e6) / (r.iterations * n), loglik: r.loglik };
    };
    time('js');
    time('wasm'); // warm-up
    const best = { js: Infinity, wasm: Infinity };
    const L = { js: NaN, wasm: NaN };
    for (let round = 0; round < 3; round++) {
      for (const kernels of ['js', 'wasm'] as const) {
        const r = time(kernels);
        best[kernels] = Math.min(best[kernels], r.ns);
        L[kernels] = r.loglik;
      }
    }
    kernelRows.push(`| ${k} | ${d} | 1e5 | ${best.js.toFixed(1)} | ${best.wasm.toFixed(1)} | ${(best.js / best.wasm).toFixed(2)}x | ${Math.abs(L.js - L.wasm).toExponential(1)} |`);
    console.log(kernelRows[kernelRows.length - 1]);
  }
}


// converged over-specified fits (issue 11): the default (SQUAREM, score rule) against plain EM
// under the same score rule, same data and near-truth start; plain EM capped (it may need 10^4+)
const converged: string[] = [];
for (const [n, cap] of [[10000, 20000], [100000, 3000]] as const) {
  const data = sample(DEMYS, n, new Rng(1));
  const start = { type: 'nearTruth' as const, truth: DEMYS, noise: 0.1, seed: 101 };
  const base: FitOptions = { k: 3, gate: { type: 'softmax' } };
  const fast = fitMoE(data, base, start);
  // the baseline is plain EM alone: no SQUAREM and no polish of a stalled run
  const plain = fitMoE(data, { ...base, accelerate: 'none', polish: 'none', maxIterations: cap }, start);
  const polished = fast.fit.polish ? ` + ${fast.fit.polish.steps} BHHH steps` : '';
  converged.push(
    `| 3 | ${n.toExponential(0).replace('e+', 'e')} | ${fast.fit.seconds.toFixed(1)} s, ${fast.fit.iterations} maps${polished}, ${fast.fit.stopReason} | ${plain.fit.seconds.toFixed(1)} s, ${plain.fit.iterations} maps, ${plain.fit.stopReason} | ${plain.fit.stopReason === 'converged' ? `${(plain.fit.seconds / fast.fit.seconds).toFixed(1)}x` : '- (plain EM does not converge)'} | ${(fast.fit.loglik - plain.fit.loglik).toFixed(4)} |`,
  );
  console.log(converged[converged.length - 1]);
}

console.log('\n| k | n | gatelab ms/iteration | numpy ms/iteration | speed-up | EM maps to converge (defaults) | gatelab ms per converged fit |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log('ms/iteration: both run a fixed number of iterations with one gate Newton step each (step halving on Q), same data and start.');
console.log('converged fit: fitMoE with its defaults (score rule T <= 1e-3 nats, SQUAREM, Newton steps until the predicted gain < 1e-10 |Q|, at most 5), start-up included.');
console.log('\nCPU kernel sets, ns per point per EM iteration (plain EM, one gate Newton step, 30 iterations; fastest of 3 alternating rounds):');
console.log('| k | d | n | js | wasm | js / wasm | |L js - L wasm| after 30 iterations |');
console.log('|---|---|---|---|---|---|---|');
for (const row of kernelRows) console.log(row);
console.log('\nconverged over-specified fits ([DEMYS] truth, k = 3, near-truth start s = 0.1, one run):');
console.log('| k | n | default (SQUAREM + score rule + polish) | plain EM (score rule, capped, no polish) | time ratio | L default - L plain |');
console.log('|---|---|---|---|---|---|');
for (const row of converged) console.log(row);
// the sampler against the sampler before issue 14 (bench/sampler.bench.ts), alternating, one run
console.log('');
for (const line of samplerTable(3)) console.log(line);
