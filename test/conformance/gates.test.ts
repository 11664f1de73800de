/**
 * The gate conformance suite: every registered gate (gates/registry.ts), every example spec its
 * definition lists, on every backend present. A gate added to the registry is covered here without
 * an edit. What test/gates.test.ts adds for the same list: gradients and Hessians against central
 * differences, Q = sum R log G, normalisation of random parameters.
 *
 * Here: extreme parameters (logits of +-100 and +-1000), a NaN input row, the M-step never lowers
 * Q, EM step by step never lowers L (plain and accelerated), same seed -> same fit, sampling and
 * fitting through the public API, and CPU vs GPU log-weights for gates with GPU kernels.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../../src/backend/cpu.js';
import { gateMStep } from '../../src/fitting/gate-mstep.js';
import { createGate, GATE_TYPES, gateDefinition, type Gate } from '../../src/gates/index.js';
import { fitMoE, parseModel, Rng, sample } from '../../src/index.js';
import type { Model } from '../../src/models/types.js';
import { withGpu } from '../gpu/helpers.js';
import { keptResponsibilities, registryExamples, type GateExampleCase } from '../helpers.js';

const k = 3;
const EPS = 2 ** -52;

type Example = GateExampleCase;
const EXAMPLES = registryExamples(k);

test('the registry lists every gate with at least one example, and each example parses to itself', () => {
  assert.ok(GATE_TYPES.length >= 5);
  for (const type of GATE_TYPES) assert.ok(gateDefinition(type).examples(k).length >= 1, type);
  for (const e of EXAMPLES) assert.deepEqual(parseModel(truthFor(e)).gate, e.spec, e.name);
});

/** A k = 3, d = 1 truth under the example's gate: separated experts, reference expert last. */
function truthFor(e: Example): Model {
  return {
    gate: e.spec,
    experts: [
      { beta0: 1, beta1: [-3], a: [-3], b: 1, nu: 0.1 },
      { beta0: 0.5, beta1: [2], a: [3], b: -1, nu: 0.2 },
      { beta0: 0, beta1: [0], a: [0], b: 2, nu: 0.15 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 1 },
  } as Model;
}

function inputs(n: number, d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n * d }, () => -1 + 2 * rng.uniform());
}

const responsibilities = keptResponsibilities;

for (const e of EXAMPLES) {
  for (const scale of [100, 1000]) {
    test(`conformance cpu, ${e.name}: logits of +-${scale} give finite log-weights that normalise, no NaN`, () => {
      const d = 2;
      const n = 200;
      const gate = createGate(e.spec, k, d, { tau: e.tau });
      const rng = new Rng(scale);
      const theta = Float64Array.from({ length: gate.nParams }, () => scale * (2 * rng.uniform() - 1));
      if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = Math.log(0.8);
      const X = inputs(n, d, 5);
      const L = new Float64Array(n * k);
      const G = new Float64Array(n * k);
      gate.logWeights(theta, X, n, L);
      gate.weights(theta, X, n, G);
      for (let r = 0; r < n; r++) {
        let total = 0;
        let fromLog = 0;
        for (let i = 0; i < k; i++) {
          const l = L[r * k + i]!;
          assert.ok(!Number.isNaN(l) && l !== Infinity && l <= 1e-12, `row ${r}, expert ${i}: log G = ${l}`);
          assert.ok(Number.isFinite(G[r * k + i]!), `row ${r}, expert ${i}: G = ${G[r * k + i]}`);
          total += G[r * k + i]!;
          fromLog += Math.exp(l);
        }
        // sum G: one division per row and k additions, a few ulps. exp(log G): log G = u - lse is
        // rounded to eps (|u| + |lse|), and |u| <= scale (1 + d) / tau_min: that bound, k terms
        assert.ok(Math.abs(total - 1) <= 1e-14, `row ${r}: sum G = ${total}`);
        assert.ok(Math.abs(fromLog - 1) <= k * 2 * EPS * (1 + (scale * (1 + d)) / 0.5), `row ${r}: sum exp(log G) = ${fromLog}`);
      }
    });
  }

  test(`conformance cpu, ${e.name}: a NaN input row gives NaN in that row only`, () => {
    const d = 2;
    const n = 20;
    const gate = createGate(e.spec, k, d, { tau: e.tau });
    const rng = new Rng(9);
    const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
    const X = inputs(n, d, 6);
    const clean = new Float64Array(n * k);
    gate.logWeights(theta, X, n, clean);
    X[7 * d + 1] = NaN;
    const L = new Float64Array(n * k);
    gate.logWeights(theta, X, n, L);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) {
        if (r === 7) assert.ok(Number.isNaN(L[r * k + i]!), `NaN row, expert ${i}: ${L[r * k + i]} (a NaN input must not look like a weight)`);
        else assert.equal(L[r * k + i], clean[r * k + i], `row ${r} changed by another row's NaN`);
      }
    }
  });

  test(`conformance cpu, ${e.name}: the gate M-step never lowers Q`, () => {
    const d = 1;
    const n = 400;
    const gate = createGate(e.spec, k, d, { tau: e.tau });
    const X = inputs(n, d, 7);
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(100 + seed);
      const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
      if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = Math.log(0.8);
      const R = responsibilities(gate, theta, X, n, seed);
      const q0 = gate.objective(theta, X, n, R, null, null);
      const free = Int32Array.from({ length: gate.nParams }, (_, j) => j);
      const result = gateMStep(gate, new CpuBackend(), theta, X, n, R, new Float64Array(n * k), free, { maxSteps: 10, tol: 1e-10 });
      const q1 = gate.objective(theta, X, n, R, null, null);
      // the M-step accepts a step only when Q does not fall; rounding of a sum of n terms of size
      // |Q|/n is about n eps |Q| / n = eps |Q| per evaluation, so 1e-12 |Q| is a wide margin
      assert.ok(q1 >= q0 - 1e-12 * Math.abs(q0), `seed ${seed}: Q ${q0} -> ${q1}`);
      assert.ok(Math.abs(result.q - q1) <= 1e-9 * Math.abs(q1), `reported Q ${result.q} vs recomputed ${q1}`);
    }
  });

  test(`conformance cpu, ${e.name}: sample, then EM step by step never lowers L (plain and SQUAREM), and the same seed gives the same fit`, () => {
    const truth = parseModel(truthFor(e));
    const data = sample(truth, 1500, new Rng(11));
    for (const accelerate of ['none', 'squarem'] as const) {
      const options = { k, gate: e.spec, tau: e.tau, accelerate, maxIterations: 60, trace: true } as const;
      const start = { type: 'nearTruth', truth, noise: 0.3, seed: 12 } as const;
      const a = fitMoE(data, options, start);
      const trace = a.fit.trace!;
      assert.ok(trace.length > 1 && trace.every(Number.isFinite), `${accelerate}: trace ${trace.slice(0, 5)}`);
      // EM is monotone (the M-step maximises Q, SQUAREM accepts an extrapolation only if L does
      // not fall); rounding of L (a sum of n = 1500 terms) is far below 1e-9 |L|
      for (let t = 1; t < trace.length; t++) {
        assert.ok(trace[t]! >= trace[t - 1]! - 1e-9 * Math.abs(trace[t - 1]!), `${accelerate}: L fell at map ${t}: ${trace[t - 1]} -> ${trace[t]}`);
      }
      assert.equal(a.fit.decreases, 0);
      const b = fitMoE(data, options, start);
      assert.deepEqual(b.model, a.model);
      assert.equal(b.fit.loglik, a.fit.loglik);
    }
  });
}

/** Whether the GPU backend has kernels for this gate (gpu/batched-em.ts gateKernelSpec). */
async function gpuKernels(gate: Gate): Promise<boolean> {
  const { gateKernelSpec } = await import('../../src/gpu/batched-em.js');
  try {
    gateKernelSpec(gate);
    return true;
  } catch {
    return false;
  }
}

for (const e of EXAMPLES) {
  const gate = createGate(e.spec, k, 1, { tau: e.tau });
  test(`conformance gpu, ${e.name}: log-weights equal the CPU's to f32 precision, rows sum to 1`, async (t) => {
    if (!(await gpuKernels(gate))) {
      t.todo(`the GPU backend has no kernels for the ${e.spec.type} gate yet (issue 13: kernels generated from the gate definition)`);
      return;
    }
    await withGpu(t, async (ctx) => {
      const { gateFunctions, logWeightsSource, metaLayout } = await import('../../src/gpu/source.js');
      const { gateKernelSpec, uploadBatchData } = await import('../../src/gpu/batched-em.js');
      const { addFunctions } = await import('../../src/gpu/functions.js');
      const truth = parseModel(truthFor(e));
      const data = sample(truth, 1000, new Rng(21));
      const rng = new Rng(22);
      const theta = Float64Array.from({ length: gate.nParams }, () => 2 * rng.normal());
      if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = Math.log(0.8);
      const spec = gateKernelSpec(gate);
      addFunctions(ctx, gateFunctions(spec));
      const layout = metaLayout(spec, 1);
      const meta = new Float32Array(layout.tabG + 64);
      const tau = gate.logTauIndex >= 0 ? Math.exp(theta[gate.logTauIndex]!) : ((e.spec as { tau?: number }).tau ?? 1);
      meta.set([1, 0, 1 / tau, ...theta]);
      const gpuData = await uploadBatchData(ctx, [data]);
      const kernel = ctx.gpu.createKernel(logWeightsSource(spec, 1), {}).setOutput([k, data.n, 1]);
      const rows = ((await kernel(...gpuData.X, meta)) as Float32Array[][])[0]!;
      kernel.destroy?.();
      const cpu = new Float64Array(data.n * k);
      gate.logWeights(theta, data.X, data.n, cpu);
      for (let r = 0; r < data.n; r++) {
        let total = 0;
        for (let i = 0; i < k; i++) {
          const lg = rows[r]![i]!;
          if (lg < -99999) {
            assert.equal(cpu[r * k + i], -Infinity, `row ${r}, expert ${i} dropped on the GPU only`);
            continue;
          }
          total += Math.exp(lg);
          // f32: the logits (|u| < 20 here) and the log-sum-exp carry a few roundings of 2^-24 |u|,
          // and the GPU's transcendental functions a few ulp: 1e-5 (1 + |log G|) is about 8 ulp of 20
          assert.ok(Math.abs(lg - cpu[r * k + i]!) <= 1e-5 * (1 + Math.abs(cpu[r * k + i]!)), `row ${r}, expert ${i}: GPU ${lg} vs CPU ${cpu[r * k + i]}`);
        }
        assert.ok(Math.abs(total - 1) <= k * 2 ** -20, `row ${r}: GPU weights sum to ${total}`);
      }
    });
  });
}
