import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loglogFit } from '../../src/analysis/index.js';
import { DataError } from '../../src/errors.js';

test('loglogFit(n, y) recovers the slope and ln-intercept of an exact power law to 1e-12', () => {
  const s = -0.6180339887;
  const C = 3.7;
  const n = [10, 37, 100, 450, 1000, 12345, 1e5, 1e6];
  const fit = loglogFit(n, n.map((v) => C * v ** s));
  assert.ok(Math.abs(fit.slope - s) < 1e-12, `slope ${fit.slope}`);
  assert.ok(Math.abs(fit.intercept - Math.log(C)) < 1e-10, `intercept ${fit.intercept}`);
});

test('loglogFit([10, 100, 1000], [3, 0.3, 0.03]) is {slope: -1, intercept: ln 30} (numpy.polyfit)', () => {
  const fit = loglogFit([10, 100, 1000], [3, 0.3, 0.03]);
  assert.ok(Math.abs(fit.slope - -1.0000000000000004) < 1e-12);
  assert.ok(Math.abs(fit.intercept - 3.401197381662157) < 1e-12);
});

test('loglogFit(n, y) rejects a y that is 0, negative, NaN or infinite with a DataError naming its n', () => {
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => loglogFit([100, 1000, 10000], [0.1, bad, 0.001]),
      (e: unknown) => e instanceof DataError && /y at n = 1000: not positive and finite \(got (0|-1|NaN|Infinity)\)/.test(e.message),
      `y = ${bad}`,
    );
  }
});

test('loglogFit(n, y) rejects one distinct n, a length mismatch and a non-positive n', () => {
  assert.throws(() => loglogFit([100, 100], [1, 2]), (e: unknown) => e instanceof DataError && /fewer than two distinct n/.test(e.message));
  assert.throws(() => loglogFit([100, 200], [1]), (e: unknown) => e instanceof DataError && /differ in length \(got 2 and 1\)/.test(e.message));
  assert.throws(() => loglogFit([0, 200], [1, 2]), (e: unknown) => e instanceof DataError && /n\[0\]: not a sample size \(got 0\)/.test(e.message));
});
