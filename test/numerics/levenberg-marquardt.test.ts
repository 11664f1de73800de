/** Direct test of Levenberg–Marquardt (src/numerics/levenberg-marquardt.ts) on small least squares. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levenbergMarquardt, norm2 } from '../../src/numerics/index.js';

test('levenbergMarquardt solves the Rosenbrock residuals (a zero-residual problem) to rounding level', () => {
  // F = (z0 - 1, 10 (z1 - z0^2)), ||F|| = 0 only at (1, 1)
  const r = levenbergMarquardt((z) => ({ F: [z[0]! - 1, 10 * (z[1]! - z[0]! ** 2)], J: [[1, 0], [-20 * z[0]!, 10]] }), [-1.2, 1], 200);
  // LM converges quadratically on a zero-residual problem: it stops at ||F|| <= 1e-15 or when no
  // step lowers ||F|| (rounding level, ~1e-16); z is then within ~1e-14 of (1, 1). 1e-10 is a margin
  assert.ok(r.res < 1e-12, `res ${r.res}`);
  assert.ok(Math.abs(r.z[0]! - 1) < 1e-10 && Math.abs(r.z[1]! - 1) < 1e-10, `z = ${r.z}`);
});

test('levenbergMarquardt fits an overdetermined exponential model (non-zero residual) to the normal-equation optimum', () => {
  // y_t = 2 exp(-0.5 t) + noise at t = 0..5; the least-squares fit (a, c) of a exp(-c t) has
  // gradient J'F = 0 at the optimum, whatever the (fixed) noise
  const t = [0, 1, 2, 3, 4, 5];
  const noise = [0.01, -0.02, 0.015, 0.0, -0.01, 0.005];
  const y = t.map((ti, i) => 2 * Math.exp(-0.5 * ti) + noise[i]!);
  const evaluate = (z: readonly number[]) => ({
    F: t.map((ti, i) => z[0]! * Math.exp(-z[1]! * ti) - y[i]!),
    J: t.map((ti) => [Math.exp(-z[1]! * ti), -z[0]! * ti * Math.exp(-z[1]! * ti)]),
  });
  const r = levenbergMarquardt(evaluate, [1, 0.1], 300);
  const { F, J } = evaluate(r.z);
  const grad = [0, 1].map((a) => F.reduce((s, f, q) => s + J[q]![a]! * f, 0));
  // at a least-squares optimum J'F = 0; LM stops when steps are below 1e-14 (1 + |z|) or stop
  // improving, so the gradient is at rounding level of |J| |F| (~1e-2 here): 1e-10 is a margin
  assert.ok(norm2(grad) < 1e-10, `gradient ${grad}`);
  assert.ok(Math.abs(r.z[0]! - 2) < 0.05 && Math.abs(r.z[1]! - 0.5) < 0.05, `z = ${r.z}`);
  assert.equal(r.res, norm2(F));
});
