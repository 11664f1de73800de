/**
 * The gate box as a constraint of EM (option gateBound, fitting/gate-box.ts): which coordinates it
 * holds, that it changes nothing where it does not bind, and, on a real over-specified task whose
 * unconstrained fit runs along a ray to a hard switch, that the boxed fit is a certified maximum
 * over the box (Karush-Kuhn-Tucker on the face).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { fitMoE, validateFitOptions } from '../../src/fitting/index.js';
import { gateBoxLimits, heldByGateBox, projectOntoGateBox } from '../../src/fitting/gate-box.js';
import { createGate } from '../../src/gates/index.js';
import { logLikelihood } from '../../src/likelihood/index.js';
import { gateBoundExcess } from '../../src/models/index.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { taskFitOptions, taskStart } from '../../src/sweeps/run-task.js';

const experiment = (name: string) => {
  const file = `experiments/${name}.json`;
  return parseExperimentConfig(JSON.parse(readFileSync(file, 'utf8')), file);
};

test('the box holds the beta0 and beta1 coordinates of every gate layout, not log tau or a gaussian gate\'s centres and scales', () => {
  const softmax = createGate({ type: 'softmax' }, 3, 2);
  assert.deepEqual(Array.from(gateBoxLimits(softmax, 5)!), new Array(softmax.nParams).fill(5));
  const act = createGate({ type: 'activation', activation: 'tanh', tau: 0.5 } as never, 3, 1, { tau: 'free' });
  const limits = gateBoxLimits(act, 5)!;
  assert.equal(limits[act.logTauIndex], Infinity);
  assert.equal(limits.filter((b) => b === 5).length, act.nParams - 1);
  const gaussian = createGate({ type: 'gaussian' } as never, 2, 1);
  const g = gateBoxLimits(gaussian, 5)!;
  assert.deepEqual(Array.from(g.subarray(0, 2)), [5, 5]); // beta0 only
  assert.ok(Array.from(g.subarray(2)).every((b) => b === Infinity));
  assert.equal(gateBoxLimits(softmax, Infinity), null);
});

test('projection clamps to the box; a coordinate on a face is held only when its gradient points outward', () => {
  const limits = Float64Array.of(10, Infinity);
  const theta = Float64Array.of(12, -1e6);
  assert.equal(projectOntoGateBox(theta, limits), true);
  assert.deepEqual(Array.from(theta), [10, -1e6]);
  assert.equal(projectOntoGateBox(theta, limits), false);
  assert.equal(heldByGateBox(theta, limits, 0, 3), true);
  assert.equal(heldByGateBox(theta, limits, 0, -3), false);
  assert.equal(heldByGateBox(theta, limits, 1, -3), false);
  assert.equal(heldByGateBox(theta, null, 0, 3), false);
});

test('gateBound: a positive number, EM only; errors name the option', () => {
  const base = { k: 2, gate: { type: 'softmax' as const } };
  assert.throws(() => validateFitOptions({ ...base, gateBound: -1 }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('gateBound: '));
  assert.throws(() => validateFitOptions({ ...base, gateBound: 100, method: 'mle' }), (e: unknown) => e instanceof ConfigError && /gateBound: applies to method "em" only/.test(e.message));
  assert.doesNotThrow(() => validateFitOptions({ ...base, gateBound: 100 }));
});

test('a box that does not bind changes nothing: the same fit, bit for bit', () => {
  const config = experiment('demys-exact');
  const data = sample(config.truth, 2000, new Rng(11));
  const start = taskStart(config, { key: 'box', n: 2000, replicate: 0, seed: 11 }, 'quick');
  const plain = fitMoE(data, taskFitOptions(config, 'quick'), start);
  const boxed = fitMoE(data, { ...taskFitOptions(config, 'quick'), gateBound: 1000 }, start);
  assert.equal(boxed.fit.loglik, plain.fit.loglik);
  assert.equal(boxed.fit.iterations, plain.fit.iterations);
  assert.deepEqual(boxed.model.experts, plain.model.experts);
});

test('the estimator: an over-specified [DEMYS] K = 4 task whose unconstrained fit leaves every box converges, with gateBound, to a certified maximum on the box\'s face', () => {
  // demys-over4 full, n = 1000, replicate 6 (scripts/gate-ray.ts): unconstrained, expert 1's gate
  // runs to beta0 ~ 7e5 along a ray where L still climbs (docs/fitting.md, "Compact parameter space")
  const config = experiment('demys-over4');
  const n = 1000;
  const seed = 6515406960394938;
  const data = sample(config.truth, n, new Rng(seed));
  const start = taskStart(config, { key: 'ray', n, replicate: 0, seed }, 'full');
  // the config keeps the gate in the box (fit.gateBound); the unconstrained fit drops it
  const { gateBound: _bound, ...unboxed } = taskFitOptions(config, 'full');
  const free = fitMoE(data, unboxed, start);
  assert.ok(gateBoundExcess(free.model) !== undefined, 'the unconstrained fit leaves the box (the case this test is about)');
  const B = 1000;
  const boxed = fitMoE(data, { ...taskFitOptions(config, 'full'), gateBound: B }, start);
  assert.equal(boxed.fit.stopReason, 'converged');
  assert.ok(boxed.fit.certificate !== null && boxed.fit.certificate <= 1e-3, `certified: T = ${boxed.fit.certificate}`);
  assert.equal(gateBoundExcess(boxed.model, B), undefined, 'inside the box');
  const face = gateBoundExcess(boxed.model, B * (1 - 1e-12));
  assert.ok(face !== undefined && Math.abs(face.value) === B, 'on a face');
  assert.ok(boxed.fit.warnings.some((w) => /sits on the face of the box/.test(w)));
  // a maximum over the box is below the supremum along the ray, and (Karush-Kuhn-Tucker) L rises
  // when the face coordinate moves outward and falls when it moves inward
  assert.ok(boxed.fit.loglik <= free.fit.loglik + 1e-9, `${boxed.fit.loglik} <= ${free.fit.loglik}`);
  const moved = (delta: number) => {
    const m = structuredClone(boxed.model);
    const e = m.experts[face.expert]!;
    if (face.field === 'beta0') e.beta0 += delta;
    else e.beta1![Number(face.field.slice(6, -1))]! += delta;
    return logLikelihood(m, data);
  };
  const L = logLikelihood(boxed.model, data);
  const outward = Math.sign(face.value);
  assert.ok(moved(outward * 1) > L, 'L rises outward of the face');
  assert.ok(moved(-outward * 1) < L, 'L falls inward of the face');
});

test('under the L-BFGS gate M-step (activation gate, tau free) and top-K, a binding box keeps every boxed coordinate inside and EM monotone', () => {
  for (const [name, B] of [['act-tanh-over', 1], ['topk-over', 2]] as const) {
    const config = experiment(name);
    const data = sample(config.truth, 2000, new Rng(12345));
    const start = taskStart(config, { key: 'box', n: 2000, replicate: 0, seed: 12345 }, 'quick');
    const r = fitMoE(data, { ...taskFitOptions(config, 'quick'), gateBound: B }, start);
    assert.equal(gateBoundExcess(r.model, B), undefined, `${name}: inside the box`);
    assert.ok(gateBoundExcess(r.model, B * (1 - 1e-12)) !== undefined, `${name}: the box binds (the case this test is about)`);
    assert.equal(r.fit.decreases, 0, `${name}: L never decreased`);
    assert.equal(r.fit.stopReason, 'converged', name);
  }
});
