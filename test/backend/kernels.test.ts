import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../../src/backend/index.js';
import { expertStatsSize, packExperts } from '../../src/experts/index.js';
import { createGate } from '../../src/gates/index.js';
import { modelGate } from '../../src/models/model-gate.js';
import type { GateSpec, Model } from '../../src/models/index.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';
import { DEMYS, maxRelativeError, SOFTMAX_D2, TOPK } from '../helpers.js';

const noFallback = () => {
  throw new Error('fallback not expected');
};

for (const [name, model] of [['demys k=2 d=1', DEMYS], ['topk k=3 d=1', TOPK], ['softmax k=3 d=2', SOFTMAX_D2]] as [string, Model][]) {
  test(`CpuBackend.eStep (generated kernel) equals eStepReference on ${name}`, () => {
    const n = 3000;
    const data = sample(model, n, new Rng(1));
    const { gate, theta } = modelGate(model);
    const k = model.experts.length;
    const G = new Float64Array(n * k);
    gate.weights(theta, data.X, n, G);
    // perturb the experts so that responsibilities are not all near 0/1
    const experts = packExperts(model.experts.map((e) => ({ ...e, b: e.b + 0.3, nu: e.nu * 3 })), data.d);
    const backend = new CpuBackend();
    const size = k * expertStatsSize(data.d);
    const R1 = new Float64Array(n * k);
    const R2 = new Float64Array(n * k);
    const s1 = new Float64Array(size);
    const s2 = new Float64Array(size);
    const L1 = backend.eStep(data, G, experts, R1, s1, noFallback);
    const L2 = backend.eStepReference(data, G, experts, R2, s2, noFallback);
    // same formulas, same operation order per expert: equal to rounding in the sums
    assert.ok(Math.abs(L1 - L2) <= 1e-12 * Math.abs(L2), `${L1} vs ${L2}`);
    // where the reference's R is subnormal the default (WASM) kernel stores 0 (wasm-estep.ts: it
    // differs by < 2^-1022 there); elsewhere the same relative bound
    const normal = (v: number) => v === 0 || v >= 2 ** -1022;
    for (let j = 0; j < n * k; j++) if (!normal(R2[j]!)) assert.ok(!normal(R1[j]!) || R1[j] === 0, `R[${j}] = ${R1[j]} vs subnormal ${R2[j]}`);
    const kept = (R: Float64Array) => R.filter((_, j) => normal(R2[j]!));
    assert.ok(maxRelativeError(kept(R1), kept(R2), 1e-300) < 1e-12);
    assert.ok(maxRelativeError(s1, s2) < 1e-10);
  });
}

test('CpuBackend.eStep sends rows that would underflow to the exact log-space fallback', () => {
  // one point where the kept expert explains y astronomically worse than a nearly-zero-weight one
  const model: Model = {
    gate: { type: 'softmax' },
    experts: [
      { beta0: 0, beta1: [0], a: [0], b: 0, nu: 1e-4 },
      { beta0: -700, beta1: [0], a: [0], b: 50, nu: 1 },
    ],
    input: { type: 'uniform', low: 0, high: 1, dim: 1 },
  };
  const data = { n: 1, d: 1, X: Float64Array.of(0.5), Y: Float64Array.of(50) };
  const { gate, theta } = modelGate(model);
  const G = new Float64Array(2);
  gate.weights(theta, data.X, 1, G);
  const R = new Float64Array(2);
  const stats = new Float64Array(2 * expertStatsSize(1));
  let calls = 0;
  const L = new CpuBackend().eStep(data, G, packExperts(model.experts, 1), R, stats, (row, out) => {
    calls++;
    gate.logWeights(theta, data.X.subarray(row, row + 1), 1, out);
  });
  // exact: log p = logsumexp(log G_i + log N_i); expert 2 dominates: -700 - log(1 + e^-700) + log N(50|50,1)
  const expected = -700 - 0.5 * Math.log(2 * Math.PI);
  assert.equal(calls, 1);
  assert.ok(Math.abs(L - expected) < 1e-9, `${L} vs ${expected}`);
  assert.ok(Math.abs(R[1]! - 1) < 1e-12);
});

const NEWTON_GATES: GateSpec[] = [
  { type: 'softmax' },
  { type: 'topk', K: 2, rankBy: 'slope' },
  { type: 'topk', K: 1, rankBy: 'logit' },
  { type: 'temperature', tau: 0.4 },
];

for (const spec of NEWTON_GATES) {
  for (const d of [1, 2]) {
    test(`gate ${spec.type}${'K' in spec ? ` K=${spec.K} ${spec.rankBy}` : ''} (d=${d}): newtonPass equals objective and hessian`, () => {
      const k = 3;
      const n = 400;
      const gate = createGate(spec, k, d);
      const rng = new Rng(5);
      const X = Float64Array.from({ length: n * d }, () => -1 + 2 * rng.uniform());
      const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
      const G = new Float64Array(n * k);
      gate.weights(theta, X, n, G);
      const R = new Float64Array(n * k);
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += R[r * k + i] = G[r * k + i]! > 0 ? rng.uniform() + 0.1 : 0;
        for (let i = 0; i < k; i++) R[r * k + i] = R[r * k + i]! / s;
      }
      const P = gate.nParams;
      const gradRef = new Float64Array(P);
      const Href = new Float64Array(P * P);
      const qRef = gate.objective(theta, X, n, R, gradRef, null);
      gate.hessian!(theta, X, n, G, Href, R);
      const G2 = new Float64Array(n * k);
      const grad = new Float64Array(P);
      const H = new Float64Array(P * P);
      const evaluated = gate.newtonPass!(theta, X, n, R, G2, grad, H, 'evaluate');
      assert.ok(Math.abs(evaluated.linear - evaluated.lseSum - qRef) < 1e-10 * (Math.abs(qRef) + 1));
      assert.ok(maxRelativeError(G2, G, 1e-300) < 1e-13);
      assert.ok(maxRelativeError(grad, gradRef) < 1e-10);
      assert.ok(maxRelativeError(H, Href) < 1e-10);
      const cached = gate.newtonPass!(theta, X, n, R, G, grad, H, 'fromWeights');
      assert.ok(Math.abs(cached.linear - evaluated.lseSum - qRef) < 1e-10 * (Math.abs(qRef) + 1));
      assert.ok(Number.isNaN(cached.lseSum));
      assert.ok(maxRelativeError(grad, gradRef) < 1e-10);
    });
  }
}

test('newtonPass gives Q = -Infinity when a dropped top-K expert has responsibility', () => {
  const gate = createGate({ type: 'topk', K: 1, rankBy: 'slope' }, 2, 1);
  const out = gate.newtonPass!(Float64Array.from([0, 0, 1, -1]), Float64Array.of(0.5), 1, Float64Array.of(0.5, 0.5), new Float64Array(2), new Float64Array(4), new Float64Array(16), 'evaluate');
  assert.equal(out.linear, -Infinity);
});

test('LinearLogitGate.weights (generated) equals the plain-loop LogitGate.weights for every linear gate', async () => {
  const { LogitGate } = await import('../../src/gates/logit-gate.js');
  for (const spec of NEWTON_GATES) {
    for (const d of [1, 2]) {
      const gate = createGate(spec, 3, d);
      const rng = new Rng(8);
      const n = 500;
      const X = Float64Array.from({ length: n * d }, () => -1 + 2 * rng.uniform());
      const theta = Float64Array.from({ length: gate.nParams }, () => 3 * rng.normal());
      const A = new Float64Array(n * 3);
      const B = new Float64Array(n * 3);
      gate.weights(theta, X, n, A);
      LogitGate.prototype.weights.call(gate, theta, X, n, B);
      assert.ok(maxRelativeError(A, B, 1e-300) < 1e-13, `${spec.type} d=${d}`);
      for (let t = 0; t < n * 3; t++) assert.equal(A[t] === 0, B[t] === 0, 'the same exact zeros');
    }
  }
});
