import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterErrors } from '../../src/losses/index.js';
import type { Model } from '../../src/models/index.js';
import { parameterShift } from '../../src/sweeps/run-task.js';
import { tempModel } from '../helpers.js';

test('parameterShift undoes a common gating shift: a shifted, relabelled truth has zero errors', () => {
  const truth = tempModel({ type: 'temperature', tau: 0.5 });
  const [t0, t1] = [0.7, -1.3];
  const fit: Model = {
    ...truth,
    experts: [truth.experts[1]!, truth.experts[0]!].map((e) => ({ ...e, beta0: e.beta0 + t0, beta1: [e.beta1[0]! + t1] })),
  };
  const shift = parameterShift(fit, truth, [[1], [0]], 'full');
  assert.ok(Math.abs(shift.t0 + t0) < 1e-12 && Math.abs(shift.t1[0]! + t1) < 1e-12);
  for (const e of parameterErrors(fit, truth, { shift })) {
    for (const v of [e.mass, e.beta1, e.a, e.b, e.nu]) assert.ok(Math.abs(v!) < 1e-12, JSON.stringify(e));
  }
});

test('parameterShift keeps both atoms erring (no vertex where one error is exactly 0)', () => {
  const truth = tempModel({ type: 'temperature', tau: 0.5 });
  const fit: Model = { ...truth, experts: truth.experts.map((e, i) => ({ ...e, beta0: e.beta0 + 0.01 * (i + 1), beta1: [e.beta1[0]! + 0.02 * (i ? 1 : -1)] })) };
  const errors = parameterErrors(fit, truth, { shift: parameterShift(fit, truth, [[0], [1]], 'full') });
  assert.ok(errors.every((e) => e.mass > 0 && e.beta1! > 0));
});

test("parameterShift in mode 'intercept' does not shift beta1", () => {
  const truth = tempModel({ type: 'activation', activation: 'tanh', tau: 0.5 });
  assert.deepEqual(parameterShift(truth, truth, [[0], [1]], 'intercept').t1, [0]);
  assert.deepEqual(parameterShift(truth, truth, [[0], [1]], 'none'), { t0: 0, t1: [0] });
});

test('ratioErrors: a rescaled, relabelled and shifted temperature fit has zero ratio error', async () => {
  const { ratioErrors } = await import('../../src/sweeps/run-task.js');
  const truth = tempModel({ type: 'temperature', tau: 0.5 });
  const c = 2.5; // (beta0, beta1, tau) -> c (beta0, beta1, tau), then a common beta1 shift
  const fit: Model = {
    ...truth,
    gate: { type: 'temperature', tau: 0.5 * c },
    experts: [truth.experts[1]!, truth.experts[0]!].map((e) => ({ ...e, beta0: c * e.beta0, beta1: [c * e.beta1[0]! - 0.8] })),
  };
  const errors = ratioErrors(fit, truth, [[1], [0]]);
  for (const v of errors) assert.ok(Math.abs(v!) < 1e-12, String(errors));
});
