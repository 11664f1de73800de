import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isConverged, perNSummary } from '../../src/analysis/index.js';
import { DataError } from '../../src/errors.js';
import { GATE_BOUND, gateBoundExcess, type Model } from '../../src/models/index.js';
import { frozen, row } from './fixtures.js';

test('perNSummary(rows, quantity) gives per n the values in replicate order, mean, median and counts', () => {
  const rows = frozen([
    row(1000, 2, { D1: 0.4 }),
    row(100, 1, { D1: 3 }),
    row(100, 0, { D1: 1 }),
    row(100, 2, { D1: 2, D2: 9 }),
    row(100, 3, { D1: 10 }, { stopReason: 'maxIterations', converged: false }),
    row(1000, 0, { D1: null }),
    row(1000, 1, { D1: NaN }),
    row(1000, 3, { D2: 1 }),
    row(1000, 4, {}, { status: 'failed', error: 'numerical', quantities: undefined, stopReason: undefined }),
  ]);
  assert.deepEqual(perNSummary(rows, 'D1'), [
    { n: 100, mean: 4, median: 2.5, count: 4, values: [1, 3, 2, 10], replicates: [0, 1, 2, 3], converged: [true, true, true, false], nFits: 4, nFailed: 1, nNotConverged: 1, nMissing: 0 },
    { n: 1000, mean: 0.4, median: 0.4, count: 1, values: [0.4], replicates: [2], converged: [true], nFits: 4, nFailed: 1, nNotConverged: 0, nMissing: 3 },
  ]);
});

test('perNSummary(rows, quantity) lists an n without values with count 0 and null mean and median, never NaN', () => {
  const s = perNSummary([row(50, 0, { D1: null }), row(50, 1, { D1: Infinity })], 'D1');
  assert.deepEqual(s, [{ n: 50, mean: null, median: null, count: 0, values: [], replicates: [], converged: [], nFits: 2, nFailed: 0, nNotConverged: 0, nMissing: 2 }]);
});

test('isConverged(row) reads stopReason, else the converged flag; a failed row never converged', () => {
  assert.equal(isConverged(row(10, 0, {})), true);
  assert.equal(isConverged(row(10, 0, {}, { stopReason: 'maxIterations', converged: true })), false);
  assert.equal(isConverged(row(10, 0, {}, { stopReason: undefined, converged: true })), true);
  assert.equal(isConverged(row(10, 0, {}, { stopReason: undefined, converged: undefined })), false);
  assert.equal(isConverged(row(10, 0, {}, { status: 'failed' })), false);
});

test('isConverged(row) is false for a fit whose stored gate leaves the compact box |beta| <= GATE_BOUND, whatever its stopReason', () => {
  const expert = (beta0: number, beta1: number) => ({ beta0, beta1: [beta1], a: [1], b: 0, nu: 1 });
  const model = (e: ReturnType<typeof expert>): Model => ({ gate: { type: 'softmax' }, experts: [e, expert(0, 0)], input: { type: 'uniform', low: 0, high: 1, dim: 1 } });
  assert.equal(isConverged(row(10, 0, {}, { model: model(expert(GATE_BOUND, -GATE_BOUND)) })), true);
  // a hard switch of a stored [DEMYS] k = 4 fit (n = 1000): beta0 7e5, beta1 -1.5e7
  assert.equal(isConverged(row(10, 0, {}, { model: model(expert(693391.5, -14674192.3)) })), false);
  // beta0 far below -709 (its Voronoi mass 0) but a slope beyond the box: still a hard switch
  assert.equal(isConverged(row(10, 0, {}, { model: model(expert(-5.1e7, 1.05e8)) })), false);
  assert.equal(isConverged(row(10, 0, {}, { model: model(expert(0, GATE_BOUND * (1 + 1e-12))) })), false);
  assert.deepEqual(gateBoundExcess(model(expert(3, -2e3))), { expert: 0, field: 'beta1[0]', value: -2e3 });
  assert.equal(gateBoundExcess(undefined), undefined);
});

test('perNSummary(rows, quantity) rejects a row without a finite n > 0 with a DataError naming it', () => {
  assert.throws(
    () => perNSummary([row(10, 0, {}), row(NaN, 1, {})], 'D1'),
    (e: unknown) => e instanceof DataError && /rows\[1\]\.n \(key "nNaN-r1"\): not a sample size \(got NaN\)/.test(e.message),
  );
});
