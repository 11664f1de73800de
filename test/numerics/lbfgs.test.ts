/** Direct test of L-BFGS (src/numerics/lbfgs.ts) on the Rosenbrock function. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lbfgs } from '../../src/numerics/index.js';

/** The (chained) Rosenbrock function sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at 1. */
function rosenbrock(x: Float64Array, g: Float64Array): number {
  let f = 0;
  g.fill(0);
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1]! - x[i]! * x[i]!;
    const b = 1 - x[i]!;
    f += 100 * a * a + b * b;
    g[i] = g[i]! - 400 * x[i]! * a - 2 * b;
    g[i + 1] = g[i + 1]! + 200 * a;
  }
  return f;
}

test('lbfgs minimises the Rosenbrock function from the classic start (-1.2, 1)', () => {
  const x0 = Float64Array.from([-1.2, 1]);
  const r = lbfgs(rosenbrock, x0, { maxIterations: 500 });
  assert.equal(r.stopReason, 'converged');
  assert.deepEqual(Array.from(x0), [-1.2, 1], 'x0 not modified');
  // stopped by relTol 1e-10 on f (or gradTol 1e-10): near the minimum f ~ |x - 1|^2 (the Hessian's
  // smallest eigenvalue is ~0.4), so f <= 1e-10 gives |x - 1| of order 1e-5; 1e-4 is a margin of 10
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-4, `x = ${Array.from(r.x)}`);
  assert.ok(r.f < 1e-8, `f = ${r.f}`);
});

test('lbfgs in 6 dimensions, and its stop reasons', () => {
  const r = lbfgs(rosenbrock, Float64Array.from([-1.2, 1, -1.2, 1, -1.2, 1]), { maxIterations: 1000, gradTol: 1e-12, relTol: 0 });
  // with relTol off, the gradient test ends it: |g| <= 1e-12 puts x within ~1e-12 / 0.4 of 1, far
  // inside the 1e-8 checked (which allows for the line search stopping on rounding first)
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-8, `x = ${Array.from(r.x)} (${r.stopReason})`);
  assert.equal(lbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { maxIterations: 3 }).stopReason, 'maxIterations');
  assert.equal(lbfgs(() => NaN, Float64Array.from([0]), {}).stopReason, 'numericalFailure');
});
