/**
 * Benchmark (not a test): the WASM kernels one by one, ns per point per call at n = 1e5, one core,
 * on the [DEMYS] data (d = 1) or a softmax d = 2 truth, at the parameters a plain-EM run reaches
 * after 30 iterations from a near-truth start (realistic responsibilities: many far experts, some
 * underflowing ones). Kernels: the E-step ('estep'), the E-step fused with the gate's Newton sums
 * ('estepGate', what each EM iteration runs), and the gate passes 'trial' (weights, Q; what the
 * last Newton step's trial runs), 'evaluate' (weights, Q, gradient, Hessian) and 'fromWeights'
 * (gradient and Hessian from stored weights). Best of 5 rounds of 10 calls, after a warm-up (the
 * first calls run V8's baseline tier). Ratios between rows of one run are what to read.
 *
 *   npm run bench:kernels
 */
import { performance } from 'node:perf_hooks';
import { CpuBackend } from '../src/backend/index.js';
import { fitMoE, packState, runEM, type FitOptions } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { D2 } from './shared.js';

const n = 100000;
console.log(`WASM kernels, ns per point per call, n = 1e5, node ${process.version}, one core (best of 5 rounds of 10 calls)`);
console.log('| k | d | estep | estepGate | trial | evaluate | fromWeights |');
console.log('|---|---|---|---|---|---|---|');
for (const [d, truth] of [[1, DEMYS_MODEL], [2, D2]] as const) {
  for (const k of [2, 3]) {
    const data = sample(truth, n, new Rng(1));
    const start = fitMoE(data, { k, gate: { type: 'softmax' }, maxIterations: 0 }, { type: 'nearTruth', truth, noise: 0.1, seed: 2 }).model;
    const options: FitOptions = { k, gate: { type: 'softmax' }, accelerate: 'none', gateSteps: 1, maxIterations: 30 };
    const backend = new CpuBackend({ kernels: 'wasm' });
    const state = packState(start, options);
    runEM(data, state, options, backend);
    // the backend's kernels at the parameters reached, in fit buffers of their own (the WASM
    // memory, as a fit has them), called as the EM engine calls them
    const { gate, theta, experts } = state;
    const buffers = backend.fitBuffers(data, k);
    if (!buffers) throw new Error(`no WASM fit buffers for k = ${k}, d = ${d}`);
    const { G, R, Gtrial } = buffers;
    backend.gateWeights(gate, theta, data.X, n, G);
    const logWeightsAt = (row: number, out: Float64Array) => backend.gateLogWeights(gate, theta, data.X.subarray(row * d, row * d + d), 1, out);
    const stats = new Float64Array(k * experts.family.statsSize(d));
    const P = gate.nParams;
    const grad = new Float64Array(P);
    const Hg = new Float64Array(P * P);
    backend.eStep(data, G, experts, R, stats, logWeightsAt);
    const kernels: Record<string, () => void> = {
      estep: () => backend.eStep(data, G, experts, R, stats, logWeightsAt),
      estepGate: () => {
        if (!backend.eStepWithGatePass(data, G, experts, R, stats, logWeightsAt, gate, theta, grad, Hg)) throw new Error('the fused E-step did not run');
      },
      trial: () => backend.gateNewtonPass(gate, theta, data.X, n, R, Gtrial, grad, Hg, 'trial'),
      evaluate: () => backend.gateNewtonPass(gate, theta, data.X, n, R, Gtrial, grad, Hg, 'evaluate'),
      fromWeights: () => backend.gateNewtonPass(gate, theta, data.X, n, R, G, grad, Hg, 'fromWeights'),
    };
    const best: Record<string, number> = {};
    for (const f of Object.values(kernels)) for (let w = 0; w < 10; w++) f();
    for (let round = 0; round < 5; round++) {
      for (const [name, f] of Object.entries(kernels)) {
        const t = performance.now();
        for (let c = 0; c < 10; c++) f();
        best[name] = Math.min(best[name] ?? Infinity, ((performance.now() - t) * 1e6) / (10 * n));
      }
    }
    console.log(`| ${k} | ${d} | ${Object.keys(kernels).map((name) => best[name]!.toFixed(1)).join(' | ')} |`);
  }
}
