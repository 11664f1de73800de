/**
 * Direct tests of the dense Cholesky routines (src/numerics/cholesky.ts) and the LU solve
 * (src/numerics/lu.ts), on systems whose answers are known in closed form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backSubstitute, cholesky, forwardSubstitute, inverseQuadraticForm, solveDamped, solveDense } from '../../src/numerics/index.js';
import { Rng } from '../../src/rng/rng.js';

const EPS = Number.EPSILON;

/** A random SPD matrix B B' + m I (row-major m x m): well conditioned (eigenvalues >= m). */
function randomSpd(rng: Rng, m: number): Float64Array {
  const B = Float64Array.from({ length: m * m }, () => rng.normal());
  const A = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = i === j ? m : 0;
      for (let p = 0; p < m; p++) s += B[i * m + p]! * B[j * m + p]!;
      A[i * m + j] = s;
    }
  }
  return A;
}

test('cholesky(A) of an SPD matrix reconstructs it: L L\' = A, L lower with a positive diagonal', () => {
  // exact small case: [[4, 2], [2, 3]] = [[2, 0], [1, sqrt 2]] [[2, 1], [0, sqrt 2]]
  const small = cholesky(Float64Array.from([4, 2, 2, 3]), 2);
  assert.equal(small.ok, true);
  assert.deepEqual(Array.from(small.L), [2, 0, 1, Math.SQRT2]);
  const rng = new Rng(11);
  for (const m of [1, 2, 3, 5, 8, 12]) {
    const A = randomSpd(rng, m);
    const { L, ok, ridge } = cholesky(A, m);
    assert.equal(ok, true);
    assert.equal(ridge, 0);
    let maxA = 0;
    for (const v of A) maxA = Math.max(maxA, Math.abs(v));
    for (let i = 0; i < m; i++) {
      assert.ok(L[i * m + i]! > 0, `diagonal ${i}`);
      for (let j = i + 1; j < m; j++) assert.equal(L[i * m + j], 0, `upper (${i}, ${j})`);
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let p = 0; p < m; p++) s += L[i * m + p]! * L[j * m + p]!;
        // backward stability of Cholesky: |L L' - A| <= c m eps |A| entrywise (Higham, Thm 10.3);
        // 4 m eps max|A| leaves a factor of a few over the bound's rounding of m-term dot products
        assert.ok(Math.abs(s - A[i * m + j]!) <= 4 * m * EPS * maxA, `m ${m} (${i}, ${j}): ${s} vs ${A[i * m + j]}`);
      }
    }
  }
});

test('cholesky(A) reports a matrix that is not positive definite, naming the failing pivot', () => {
  // [[1, 2], [2, 1]] has eigenvalues 3 and -1: the second pivot is 1 - 2^2 = -3
  const r = cholesky(Float64Array.from([1, 2, 2, 1]), 2);
  assert.equal(r.ok, false);
  assert.equal(r.failedPivot, 1);
  assert.equal(r.failedValue, -3);
  // a zero pivot fails the plain rule (pivot > 0)
  const z = cholesky(Float64Array.from([0, 0, 0, 1]), 2);
  assert.equal(z.ok, false);
  assert.equal(z.failedPivot, 0);
  // the same singular matrix factors with a ridge when retries are allowed
  const d = cholesky(Float64Array.from([1, 1, 1, 1]), 2, { pivotRule: 'relative', pivotTol: 1e-14, firstRidge: 1e-10, maxAttempts: 30 });
  assert.equal(d.ok, true);
  assert.ok(d.ridge > 0 && d.ridge < 1e-6, `ridge ${d.ridge}`);
  assert.equal(d.failedPivot, -1);
});

test('forwardSubstitute and backSubstitute solve L y = b and L\' x = y', () => {
  // L = [[2, 0], [1, 4]]: L y = (2, 9) -> y = (1, 2); L' x = (1, 2) -> x2 = 1/2, x1 = (1 - 1/2) / 2
  const L = Float64Array.from([2, 0, 1, 4]);
  const y = forwardSubstitute(L, [2, 9], 2);
  assert.deepEqual(Array.from(y), [1, 2]);
  assert.deepEqual(Array.from(backSubstitute(L, y, 2)), [0.25, 0.5]);
});

test('solveDamped(A, b) solves a known SPD system, and a singular one on its range', () => {
  // [[4, 2], [2, 3]] x = (2, 1) -> x = (1/2, 0), exactly representable: the solve is exact here
  assert.deepEqual(Array.from(solveDamped(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2)), [0.5, 0]);
  const rng = new Rng(5);
  for (const m of [1, 3, 6, 10]) {
    const A = randomSpd(rng, m);
    const xTrue = Float64Array.from({ length: m }, () => rng.normal());
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) b[i] = b[i]! + A[i * m + j]! * xTrue[j]!;
    const x = solveDamped(A, b, m);
    // relative forward error <= cond(A) * O(m eps); cond(B B' + m I) is at most a few hundred for
    // these sizes, so 1e-11 leaves ample margin and still fails any wrong (non-rounding) answer
    for (let i = 0; i < m; i++) assert.ok(Math.abs(x[i]! - xTrue[i]!) <= 1e-11 * (1 + Math.abs(xTrue[i]!)), `m ${m} x${i}: ${x[i]} vs ${xTrue[i]}`);
  }
  // the all-ones 2 x 2 (rank 1): the ridge makes it solvable; for b on the range (1, 1) the
  // minimum-norm solution is (1/2, 1/2), and the ridge (about 1e-10 relative) moves it by ~1e-10
  const x = solveDamped(Float64Array.from([1, 1, 1, 1]), Float64Array.from([1, 1]), 2);
  for (const v of x) assert.ok(Math.abs(v - 0.5) < 1e-8, `${v}`);
});

test('inverseQuadraticForm(A, b) is b\' A^-1 b, with and without Jacobi scaling', () => {
  // diagonal with square entries: L = diag(2, 4), L^-1 b = (1, 1), b' A^-1 b = 4/4 + 16/16 = 2 exactly
  assert.equal(inverseQuadraticForm(Float64Array.from([4, 0, 0, 16]), [2, 4], 2), 2);
  assert.equal(inverseQuadraticForm(new Float64Array(0), [], 0), 0);
  // badly scaled blocks: A = diag(1e-8, 1e8) with a correlation 0.5, b = (1e-4, 1e4):
  // D A D = [[1, 0.5], [0.5, 1]], D b = (1, 1), so b' A^-1 b = 2 / 1.5 = 4/3
  const A = Float64Array.from([1e-8, 0.5, 0.5, 1e8]);
  const opts = { jacobi: true, pivotRule: 'absolute', pivotTol: 1e-13, firstRidge: 1e-12, maxAttempts: 20 } as const;
  // a few roundings of O(1) numbers: 8 eps
  assert.ok(Math.abs(inverseQuadraticForm(A, [1e-4, 1e4], 2, opts) - 4 / 3) <= 8 * EPS, 'Jacobi scaled');
  assert.ok(Math.abs(inverseQuadraticForm(A, [1e-4, 1e4], 2) - 4 / 3) <= 1e-8, 'unscaled');
});

test('solveDense(A, b) solves by LU with partial pivoting and reports a singular matrix', () => {
  // a zero leading entry needs the row swap: [[0, 1], [2, 0]] x = (3, 4) -> x = (2, 3)
  assert.deepEqual(solveDense([[0, 1], [2, 0]], [3, 4]), [2, 3]);
  assert.equal(solveDense([[1, 2], [2, 4]], [1, 2]), undefined);
  // a general 3 x 3 with a known solution: residual at rounding level (3 eps of the entries' size)
  const A = [[2, -1, 0.5], [4, 3, -2], [-1, 0.25, 5]];
  const xTrue = [1.5, -2, 0.75];
  const b = A.map((row) => row.reduce((s, v, j) => s + v * xTrue[j]!, 0));
  const x = solveDense(A, b)!;
  x.forEach((v, i) => assert.ok(Math.abs(v - xTrue[i]!) <= 1e-14, `x${i} ${v}`));
});
