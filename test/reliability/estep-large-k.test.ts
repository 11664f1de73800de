/**
 * Issue 12, item 4 (the E-step): the generated E-step kernel overflowed the stack at about
 * k = 8000 experts (d = 1). Above MAX_ESTEP_LOCALS scalar locals the plain-loop kernel runs; it
 * computes the generated kernel's numbers bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../../src/backend/cpu.js';
import { eStepKernel, eStepLocals, eStepLoop, eStepSource, MAX_ESTEP_LOCALS, type EStepKernel } from '../../src/backend/estep-kernel.js';
import { expertStatsSize, packExperts } from '../../src/experts/gaussian-linear.js';
import { Rng } from '../../src/rng/rng.js';

/**
 * Random kernel inputs. Every 7th row puts y far from every expert and gives all experts but one
 * a gate weight near 1e-300: where the best-fitting expert is one of those, the row's sum
 * underflows and the log-space fallback runs.
 */
function inputs(k: number, d: number, n: number, seed: number, zeroGate = 0.3) {
  const rng = new Rng(seed);
  const X = Float64Array.from({ length: n * d }, () => 2 * rng.uniform() - 1);
  const Y = Float64Array.from({ length: n }, (_, r) => (r % 7 === 3 ? 1e4 * (1 + rng.uniform()) : 3 * rng.normal()));
  const G = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += G[r * k + i] = rng.uniform() < zeroGate ? 0 : rng.uniform();
    for (let i = 0; i < k; i++) G[r * k + i] = s > 0 ? G[r * k + i]! / s : 1 / k;
    if (r % 7 === 3 && k > 1) for (let i = 1; i < k; i++) G[r * k + i] = 1e-300 * (0.5 + rng.uniform());
  }
  const A = Float64Array.from({ length: k * d }, () => rng.normal());
  const B = Float64Array.from({ length: k }, () => rng.normal());
  const nu = Float64Array.from({ length: k }, () => 0.05 + rng.uniform());
  const C = nu.map((v) => -0.5 * (Math.log(2 * Math.PI) + Math.log(v)));
  const H = nu.map((v) => 0.5 / v);
  return { X, Y, G, A, B, C, H, nu };
}

function run(kernel: EStepKernel, k: number, d: number, n: number, seed: number) {
  const { X, Y, G, A, B, C, H } = inputs(k, d, n, seed);
  const R = new Float64Array(n * k);
  const stats = new Float64Array(k * expertStatsSize(d));
  let fallbacks = 0;
  // a deterministic stand-in for the gate's log-weights: log G (fills R like logSumExpRow)
  const fallback = (row: number, residuals: Float64Array) => {
    fallbacks++;
    let mx = -Infinity;
    const v = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      v[i] = Math.log(G[row * k + i]!) + C[i]! - residuals[i]! * residuals[i]! * H[i]!;
      if (v[i]! > mx) mx = v[i]!;
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += R[row * k + i] = Math.exp(v[i]! - mx);
    for (let i = 0; i < k; i++) R[row * k + i] = R[row * k + i]! / s;
    return mx + Math.log(s);
  };
  const L = kernel(n, X, Y, G, A, B, C, H, R, stats, fallback);
  return { L, R, stats, fallbacks };
}

const generated = (k: number, d: number) =>
  new Function('n', 'X', 'Y', 'G', 'A', 'B', 'C', 'H', 'R', 'stats', 'fallback', eStepSource(k, d)) as EStepKernel;

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test('eStepLoop computes what the generated E-step kernel computes, bit for bit (k up to 200, d 1..3, fallback rows)', () => {
  const cases: [number, number][] = [[1, 1], [2, 1], [3, 2], [5, 3], [17, 1], [64, 2], [200, 1]];
  for (const [k, d] of cases) {
    const n = 97;
    const a = run(generated(k, d), k, d, n, k * 10 + d);
    const b = run(eStepLoop(k, d), k, d, n, k * 10 + d);
    const label = `k=${k} d=${d}`;
    if (k > 1) assert.ok(a.fallbacks > 0, `${label}: the fallback path is exercised`);
    assert.equal(a.fallbacks, b.fallbacks, label);
    assert.ok(Object.is(a.L, b.L), `${label}: L ${a.L} vs ${b.L}`);
    assert.ok(Number.isFinite(a.L), label);
    assert.ok(sameBits(a.R, b.R), `${label}: responsibilities`);
    assert.ok(sameBits(a.stats, b.stats), `${label}: statistics`);
  }
});

test('eStepKernel keeps the generated kernel for small k and takes the loop kernel above the limit', () => {
  assert.ok(eStepLocals(2, 1) <= MAX_ESTEP_LOCALS);
  assert.ok(eStepLocals(8, 3) <= MAX_ESTEP_LOCALS);
  assert.ok(eStepLocals(8000, 1) > MAX_ESTEP_LOCALS);
  // the generated source declares about eStepLocals scalar locals (upper bound within a few)
  for (const [k, d] of [[3, 1], [4, 2], [5, 3]] as [number, number][]) {
    const declared = (eStepSource(k, d).match(/\b(?:const|let) [a-zA-Z_]\w*|, [a-zA-Z_]\w* = /g) ?? []).length;
    assert.ok(declared <= eStepLocals(k, d), `k=${k} d=${d}: ${declared} declared, ${eStepLocals(k, d)} counted`);
  }
  // at a k where both kernels may run, the cache's kernel gives the generated kernel's numbers
  const a = run(eStepKernel(40, 2), 40, 2, 50, 3);
  const b = run(eStepLoop(40, 2), 40, 2, 50, 3);
  assert.ok(Object.is(a.L, b.L) && sameBits(a.R, b.R) && sameBits(a.stats, b.stats));
});

test('the E-step runs at k = 9000 experts (d = 1, small n): no stack overflow, finite and equal to the reference loop', () => {
  const k = 9000;
  const d = 1;
  const n = 12;
  const kernel = eStepKernel(k, d);
  const r = run(kernel, k, d, n, 5);
  assert.ok(Number.isFinite(r.L), `L = ${r.L}`);
  for (let row = 0; row < n; row++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += r.R[row * k + i]!;
    assert.ok(Math.abs(s - 1) < 1e-9, `row ${row}: responsibilities sum to ${s}`);
  }
  assert.ok(r.stats.every(Number.isFinite));
  // through the CPU backend, against its plain reference E-step (same formulas; equal to rounding)
  const { X, Y, G, A, B, nu } = inputs(k, d, n, 6, 0);
  const data = { n, d, X, Y };
  const experts = packExperts(Array.from({ length: k }, (_, i) => ({ beta0: 0, beta1: [0], a: [A[i]!], b: B[i]!, nu: nu[i]! })), d);
  const backend = new CpuBackend();
  const size = k * expertStatsSize(d);
  const [R1, R2] = [new Float64Array(n * k), new Float64Array(n * k)];
  const [s1, s2] = [new Float64Array(size), new Float64Array(size)];
  const logWeightsAt = (row: number, out: Float64Array) => {
    for (let i = 0; i < k; i++) out[i] = Math.log(G[row * k + i]!);
  };
  const L1 = backend.eStep(data, G, experts, R1, s1, logWeightsAt);
  const L2 = backend.eStepReference(data, G, experts, R2, s2, logWeightsAt);
  assert.ok(Number.isFinite(L1) && Math.abs(L1 - L2) <= 1e-9 * Math.abs(L2), `${L1} vs ${L2}`);
  let worst = 0;
  for (let i = 0; i < R1.length; i++) worst = Math.max(worst, Math.abs(R1[i]! - R2[i]!));
  assert.ok(worst < 1e-9, `responsibilities differ by ${worst}`);
});
