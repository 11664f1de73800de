import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRbar, hoSystem, hoSystemResidual, rbar } from '../../src/losses/index.js';
import { ConfigError, NumericalError } from '../../src/errors.js';

test('rbar(m) is 1, 4, 6 for cells of 1, 2, 3 atoms', () => {
  assert.equal(rbar(1), 1);
  assert.equal(rbar(2), 4);
  assert.equal(rbar(3), 6);
});

test('rbar(4) throws a NumericalError whose message names the cell size', () => {
  assert.throws(
    () => rbar(4),
    (e: unknown) => e instanceof NumericalError && /rbar\(4\) is unknown/.test(e.message) && /cell of 4 fitted atoms/.test(e.message) && /D2 is undefined/.test(e.message),
  );
  assert.throws(() => rbar(7), (e: unknown) => e instanceof NumericalError && /7 fitted atoms/.test(e.message));
});

test('rbar(m) rejects a cell size that is not an integer >= 1', () => {
  for (const m of [0, -1, 1.5, Number.NaN]) assert.throws(() => rbar(m), NumericalError);
});

/** The [HO16] system written out by hand for r <= 4 (losses.md), independent of the library. */
function byHand(q1: number[], q2: number[], w: number[]): number[] {
  const sum = (f: (i: number) => number) => w.reduce((s, _, i) => s + f(i), 0);
  return [
    sum((i) => w[i]! * q1[i]!),
    sum((i) => w[i]! * (q1[i]! ** 2 / 2 + q2[i]!)),
    sum((i) => w[i]! * (q1[i]! ** 3 / 6 + q1[i]! * q2[i]!)),
    sum((i) => w[i]! * (q1[i]! ** 4 / 24 + (q1[i]! ** 2 * q2[i]!) / 2 + q2[i]! ** 2 / 2)),
  ];
}

test('hoSystem(point, r) matches the system written out by hand', () => {
  const p = { q1: [0.7, -1.3, 0.2], q2: [-0.4, 0.9, 1.1], q3sq: [0.2, 0.5, 0.3] };
  const hand = byHand(p.q1, p.q2, p.q3sq);
  const lib = hoSystem(p, 4);
  assert.equal(lib.length, 4);
  lib.forEach((v, s) => assert.ok(Math.abs(v - hand[s]!) < 1e-15, `s = ${s + 1}: ${v} vs ${hand[s]}`));
  // the known solution for m = 2, r = 3
  assert.deepEqual(hoSystem({ q1: [1, -1], q2: [-0.5, -0.5], q3sq: [0.5, 0.5] }, 3), [0, 0, 0]);
  assert.throws(() => hoSystem({ q1: [1], q2: [1, 2], q3sq: [1] }, 3), ConfigError);
});

test('hoSystemResidual(2, 3) finds a non-trivial real solution that solves the system', () => {
  const res = hoSystemResidual(2, 3);
  assert.ok(res.residual < 1e-12, `residual ${res.residual}`);
  const { q1, q2, q3sq } = res.point;
  // non-trivial: every q3_i^2 clearly > 0 and some q1_i clearly != 0
  assert.ok(q3sq.every((w) => w > 1e-3), `weights ${q3sq}`);
  assert.ok(q1.some((v) => Math.abs(v) > 0.1), `q1 ${q1}`);
  // normalisation: weights sum to 1, weighted second moment of q1 is 1
  assert.ok(Math.abs(q3sq[0]! + q3sq[1]! - 1) < 1e-12);
  assert.ok(Math.abs(q3sq[0]! * q1[0]! ** 2 + q3sq[1]! * q1[1]! ** 2 - 1) < 1e-12);
  // plug it back into the system written by hand
  const F = byHand(q1, q2, q3sq).slice(0, 3);
  assert.ok(F.every((v) => Math.abs(v) < 1e-12), `F = ${F}`);
  // and the fourth equation is not solved by it (the r = 4 system has no solution)
  assert.ok(Math.abs(byHand(q1, q2, q3sq)[3]!) > 1e-3);
});

test('hoSystemResidual(2, 4) has a residual floor away from 0 (|F_4| = 1/12 at the symmetric point)', () => {
  const res = hoSystemResidual(2, 4);
  assert.ok(res.residual > 0.05, `residual ${res.residual}`);
  assert.ok(Math.abs(res.residual - 1 / 12) < 1e-6, `residual ${res.residual}`);
  // more starts and another seed do not go lower
  const more = hoSystemResidual(2, 4, { starts: 200, seed: 7 });
  assert.ok(more.residual > 1 / 12 - 1e-6, `residual ${more.residual}`);
});

test('hoSystemResidual(m, r, {seed}) is deterministic', () => {
  assert.deepEqual(hoSystemResidual(2, 4, { seed: 3, starts: 10 }), hoSystemResidual(2, 4, { seed: 3, starts: 10 }));
});

test('checkRbar(2) confirms rbar(2) = 4: solvable up to r = 3, not at r = 4', () => {
  const c = checkRbar(2);
  assert.equal(c.rbar, 4);
  assert.equal(c.known, 4);
  assert.equal(c.agrees, true);
  assert.deepEqual(c.steps.map((s) => s.solved), [true, true, true, false]);
  assert.ok(c.solution !== null);
  const F = byHand(c.solution.q1, c.solution.q2, c.solution.q3sq).slice(0, 3);
  assert.ok(F.every((v) => Math.abs(v) < 1e-10), `F = ${F}`);
});

test('checkRbar(1) = 1 and checkRbar(3) = 6 agree with the published values', () => {
  assert.equal(checkRbar(1).rbar, 1);
  const c3 = checkRbar(3);
  assert.equal(c3.rbar, 6);
  assert.equal(c3.agrees, true);
});

test('hoSystemResidual and checkRbar reject bad arguments with ConfigError', () => {
  assert.throws(() => hoSystemResidual(2, 3, { wMin: 0.6 }), (e: unknown) => e instanceof ConfigError && /wMin/.test(e.message));
  assert.throws(() => hoSystemResidual(0, 3), (e: unknown) => e instanceof ConfigError && /\bm\b/.test(e.message));
  assert.throws(() => checkRbar(2, { rmax: 3 } as never), (e: unknown) => e instanceof ConfigError && /rmax/.test(e.message));
  assert.throws(() => checkRbar(2, { zeroTol: 1, floorTol: 0.1 }), ConfigError);
});
