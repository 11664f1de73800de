/**
 * The sampler's output pinned byte for byte: SHA-256 of X, Y and Z for models that cover every
 * input design (uniform, normal, grid), d = 1 and 2, k = 2 and 3, softmax, top-K and temperature
 * gates, sample sizes that are not multiples of the kernels' group sizes, and a sampleRange
 * piece. The hashes were recorded with the sampler as it was before the bulk (WebAssembly)
 * Philox kernel of issue 14, so any change of the draws for a given seed fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sample, sampleRange } from '../../src/sampling/index.js';
import { Rng } from '../../src/rng/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { Model } from '../../src/models/index.js';
import { DEMYS, SOFTMAX_D2, TOPK, tempModel } from '../helpers.js';

const NORMAL_D2: Model = { ...SOFTMAX_D2, input: { type: 'normal', mean: [1, -1], cov: [[1, 0.5], [0.5, 2]], dim: 2 } };
const GRID: Model = { ...DEMYS, input: { type: 'grid', low: 0, high: 1, dim: 1 } };
const NORMAL_D1: Model = { ...DEMYS, input: { type: 'normal', mean: [0.5], cov: [[0.04]], dim: 1 } };
const TEMP = tempModel({ type: 'temperature', tau: 0.5 });

function digest(data: Dataset): string {
  const h = createHash('sha256');
  h.update(new Uint8Array(data.X.buffer, data.X.byteOffset, data.X.byteLength));
  h.update(new Uint8Array(data.Y.buffer, data.Y.byteOffset, data.Y.byteLength));
  h.update(new Uint8Array(data.Z!.buffer, data.Z!.byteOffset, data.Z!.byteLength));
  return h.digest('hex').slice(0, 32);
}

const CASES: [string, () => Dataset][] = [
  ['demys n=1 seed 0', () => sample(DEMYS, 1, new Rng(0))],
  ['demys n=4099 seed 7', () => sample(DEMYS, 4099, new Rng(7))],
  ['demys n=100003 seed 2^53-1', () => sample(DEMYS, 100003, new Rng(2 ** 53 - 1))],
  ['demys range 5000..9000 of 20000 seed 11', () => sampleRange(DEMYS, 20000, new Rng(11), 5000, 4001)],
  ['topk n=3001 seed 3', () => sample(TOPK, 3001, new Rng(3))],
  ['softmax d=2 k=3 n=5003 seed 5', () => sample(SOFTMAX_D2, 5003, new Rng(5))],
  ['normal d=2 n=2049 seed 9', () => sample(NORMAL_D2, 2049, new Rng(9))],
  ['normal d=1 n=777 seed 13', () => sample(NORMAL_D1, 777, new Rng(13))],
  ['grid n=1001 seed 1', () => sample(GRID, 1001, new Rng(1))],
  ['temperature n=999 seed 4', () => sample(TEMP, 999, new Rng(4))],
  ['derived stream n=333', () => sample(DEMYS, 333, new Rng(21).derive(5, 6))],
];

const GOLDEN: Record<string, string> = {
  'demys n=1 seed 0': '1932c4e4f6f0080cbc53fcf48176f913',
  'demys n=4099 seed 7': '8ecaef8140f41b2f95ebcaae39f15222',
  'demys n=100003 seed 2^53-1': '37a9456d85fe67904a6eda420e9cc736',
  'demys range 5000..9000 of 20000 seed 11': '8242563f1e6406df24ac37564bbd6a05',
  'topk n=3001 seed 3': '4898c69ea3ffb465072452b43ec789cb',
  'softmax d=2 k=3 n=5003 seed 5': '19a7e981b4c02b7a298e68b9f5c09d4a',
  'normal d=2 n=2049 seed 9': '533507a3239da37593e948fa9a247ea7',
  'normal d=1 n=777 seed 13': 'daa948e2c29c270eb81c28279406fbef',
  'grid n=1001 seed 1': '779ca574ba8eb6556aec06eb415b782b',
  'temperature n=999 seed 4': '035355b2dc4fe17e2d23885952716475',
  'derived stream n=333': '70d707986a78dae92b27183636a4e576',
};

for (const [name, draw] of CASES) {
  test(`sample output is pinned: ${name}`, () => {
    const got = digest(draw());
    if (process.env.GOLDEN_PRINT) console.log(`  '${name}': '${got}',`);
    assert.equal(got, GOLDEN[name], name);
  });
}
