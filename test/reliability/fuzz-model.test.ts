/**
 * Fuzz suite (issue 12), model files: random and mutated model JSON through parseModel, then for
 * every accepted model logDensity / logLikelihood at awkward points, a small seeded sample and the
 * Voronoi loss against itself. The property: success with finite numbers (log p may be
 * -Infinity, documented: a point far from every expert), or a GatelabError that names the JSON
 * path (or the point); never another exception, never NaN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { logDensity, logLikelihood } from '../../src/likelihood/density.js';
import { voronoiLoss } from '../../src/losses/voronoi-loss.js';
import type { Model } from '../../src/models/types.js';
import { parseModel } from '../../src/models/validate.js';
import { Rng } from '../../src/rng/rng.js';
import { sample } from '../../src/sampling/sample.js';
import { assertNoBadNumber, FUZZ_SCALE, fuzzParams, mutate, mutations, numericMutations, PATH, runProperty, Tally, typedOutcome, weirdFinite, weirdNumber, weirdValue } from './fuzz-helpers.js';
import { DEMYS_FILE } from './helpers.js';

const NAMES_PATH = new RegExp(`^${PATH}: `);
/** logDensity names its argument ("points: ..."); sample names the point and coordinate, or n. */
const NAMES_POINT = new RegExp(`^(points: |sample: point \\d+ has (x\\d+|y) |n: )`);
/** voronoiLoss: "voronoiLoss: fit.experts[0].beta0: ..." (or the option / the model it names). */
const NAMES_LOSS = new RegExp(`^voronoiLoss: (${PATH}|unknown option)`);

const BASES: unknown[] = [
  JSON.parse(readFileSync(DEMYS_FILE, 'utf8')),
  {
    gate: { type: 'topk', K: 2, rankBy: 'logit' },
    experts: [
      { beta0: 0.5, beta1: [1, -1], a: [0.3, 2], b: 0, nu: 0.2 },
      { beta0: -0.5, beta1: [-2, 0.5], a: [-1, 0], b: 1, nu: 0.5 },
      { beta0: 0, beta1: [0, 0], a: [0, 1], b: -1, nu: 1 },
    ],
    input: { type: 'normal', mean: [0, 1], cov: [[1, 0.3], [0.3, 2]], dim: 2 },
  },
  {
    gate: { type: 'temperature', tau: 0.4 },
    experts: [
      { beta0: 0, beta1: [3], a: [1], b: 0, nu: 0.1 },
      { beta0: 0, beta1: [0], a: [-1], b: 2, nu: 0.3 },
    ],
    input: { type: 'grid', low: -1, high: 1 },
  },
  {
    gate: { type: 'activation', activation: 'tanh', tau: 2 },
    experts: [
      { beta0: 1, beta1: [2], a: [0], b: 0, nu: 1 },
      { beta0: 0, beta1: [-2], a: [4], b: -3, nu: 0.05 },
    ],
  },
];

/** Mostly plausible numbers, sometimes awkward ones (so that many models are accepted). */
const param = fc.oneof({ weight: 20, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) }, { weight: 1, arbitrary: weirdNumber });
const variance = fc.oneof({ weight: 20, arbitrary: fc.double({ min: 1e-6, max: 50, noNaN: true }) }, { weight: 1, arbitrary: weirdNumber });
const vec = (d: number) => fc.oneof({ weight: 40, arbitrary: fc.array(param, { minLength: d, maxLength: d }) }, { weight: 1, arbitrary: fc.array(param, { maxLength: d + 1 }) }, { weight: 1, arbitrary: weirdValue });

function gateArb(k: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ type: 'softmax' }) },
    {
      weight: 2,
      arbitrary: fc.record(
        { type: fc.constant('topk'), K: fc.oneof(fc.integer({ min: 0, max: k + 1 }), weirdNumber), rankBy: fc.constantFrom('slope', 'logit', 'x', undefined) },
        { requiredKeys: ['type', 'K'] },
      ),
    },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('temperature'), tau: fc.oneof(fc.double({ min: 0.05, max: 5, noNaN: true }), weirdNumber) }, { requiredKeys: ['type'] }) },
    {
      weight: 2,
      arbitrary: fc.record(
        { type: fc.constant('activation'), activation: fc.constantFrom('tanh', 'sigmoid', 'gelu', 'identity', 'relu', 'swish'), tau: fc.oneof(fc.double({ min: 0.05, max: 5, noNaN: true }), weirdNumber) },
        { requiredKeys: ['type', 'activation'] },
      ),
    },
    { weight: 2, arbitrary: fc.constant({ type: 'sigmoid' }) },
    { weight: 1, arbitrary: weirdValue },
  );
}

function inputArb(d: number): fc.Arbitrary<unknown> {
  const bound = fc.oneof({ weight: 5, arbitrary: fc.double({ min: -5, max: 5, noNaN: true }) }, { weight: 1, arbitrary: weirdNumber });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('uniform'), low: bound, high: bound, dim: fc.constantFrom(d, d, d, d + 1, 0) }, { requiredKeys: ['type'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('grid'), low: bound, high: bound }, { requiredKeys: ['type'] }) },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('normal'),
        mean: vec(d),
        cov: fc.oneof(
          fc.constant(Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)))),
          fc.array(fc.array(param, { minLength: d, maxLength: d }), { minLength: d, maxLength: d }),
          weirdValue,
        ),
        dim: fc.constant(d),
      }),
    },
    { weight: 1, arbitrary: weirdValue },
  );
}

/** A model file built from scratch: k experts in dimension d, each field plausible or awkward. */
const randomModel: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }))
  .chain(([k, d]) => {
    const expert = fc.oneof(
      { weight: 60, arbitrary: fc.record({ beta0: param, beta1: vec(d), a: vec(d), b: param, nu: variance }) },
      { weight: 1, arbitrary: fc.record({ beta0: param, beta1: vec(d), a: vec(d), b: param, nu: variance }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: weirdValue },
    );
    return fc.record(
      {
        gate: gateArb(k),
        experts: fc.oneof({ weight: 40, arbitrary: fc.array(expert, { minLength: k, maxLength: k }) }, { weight: 1, arbitrary: weirdValue }),
        input: inputArb(d),
        name: fc.constantFrom('m', 1),
      },
      { requiredKeys: ['gate', 'experts'] },
    );
  });

/**
 * A valid model with 1-3 mutations: structural ones (any path: replace by any value, delete, add
 * a key, nest, ...) or numeric ones (a number replaced by an awkward finite one, mostly accepted).
 */
const mutatedModel: fc.Arbitrary<unknown> = fc.tuple(fc.nat({ max: BASES.length - 1 }), fc.oneof(mutations(3), numericMutations(4))).map(([b, ms]) => mutate(BASES[b], ms).value);

/** Points at which to evaluate an accepted model: ordinary, far, huge. */
const points = fc.record({
  n: fc.integer({ min: 1, max: 6 }),
  xs: fc.array(fc.oneof({ weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) }, { weight: 1, arbitrary: weirdFinite }), { minLength: 18, maxLength: 18 }),
  ys: fc.array(fc.oneof({ weight: 4, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) }, { weight: 1, arbitrary: weirdFinite }), { minLength: 6, maxLength: 6 }),
  seed: fc.nat(),
});

function checkModel(raw: unknown, pts: { n: number; xs: number[]; ys: number[]; seed: number }, tallies: Record<string, Tally>): void {
  const parsed = typedOutcome(() => parseModel(raw), NAMES_PATH, tallies.parse!, 'parseModel');
  if (!parsed) return;
  const model: Model = parsed.value;
  assertNoBadNumber(model, 'parseModel result');
  const d = model.input.dim;
  const n = pts.n;
  const X = Float64Array.from(pts.xs.slice(0, n * d).concat(new Array(Math.max(0, n * d - pts.xs.length)).fill(0.5)));
  const Y = Float64Array.from(pts.ys.slice(0, n));
  const density = typedOutcome(() => logDensity(model, X, Y, n), NAMES_POINT, tallies.density!, 'logDensity');
  if (density) {
    // -Infinity is documented (density 0 at a far point); NaN and +Infinity are not
    assertNoBadNumber(density.value, 'logDensity', (_p, v) => v === -Infinity);
    const L = logLikelihood(model, { n, d, X, Y });
    assert.ok(!Number.isNaN(L) && L !== Infinity, `logLikelihood ${L}`);
  }
  // a wrong number of input columns is refused, never read past
  typedOutcome(() => logDensity(model, X.subarray(0, Math.max(0, n * d - 1)), Y, n), NAMES_POINT, tallies.shape!, 'logDensity (short X)');
  const drawn = typedOutcome(() => sample(model, 8, new Rng(pts.seed)), NAMES_POINT, tallies.sample!, 'sample');
  if (drawn) {
    assertNoBadNumber(drawn.value.X, 'sample X');
    assertNoBadNumber(drawn.value.Y, 'sample Y');
    assert.ok([...drawn.value.Z!].every((z) => z >= 0 && z < model.experts.length), 'sample Z');
  }
  const loss = typedOutcome(() => voronoiLoss(model, model), NAMES_LOSS, tallies.loss!, 'voronoiLoss');
  if (loss) assertNoBadNumber({ raw: loss.value.raw, aligned: loss.value.aligned, errors: loss.value.errors }, 'voronoiLoss(model, model)');
}

const RUNS = { random: 2000, mutated: 2000 };

for (const [what, arb, runs, offset] of [
  ['built from scratch', randomModel, RUNS.random, 0],
  ['mutated from 4 valid models (1-3 mutations each)', mutatedModel, RUNS.mutated, 1],
] as const) {
  test(`fuzz: ${runs * FUZZ_SCALE} seeded model files ${what} through parseModel, logDensity, sample and voronoiLoss: 0 failures`, (t) => {
    const tallies = { parse: new Tally(), density: new Tally(), shape: new Tally(), sample: new Tally(), loss: new Tally() };
    runProperty([arb, points], (raw, pts) => checkModel(raw, pts, tallies), runs, offset);
    for (const [name, tally] of Object.entries(tallies)) tally.lines(name).forEach((l) => t.diagnostic(l));
    assert.ok(tallies.parse.accepted > runs / 5, `too few accepted models to test the numerics: ${tallies.parse}`);
  });
}

test('fuzz: model files nested deeper than the limit are refused by path, never overflow the stack', () => {
  fc.assert(
    fc.property(fc.integer({ min: 65, max: 200_000 }), fc.constantFrom('gate', 'input', 'experts', 'beta1', 'root'), (depth, where) => {
      let deep: unknown = 1;
      for (let i = 0; i < depth; i++) deep = i % 2 ? [deep] : { x: deep };
      const base = structuredClone(BASES[0]) as Record<string, unknown>;
      if (where === 'beta1') (base.experts as Record<string, unknown>[])[0]!.beta1 = deep;
      else if (where !== 'root') base[where] = deep;
      const raw = where === 'root' ? deep : base;
      const tally = new Tally();
      assert.equal(typedOutcome(() => parseModel(raw), NAMES_PATH, tally, 'parseModel'), undefined);
    }),
    fuzzParams(30, 2),
  );
});
