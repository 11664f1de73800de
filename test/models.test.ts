import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelError } from '../src/errors.js';
import { parseModel } from '../src/models/index.js';
import { DEMYS } from './helpers.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

test('parseModel(demys) returns the model unchanged, with topk defaults filled', () => {
  assert.deepEqual(parseModel(clone(DEMYS)), DEMYS);
  const m = clone(DEMYS) as unknown as { gate: unknown };
  m.gate = { type: 'topk', K: 1 };
  assert.deepEqual(parseModel(m).gate, { type: 'topk', K: 1, rankBy: 'slope' });
});

test('parseModel does not mutate its argument', () => {
  const m = Object.freeze(clone(DEMYS));
  assert.doesNotThrow(() => parseModel(m));
});

const bad: [string, (m: Record<string, any>) => void, RegExp][] = [
  ['negative variance', (m) => (m.experts[1].nu = -0.2), /^experts\[1\]\.nu: -0\.2 is not a variance; must be > 0$/],
  ['zero variance', (m) => (m.experts[0].nu = 0), /experts\[0\]\.nu: 0 is not a variance/],
  ['K above k', (m) => (m.gate = { type: 'topk', K: 4 }), /^gate\.K: 4 exceeds the number of experts \(2\); must be an integer in 1\.\.2$/],
  ['K zero', (m) => (m.gate = { type: 'topk', K: 0 }), /gate\.K: 0 is not a valid K; must be an integer in 1\.\.2/],
  ['K fractional', (m) => (m.gate = { type: 'topk', K: 1.5 }), /gate\.K: 1\.5/],
  ['unknown rankBy', (m) => (m.gate = { type: 'topk', K: 1, rankBy: 'x' }), /gate\.rankBy: "x" is not a ranking score/],
  ['unknown gate', (m) => (m.gate = { type: 'cosine' }), /gate\.type: "cosine" is not a gate type; must be one of softmax, topk, temperature, activation, sigmoid/],
  ['negative tau', (m) => (m.gate = { type: 'temperature', tau: -1 }), /gate\.tau: -1 is not a temperature; must be > 0/],
  ['unknown activation', (m) => (m.gate = { type: 'activation', activation: 'swish', tau: 1 }), /gate\.activation: "swish" is not a known activation/],
  ['beta1 length', (m) => (m.experts[1].beta1 = [0, 1]), /experts\[1\]\.beta1: has length 2; must have length 1/],
  ['a length', (m) => (m.experts[0].a = []), /experts\[0\]\.a: has length 0; must have length 1/],
  ['input dim mismatch', (m) => (m.input.dim = 2), /experts\[0\]\.beta1: has length 1; must have length 2/],
  ['string number', (m) => (m.experts[0].b = '15'), /experts\[0\]\.b: "15" is not a finite number/],
  ['NaN', (m) => (m.experts[0].beta0 = NaN), /experts\[0\]\.beta0: NaN is not a finite number/],
  ['missing field', (m) => delete m.experts[0].nu, /experts\[0\]\.nu: missing/],
  ['unknown field', (m) => (m.experts[0].sigma = 1), /experts\[0\]\.sigma: unknown field/],
  ['no experts', (m) => (m.experts = []), /experts: \[\] is not a non-empty array/],
  ['grid with dim 2', (m) => { m.input = { type: 'grid', dim: 2 }; m.experts.forEach((e: any) => { e.beta1 = [0, 0]; e.a = [0, 0]; }); }, /input\.dim: 2 is not allowed for a grid design/],
  ['low >= high', (m) => (m.input = { type: 'uniform', low: 1, high: 0, dim: 1 }), /input\.high: 0 is not above low \(1\)/],
  ['covariance not PD', (m) => (m.input = { type: 'normal', mean: [0], cov: [[-1]], dim: 1 }), /input\.cov: is not positive definite/],
  ['unknown input', (m) => (m.input = { type: 'beta', dim: 1 }), /input\.type: "beta" is not an input design/],
];

for (const [name, mutate, message] of bad) {
  test(`parseModel rejects ${name} with a ModelError naming the field`, () => {
    const m = clone(DEMYS) as unknown as Record<string, any>;
    mutate(m);
    assert.throws(() => parseModel(m), (e: unknown) => {
      assert.ok(e instanceof ModelError, `not a ModelError: ${e}`);
      assert.match((e as Error).message, message);
      return true;
    });
  });
}
