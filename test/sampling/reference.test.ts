/**
 * The fast sampler (WebAssembly Philox, Box–Muller and gate kernels) against the sampler as it
 * was before them (bench/sampler-reference.ts: one point at a time, Math.log / Math.cos, the gate's
 * own weights): the same X, Y and Z bytes, for gates on and off the gate kernel's path, every
 * input design, logits large enough that weights underflow (the kernel's fallback), ranges that
 * start mid-sample, exp arguments over [-800, 0] and near 0, and many seeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sample, sampleRange, samplerPaths } from '../../src/sampling/index.js';
import { Rng } from '../../src/rng/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { Model } from '../../src/models/index.js';
import { sampleRangeReference, sampleReference } from '../../bench/sampler-reference.js';
import { DEMYS, SOFTMAX_D2, TOPK, tempModel } from '../helpers.js';

function same(a: Dataset, b: Dataset): boolean {
  const bytes = (x: ArrayBufferView) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return bytes(a.X).equals(bytes(b.X)) && bytes(a.Y).equals(bytes(b.Y)) && bytes(a.Z!).equals(bytes(b.Z!));
}

const STEEP: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 0, beta1: [2000], a: [1], b: 0, nu: 0.1 },
    { beta0: 0, beta1: [-2000], a: [-1], b: 1, nu: 0.2 },
    { beta0: 700, beta1: [0], a: [0], b: -1, nu: 0.3 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 1 },
};
/** exp arguments spanning [-800, 0]: fdlibm's reduction for every k down to the e^-708 fallback */
const EXP_RANGE: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 0, beta1: [800], a: [1], b: 0, nu: 0.1 },
    { beta0: 0, beta1: [0], a: [-1], b: 1, nu: 0.2 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 1 },
};
/** near-ties: exp arguments below 2^-28 in size (fdlibm's 1 + x) and exact ties (exp(0)) */
const TIES: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 0, beta1: [1e-9], a: [1], b: 0, nu: 0.1 },
    { beta0: 0, beta1: [0], a: [-1], b: 1, nu: 0.2 },
    { beta0: 0, beta1: [0], a: [0], b: 2, nu: 0.3 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 1 },
};
const NORMAL_D3: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 0.3, beta1: [1, -2, 0.5], a: [1, 0, -1], b: 0, nu: 0.1 },
    { beta0: 0, beta1: [0, 0, 0], a: [0, 1, 1], b: 2, nu: 0.4 },
  ],
  input: { type: 'normal', mean: [0, 1, -1], cov: [[1, 0.2, 0], [0.2, 2, 0.3], [0, 0.3, 0.5]], dim: 3 },
};
const MODELS: [string, Model][] = [
  ['demys', DEMYS],
  ['topk (not on the gate kernel path)', TOPK],
  ['softmax d = 2, k = 3', SOFTMAX_D2],
  ['temperature tau = 0.5', tempModel({ type: 'temperature', tau: 0.5 })],
  ['steep logits (weights underflow)', STEEP],
  ['exp arguments in [-800, 0]', EXP_RANGE],
  ['near-ties and exact ties', TIES],
  ['normal design d = 3', NORMAL_D3],
  ['grid design', { ...DEMYS, input: { type: 'grid', low: -2, high: 3, dim: 1 } }],
];

/** models that the fused kernel draws (the others take the plain path) */
const ON_KERNEL = new Set(['demys', 'softmax d = 2, k = 3', 'temperature tau = 0.5', 'steep logits (weights underflow)', 'exp arguments in [-800, 0]', 'near-ties and exact ties', 'normal design d = 3', 'grid design']);

for (const [name, model] of MODELS) {
  test(`sample() gives the reference sampler's bytes: ${name}`, () => {
    const before = samplerPaths();
    for (const [seed, n] of [[1, 1], [2, 3], [3, 4097], [4, 20001], [2 ** 40 + 3, 999]] as const) {
      assert.ok(same(sample(model, n, new Rng(seed)), sampleReference(model, n, new Rng(seed))), `seed ${seed} n ${n}`);
    }
    assert.ok(same(sampleRange(model, 50000, new Rng(8), 12345, 6001), sampleRangeReference(model, 50000, new Rng(8), 12345, 6001)), 'a range');
    const after = samplerPaths();
    const drawn = 1 + 3 + 4097 + 20001 + 999 + 6001;
    assert.equal(after.mismatches, before.mismatches, 'the kernel agreed with the plain code');
    if (ON_KERNEL.has(name)) {
      assert.equal(after.kernel + after.recomputed - before.kernel - before.recomputed, drawn, 'drawn by the kernel');
      if (name.startsWith('steep')) assert.ok(after.recomputed > before.recomputed, 'some points left to the plain code');
    } else assert.equal(after.plain - before.plain, drawn, 'drawn the plain way');
  });
}
