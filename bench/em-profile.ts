/**
 * Where the time of an EM fit goes (not a test): a k = 3, n = 1e5 fit of the [DEMYS] truth from a
 * near-truth start (the default SQUAREM + score rule, capped at 300 EM maps) with the CPU
 * backend's kernels wrapped in timers: E-step (eStepWithGatePass: fused with the gate's first Newton
 * pass), gate weights, gate Newton passes by variant
 * ('fromWeights' reads cached weights; 'evaluate' computes them, with k - 1 exponentials a
 * point), and the rest (expert M-step, Newton solves, SQUAREM, certificates).
 *
 *   node --import tsx bench/em-profile.ts [js|wasm]
 */
import { performance } from 'node:perf_hooks';
import { CpuBackend, validateCpuKernels } from '../src/backend/cpu.js';
import { fitMoE } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';

const kernels = validateCpuKernels(process.argv[2] ?? 'js', 'kernels (first argument)');
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
fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: 20 }, start, backend); // warm-up
for (const key of Object.keys(time)) delete time[key], delete calls[key];
const t0 = performance.now();
const fit = fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: Number(process.env.MAPS ?? 300) }, start, backend);
const total = performance.now() - t0;
const maps = fit.fit.iterations;
console.log(`kernels ${kernels}: k = 3, n = 1e5, ${maps} EM maps, ${total.toFixed(0)} ms, ${((total * 1e6) / (maps * n)).toFixed(1)} ns per point per EM map (${fit.fit.stopReason})`);
let accounted = 0;
for (const [name, ms] of Object.entries(time).sort((p, q) => q[1] - p[1])) {
  accounted += ms;
  console.log(`  ${name.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${calls[name]} calls, ${((ms * 1e6) / (calls[name]! * n)).toFixed(1)} ns per point per call, ${(calls[name]! / maps).toFixed(2)} per map`);
}
console.log(`  ${'rest'.padEnd(28)} ${(total - accounted).toFixed(0).padStart(6)} ms  ${(100 * (total - accounted) / total).toFixed(1).padStart(5)}%`);
