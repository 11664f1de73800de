import { test } from 'node:test';
import assert from 'node:assert/strict';
import { voronoiCells } from '../../src/losses/index.js';
import { ConfigError, ModelError } from '../../src/errors.js';
import type { Expert, Model } from '../../src/models/types.js';
import { demys, frozen, permuted, withExperts } from './fixtures.js';

const atom = (b: number, extra: Partial<Expert> = {}): Expert => ({ beta0: 0, beta1: [0], a: [0], b, nu: 1, ...extra });
const model = (experts: Expert[]): Model => ({ gate: { type: 'softmax' }, experts, input: { type: 'uniform', low: 0, high: 1, dim: 1 } });

test('voronoiCells(truth, truth) puts each true atom alone in its own cell', () => {
  const t = frozen(demys());
  assert.deepEqual(voronoiCells(t, t), [[0], [1]]);
});

test('voronoiCells(fit, truth) ignores beta0 and assigns by theta = (beta1, a, b, nu)', () => {
  const t = demys();
  // beta0 of the fitted atoms swapped and far off: the cells do not move
  const f = withExperts(t, [
    { ...t.experts[0]!, beta0: 5 },
    { ...t.experts[1]!, beta0: -50 },
  ]);
  assert.deepEqual(voronoiCells(f, t), [[0], [1]]);
});

test('voronoiCells(fit, truth) sends an equidistant fitted atom to the lower j', () => {
  // true atoms at b = 0 and b = 2; fitted atom at b = 1 is equidistant
  assert.deepEqual(voronoiCells(model([atom(1)]), model([atom(0), atom(2)])), [[0], []]);
  // the same with the true atoms listed the other way round: still the lower j (now b = 2)
  assert.deepEqual(voronoiCells(model([atom(1)]), model([atom(2), atom(0)])), [[0], []]);
  // a midpoint in floating point: distances 0.1 and 0.09999999999999998 from b = 0.1, 0.3 count as a tie
  assert.deepEqual(voronoiCells(model([atom((0.1 + 0.3) / 2)]), model([atom(0.1), atom(0.3)])), [[0], []]);
  // not a tie: slightly nearer the second true atom
  assert.deepEqual(voronoiCells(model([atom(1 + 1e-9)]), model([atom(0), atom(2)])), [[], [0]]);
});

test('voronoiCells(fit, truth) can leave a cell empty and put several atoms in another', () => {
  const t = demys();
  const e1 = t.experts[1]!;
  const f = withExperts(t, [
    { ...e1, b: -5.1 },
    { ...e1, b: -4.9 },
    { ...e1, nu: 0.2 },
  ]);
  assert.deepEqual(voronoiCells(f, t), [[], [0, 1, 2]]);
});

test("voronoiCells(fit, truth, {metric: 'blocks'}) sums block norms and can differ from Euclidean", () => {
  // fitted atom: (dbeta1, da) = (1, 1) from truth A -> Euclidean sqrt(2) = 1.41, blocks 2;
  //              |db| = 1.5 from truth B            -> Euclidean 1.5,           blocks 1.5
  const truth = model([atom(0, { beta1: [0], a: [0] }), atom(1.5, { beta1: [1], a: [1] })]);
  const fit = model([atom(0, { beta1: [1], a: [1] })]);
  assert.deepEqual(voronoiCells(fit, truth), [[0], []]);
  assert.deepEqual(voronoiCells(fit, truth, { metric: 'euclidean' }), [[0], []]);
  assert.deepEqual(voronoiCells(fit, truth, { metric: 'blocks' }), [[], [0]]);
});

test('voronoiCells(fit, truth) relabels with the fitted atoms: a permutation permutes the indices', () => {
  const t = demys();
  const e0 = t.experts[0]!;
  const e1 = t.experts[1]!;
  const f = withExperts(t, [{ ...e1, b: -5.1 }, { ...e0, a: [-19] }, { ...e1, b: -4.8 }]);
  const cells = voronoiCells(f, t);
  assert.deepEqual(cells, [[1], [0, 2]]);
  const perm = [2, 0, 1]; // new i = old perm[i]
  const inv = [1, 2, 0]; // old i -> new index
  const cellsP = voronoiCells(permuted(f, perm), t);
  assert.deepEqual(cellsP, cells.map((c) => c.map((i) => inv[i]!).sort((x, y) => x - y)));
});

test('voronoiCells(fit, truth) throws ModelError naming the field on a dimension mismatch', () => {
  const t = demys();
  const bad = withExperts(t, [t.experts[0]!, { ...t.experts[1]!, beta1: [0, 1] }]);
  assert.throws(() => voronoiCells(bad, t), (e: unknown) => e instanceof ModelError && /fit\.experts\[1\]\.beta1/.test(e.message) && /got 2/.test(e.message));
  const badA = withExperts(t, [{ ...t.experts[0]!, a: [] }, t.experts[1]!]);
  assert.throws(() => voronoiCells(t, badA), (e: unknown) => e instanceof ModelError && /truth\.experts\[0\]\.a/.test(e.message));
  const d2: Model = { ...t, input: { type: 'uniform', low: 0, high: 1, dim: 2 }, experts: t.experts.map((e) => ({ ...e, beta1: [1, 2], a: [1, 2] })) };
  assert.throws(() => voronoiCells(d2, t), (e: unknown) => e instanceof ModelError && /input\.dim/.test(e.message) && /got 2 vs 1/.test(e.message));
  const nan = withExperts(t, [{ ...t.experts[0]!, nu: Number.NaN }, t.experts[1]!]);
  assert.throws(() => voronoiCells(nan, t), (e: unknown) => e instanceof ModelError && /fit\.experts\[0\]\.nu/.test(e.message) && /got NaN/.test(e.message));
});

test('voronoiCells(fit, truth, opts) rejects an unknown option or metric with ConfigError', () => {
  const t = demys();
  assert.throws(() => voronoiCells(t, t, { metrc: 'blocks' } as never), (e: unknown) => e instanceof ConfigError && /metrc/.test(e.message));
  assert.throws(() => voronoiCells(t, t, { metric: 'manhattan' } as never), (e: unknown) => e instanceof ConfigError && /manhattan/.test(e.message));
});
