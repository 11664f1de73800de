/**
 * The fast path of the gate M-step (src/gates/logit-kernel.ts: generated objective and Hessian
 * kernels of LogitGate subclasses) against the reference path it replaces
 * (LogitGate.referenceObjective / referenceHessian: the generic chain rule point by point), for
 * every activation with tau known and free, the temperature gate with tau known and free, and the
 * sigmoid gate, k in {2, 3, 4} and d in {1, 2, 3}, on random thetas and data, and on data where
 * some weights G are exactly 0 (exp underflows).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGate, type GateSpec } from '../../src/gates/index.js';
import { LogitGate } from '../../src/gates/logit-gate.js';
import { MAX_FAST_WIDTH } from '../../src/gates/logit-kernel.js';
import type { Gate } from '../../src/gates/types.js';
import { Rng } from '../../src/rng/index.js';

/**
 * The fast path computes every per-point term with the reference's float64 operations and sums
 * them in another order (per expert pair and local coordinate, then scattered; log tau's terms of
 * different experts summed separately). Reordering a float64 sum of m terms changes it by at most
 * about m eps sum |terms| (m = n k^2 here, a few thousand; eps = 2.2e-16), so the differences are
 * measured against the scale sum_n |per-point term| (the largest over the entries: the per-point
 * Hessians and gradients by the reference on one point at a time), not against the entry itself,
 * which cancels where the logits are steep. 1e-12 of that scale is the bound for m up to ~5000
 * (measured: at most 1.5e-13 of it, in the steep cases, whose terms also cancel within one point
 * so that the per-point scale understates sum |terms|; below 1e-14 elsewhere).
 */
const TOL = 1e-12;

const ACTIVATIONS = ['tanh', 'sigmoid', 'gelu', 'identity', 'relu'] as const;

interface Case {
  name: string;
  spec: GateSpec;
  tau: 'known' | 'free';
  /** fast path expected (the temperature gate with tau known keeps its linear kernels) */
  fast: boolean;
}

const CASES: Case[] = [
  ...ACTIVATIONS.flatMap((activation) =>
    (['known', 'free'] as const).map((tau) => ({ name: `activation ${activation}, tau ${tau}`, spec: { type: 'activation', activation, tau: 0.8 } as GateSpec, tau, fast: true })),
  ),
  { name: 'temperature, tau known', spec: { type: 'temperature', tau: 0.5 }, tau: 'known', fast: false },
  { name: 'temperature, tau free', spec: { type: 'temperature', tau: 0.5 }, tau: 'free', fast: true },
  { name: 'sigmoid', spec: { type: 'sigmoid' }, tau: 'known', fast: true },
];

/** max |a - b| / scale (the difference itself when the scale is 0) */
function scaledDifference(a: Float64Array, b: Float64Array, scale: number): number {
  let diff = 0;
  for (let t = 0; t < a.length; t++) diff = Math.max(diff, Math.abs(a[t]! - b[t]!));
  return scale === 0 ? diff : diff / scale;
}

/** The scales of the sums: max over entries of sum_n |gradient_n| and of sum_n |Hessian_n| (the reference, one point at a time). */
function sumScales(gate: LogitGate, theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array) {
  const { k, d, nParams: P } = gate;
  const g = new Float64Array(P);
  const H = new Float64Array(P * P);
  const gradAbs = new Float64Array(P);
  const hessAbs = new Float64Array(P * P);
  for (let r = 0; r < n; r++) {
    const x = X.subarray(r * d, r * d + d);
    const Rr = R.subarray(r * k, r * k + k);
    gate.referenceObjective(theta, x, 1, Rr, g, null);
    gate.referenceHessian(theta, x, 1, G.subarray(r * k, r * k + k), H, Rr);
    for (let t = 0; t < P; t++) gradAbs[t] = gradAbs[t]! + Math.abs(g[t]!);
    for (let t = 0; t < P * P; t++) hessAbs[t] = hessAbs[t]! + Math.abs(H[t]!);
  }
  return { grad: Math.max(...gradAbs), hessian: Math.max(...hessAbs) };
}

/** Random responsibilities (rows summing to 1, every entry > 0). */
function responsibilities(rng: Rng, n: number, k: number): Float64Array {
  const R = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += R[r * k + i] = rng.uniform() + 0.01;
    for (let i = 0; i < k; i++) R[r * k + i] = R[r * k + i]! / s;
  }
  return R;
}

/** Fast against reference at theta: Q, gradient, weights and Hessian; returns how many weights are exactly 0. */
function compare(gate: LogitGate, theta: Float64Array, X: Float64Array, n: number, R: Float64Array, what: string): number {
  const { k, nParams: P } = gate;
  const gradFast = new Float64Array(P);
  const gradRef = new Float64Array(P);
  const Gfast = new Float64Array(n * k);
  const Gref = new Float64Array(n * k);
  const qFast = gate.objective(theta, X, n, R, gradFast, Gfast);
  const qRef = gate.referenceObjective(theta, X, n, R, gradRef, Gref);
  assert.ok(Number.isFinite(qRef), `${what}: Q finite`);
  assert.ok(Math.abs(qFast - qRef) <= TOL * Math.abs(qRef), `${what}: Q ${qFast} vs ${qRef}`);
  const scale = sumScales(gate, theta, X, n, R, Gref);
  assert.ok(scaledDifference(gradFast, gradRef, scale.grad) <= TOL, `${what}: gradient ${Array.from(gradFast)} vs ${Array.from(gradRef)}`);
  // the weights come from the same per-point operations on the same logits: the same numbers
  assert.deepEqual(Gfast, Gref, `${what}: weights`);
  // without the gradient or the weights asked for, the same Q
  assert.equal(gate.objective(theta, X, n, R, null, null), qFast, `${what}: Q without gradient`);
  const Hfast = new Float64Array(P * P);
  const Href = new Float64Array(P * P);
  (gate as Gate).hessian!(theta, X, n, Gref, Hfast, R);
  gate.referenceHessian(theta, X, n, Gref, Href, R);
  assert.ok(Href.every(Number.isFinite), `${what}: reference Hessian finite`);
  const hDiff = scaledDifference(Hfast, Href, scale.hessian);
  assert.ok(hDiff <= TOL, `${what}: Hessian differs by ${hDiff} of sum |terms|`);
  // the fast path mirrors one upper triangle (the reference computes both halves, each with its own rounding)
  if (gate.usesFastPath) for (let a = 0; a < P; a++) for (let b = 0; b < a; b++) assert.equal(Hfast[a * P + b], Hfast[b * P + a], `${what}: H symmetric at (${a}, ${b})`);
  return Gref.filter((g) => g === 0).length;
}

for (const c of CASES) {
  test(`fast gate M-step, ${c.name}: objective, gradient, weights and Hessian as the reference (k 2-4, d 1-3)`, () => {
    const rng = new Rng(20260101);
    for (const k of [2, 3, 4]) {
      for (const d of [1, 2, 3]) {
        const gate = createGate(c.spec, k, d, { tau: c.tau });
        assert.ok(gate instanceof LogitGate);
        assert.equal(gate.usesFastPath, c.fast, `${c.name}, k ${k}, d ${d}: fast path`);
        // n not a multiple of the Hessian's chunk (128): a partial last chunk
        const n = 301;
        const X = Float64Array.from({ length: n * d }, () => 1.5 * rng.normal());
        const R = responsibilities(rng, n, k);
        for (let rep = 0; rep < 2; rep++) {
          const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
          if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = 0.5 * rng.normal();
          compare(gate, theta, X, n, R, `${c.name}, k ${k}, d ${d}, theta ${rep}`);
        }
      }
    }
  });

  test(`fast gate M-step, ${c.name}: points where some G is exactly 0 (underflow)`, () => {
    const rng = new Rng(7);
    for (const k of [2, 3]) {
      for (const d of [1, 2]) {
        const gate = createGate(c.spec, k, d, { tau: c.tau }) as LogitGate;
        const n = 200;
        const X = Float64Array.from({ length: n * d }, () => 3 * rng.normal());
        const R = responsibilities(rng, n, k);
        const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
        // steep logits: slopes of +-400 (and, with tau known at 0.8 or 0.5, scaled by 1/tau) make
        // the logits of two experts differ by more than 745 at many points (exp underflows to 0);
        // a bounded activation (tanh, sigmoid) needs a small tau instead: log tau = -7
        for (let i = 0; i < k; i++) for (let p = 0; p < d; p++) theta[k + i * d + p] = (i % 2 === 0 ? 400 : -400) * (1 + 0.1 * rng.uniform());
        const bounded = c.spec.type === 'activation' && (c.spec.activation === 'tanh' || c.spec.activation === 'sigmoid');
        if (bounded && gate.logTauIndex < 0) continue; // tau known at 0.8: sigma/tau is bounded, no underflow
        if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = bounded ? -7 : 0;
        const zeros = compare(gate, theta, X, n, R, `${c.name}, k ${k}, d ${d}, steep`);
        assert.ok(zeros > 0, `${c.name}, k ${k}, d ${d}: some weights exactly 0`);
      }
    }
  });
}

test('fast gate M-step: the gaussian gate, and gates wider than MAX_FAST_WIDTH, stay on the reference path', () => {
  assert.equal((createGate({ type: 'gaussian' }, 2, 2) as LogitGate).usesFastPath, false);
  const spec: GateSpec = { type: 'activation', activation: 'tanh', tau: 0.8 };
  // k w = 8 x 3 = 24: fast; 9 x 3 = 27: the reference (a kernel that size is not worth compiling)
  assert.equal((createGate(spec, 8, 1, { tau: 'free' }) as LogitGate).usesFastPath, 8 * 3 <= MAX_FAST_WIDTH);
  assert.equal((createGate(spec, 9, 1, { tau: 'free' }) as LogitGate).usesFastPath, false);
  const wide = createGate(spec, 9, 1, { tau: 'free' }) as LogitGate;
  const rng = new Rng(3);
  const n = 50;
  const X = Float64Array.from({ length: n }, () => rng.normal());
  const theta = Float64Array.from({ length: wide.nParams }, () => 0.5 * rng.normal());
  compare(wide, theta, X, n, responsibilities(rng, n, 9), 'k 9, reference on both sides');
});
