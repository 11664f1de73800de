/**
 * The dendrogram of mixing measures: merging two atoms with the same parameters gives height 0 and
 * leaves the density unchanged (softmax and temperature masses); the heights and the DIC against
 * a hand computation; gates without an exact merge are refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logDensity, logLikelihood } from '../../src/likelihood/index.js';
import type { Model } from '../../src/models/types.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';
import { dendrogram, dendrogramSupport } from '../../src/selection/dendrogram.js';
import { dicValue } from '../../src/selection/dic.js';
import { ModelError } from '../../src/errors.js';
import { TOPK } from '../helpers.js';

function twin(gate: Model['gate']): Model {
  // experts 1 and 2: the same (beta1, a, b, nu), different beta0
  return {
    gate,
    experts: [
      { beta0: 0.7, beta1: [2], a: [1], b: 0.5, nu: 0.2 },
      { beta0: -1.1, beta1: [2], a: [1], b: 0.5, nu: 0.2 },
      { beta0: 0, beta1: [0], a: [-1], b: -0.5, nu: 0.3 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 1 },
  };
}

for (const gate of [{ type: 'softmax' as const }, { type: 'temperature' as const, tau: 0.4 }]) {
  test(`${gate.type}: merging two identical atoms gives height 0 and the same density`, () => {
    const model = twin(gate);
    const data = sample(model, 400, new Rng(3));
    const tree = dendrogram(model, data);
    assert.deepEqual([tree.merges[0]!.left, tree.merges[0]!.right], [0, 1]);
    assert.equal(tree.merges[0]!.height, 0);
    const [three, two] = tree.levels;
    assert.deepEqual(two!.atoms, [[2], [0, 1]]);
    // the merged atom's mass is the sum: beta0 = tau log(exp(b1 / tau) + exp(b2 / tau))
    const tau = gate.type === 'temperature' ? gate.tau : 1;
    const expected = tau * Math.log(Math.exp(0.7 / tau) + Math.exp(-1.1 / tau));
    assert.ok(Math.abs(two!.model.experts[1]!.beta0 - expected) < 1e-12);
    const before = logDensity(model, data.X, data.Y, data.n);
    const after = logDensity(two!.model, data.X, data.Y, data.n);
    for (let r = 0; r < data.n; r++) assert.ok(Math.abs(before[r]! - after[r]!) < 1e-12 * (1 + Math.abs(before[r]!)), `point ${r}`);
    assert.ok(Math.abs(three!.loglik - two!.loglik) < 1e-9 * Math.abs(three!.loglik));
  });
}

test('heights and DIC against a hand computation (masses 1/4, 1/2, 1/4; exponents 2, 1)', () => {
  const model: Model = {
    gate: { type: 'softmax' },
    experts: [
      { beta0: 0, beta1: [0], a: [0], b: 0, nu: 1 },
      { beta0: Math.log(2), beta1: [0], a: [0], b: 0.5, nu: 1 },
      { beta0: 0, beta1: [3], a: [1], b: 4, nu: 2 },
    ],
    input: { type: 'uniform', low: 0, high: 1, dim: 1 },
  };
  const data = sample(model, 500, new Rng(11));
  const tree = dendrogram(model, data);
  // d(A, B) = (1/4 * 1/2 / (3/4)) (0.5^2) = 1/24; d(A, C) = 1/8 (9 + 16 + sqrt(2)); d(B, C) = 1/6 (9 + 12.25 + sqrt(2))
  assert.deepEqual([tree.merges[0]!.left, tree.merges[0]!.right], [0, 1]);
  assert.ok(Math.abs(tree.merges[0]!.height - 1 / 24) < 1e-14);
  // AB: mass 3/4, b = (1/4 * 0 + 1/2 * 0.5) / (3/4) = 1/3; d(AB, C) = (3/4 * 1/4 / 1) (9 + (4 - 1/3)^2 + sqrt(1 + 1))
  const hAbC = (3 / 16) * (9 + (4 - 1 / 3) ** 2 + Math.SQRT2);
  assert.ok(Math.abs(tree.merges[1]!.height - hAbC) < 1e-12);
  const merged = tree.levels[1]!.model.experts[1]!;
  assert.ok(Math.abs(merged.b - 1 / 3) < 1e-15 && Math.abs(merged.beta0 - Math.log(3)) < 1e-15);
  // DIC(kappa) = -(h(kappa) + log(n) L(kappa) / n), L(kappa) the level's own log-likelihood
  const n = data.n;
  const L3 = logLikelihood(model, data);
  const L2 = logLikelihood(tree.levels[1]!.model, data);
  assert.ok(Math.abs(tree.levels[0]!.dic! - -(1 / 24 + (Math.log(n) * L3) / n)) < 1e-12);
  assert.ok(Math.abs(tree.levels[1]!.dic! - -(hAbC + (Math.log(n) * L2) / n)) < 1e-12);
  assert.equal(tree.levels[2]!.dic, null);
  assert.equal(tree.chosen, tree.levels[0]!.dic! <= tree.levels[1]!.dic! ? 3 : 2);
  // the formula itself, and the options: omega scales the likelihood term, exponents the blocks
  assert.ok(Math.abs(dicValue(2, -500, 1000) - (-(2 - 0.5 * Math.log(1000)))) < 1e-12);
  const wide = dendrogram(model, data, { omega: 2, exponents: [2, 2] });
  assert.ok(Math.abs(wide.levels[0]!.dic! - -(1 / 24 + (2 * L3) / n)) < 1e-12);
  assert.ok(Math.abs(wide.merges[1]!.height - (3 / 16) * (9 + (4 - 1 / 3) ** 2 + 2)) < 1e-12);
  // without the slope (the published code's distance) dbeta1 drops out of d(AB, C)
  assert.ok(Math.abs(dendrogram(model, data, { slope: false }).merges[1]!.height - (3 / 16) * ((4 - 1 / 3) ** 2 + Math.SQRT2)) < 1e-12);
});

test('variances are compared with variances: a nu difference enters as nu_i - nu_j', () => {
  const model: Model = {
    gate: { type: 'softmax' },
    experts: [
      { beta0: 0, beta1: [0], a: [0], b: 0, nu: 0.09 },
      { beta0: 0, beta1: [0], a: [0], b: 0, nu: 0.25 },
    ],
    input: { type: 'uniform', low: 0, high: 1, dim: 1 },
  };
  const tree = dendrogram(model, sample(model, 50, new Rng(1)));
  // (1/2 * 1/2 / 1) |0.25 - 0.09| = 0.04 (a sd comparison would give 1/4 |0.5 - 0.3| = 0.05)
  assert.ok(Math.abs(tree.merges[0]!.height - 0.04) < 1e-15);
  assert.ok(Math.abs(tree.levels[1]!.model.experts[0]!.nu - 0.17) < 1e-15);
});

test('a gate without an exact merge (top-K) is refused with a ModelError naming model.gate.type', () => {
  assert.match(dendrogramSupport(TOPK.gate)!, /topk gate has no exact merge/);
  assert.equal(dendrogramSupport({ type: 'softmax' }), null);
  assert.throws(() => dendrogram(TOPK, sample(TOPK, 50, new Rng(1))), (e: unknown) => e instanceof ModelError && /^dendrogram: model\.gate\.type: the topk gate/.test(e.message));
});
