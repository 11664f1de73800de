import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterErrors } from '../../src/losses/index.js';
import { ConfigError, ModelError } from '../../src/errors.js';
import type { Model } from '../../src/models/types.js';
import { demys, frozen, shifted, withExperts } from './fixtures.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('parameterErrors(truth, truth) is 0 everywhere, one row per true atom', () => {
  const t = frozen(demys());
  assert.deepEqual(parameterErrors(t, t), [
    { atom: 0, size: 1, cell: [0], mass: 0, beta1: 0, a: 0, b: 0, nu: 0 },
    { atom: 1, size: 1, cell: [1], mass: 0, beta1: 0, a: 0, b: 0, nu: 0 },
  ]);
});

test('parameterErrors(fit, truth) takes the cell mass and the max over the cell of each block error', () => {
  const t = demys();
  const e = t.experts[1]!;
  const f = frozen(withExperts(t, [
    { ...t.experts[0]!, b: 15.3 },
    { ...e, beta0: Math.log(0.4), beta1: [0.5], a: [20.1], b: -5.05, nu: 0.17 },
    { ...e, beta0: Math.log(0.7), beta1: [-0.2], a: [19.7], b: -4.9, nu: 0.165 },
  ]));
  const [r0, r1] = parameterErrors(f, t);
  assert.equal(r0!.size, 1);
  close(r0!.b!, 0.3, 1e-12, 'b0');
  assert.equal(r0!.mass, 0);
  assert.deepEqual(r1!.cell, [1, 2]);
  close(r1!.mass, 0.1, 1e-15, 'mass');
  close(r1!.beta1!, 0.5, 1e-15, 'beta1');
  close(r1!.a!, 0.3, 1e-12, 'a');
  close(r1!.b!, 0.1, 1e-12, 'b');
  close(r1!.nu!, 0.01, 1e-12, 'nu');
  assert.equal('tau' in r1!, false);
});

test('parameterErrors(fit, truth) reports an empty cell as mass = exp(beta0*_j) and null parameter errors', () => {
  const t = demys();
  const e = t.experts[1]!;
  const f = withExperts(t, [{ ...e, b: -5.1 }, { ...e, b: -4.9 }]);
  const [r0] = parameterErrors(f, t);
  assert.deepEqual(r0, { atom: 0, size: 0, cell: [], mass: Math.exp(-8), beta1: null, a: null, b: null, nu: null });
  // JSON round trip keeps it (Infinity or NaN would not survive)
  assert.deepEqual(JSON.parse(JSON.stringify(r0)), r0);
  const withTau = parameterErrors({ ...f, gate: { type: 'temperature', tau: 1 } }, { ...t, gate: { type: 'temperature', tau: 2 } }, { tauFitted: true });
  assert.equal(withTau[0]!.tau, null);
  assert.equal(withTau[1]!.tau, 1);
});

test('parameterErrors(fit, truth, {shift}) equals the errors of the shifted fit', () => {
  const t = demys();
  const f = withExperts(t, [{ ...t.experts[0]!, beta0: -7, beta1: [23] }, { ...t.experts[1]!, beta0: 1, beta1: [-2] }]);
  const a = parameterErrors(f, t, { shift: { t0: -1, t1: [2] } });
  assert.deepEqual(a, parameterErrors(shifted(f, -1, [2]), t));
  close(a[0]!.mass, 0, 1e-15, 'mass');
  assert.equal(a[0]!.beta1, 0);
  assert.throws(() => parameterErrors(f, t, { shift: { t0: 0, t1: [1, 2] } }), (e: unknown) => e instanceof ConfigError && /shift\.t1/.test(e.message));
});

test('parameterErrors(fit, truth) throws ModelError naming the field on a dimension mismatch', () => {
  const t = demys();
  const bad: Model = withExperts(t, [t.experts[0]!, { ...t.experts[1]!, beta1: [] }]);
  assert.throws(() => parameterErrors(bad, t), (e: unknown) => e instanceof ModelError && /fit\.experts\[1\]\.beta1/.test(e.message) && /got 0/.test(e.message));
});
