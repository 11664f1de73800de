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
import type { WasmWorkspace } from '../src/backend/wasm-workspace.js';
import { fitMoE, packState, runEM, type FitOptions } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { D2 } from './models.js';

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
    // the fit's buffers and workspace, kept to time the kernels at the parameters reached
    let buffers: ReturnType<CpuBackend['fitBuffers']> = null;
    const fitBuffers = backend.fitBuffers.bind(backend);
    backend.fitBuffers = (dd, kk) => (buffers = fitBuffers(dd, kk));
    const state = packState(start, options);
    runEM(data, state, options, backend);
    const ws = (backend as unknown as { workspaces: WeakMap<ArrayBufferLike, WasmWorkspace> }).workspaces.get(buffers!.G.buffer)!;
    const experts = state.experts as unknown as { a: Float64Array; b: Float64Array; nu: Float64Array };
    const C = experts.nu.map((v) => -0.5 * (Math.log(2 * Math.PI) + Math.log(v)));
    const H = experts.nu.map((v) => 0.5 / v);
    const P = k * (d + 1);
    const stats = new Float64Array(k * ((d + 1) ** 2 + d + 2));
    const grad = new Float64Array(P);
    const Hg = new Float64Array(P * P);
    const fallback = (row: number, residuals: Float64Array) => {
      // the exact log-space row (rare): as the CPU backend's, from this gate's weights
      const logw = Array.from({ length: k }, (_, i) => Math.log(ws.G[row * k + i]!) + C[i]! - residuals[i]! * residuals[i]! * H[i]!);
      const mx = Math.max(...logw);
      const s = logw.reduce((acc, v) => acc + Math.exp(v - mx), 0);
      for (let i = 0; i < k; i++) ws.R[row * k + i] = Math.exp(logw[i]! - mx) / s;
      return mx + Math.log(s);
    };
    const args = [n, data.X, data.Y, ws.G, experts.a, experts.b, C, H, ws.R, stats, fallback] as Parameters<WasmWorkspace['eStep']>;
    const theta = state.theta;
    const kernels: Record<string, () => void> = {
      estep: () => ws.eStep(...args),
      estepGate: () => ws.eStepGate(args, theta, 1, grad, Hg),
      trial: () => ws.gatePass('trial', theta, data.X, n, ws.R, ws.Gtrial, grad, Hg, 1),
      evaluate: () => ws.gatePass('evaluate', theta, data.X, n, ws.R, ws.Gtrial, grad, Hg, 1),
      fromWeights: () => ws.gatePass('fromWeights', theta, data.X, n, ws.R, ws.G, grad, Hg, 1),
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
