/**
 * Where the time of an EM fit goes (not a test): a k = 3, n = 1e5 fit of the [DEMYS] truth from a
 * near-truth start (the default SQUAREM + score rule, capped at 300 EM maps) with the CPU
 * backend's kernels wrapped in timers: E-step (eStepWithGatePass: fused with the gate's first Newton
 * pass), gate weights, gate Newton passes by variant
 * ('fromWeights' reads cached weights; 'evaluate' computes them, with k - 1 exponentials a
 * point), and the rest (expert M-step, Newton solves, SQUAREM, certificates).
 *
 * With --plain: instead, plain EM for 60 iterations with one gate Newton step each (the
 * iteration `npm run bench` times), after 20 to warm up.
 *
 *   node --import tsx bench/em-profile.ts [js|wasm] [--plain]
 */
import { performance } from 'node:perf_hooks';
import { CpuBackend, validateCpuKernels } from '../src/backend/cpu.js';
import { fitMoE, packState, runEM } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { plainEmOptions } from './shared.js';

const kernels = validateCpuKernels(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'js', 'kernels (first argument)');
const time: Record<string, number> = {};
const calls: Record<string, number> = {};
function timed<A extends unknown[], R>(name: string, f: (...a: A) => R): (...a: A) => R {
  return (...a: A) => {
    const t = performance.now();
    const r = f(...a);
    time[name] = (time[name] ?? 0) + performance.now() - t;
    calls[name] = (calls[name] ?? 0) + 1;
    return r;
  };
}
const backend = new CpuBackend({ kernels });
const b = backend as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const name of ['eStep', 'eStepWithGatePass', 'gateWeights', 'gateWeightsLse', 'gateLogWeights', 'gateObjective', 'gateHessian']) b[name] = timed(name, b[name]!.bind(backend));
const pass = backend.gateNewtonPass.bind(backend);
backend.gateNewtonPass = (gate, theta, X, n, R, G, grad, H, variant) => timed(`gateNewtonPass ${variant}`, pass)(gate, theta, X, n, R, G, grad, H, variant);

const n = 100000;
const data = sample(DEMYS_MODEL, n, new Rng(1));
const start = { type: 'nearTruth' as const, truth: DEMYS_MODEL, noise: 0.1, seed: 101 };
const plain = process.argv.includes('--plain');
const reset = () => {
  for (const key of Object.keys(time)) delete time[key], delete calls[key];
};
let total: number;
let maps: number;
if (plain) {
  // the bench's iteration: a fixed count, relative rule never met, one Newton step per M-step
  const from = fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: 0 }, { ...start, seed: 2 }).model;
  const fixed = plainEmOptions(3);
  const run = (maxIterations: number) => {
    const t = performance.now();
    const r = runEM(data, packState(from, fixed), { ...fixed, maxIterations }, backend);
    return { ms: performance.now() - t, iterations: r.iterations };
  };
  run(20); // warm-up
  reset();
  const r = run(60);
  total = r.ms;
  maps = r.iterations;
  console.log(`kernels ${kernels}: k = 3, n = 1e5, plain EM, ${maps} iterations, ${total.toFixed(0)} ms, ${((total * 1e6) / (maps * n)).toFixed(1)} ns per point per iteration`);
} else {
  fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: 20 }, start, backend); // warm-up
  reset();
  const t0 = performance.now();
  const fit = fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: Number(process.env.MAPS ?? 300) }, start, backend);
  total = performance.now() - t0;
  maps = fit.fit.iterations;
  console.log(`kernels ${kernels}: k = 3, n = 1e5, ${maps} EM maps, ${total.toFixed(0)} ms, ${((total * 1e6) / (maps * n)).toFixed(1)} ns per point per EM map (${fit.fit.stopReason})`);
}
let accounted = 0;
for (const [name, ms] of Object.entries(time).sort((p, q) => q[1] - p[1])) {
  accounted += ms;
  console.log(`  ${name.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${calls[name]} calls, ${((ms * 1e6) / (calls[name]! * n)).toFixed(1)} ns per point per call, ${(calls[name]! / maps).toFixed(2)} per map`);
}
console.log(`  ${'rest'.padEnd(28)} ${(total - accounted).toFixed(0).padStart(6)} ms  ${(100 * (total - accounted) / total).toFixed(1).padStart(5)}%`);
