/**
 * Issue 12, item 1: the k-means start's empty-cluster reseed drew two different random rows for
 * the two ends of one slice (`internal error: offset is out of bounds`, or centroids silently
 * overwritten). Data of identical rows empties a cluster on every seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomStart } from '../../src/fitting/starts.js';
import { Rng } from '../../src/rng/rng.js';
import { assertOneLineError, cli, DEMYS_FILE, tempDir } from './helpers.js';

const identical = (n: number, d: number) => ({ n, d, X: new Float64Array(n * d).fill(0.5), Y: new Float64Array(n).fill(1) });

test('randomStart on identical rows: every seed gives a finite start (no out-of-bounds reseed)', () => {
  for (const k of [2, 3, 5]) {
    for (let seed = 0; seed < 40; seed++) {
      const model = randomStart(identical(100, 1), k, { type: 'softmax' }, new Rng(seed));
      assert.equal(model.experts.length, k);
      for (const e of model.experts) {
        for (const v of [e.beta0, ...e.beta1!, ...e.a, e.b, e.nu]) assert.ok(Number.isFinite(v), `k=${k} seed=${seed}: ${JSON.stringify(e)}`);
      }
    }
  }
});

test('randomStart: a reseeded centroid is one data row (two clusters of identical rows, k = 4)', () => {
  // rows at two points only: Lloyd empties clusters; each reseed must copy exactly one row
  const n = 60;
  const X = Float64Array.from({ length: n }, (_, r) => (r % 2 ? 0.1 : 0.9));
  const Y = Float64Array.from({ length: n }, (_, r) => (r % 2 ? -1 : 2));
  for (let seed = 0; seed < 40; seed++) {
    const model = randomStart({ n, d: 1, X, Y }, 4, { type: 'softmax' }, new Rng(seed));
    for (const e of model.experts) assert.ok([e.a[0]!, e.b, e.nu].every(Number.isFinite), `seed ${seed}`);
  }
});

test('gatelab fit on 100 identical rows fits (exit 0), never an internal error', async () => {
  const dir = tempDir('kmeans');
  const data = join(dir, 'same.csv');
  writeFileSync(data, 'x1,y\n' + '0.5,1\n'.repeat(100));
  for (const seed of ['0', '1', '2']) {
    const r = await cli('fit', '--data', data, '--experts', '2', '--gate', DEMYS_FILE, '--seed', seed, '--max-iter', '50', '--backend', 'cpu', '--out', join(dir, 'o.json'));
    assert.doesNotMatch(r.err, /internal error/);
    if (r.code !== 0) assertOneLineError(r, /./); // a typed refusal would do; a crash would not
  }
});
