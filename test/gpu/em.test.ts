/**
 * Conformance of the GPU backend's batched EM with the float64 CPU engine, for every gate:
 * the kernels' sums (E-step statistics, gate Q, gradient, Hessian) against the CPU's at the same
 * parameters, and whole fits from the same start and data.
 *
 * Tolerances follow from f32: every per-point term is formed with a few f32 roundings and
 * transcendental functions accurate to a few ulp (relative error below about 10 * 2^-24), and each
 * thread sums a chunk of 256 terms sequentially in f32 (error at most 256 * 2^-24 ~ 1.5e-5 of the
 * sum of |terms|); the host finishes the chunk sums in f64. So a GPU sum is within 2e-5 * sum|term|
 * of the exact one, and sum|term| <= n * max|term|, the bound used below.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { ComputeBackend } from '../../src/compute/backend-choice.js';
import { expertStatsSize, type GaussianExperts } from '../../src/experts/gaussian-linear.js';
import { fitMany } from '../../src/compute/fit-many.js';
import { nearTruthStart } from '../../src/fitting/starts.js';
import { packState } from '../../src/fitting/state.js';
import type { FitOptions } from '../../src/fitting/types.js';

/** The authors' rule (plain EM, relative change): the kernel-level cases; whole fits also run the defaults (below). */
const GPU_RULE = { stop: 'relative', accelerate: 'none' } as const;
import { BatchEngine, uploadBatchData } from '../../src/gpu/batched-em.js';
import { fitMoE, parseModel, Rng, sample, voronoiLoss } from '../../src/index.js';
import type { Model } from '../../src/models/types.js';
import { logDensity } from '../../src/likelihood/density.js';
import { withGpu } from './helpers.js';

const TWO_EXPERTS = [
  { beta0: -2, beta1: [4], a: [-3], b: 1, nu: 0.1 },
  { beta0: 0, beta1: [0], a: [3], b: -1, nu: 0.2 },
];
const THREE_EXPERTS = [
  { beta0: 1, beta1: [-3], a: [-3], b: 1, nu: 0.1 },
  { beta0: 0.5, beta1: [2], a: [3], b: -1, nu: 0.2 },
  { beta0: 0, beta1: [0], a: [0], b: 2, nu: 0.15 },
];
const input = { type: 'uniform' as const, low: -1, high: 1, dim: 1 };

interface Case {
  truth: Model;
  options: FitOptions;
}
const CASES: Record<string, Case> = {
  softmax: { truth: parseModel({ gate: { type: 'softmax' }, experts: TWO_EXPERTS, input }), options: { ...GPU_RULE, k: 2, gate: { type: 'softmax' } } },
  'softmax, over-specified k = 3': {
    truth: parseModel({ gate: { type: 'softmax' }, experts: TWO_EXPERTS, input }),
    options: { ...GPU_RULE, k: 3, gate: { type: 'softmax' } },
  },
  'top-2 of 3': {
    truth: parseModel({ gate: { type: 'topk', K: 2, rankBy: 'slope' }, experts: THREE_EXPERTS, input }),
    options: { ...GPU_RULE, k: 3, gate: { type: 'topk', K: 2, rankBy: 'slope' } },
  },
  'top-2 of 3 ranked by logit': {
    truth: parseModel({ gate: { type: 'topk', K: 2, rankBy: 'logit' }, experts: THREE_EXPERTS, input }),
    options: { ...GPU_RULE, k: 3, gate: { type: 'topk', K: 2, rankBy: 'logit' } },
  },
  'temperature, tau known': {
    truth: parseModel({ gate: { type: 'temperature', tau: 0.5 }, experts: TWO_EXPERTS, input }),
    options: { ...GPU_RULE, k: 2, gate: { type: 'temperature', tau: 0.5 } },
  },
  'temperature, tau free': {
    truth: parseModel({ gate: { type: 'temperature', tau: 0.5 }, experts: TWO_EXPERTS, input }),
    options: { ...GPU_RULE, k: 2, gate: { type: 'temperature', tau: 0.5 }, tau: 'free' },
  },
  'activation tanh, tau known': {
    truth: parseModel({ gate: { type: 'activation', activation: 'tanh', tau: 1 }, experts: THREE_EXPERTS, input }),
    options: { ...GPU_RULE, k: 3, gate: { type: 'activation', activation: 'tanh', tau: 1 } },
  },
  'activation gelu, tau free': {
    truth: parseModel({ gate: { type: 'activation', activation: 'gelu', tau: 1 }, experts: THREE_EXPERTS, input }),
    options: { ...GPU_RULE, k: 3, gate: { type: 'activation', activation: 'gelu', tau: 1 }, tau: 'free' },
  },
  // normalised sigmoid: no expert pinned, Q not concave (damped Newton on both engines)
  sigmoid: {
    truth: parseModel({ gate: { type: 'sigmoid' }, experts: THREE_EXPERTS, input }),
    options: { ...GPU_RULE, k: 3, gate: { type: 'sigmoid' } },
  },
};

const N = 3000;

function startModel(c: Case, seed: number): Model {
  const pinLast = c.options.gate.type === 'activation';
  return nearTruthStart({ type: 'nearTruth', truth: c.truth, noise: 0.3 }, c.options.k, N, c.options.gate, new Rng(seed), undefined, c.options.tau === 'free', pinLast).model;
}

function assertClose(gpu: number, cpu: number, tol: number, what: string): void {
  assert.ok(Math.abs(gpu - cpu) <= tol, `${what}: GPU ${gpu} vs CPU ${cpu} (tolerance ${tol.toExponential(2)})`);
}

for (const [name, c] of Object.entries(CASES)) {
  test(`GPU kernels give the CPU's E-step statistics, Q, gradient and Hessian: ${name}`, async (t) => {
    await withGpu(t, async (ctx) => {
      const data = sample(c.truth, N, new Rng(101));
      const state = packState(startModel(c, 7), c.options);
      const { gate, theta } = state;
      const experts = state.experts as GaussianExperts;
      const { k } = experts;
      // CPU reference at the start parameters
      const cpu = new CpuBackend();
      const G = new Float64Array(N * k);
      const R = new Float64Array(N * k);
      const stats = new Float64Array(k * expertStatsSize(1));
      cpu.gateWeights(gate, theta, data.X, N, G);
      const L = cpu.eStep(data, G, experts, R, stats, (row, out) => cpu.gateLogWeights(gate, theta, data.X.subarray(row, row + 1), 1, out));
      const P = gate.nParams;
      const grad = new Float64Array(P);
      const H = new Float64Array(P * P);
      const Q = gate.objective(theta, data.X, N, R, grad, G);
      gate.hessian!(theta, data.X, N, G, H, R);
      // the same on the GPU
      const gpuData = await uploadBatchData(ctx, [data]);
      const engine = new BatchEngine(ctx, gpuData, [{ dataIndex: 0, state }]);
      engine.setActive([true]);
      const [gStats] = await engine.eStep();
      const [sums] = await engine.gatePass();
      engine.destroy();
      // bounds on |term|: inputs, residuals and logits at the start
      let maxX = 1;
      let maxRes = 1;
      for (let r = 0; r < N; r++) {
        maxX = Math.max(maxX, Math.abs(data.X[r]!));
        for (let i = 0; i < k; i++) maxRes = Math.max(maxRes, Math.abs(data.Y[r]! - experts.a[i]! * data.X[r]! - experts.b[i]!));
      }
      const z = Math.max(maxX, maxRes);
      assertClose(gStats![gStats!.length - 1]!, L, 2e-5 * N * (1 + Math.abs(L / N)), 'log-likelihood');
      stats.forEach((v, s) => assertClose(gStats![s]!, v, 2e-5 * N * z * z, `expert statistic ${s}`));
      const tauInv = gate.logTauIndex >= 0 ? Math.exp(-theta[gate.logTauIndex]!) : 1 / ((c.options.gate as { tau?: number }).tau ?? 1);
      let maxU = 1;
      const U = new Float64Array(N * k);
      gate.logWeights(theta, data.X, N, U);
      for (const v of U) if (Number.isFinite(v)) maxU = Math.max(maxU, Math.abs(v));
      const jac = maxX * Math.max(1, tauInv) * (1 + maxU);
      assertClose(sums!.q, Q, 2e-5 * N * maxU, 'Q');
      grad.forEach((v, a) => assertClose(sums!.grad[a]!, v, 2e-5 * N * jac, `dQ/dtheta[${a}]`));
      H.forEach((v, ab) => assertClose(sums!.H[ab]!, v, 2e-5 * N * (jac * jac + jac), `d2Q/dtheta2[${ab}]`));
    });
  });

  test(`GPU batched EM agrees with the CPU engine: ${name}`, async (t) => {
    await withGpu(t, async (ctx) => {
      const gpu: ComputeBackend = { kind: 'gpu', note: '', ctx };
      const datasets = [sample(c.truth, N, new Rng(201)), sample(c.truth, N, new Rng(202))];
      const problems = datasets.map((data, j) => ({ data, start: { type: 'given' as const, model: startModel(c, 300 + j) } }));
      // Over-specified EM converges sublinearly: L still rises by about tol |L| per iteration when
      // the stopping rule fires, so a path perturbed by f32 noise stops some iterations earlier or
      // later and L differs by more than 1e-6 (measured: 8e-6), as two CPU runs with tol 1e-6 and
      // 1e-8 differ by 3e-3. There both engines run the same fixed number of iterations instead.
      // The other cases run the default rule (score certificate T <= 1e-3 nats, SQUAREM) on both
      // engines: one engine (fitting/em.ts drivers, gate-mstep.ts Newton) with the GPU's requests
      // answered by the kernels, so both stop within scoreTol of the same maximum.
      // Under a selective gate (top-K with K < k) EM ends at a selection tie that f32 cannot
      // resolve: the float64 certificate sees a selection the GPU's kernels do not, so T need not
      // fall below scoreTol there (measured: the top-2-by-logit case stalls); those cases keep the
      // relative rule (README, GPU backend).
      const { stop: _stop, accelerate: _accelerate, ...defaults } = c.options;
      const selective = c.options.gate.type === 'topk' && c.options.gate.K < c.options.k;
      // and, as for over-specified fits, the same fixed number of EM maps on both engines: near a tie
      // the relative rule stops the two paths some iterations apart (measured: 6e-3 nats)
      const options: FitOptions = c.options.k > c.truth.experts.length ? { ...c.options, tol: 0, maxIterations: 150 } : selective ? { ...c.options, tol: 0, maxIterations: 40 } : defaults;
      const onGpu = await fitMany(problems, { ...options, trace: true }, gpu);
      const again = await fitMany(problems, { ...options, trace: true }, gpu);
      problems.forEach((p, j) => {
        const cpu = fitMoE(p.data, options, p.start);
        const g = onGpu[j]!;
        assert.equal(g.fit.backend, 'gpu');
        // the GPU fit's float64 log-likelihood is within 1e-6 of the CPU fit's (issue 6), over the
        // points whose top-K selection f32 can resolve under both fits (see resolvable)
        const keep = resolvable(c, [g.model, cpu.model], p.data);
        t.diagnostic(`${name}, problem ${j}: ${N - keep.filter(Boolean).length} point(s) at an unresolvable top-K tie left out`);
        const lg = loglikOver(g.model, p.data, keep);
        const lc = loglikOver(cpu.model, p.data, keep);
        // score rule: T estimates the gain left to the maximum, so two fits that stopped with
        // T <= scoreTol at the same maximum differ in L by at most about 2 scoreTol (their final L
        // is float64 on the host); with fixed iterations the f32 path noise bound of issue 6, 1e-6 |L|
        const tol = options.stop === undefined ? 2 * 1e-3 + 1e-9 * Math.abs(lc) : 1e-6 * Math.abs(lc);
        if (options.stop === undefined) {
          assert.equal(g.fit.stopReason, 'converged', `${name}, problem ${j}: GPU ${g.fit.stopReason}`);
          assert.equal(cpu.fit.stopReason, 'converged', `${name}, problem ${j}: CPU ${cpu.fit.stopReason}`);
        }
        if (selective) {
          // near a selection tie f32 cannot tell that a step moves a point across it: the GPU
          // accepts steps the float64 M-step refuses (Q = -Infinity there), and its path climbs
          // past the tie (measured: +0.14 nats after 40 maps). One engine, so the GPU must not stop
          // short of the CPU; it may end higher.
          t.diagnostic(`${name}, problem ${j}: GPU - CPU = ${lg - lc} nats after ${options.maxIterations} maps`);
          assert.ok(lg >= lc - tol, `${name}, problem ${j}: GPU ${lg} below CPU ${lc} (tolerance ${tol})`);
        } else assertClose(lg, lc, tol, `${name}, problem ${j}: log-likelihood over ${keep.filter(Boolean).length} of ${N} points`);
        // monotone EM, up to the f32 rounding of the GPU's log-likelihood sums
        assert.equal(g.fit.decreases, 0, `${name}: decreases ${g.fit.warnings.join('; ')}`);
        const trace = g.fit.trace!;
        for (let i = 1; i < trace.length; i++) assert.ok(trace[i]! >= trace[i - 1]! - 1e-6 * Math.abs(trace[i - 1]!), `${name}: trace decreased at ${i}`);
        // the same data and start give the same GPU result
        assert.deepEqual(again[j]!.model, g.model);
        assert.equal(again[j]!.fit.loglik, g.fit.loglik);
      });
    });
  });
}

/**
 * The points whose top-K selection is resolvable in f32 under every model: the K-th and (K+1)-th
 * ranking scores differ by more than 1e-4 (1 + |score|). EM drives a top-K gate up to a selection
 * boundary (a step that crosses one is refused), so some point lies within ~1e-9 of a tie, and f32
 * and f64 put it on different sides: "Z agrees except where float32 rounding flips a comparison".
 * All points for dense gates.
 */
function resolvable(c: Case, models: Model[], data: { n: number; X: Float64Array }): boolean[] {
  const keep = new Array<boolean>(data.n).fill(true);
  const gate = c.options.gate;
  if (gate.type !== 'topk') return keep;
  for (const m of models) {
    for (let r = 0; r < data.n; r++) {
      const x = data.X[r]!;
      const scores = m.experts.map((e) => e.beta1![0]! * x + (gate.rankBy === 'logit' ? e.beta0 : 0)).sort((a, b) => b - a);
      const gap = scores[gate.K - 1]! - scores[gate.K]!;
      if (gap <= 1e-4 * (1 + Math.abs(scores[gate.K]!))) keep[r] = false;
    }
  }
  return keep;
}

function loglikOver(model: Model, data: { n: number; X: Float64Array; Y: Float64Array }, keep: boolean[]): number {
  const values = logDensity(model, data.X, data.Y, data.n);
  let total = 0;
  for (let r = 0; r < data.n; r++) if (keep[r]) total += values[r]!;
  return total;
}

test('GPU and CPU fits with the same number of EM iterations have Voronoi losses equal within f32 noise', async (t) => {
  await withGpu(t, async (ctx) => {
    const gpu: ComputeBackend = { kind: 'gpu', note: '', ctx };
    for (const name of ['softmax', 'top-2 of 3', 'activation tanh, tau known']) {
      const c = CASES[name]!;
      const data = sample(c.truth, N, new Rng(401));
      const start = { type: 'given' as const, model: startModel(c, 402) };
      // a fixed number of iterations (tol 0), so both runs take the same path and differ only by
      // the propagated f32 noise of the statistics (relative ~2e-5 per iteration, damped by the
      // EM contraction): the fitted parameters, and the loss (Lipschitz in them near the truth),
      // agree to a relative 1e-3 of the loss plus an absolute 1e-4 for losses near 0
      const options = { ...c.options, tol: 0, maxIterations: 25 };
      const [g] = await fitMany([{ data, start }], options, gpu);
      const cpu = fitMoE(data, options, start);
      const lg = voronoiLoss(g!.model, c.truth).aligned;
      const lc = voronoiLoss(cpu.model, c.truth).aligned;
      assertClose(lg, lc, 1e-3 * lc + 1e-4, `${name}: Voronoi loss`);
    }
  });
});

test('GPU gate log-weights: rows sum to 1, top-K keeps exactly K, equal to the CPU gate to f32 precision', async (t) => {
  await withGpu(t, async (ctx) => {
    const { logWeightsSource, metaLayout } = await import('../../src/gpu/source.js');
    const { gateKernelSpec } = await import('../../src/gpu/batched-em.js');
    for (const [name, c] of Object.entries(CASES)) {
      const data = sample(c.truth, 1000, new Rng(501));
      const state = packState(startModel(c, 502), c.options);
      const spec = gateKernelSpec(state.gate);
      const { k } = spec;
      const layout = metaLayout(spec, 1);
      const meta = new Float32Array(layout.tabG + 64);
      const tau = state.gate.logTauIndex >= 0 ? Math.exp(state.theta[state.gate.logTauIndex]!) : ((c.options.gate as { tau?: number }).tau ?? 1);
      meta.set([1, 0, 1 / tau, ...state.theta]);
      const gpuData = await uploadBatchData(ctx, [data]);
      const kernel = ctx.gpu.createKernel(logWeightsSource(spec, 1), {}).setOutput([k, data.n, 1]);
      const rows = ((await kernel(...gpuData.X, meta)) as Float32Array[][])[0]!;
      kernel.destroy?.();
      const cpu = new Float64Array(data.n * k);
      state.gate.logWeights(state.theta, data.X, data.n, cpu);
      const K = spec.K;
      for (let r = 0; r < data.n; r++) {
        let total = 0;
        let kept = 0;
        for (let i = 0; i < k; i++) {
          const lg = rows[r]![i]!;
          const dropped = lg < -99999;
          if (!dropped) {
            kept++;
            total += Math.exp(lg);
            // log G in f32: a few roundings of logits of size |u| (|u| < 50 here)
            assert.ok(Math.abs(lg - cpu[r * k + i]!) <= 1e-5 * (1 + Math.abs(cpu[r * k + i]!)), `${name}: row ${r}, expert ${i}: ${lg} vs ${cpu[r * k + i]}`);
          } else assert.equal(cpu[r * k + i], -Infinity, `${name}: row ${r}, expert ${i} dropped on the GPU only`);
        }
        assert.equal(kept, K, `${name}: row ${r} keeps ${kept} experts`);
        assert.ok(Math.abs(total - 1) <= k * 2 ** -20, `${name}: row ${r} sums to ${total}`);
      }
    }
  });
});

test('GPU fits and samples larger than one device buffer run in groups, with the same results', async (t) => {
  await withGpu(t, async (ctx) => {
    const { sampleMany } = await import('../../src/compute/sample-many.js');
    const c = CASES.softmax!;
    const n = 2000;
    // a device that allows 3 datasets of n per buffer and 1 fit's responsibilities per batch
    const small = { ...ctx, maxBufferBytes: Math.ceil((4 * n * 3) / 0.9) + 8 };
    const rngs = () => [1, 2, 3, 4, 5].map((s) => new Rng(s));
    const whole = await sampleMany(c.truth, n, rngs(), { kind: 'gpu', note: '', ctx });
    const grouped = await sampleMany(c.truth, n, rngs(), { kind: 'gpu', note: '', ctx: small });
    assert.deepEqual(grouped.datasets, whole.datasets);
    await assert.rejects(sampleMany(c.truth, n, rngs(), { kind: 'gpu', note: '', ctx: small }, true), /sample at most 3 replicates at a time/);
    const problems = whole.datasets.map((data, j) => ({ data, start: { type: 'given' as const, model: startModel(c, 600 + j) } }));
    const a = await fitMany(problems, c.options, { kind: 'gpu', note: '', ctx });
    const b = await fitMany(problems, c.options, { kind: 'gpu', note: '', ctx: small });
    assert.deepEqual(b.map((r) => r.model), a.map((r) => r.model));
    const tiny = { ...ctx, maxBufferBytes: 4 * n };
    await assert.rejects(fitMany(problems, c.options, { kind: 'gpu', note: '', ctx: tiny }), /one GPU fit's responsibilities need \d+ bytes; this GPU allows \d+ per buffer/);
  });
});

test('the gate box on the GPU engine: the demys-over4 ray task fitted with gateBound stays in the box and converges to the CPU\'s face maximum', async (t) => {
  await withGpu(t, async (ctx) => {
    const { readFileSync } = await import('node:fs');
    const { parseExperimentConfig } = await import('../../src/sweeps/config.js');
    const { taskFitOptions, taskStart } = await import('../../src/sweeps/run-task.js');
    const { gateBoundExcess } = await import('../../src/models/gate-bound.js');
    const file = 'experiments/demys-over4.json';
    const config = parseExperimentConfig(JSON.parse(readFileSync(file, 'utf8')), file);
    // test/fitting/gate-box.test.ts: unconstrained, this task's gate runs to beta0 ~ 7e5
    const n = 1000;
    const seed = 6515406960394938;
    const data = sample(config.truth, n, new Rng(seed));
    const start = taskStart(config, { key: 'ray', n, replicate: 0, seed }, 'full');
    const options = { ...taskFitOptions(config, 'full'), gateBound: 1000 };
    const [g] = await fitMany([{ data, start }], options, { kind: 'gpu', note: '', ctx });
    const cpu = fitMoE(data, options, start);
    assert.equal(gateBoundExcess(g!.model, 1000), undefined, 'inside the box');
    assert.equal(g!.fit.stopReason, 'converged');
    // both certified (float64 certificate, T <= 1e-3) at the maximum over the box that three of
    // the five starts reach on the CPU: the f32 path may stop elsewhere within T, i.e. within
    // about 1e-3 nats per start; 0.01 nats leaves room for that and is far below the 1.3 nats to
    // the next start's maximum
    assert.ok(Math.abs(g!.fit.loglik - cpu.fit.loglik) < 0.01, `GPU L ${g!.fit.loglik} vs CPU L ${cpu.fit.loglik}`);
  });
});
