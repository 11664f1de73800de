/**
 * Fuzz suite (issue 12), fit options: random option objects through validateFitOptions, and fitMoE
 * on tiny data sets (sampled, degenerate: identical rows, constant y, or random values) with random
 * options (at most 8 iterations) and random, near-truth and given starts. The property: a fitted
 * model that parseModel accepts (finite parameters) and finite fit statistics, or a GatelabError
 * that names the option, field or row; never another exception, never NaN.
 *
 * Two domains, both must pass: "ordinary" inputs (every option, type and edge value, numbers of
 * ordinary magnitude) and "awkward" inputs (float64 extremes anywhere: subnormal temperatures,
 * data of magnitude 1e308, start noise 1e300, huge restarts or k). How the awkward ones are
 * answered: |x| or |y| above 1e150 is a DataError naming the cell (checkFitMagnitude); a fit
 * where no start reaches a finite log-likelihood with finite parameters is a NumericalError
 * naming `start` (bestFit); a certificate that cannot be computed in float64 is null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Dataset } from '../../src/data/dataset.js';
import { ConfigError, NumericalError } from '../../src/errors.js';
import { fitMoE, validateFitOptions, type StartSpec } from '../../src/fitting/fit.js';
import type { FitOptions } from '../../src/fitting/types.js';
import type { Model } from '../../src/models/types.js';
import { parseModel } from '../../src/models/validate.js';
import { Rng } from '../../src/rng/rng.js';
import { sample } from '../../src/sampling/sample.js';
import {
  assertNoBadNumber,
  decimal,
  edgeValue,
  FUZZ_SCALE,
  mutate,
  numericMutations,
  ordinaryNumericMutations,
  PATH,
  runProperty,
  Tally,
  typedOutcome,
  unknownKey,
  weirdNumber,
  weirdValue,
  type Mutation,
} from './fuzz-helpers.js';

/** "k: ...", "gate.K: ...", "options.foo: unknown option", "start: ...", "row 3, column x1: ...", "truth.experts[0].nu: ..." */
const NAMES_OPTION = new RegExp(`^(${PATH}|row \\d+, column (x\\d+|y)): `);

const D1: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: -8, beta1: [25], a: [-20], b: 15, nu: 0.09 },
    { beta0: 0, beta1: [0], a: [20], b: -5, nu: 0.16 },
  ],
  input: { type: 'uniform', low: 0, high: 1, dim: 1 },
};
const D2: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 0.5, beta1: [1, -1], a: [0.3, 2], b: 0, nu: 0.2 },
    { beta0: -0.5, beta1: [-2, 0.5], a: [-1, 0], b: 1, nu: 0.5 },
    { beta0: 0, beta1: [0, 0], a: [0, 1], b: -1, nu: 1 },
  ],
  input: { type: 'normal', mean: [0, 1], cov: [[1, 0.3], [0.3, 2]], dim: 2 },
};

const OPTION_KEYS = ['k', 'gate', 'tau', 'method', 'identifiability', 'stop', 'scoreTol', 'tol', 'absTol', 'accelerate', 'maxIterations', 'nuMin', 'nuMinFactor', 'gateSteps', 'gateTol', 'trace'];

/** A value, or (rarely) an edge value, or with `awkward` any value at all. */
const orOdd = <T>(arb: fc.Arbitrary<T>, awkward: boolean, weight = 5) => fc.oneof({ weight, arbitrary: arb as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: awkward ? weirdValue : edgeValue });

function gateSpec(k: number, awkward: boolean): fc.Arbitrary<unknown> {
  const tau = awkward ? fc.oneof({ weight: 5, arbitrary: fc.double({ min: 0.1, max: 3, noNaN: true }) }, { weight: 1, arbitrary: weirdNumber }) : orOdd(decimal(0.05, 20), false);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant({ type: 'softmax' }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('topk'), K: orOdd(fc.integer({ min: 1, max: k }), awkward), rankBy: fc.constantFrom('slope', 'logit') }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('temperature'), tau }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('activation'), activation: fc.constantFrom('tanh', 'sigmoid', 'gelu', 'identity', 'relu'), tau }) },
    { weight: 2, arbitrary: fc.constant({ type: 'sigmoid' }) },
    { weight: 1, arbitrary: awkward ? weirdValue : edgeValue },
  );
}

/**
 * Fit options: a consistent set (each optional key present or not), then 0-2 keys replaced by
 * odd values (edge values; with `awkward`, any value) or unknown keys added.
 */
const options = (maxIter: fc.Arbitrary<number>, awkward: boolean): fc.Arbitrary<Record<string, unknown>> =>
  fc.integer({ min: 1, max: 4 }).chain((k) =>
    fc
      .record({
        k: fc.constant(k),
        gate: gateSpec(k, awkward),
        method: fc.option(fc.constantFrom('em', 'em', 'mle'), { nil: undefined }),
        identifiability: fc.option(fc.constantFrom('reference', 'free'), { nil: undefined }),
        stop: fc.oneof(
          fc.constant({}),
          fc.record({ stop: fc.constant('score'), scoreTol: awkward ? fc.double({ min: 1e-9, max: 1, noNaN: true }) : decimal(0.0001, 1) }, { requiredKeys: ['stop'] }),
          fc.record({ stop: fc.constant('relative'), tol: awkward ? fc.double({ min: 0, max: 1e-2, noNaN: true }) : fc.constantFrom(0, 1e-8, 1e-6, 1e-3), absTol: decimal(0, 1) }, { requiredKeys: ['stop'] }),
        ),
        accelerate: fc.option(fc.constantFrom('squarem', 'none'), { nil: undefined }),
        maxIterations: maxIter,
        floor: fc.oneof(
          fc.constant({}),
          fc.record({ nuMin: awkward ? fc.double({ min: 1e-8, max: 0.1, noNaN: true }) : fc.constantFrom(1e-6, 1e-4, 0.001, 0.01, 0.1) }),
          fc.record({ nuMinFactor: awkward ? fc.double({ min: 1e-4, max: 0.9, noNaN: true }) : decimal(0.01, 0.9) }),
        ),
        gateSteps: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        gateTol: fc.option(awkward ? fc.double({ min: 0, max: 1e-3, noNaN: true }) : fc.constantFrom(0, 1e-12, 1e-10, 1e-6), { nil: undefined }),
        freeTau: fc.boolean(),
        trace: fc.option(fc.boolean(), { nil: undefined }),
        edits: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...OPTION_KEYS), unknownKey), awkward ? weirdValue : edgeValue), { maxLength: 2 }),
        editsOn: fc.boolean(),
      })
      .map(({ stop, floor, freeTau, edits, editsOn, ...rest }) => {
        const o: Record<string, unknown> = { ...rest, ...stop, ...floor };
        const gate = o.gate as { type?: unknown };
        if (freeTau && (gate?.type === 'temperature' || gate?.type === 'activation')) o.tau = 'free';
        if (editsOn) for (const [key, value] of edits) o[key] = value;
        for (const key of Object.keys(o)) if (o[key] === undefined) delete o[key];
        return o;
      }),
  );

/**
 * Tiny data sets: sampled from D1 or D2, or degenerate (identical rows, constant y), or random
 * values; `awkward` adds magnitudes up to 1e308 and subnormals (and a kind scaled by 1e150).
 */
const dataset = (awkward: boolean): fc.Arbitrary<Dataset> =>
  fc
    .record({
      kind: fc.constantFrom(...(['sample', 'sample', 'sample', 'identical', 'constant-y', 'random', ...(awkward ? ['huge'] : [])] as const)),
      d: fc.constantFrom(1, 1, 2),
      n: fc.integer({ min: 1, max: 40 }),
      seed: fc.nat(),
      values: fc.array(
        awkward
          ? fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), weirdNumber.filter(Number.isFinite))
          : fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.integer({ min: -5, max: 5 })),
        { minLength: 120, maxLength: 120 },
      ),
    })
    .map(({ kind, d, n, seed, values }) => {
      if (kind === 'sample') {
        const s = sample(d === 1 ? D1 : D2, n, new Rng(seed));
        return { n, d, X: s.X, Y: s.Y };
      }
      const X = new Float64Array(n * d);
      const Y = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        for (let p = 0; p < d; p++) X[r * d + p] = kind === 'identical' ? 0.5 : kind === 'huge' ? 1e150 * values[(r * d + p) % 120]! : values[(r * d + p) % 120]!;
        Y[r] = kind === 'identical' || kind === 'constant-y' ? 1 : kind === 'huge' ? 1e150 * values[(r + 60) % 120]! : values[(r + 60) % 120]!;
      }
      return { n, d, X, Y };
    });

/** Starts, as plain data (so that a counterexample shows them): random, near a truth, given. */
type StartCase =
  | { type: 'random'; restarts: unknown; seed: unknown }
  | { type: 'nearTruth'; truth: 'own' | 'other' | Mutation[]; noise: unknown; seed: unknown; shrink: unknown }
  | { type: 'given'; which: 'matching' | 'wrong-k'; mutations: Mutation[] | null };

/** `awkward`: also noise and shrink exponents of any magnitude, and start models with float64 extremes. */
const startCase = (awkward: boolean): fc.Arbitrary<StartCase> => {
  const mutations = awkward ? numericMutations : ordinaryNumericMutations;
  return fc.oneof(
    fc.record({ type: fc.constant('random' as const), restarts: orOdd(fc.integer({ min: 1, max: 2 }), awkward), seed: orOdd(fc.nat(), awkward, 8) }),
    fc.record({
      type: fc.constant('nearTruth' as const),
      truth: fc.oneof({ weight: 4, arbitrary: fc.constant('own' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }, { weight: 1, arbitrary: mutations(2) }),
      noise: awkward ? orOdd(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), decimal(0, 100)), true) : orOdd(decimal(0, 1), false),
      seed: orOdd(fc.nat(), awkward, 8),
      shrink: fc.option(awkward ? orOdd(fc.double({ min: 0, max: 1, noNaN: true }), true, 1) : decimal(0, 1), { freq: 3 }),
    }),
    fc.record({ type: fc.constant('given' as const), which: fc.constantFrom('matching' as const, 'matching' as const, 'wrong-k' as const), mutations: fc.option(mutations(3), { freq: 2 }) }),
  );
};

/** The StartSpec of a start case for k experts in dimension d. */
function buildStart(c: StartCase, k: number, d: number): StartSpec {
  const own = d === 1 ? D1 : D2;
  switch (c.type) {
    case 'random':
      return { type: 'random', restarts: c.restarts, seed: c.seed } as StartSpec;
    case 'nearTruth': {
      const truth = c.truth === 'own' ? own : c.truth === 'other' ? (d === 1 ? D2 : D1) : (mutate(own, c.truth).value as Model);
      return { type: 'nearTruth', truth, noise: c.noise, seed: c.seed, ...(c.shrink !== null ? { shrinkExponent: c.shrink } : {}) } as StartSpec;
    }
    case 'given': {
      const experts = Array.from({ length: c.which === 'matching' ? k : k + 1 }, (_, i) => ({ ...own.experts[i % own.experts.length]!, b: own.experts[i % own.experts.length]!.b + i }));
      const model = { ...own, experts };
      return { type: 'given', model: c.mutations ? (mutate(model, c.mutations).value as Model) : model };
    }
  }
}

/** One fitMoE case: the property. */
function checkFit(o: Record<string, unknown>, data: Dataset, startDesc: StartCase, tally: Tally): void {
  // an edited k, maxIterations or gateSteps must stay small for the fit to stay fast, and so must
  // restarts (a huge k or restarts count is a known bug: see the todo test)
  const k = typeof o.k === 'number' && Number.isInteger(o.k) && o.k > 0 && o.k <= 8 ? o.k : 2;
  for (const key of ['k', 'maxIterations', 'gateSteps']) if (typeof o[key] === 'number' && (o[key] as number) > 8) o[key] = 8;
  const spec = buildStart(startDesc, k, data.d);
  if (spec.type !== 'given' && typeof spec.restarts === 'number' && spec.restarts > 3) spec.restarts = 3;
  const fitted = typedOutcome(() => fitMoE(data, o as unknown as FitOptions, spec), NAMES_OPTION, tally, 'fitMoE');
  if (!fitted) return;
  const { model, fit } = fitted.value;
  tally.note(fit.stopReason);
  // the fitted model is a valid model file (finite parameters, variances > 0)
  assertNoBadNumber(model, 'fitted model');
  parseModel(JSON.parse(JSON.stringify(model)));
  assert.ok(Number.isFinite(fit.loglik), `loglik ${fit.loglik} (stopReason ${fit.stopReason})`);
  assertNoBadNumber(fit, 'fit info');
  assert.ok(Number.isInteger(fit.iterations) && fit.iterations >= 0);
}

const OPTION_RUNS = 3000;
const FIT_RUNS = 1500;
const AWKWARD_RUNS = 300;

test(`fuzz: ${OPTION_RUNS * FUZZ_SCALE} seeded option objects (any value) through validateFitOptions: 0 failures`, (t) => {
  const tally = new Tally();
  runProperty(
    [options(fc.integer({ min: 0, max: 20 }), true)],
    (o) => {
      const ok = typedOutcome(() => validateFitOptions(o as unknown as FitOptions), NAMES_OPTION, tally, 'validateFitOptions');
      if (ok) {
        assert.ok(Number.isInteger(ok.value.k) && ok.value.k >= 1);
        assertNoBadNumber(ok.value, 'validated options');
      }
    },
    OPTION_RUNS,
    20,
  );
  tally.lines('validateFitOptions').forEach((l) => t.diagnostic(l));
  assert.ok(tally.accepted > OPTION_RUNS / 10, String(tally));
});

test(`fuzz: ${FIT_RUNS * FUZZ_SCALE} seeded fitMoE calls, ordinary inputs (tiny data, random options and starts, at most 8 iterations): 0 failures`, (t) => {
  const tally = new Tally();
  runProperty([options(fc.integer({ min: 0, max: 8 }), false), dataset(false), startCase(false)], (o, data, s) => checkFit(o, data, s, tally), FIT_RUNS, 21);
  tally.lines('fitMoE').forEach((l) => t.diagnostic(l));
  assert.ok(tally.accepted > FIT_RUNS / 5, String(tally));
});

test(
  `fuzz: ${AWKWARD_RUNS * FUZZ_SCALE} seeded fitMoE calls, awkward inputs (float64 extremes in data, options and starts): 0 failures`,
  (t) => {
    const tally = new Tally();
    runProperty([options(fc.integer({ min: 0, max: 8 }), true), dataset(true), startCase(true)], (o, data, s) => checkFit(o, data, s, tally), AWKWARD_RUNS, 22);
    tally.lines('fitMoE').forEach((l) => t.diagnostic(l));
    // the awkward domain must still reach the engine in a fair share of cases, not only be refused
    assert.ok(tally.accepted > AWKWARD_RUNS / 10, String(tally));
  },
);

test('fitting refuses |x| > 1e150 naming the cell (its x x\' overflows), and a start with no finite likelihood naming `start`', () => {
  const X = Float64Array.from([0.1, 1e300, 0.3]);
  const Y = Float64Array.from([1, 2, 3]);
  assert.throws(() => fitMoE({ n: 3, d: 1, X, Y }, { k: 1, gate: { type: 'softmax' } }, { type: 'random', seed: 1 }), /^DataError: row 2, column x1: 1e\+300 is too large to fit/);
  // a given start whose variance is so small that every point has density 0 (log-density -Infinity)
  const data = sample(D1, 30, new Rng(3));
  const start: Model = { ...D1, experts: D1.experts.map((e) => ({ ...e, b: e.b + 1e6, nu: 1e-300 })) };
  assert.throws(
    () => fitMoE(data, { k: 2, gate: { type: 'softmax' }, nuMin: 1e-300, maxIterations: 5 }, { type: 'given', model: start }),
    (e: unknown) => e instanceof NumericalError && /^start: the start does not give a finite log-likelihood/.test(e.message),
  );
});

test('a near-truth start with k = 1e5 is refused with a typed error (k at most 10000)', () => {
  const data = sample(D1, 20, new Rng(1));
  assert.throws(() => fitMoE(data, { k: 100_000, gate: { type: 'softmax' }, maxIterations: 1 }, { type: 'nearTruth', truth: D1, noise: 0.1, seed: 1 }), ConfigError);
});
