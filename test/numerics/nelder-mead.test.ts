/** Direct test of Nelder–Mead (src/numerics/nelder-mead.ts) on quadratics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nelderMead } from '../../src/numerics/index.js';

test('nelderMead minimises a convex quadratic to its known minimiser', () => {
  // f = (x - 1)^2 + 10 (y + 2)^2 + (x - 1)(y + 2): positive definite, minimum 0 at (1, -2)
  const f = (x: readonly number[]) => (x[0]! - 1) ** 2 + 10 * (x[1]! + 2) ** 2 + (x[0]! - 1) * (x[1]! + 2);
  const r = nelderMead(f, [0, 0]);
  // the default stop is a simplex of relative size xTol = 1e-12 with values spread <= 1e-15:
  // f <= 1e-15 means a distance to the minimiser of order sqrt(1e-15 / 0.9) ~ 3e-8; 1e-6 is a margin
  assert.ok(Math.abs(r.x[0]! - 1) < 1e-6 && Math.abs(r.x[1]! + 2) < 1e-6, `x = ${r.x}`);
  assert.ok(r.f < 1e-12, `f = ${r.f}`);
  assert.ok(r.nEval <= 400 * 3, `nEval ${r.nEval}`);
});

test('nelderMead in 1 and 4 dimensions, respects maxEval, treats NaN as +Infinity', () => {
  const r1 = nelderMead((x) => (x[0]! - 3) ** 2, [0], { step: 1 });
  assert.ok(Math.abs(r1.x[0]! - 3) < 1e-6, `${r1.x}`);
  const c = [1, -1, 2, 0.5];
  const r4 = nelderMead((x) => x.reduce((s, v, i) => s + (i + 1) * (v - c[i]!) ** 2, 0), [0, 0, 0, 0], { maxEval: 20000 });
  // f <= ~1e-15 again bounds each coordinate's error by ~3e-8 (weights >= 1); 1e-5 is a margin
  r4.x.forEach((v, i) => assert.ok(Math.abs(v - c[i]!) < 1e-5, `x${i} = ${v}`));
  const capped = nelderMead((x) => (x[0]! - 3) ** 2 + (x[1]! - 2) ** 2, [0, 0], { maxEval: 10 });
  // the cap is checked before each iteration, and one iteration makes at most n + 2 = 4 evaluations
  assert.ok(capped.nEval <= 10 + 4, `nEval ${capped.nEval}`);
  // an infeasible half-line (NaN) is never accepted: the minimiser of x^2 on x >= 0.5 is 0.5
  const r = nelderMead((x) => (x[0]! < 0.5 ? NaN : x[0]! ** 2), [2], { step: 0.5 });
  assert.ok(r.x[0]! >= 0.5 && r.x[0]! < 0.5 + 1e-6, `${r.x}`);
});
