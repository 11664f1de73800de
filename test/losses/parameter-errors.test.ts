import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterErrors, voronoiLoss } from '../../src/losses/index.js';
import { ConfigError, ModelError, NumericalError } from '../../src/errors.js';
import type { Model } from '../../src/models/types.js';
import { demys, frozen, shifted, withExperts } from './fixtures.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('parameterErrors(truth, truth) is 0 everywhere, one row per true atom', () => {
  const t = frozen(demys());
  const zero = { beta1: 0, a: 0, b: 0, nu: 0 };
  const ones = { beta1: 1, a: 1, b: 1, nu: 1, tau: 1 };
  assert.deepEqual(parameterErrors(t, t), [
    { atom: 0, size: 1, cell: [0], mass: 0, ...zero, max: zero, exponents: ones },
    { atom: 1, size: 1, cell: [1], mass: 0, ...zero, max: zero, exponents: ones },
  ]);
});

test('parameterErrors(fit, truth) takes the cell mass, the mass-weighted block errors with the loss exponents, and the max as diagnostic', () => {
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
  // D2 (k = 3 > k* = 2), softmax, a cell of 2: r = rbar(2) = 4 for beta1 and b, 2 for a and nu
  assert.deepEqual(r1!.exponents, { beta1: 4, a: 2, b: 4, nu: 2, tau: 1 });
  assert.deepEqual(r0!.exponents, { beta1: 1, a: 1, b: 1, nu: 1, tau: 1 });
  const wm = (d1: number, d2: number, r: number) => ((0.4 * d1 ** r + 0.7 * d2 ** r) / 1.1) ** (1 / r);
  close(r1!.beta1!, wm(0.5, 0.2, 4), 1e-15, 'beta1');
  close(r1!.a!, wm(0.1, 0.3, 2), 1e-12, 'a');
  close(r1!.b!, wm(0.05, 0.1, 4), 1e-12, 'b');
  close(r1!.nu!, wm(0.01, 0.005, 2), 1e-12, 'nu');
  // the unweighted max over the cell, kept as a diagnostic
  close(r1!.max.beta1!, 0.5, 1e-15, 'max beta1');
  close(r1!.max.a!, 0.3, 1e-12, 'max a');
  close(r1!.max.b!, 0.1, 1e-12, 'max b');
  close(r1!.max.nu!, 0.01, 1e-12, 'max nu');
  close(r0!.max.b!, 0.3, 1e-12, 'max b0');
  assert.equal('tau' in r1!, false);
  assert.equal('tau' in r1!.max, false);
});

test('parameterErrors(fit, truth) reports an empty cell as mass = exp(beta0*_j) and null parameter errors', () => {
  const t = demys();
  const e = t.experts[1]!;
  const f = withExperts(t, [{ ...e, b: -5.1 }, { ...e, b: -4.9 }]);
  const [r0] = parameterErrors(f, t);
  const none = { beta1: null, a: null, b: null, nu: null };
  assert.deepEqual(r0, { atom: 0, size: 0, cell: [], mass: Math.exp(-8), ...none, max: none, exponents: null });
  // JSON round trip keeps it (Infinity or NaN would not survive)
  assert.deepEqual(JSON.parse(JSON.stringify(r0)), r0);
  const withTau = parameterErrors({ ...f, gate: { type: 'temperature', tau: 1 } }, { ...t, gate: { type: 'temperature', tau: 2 } }, { tauFitted: true });
  assert.equal(withTau[0]!.tau, null);
  assert.equal(withTau[0]!.max.tau, null);
  assert.equal(withTau[1]!.tau, 1);
  assert.equal(withTau[1]!.max.tau, 1);
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

test('parameterErrors(fit, truth): a 2-atom cell by hand (masses 0.25, 0.75; beta1 errors 2, -1; b errors 0.4, 0)', () => {
  const t = demys();
  const e = t.experts[1]!;
  const f = withExperts(t, [
    { ...t.experts[0]! },
    { ...e, beta0: Math.log(0.25), beta1: [2], b: -4.6 },
    { ...e, beta0: Math.log(0.75), beta1: [-1] },
  ]);
  const r = parameterErrors(f, t)[1]!;
  assert.deepEqual(r.cell, [1, 2]);
  // r = 4 for beta1 and b: (0.25 * 2^4 + 0.75 * 1^4)^(1/4) = 4.75^(1/4); (0.25 * 0.4^4)^(1/4) = 0.4 / sqrt(2)
  close(r.beta1!, 4.75 ** 0.25, 1e-14, 'beta1');
  close(r.b!, 0.4 / Math.SQRT2, 1e-14, 'b');
  assert.equal(r.a, 0);
  assert.equal(r.nu, 0);
  close(r.max.beta1!, 2, 1e-15, 'max beta1');
  close(r.max.b!, 0.4, 1e-14, 'max b');
  // the shift's t0 does not change the weighted errors (the common factor cancels), only the mass error
  const s = parameterErrors(f, t, { shift: { t0: 3, t1: [0] } })[1]!;
  close(s.beta1!, r.beta1!, 1e-14, 'beta1 at t0 = 3');
  close(s.mass, Math.exp(3) - 1, 1e-12, 'mass at t0 = 3');
  const minus = parameterErrors(f, t, { shift: { t0: -Infinity, t1: [0] } })[1]!;
  close(minus.beta1!, r.beta1!, 1e-14, 'beta1 at t0 = -Infinity');
  assert.equal(minus.mass, 1);
  // a slope shift t1 = -0.5 moves both beta1 errors: 1.5 and -1.5
  close(parameterErrors(f, t, { shift: { t0: 0, t1: [-0.5] } })[1]!.beta1!, 1.5, 1e-14, 'beta1 at t1 = -0.5');
});

test('parameterErrors(fit, truth): an atom of mass e^-80 and beta1 error 60 barely moves the weighted error; the max shows 60', () => {
  const t = demys();
  const e = t.experts[1]!;
  const f = withExperts(t, [...t.experts.map((x) => ({ ...x })), { ...e, beta0: -80, beta1: [-60] }]);
  const [r0, r1] = parameterErrors(f, t);
  assert.equal(r0!.size, 1);
  assert.deepEqual(r1!.cell, [1, 2]);
  // (e^-80 * 60^4 / (1 + e^-80))^(1/4) = 60 e^-20
  close(r1!.beta1!, 60 * Math.exp(-20), 1e-20, 'beta1');
  assert.ok(r1!.beta1! < 1e-6);
  close(r1!.max.beta1!, 60, 1e-12, 'max beta1');
  assert.ok(r1!.mass <= Number.EPSILON, `mass ${r1!.mass}`); // e^-80 is below the rounding of 1 + e^-80
  // the same through voronoiLoss, at its aligned shift
  const loss = voronoiLoss(f, t);
  assert.ok(loss.errors.aligned[1]!.beta1! < 1e-6, JSON.stringify(loss.errors.aligned[1]));
  assert.ok(loss.errors.aligned[1]!.max.beta1! > 59, JSON.stringify(loss.errors.aligned[1]));
});

test('parameterErrors(fit, truth) uses the gate and the user exponents, and refuses a 4-atom cell with rbar exponents', () => {
  const t = demys();
  const e = t.experts[1]!;
  const f = withExperts(t, [{ ...t.experts[0]! }, { ...e, beta0: Math.log(0.5), beta1: [1] }, { ...e, beta0: Math.log(0.5), beta1: [-3] }]);
  // activation gate, multi-atom cell: beta1 exponent 2
  const act = (m: Model): Model => ({ ...m, gate: { type: 'activation', activation: 'tanh', tau: 1 } });
  const ra = parameterErrors(act(f), act(t))[1]!;
  assert.equal(ra.exponents!.beta1, 2);
  close(ra.beta1!, Math.sqrt(0.5 * 1 + 0.5 * 9), 1e-14, 'beta1 (r = 2)');
  const rn = parameterErrors(f, t, { exponents: { multi: { beta1: 1 } } })[1]!;
  close(rn.beta1!, 2, 1e-14, 'beta1 (r = 1)');
  // D1 (k = k*): the exact set, all 1, also for the (rare) cell of 2 atoms beside an empty cell
  const d1 = parameterErrors(withExperts(t, [f.experts[1]!, f.experts[2]!]), t);
  assert.equal(d1[0]!.size, 0);
  assert.deepEqual(d1[1]!.exponents, { beta1: 1, a: 1, b: 1, nu: 1, tau: 1 });
  const four = withExperts(t, [{ ...t.experts[0]! }, ...[-5.1, -5.05, -4.95, -4.9].map((b) => ({ ...e, beta0: Math.log(0.25), b }))]);
  assert.throws(() => parameterErrors(four, t), (err: unknown) => err instanceof NumericalError && /true atom 1/.test(err.message) && /rbar\(4\)/.test(err.message));
  const num = parameterErrors(four, t, { exponents: { multi: { beta1: 8, a: 4, b: 8, nu: 4 } } })[1]!;
  close(num.b!, (0.5 * (0.1 ** 8 + 0.05 ** 8)) ** (1 / 8), 1e-14, 'b (r = 8)');
  assert.throws(() => parameterErrors(f, t, { exponents: { multi: { b: -1 } } }), ConfigError);
});
