/**
 * Issue 15, section 1: the [DEMYS] authors' recipe expressible in a config. Their nearTrue start
 * (start.type "demysNearTrue": the last fitted expert on the reference expert, per-block noise
 * scales shrinking with n, one scalar draw per block, the standard-deviation-as-variance quirk),
 * their relative stopping rule with the one-map lag of their loop (fit.relativeLag), and the
 * block-sum cell metric from the config (loss.metric) reaching the loss. Fixed seeds throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { fitMoE } from '../../src/fitting/fit.js';
import { blockSd, DEMYS_NOISE, demysNearTrueStart, demysStartMap } from '../../src/fitting/starts.js';
import { voronoiLoss } from '../../src/losses/index.js';
import type { Model } from '../../src/models/index.js';
import { Rng } from '../../src/rng/rng.js';
import { sample } from '../../src/sampling/sample.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { runTask, taskRow, taskStart } from '../../src/sweeps/run-task.js';
import { demys } from '../losses/fixtures.js';

const FILES = ['demys-authors-exact', 'demys-authors-over3', 'demys-authors-over4'];
const raw = (name: string) => JSON.parse(readFileSync(`experiments/${name}.json`, 'utf8'));

test('the shipped authors-recipe configs validate, and say their recipe', () => {
  for (const name of FILES) {
    const c = parseExperimentConfig(raw(name), name);
    assert.equal(c.start.type, 'demysNearTrue');
    assert.equal(c.loss?.metric, 'blocks');
    assert.equal(c.fit.stop, 'relative');
    assert.equal(c.fit.tol, 1e-6);
    assert.equal(c.fit.relativeLag, true);
    assert.equal(c.fit.accelerate, 'none');
    assert.equal(c.fit.maxIterations, 2000);
    assert.equal(c.truth.input.type, 'grid');
    assert.equal(c.start.restarts, c.fit.k === 2 ? 1 : 5, 'n_tries: 1 for K = 2, 5 for K = 3, 4');
  }
});

test("demysStartMap: the last fitted expert is always on the reference (last true) expert, and every true expert is covered", () => {
  const rng = new Rng(15001);
  for (const [k, kStar] of [[2, 2], [3, 2], [4, 2], [5, 3], [7, 4], [30, 10], [3, 1]] as const) {
    for (let t = 0; t < 200; t++) {
      const map = demysStartMap(k, kStar, rng);
      assert.equal(map.length, k);
      assert.equal(map[k - 1], kStar - 1);
      assert.equal(new Set(map).size, kStar, `k = ${k}, k* = ${kStar}: ${map}`);
      assert.ok(map.every((j) => Number.isInteger(j) && j >= 0 && j < kStar));
    }
  }
});

test('demysStartMap is uniform over the admissible maps, as the authors\' rejection sampler is', () => {
  // admissible maps (first k - 1 slots): k = 3: 3 of them; k = 4: 2^3 - 1 = 7. With N draws each
  // frequency has sd sqrt(p (1 - p) / N) <= 0.0061 (N = 6000): the tolerance 0.03 is about 5 sd
  // (a map drawn like the old shuffle, e.g. (0, 0) with p = 1/2 for k = 3, is 17 sd off)
  for (const [k, count] of [[3, 3], [4, 7]] as const) {
    const rng = new Rng(15002 + k);
    const N = 6000;
    const freq = new Map<string, number>();
    for (let t = 0; t < N; t++) {
      const key = demysStartMap(k, 2, rng).join(',');
      freq.set(key, (freq.get(key) ?? 0) + 1);
    }
    assert.equal(freq.size, count);
    for (const [key, c] of freq) assert.ok(Math.abs(c / N - 1 / count) < 0.03, `k = ${k}: map ${key} drawn ${c} of ${N}`);
  }
});

test('demysNearTrueStart puts the last fitted expert on the reference expert, with its gate exactly the reference', () => {
  const truth = demys();
  const rng = new Rng(15003);
  for (const k of [2, 3, 4]) {
    for (let t = 0; t < 50; t++) {
      const { model } = demysNearTrueStart({ type: 'demysNearTrue', truth }, k, 1e4, { type: 'softmax' }, rng);
      const last = model.experts[k - 1]!;
      const ref = truth.experts[1]!;
      assert.equal(last.beta0, ref.beta0);
      assert.deepEqual(last.beta1, ref.beta1);
      // experts noise sd 0.05 n^-0.083 = 0.023 at n = 1e4: 10 sd is 0.23, far below the 20-40 between the true experts
      assert.ok(Math.abs(last.b - ref.b) < 0.3 && Math.abs(last.a[0]! - ref.a[0]!) < 0.3, JSON.stringify(last));
    }
  }
});

test('demysNearTrueStart: one scalar draw per block (gate: intercept and slope alike; experts: a and b alike), variance noise added as |N|', () => {
  const truth = demys();
  const rng = new Rng(15004);
  for (const varianceStart of ['variance', 'standardDeviation'] as const) {
    for (let t = 0; t < 50; t++) {
      const { model, label } = demysNearTrueStart({ type: 'demysNearTrue', truth, varianceStart }, 3, 5000, { type: 'softmax' }, rng);
      assert.match(label, /last on reference/);
      assert.equal(label.includes('quirk: true sd as starting variance'), varianceStart === 'standardDeviation');
      model.experts.forEach((e, i) => {
        // which true expert: the nearer b (the true b are 15 and -5, the noise sd about 0.025)
        const j = Math.abs(e.b - 15) < Math.abs(e.b + 5) ? 0 : 1;
        const tj = truth.experts[j]!;
        const dGate0 = e.beta0 - tj.beta0;
        const dGate1 = e.beta1![0]! - tj.beta1![0]!;
        // the same scalar: equal to rounding of the additions (|values| <= 25: 1e-12 is 300 ulps)
        assert.ok(Math.abs(dGate0 - dGate1) < 1e-12, `expert ${i}: gate draws ${dGate0}, ${dGate1}`);
        assert.ok(Math.abs(e.a[0]! - tj.a[0]! - (e.b - tj.b)) < 1e-12, `expert ${i}: experts draws differ`);
        if (i === 2) assert.equal(dGate0, 0);
        const base = varianceStart === 'standardDeviation' ? Math.sqrt(tj.nu) : tj.nu;
        assert.ok(e.nu >= base, `expert ${i}: nu ${e.nu} below its base ${base} (|N| is added)`);
        assert.ok(e.nu - base < 10 * blockSd(DEMYS_NOISE.variance, 5000));
      });
    }
  }
});

test('demysNearTrueStart: the per-block noise sds are scale n^-shrinkExponent (gate 0.005 n^-0.083, experts 0.05 n^-0.083, variance 0.005 n^-0.25)', () => {
  assert.equal(blockSd(DEMYS_NOISE.gate, 1), 0.005);
  assert.ok(Math.abs(blockSd(DEMYS_NOISE.gate, 1e4) - 0.005 * 1e4 ** -0.083) < 1e-18);
  assert.ok(Math.abs(blockSd(DEMYS_NOISE.experts, 1e5) - 0.05 * 1e5 ** -0.083) < 1e-17);
  assert.ok(Math.abs(blockSd(DEMYS_NOISE.variance, 1e5) - 0.005 * 1e5 ** -0.25) < 1e-18);
  // empirical: M = 4000 draws of expert 1 (k = 2: the map is fixed) per n. The sample sd of M
  // normals has relative sd 1/sqrt(2M) = 1.1%, and the mean of |N(0, s^2)|, s sqrt(2/pi), has
  // relative sd sqrt(pi/2 - 1)/sqrt(M) = 1.2%: tolerance 6% (5 sd). Between n = 1e2 and 1e6 the
  // gate and experts sds shrink by 10^(-4 x 0.083) = 0.47, the variance sd by 10^-1 (0.1).
  const truth = demys();
  const M = 4000;
  const measure = (n: number) => {
    const rng = new Rng(15005 + n);
    let sg = 0;
    let se = 0;
    let mv = 0;
    for (let t = 0; t < M; t++) {
      const { model } = demysNearTrueStart({ type: 'demysNearTrue', truth }, 2, n, { type: 'softmax' }, rng);
      const e = model.experts[0]!;
      sg += (e.beta0 - truth.experts[0]!.beta0) ** 2;
      se += (e.b - truth.experts[0]!.b) ** 2;
      mv += e.nu - truth.experts[0]!.nu;
    }
    return { gate: Math.sqrt(sg / M), experts: Math.sqrt(se / M), variance: (mv / M) / Math.sqrt(2 / Math.PI) };
  };
  for (const n of [1e2, 1e6]) {
    const m = measure(n);
    for (const block of ['gate', 'experts', 'variance'] as const) {
      const want = blockSd(DEMYS_NOISE[block], n);
      assert.ok(Math.abs(m[block] / want - 1) < 0.06, `n = ${n}, ${block}: measured sd ${m[block]}, stated ${want}`);
    }
  }
  // a configured block overrides its default; a zero scale gives the truth itself
  const rng = new Rng(15006);
  const zero = { scale: 0, shrinkExponent: 0 };
  const { model } = demysNearTrueStart({ type: 'demysNearTrue', truth, gate: zero, experts: zero, variance: zero }, 2, 1000, { type: 'softmax' }, rng);
  assert.deepEqual(model.experts, truth.experts);
});

test('demysNearTrue through fitMoE: restarts are independent starts, deterministic by seed; non-softmax gates are refused', () => {
  const truth: Model = { ...demys(), input: { type: 'grid', low: 0, high: 1, dim: 1 } };
  const data = sample(truth, 2000, new Rng(15007));
  const opts = { k: 3, gate: { type: 'softmax' as const }, stop: 'relative' as const, tol: 1e-6, accelerate: 'none' as const, maxIterations: 50 };
  const start = { type: 'demysNearTrue' as const, truth, seed: 3, restarts: 3 };
  const a = fitMoE(data, opts, start);
  const b = fitMoE(data, opts, start);
  assert.deepEqual(a.model, b.model);
  assert.equal(a.fit.restarts?.length, 3);
  assert.match(a.fit.start, /^demysNearTrue\(last on reference; .*\(start \d of 3\)$/);
  assert.throws(
    () => fitMoE(data, { ...opts, gate: { type: 'temperature', tau: 1 } as never }, start),
    (e: unknown) => e instanceof ConfigError && /demysNearTrue.*softmax/.test(e.message),
  );
});

test("the relative stopping rule stops at the first iteration with |L_t - L_(t-1)| <= tol |L_(t-1)|; relativeLag returns one EM map further", () => {
  const truth: Model = { ...demys(), input: { type: 'grid', low: 0, high: 1, dim: 1 } };
  const data = sample(truth, 20000, new Rng(15008));
  const start = { type: 'demysNearTrue' as const, truth, seed: 11, varianceStart: 'standardDeviation' as const };
  for (const tol of [1e-4, 1e-6, 1e-8]) {
    const opts = { k: 3, gate: { type: 'softmax' as const }, stop: 'relative' as const, tol, accelerate: 'none' as const, maxIterations: 5000, trace: true };
    const r = fitMoE(data, opts, start);
    assert.equal(r.fit.stopReason, 'converged');
    const L = r.fit.trace!;
    // the trace holds L at the start and after each EM map
    assert.equal(L.length, r.fit.iterations + 1);
    const met = (t: number) => Math.abs(L[t]! - L[t - 1]!) <= tol * Math.abs(L[t - 1]!);
    for (let t = 1; t < L.length - 1; t++) assert.ok(!met(t), `tol ${tol}: the rule already held at iteration ${t}`);
    assert.ok(met(L.length - 1));
    assert.equal(r.fit.loglik, L[L.length - 1]);
    // relativeLag: the same stop, then one more EM map (the authors' loop)
    const lag = fitMoE(data, { ...opts, relativeLag: true }, start);
    assert.equal(lag.fit.iterations, r.fit.iterations + 1);
    assert.equal(lag.fit.stopReason, 'converged');
    const oneMore = fitMoE(data, { ...opts, stop: 'relative', tol: 0, maxIterations: 1 }, { type: 'given', model: r.model });
    assert.equal(oneMore.fit.iterations, 1);
    // the same EM map from the same float64 point: bit-identical up to the given start's re-packing (the
    // reference expert's gate is 0 already, so nothing is shifted); 1e-12 relative allows for reordered sums
    const flat = (m: Model) => m.experts.flatMap((e) => [e.beta0, ...e.beta1!, ...e.a, e.b, e.nu]);
    flat(lag.model).forEach((v, i) => assert.ok(Math.abs(v - flat(oneMore.model)[i]!) <= 1e-12 * Math.max(1, Math.abs(v)), `parameter ${i}: ${v} vs ${flat(oneMore.model)[i]}`));
    assert.ok(Math.abs(lag.fit.loglik - oneMore.fit.loglik) <= 1e-9 * Math.abs(lag.fit.loglik));
    assert.ok(lag.fit.loglik >= r.fit.loglik - 1e-10 * Math.abs(r.fit.loglik), 'EM does not decrease L');
  }
});

test('relativeLag is refused outside EM under the relative rule', () => {
  const truth = demys();
  const data = sample(truth, 200, new Rng(15009));
  const start = { type: 'nearTruth' as const, truth, noise: 0.1, seed: 1 };
  for (const opts of [
    { k: 2, gate: { type: 'softmax' as const }, relativeLag: true },
    { k: 2, gate: { type: 'softmax' as const }, stop: 'relative' as const, method: 'mle' as const, relativeLag: true },
    { k: 2, gate: { type: 'softmax' as const }, stop: 'relative' as const, relativeLag: 'yes' as never },
  ]) {
    assert.throws(() => fitMoE(data, opts, start), (e: unknown) => e instanceof ConfigError && /^relativeLag: /.test(e.message));
  }
});

/**
 * A config (demys-authors-over3 with its own 2-expert truth) where the Euclidean and the block
 * metric put one fitted atom in different cells: the atom (beta1, a, b) = (0, 1, 0) is (1, 1, 0)
 * from true atom A = (-1, 0, 0) (Euclidean 1.41, blocks 2) and (0, 0, 1.5) from B = (0, 1, 1.5)
 * (Euclidean 1.5, blocks 1.5).
 */
function metricSetup(metric: 'euclidean' | 'blocks' | undefined) {
  const c = raw('demys-authors-over3');
  c.truth.experts = [
    { beta0: 0, beta1: [-1], a: [0], b: 0, nu: 1 },
    { beta0: 0, beta1: [0], a: [1], b: 1.5, nu: 1 },
  ];
  if (metric === undefined) delete c.loss;
  else c.loss = { metric };
  const config = parseExperimentConfig(c, 'metric-test');
  const task = { key: 'test', n: 300, replicate: 0, seed: 9 };
  const data = sample(config.truth, task.n, new Rng(task.seed));
  const result = fitMoE(data, { ...config.fit, maxIterations: 3 }, taskStart(config, task));
  const fitModel: Model = {
    ...config.truth,
    experts: [config.truth.experts[0]!, { beta0: -1, beta1: [0], a: [1], b: 0, nu: 1 }, config.truth.experts[1]!],
  };
  return { config, task, result: { ...result, model: fitModel }, fitModel };
}

test('loss.metric from a config reaches the loss: "blocks" cells and values in the rows, the Euclidean default unchanged', () => {
  const blocks = metricSetup('blocks');
  const row = taskRow(blocks.config, 'quick', blocks.task, blocks.result, 'cpu');
  assert.equal(row.status, 'ok', row.error);
  const want = voronoiLoss(blocks.fitModel, blocks.config.truth, { metric: 'blocks' });
  const euclid = voronoiLoss(blocks.fitModel, blocks.config.truth, { metric: 'euclidean' });
  assert.deepEqual(want.cells, [[0], [1, 2]]);
  assert.deepEqual(euclid.cells, [[0, 1], [2]]);
  assert.deepEqual(row.cells, want.cells);
  assert.equal(row.quantities!['D2.raw'], want.raw);
  assert.equal(row.quantities!.D2, want.aligned);
  for (const metric of ['euclidean', undefined] as const) {
    const s = metricSetup(metric);
    const r = taskRow(s.config, 'quick', s.task, s.result, 'cpu');
    assert.deepEqual(r.cells, euclid.cells);
    assert.equal(r.quantities!['D2.raw'], euclid.raw);
  }
});

test('an authors-recipe task runs end to end: raw block-metric D2 of about 1 when the reference expert is split', () => {
  const config = parseExperimentConfig(raw('demys-authors-over3'), 'demys-authors-over3');
  // seed 15012: a task whose best start splits the reference expert (seeds 15010-15019 split it in 6 of 10)
  const row = runTask(config, 'quick', { key: 'x', n: 20000, replicate: 0, seed: 15012 });
  assert.equal(row.status, 'ok', row.error);
  assert.equal(row.stopReason, 'converged');
  assert.ok(row.iterations! <= 10, `their rule stops a few maps from the start: ${row.iterations}`);
  assert.match(row.start!, /^demysNearTrue\(last on reference; .*quirk: true sd as starting variance.*\(start \d of 5\)$/);
  // the split cell: 2 fitted atoms on the reference expert, both with beta0 about 0: the raw mass
  // term is |1 + 1 - 1| = 1 (the parameter terms add a few 0.01: tolerance 0.1); the aligned loss
  // normalises the masses and is small
  assert.deepEqual(row.cells!.map((c) => c.length), [1, 2]);
  assert.ok(Math.abs(row.quantities!['D2.raw']! - 1) < 0.1, `D2.raw ${row.quantities!['D2.raw']}`);
  assert.ok(row.quantities!.D2! < 0.1, `D2 ${row.quantities!.D2}`);
});

const base = () => raw('demys-authors-over3');
const refused = (c: unknown, field: string) =>
  assert.throws(
    () => parseExperimentConfig(c, 'config'),
    (e: unknown) => e instanceof ConfigError && e.message.startsWith(`config: ${field}: `) && !e.message.includes('\n'),
    field,
  );

test('config boundary (fast-check): block noise scales in [0, 100] and exponents in [0, 10] are accepted as given; anything else is a ConfigError naming the field', () => {
  const block = fc.constantFrom('gate', 'experts', 'variance');
  fc.assert(
    fc.property(block, fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true }), (b, scale, shrinkExponent) => {
      const c = base();
      c.start[b] = { scale, shrinkExponent };
      const parsed = parseExperimentConfig(c, 'config');
      assert.deepEqual((parsed.start as Record<string, unknown>)[b], { scale, shrinkExponent });
    }),
    { seed: 15011, numRuns: 200 },
  );
  const badNumber = fc.oneof(
    fc.double({ min: 100.0000001, max: 1e300, noNaN: true }),
    fc.double({ max: -1e-300, noNaN: true }),
    fc.constantFrom(Number.NaN, Infinity, -Infinity, null, '0.005', true, [0.005]),
  );
  fc.assert(
    fc.property(block, fc.constantFrom('scale', 'shrinkExponent'), badNumber, (b, key, v) => {
      const c = base();
      c.start[b] = { scale: 0.005, shrinkExponent: 0.083, [key]: v };
      refused(c, `start.${b}.${key}`);
    }),
    { seed: 15012, numRuns: 200 },
  );
  fc.assert(
    fc.property(block, fc.string().filter((k) => k !== 'scale' && k !== 'shrinkExponent' && k !== '__proto__'), (b, key) => {
      const c = base();
      c.start[b] = { scale: 0.005, shrinkExponent: 0.083, [key]: 1 };
      refused(c, `start.${b}.${key}`);
    }),
    { seed: 15013, numRuns: 100 },
  );
});

test('config boundary (fast-check): varianceStart, loss.metric and fit.relativeLag accept their documented values only', () => {
  const other = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
  fc.assert(
    fc.property(other, (v) => {
      if (v === 'variance' || v === 'standardDeviation') return;
      const c = base();
      c.start.varianceStart = v;
      refused(c, 'start.varianceStart');
    }),
    { seed: 15014, numRuns: 100 },
  );
  fc.assert(
    fc.property(other, (v) => {
      if (v === 'euclidean' || v === 'blocks') return;
      const c = base();
      c.loss = { metric: v };
      refused(c, 'loss.metric');
    }),
    { seed: 15015, numRuns: 100 },
  );
  fc.assert(
    fc.property(other, (v) => {
      if (typeof v === 'boolean') return;
      const c = base();
      c.fit.relativeLag = v;
      refused(c, 'fit.relativeLag');
    }),
    { seed: 15016, numRuns: 100 },
  );
  for (const metric of ['euclidean', 'blocks']) assert.equal(parseExperimentConfig({ ...base(), loss: { metric } }, 'config').loss?.metric, metric);
  for (const v of ['variance', 'standardDeviation']) {
    const c = base();
    c.start.varianceStart = v;
    assert.equal((parseExperimentConfig(c, 'config').start as { varianceStart?: string }).varianceStart, v);
  }
});

test('config boundary: the demysNearTrue start needs softmax gates; relativeLag needs the relative rule; unknown start fields are refused', () => {
  const temp = base();
  temp.fit.gate = { type: 'temperature', tau: 1 };
  temp.truth.gate = { type: 'temperature', tau: 1 };
  refused(temp, 'start.type');
  const score = base();
  score.fit = { k: 3, gate: { type: 'softmax' }, relativeLag: true };
  refused(score, 'fit.relativeLag');
  const extra = base();
  extra.start.noise = 0.1;
  assert.throws(() => parseExperimentConfig(extra, 'config'), (e: unknown) => e instanceof ConfigError && /^config: start\.noise: unknown field; allowed here: type, gate, experts, variance, varianceStart, restarts$/.test(e.message));
  const none = base();
  delete none.start.gate;
  delete none.start.experts;
  delete none.start.variance;
  delete none.start.varianceStart;
  const parsed = parseExperimentConfig(none, 'config');
  assert.deepEqual(parsed.start, { type: 'demysNearTrue', restarts: 5 });
});

test('existing experiments parse as before: no loss.metric, no new start fields', () => {
  for (const name of ['demys-exact', 'demys-exact-grid', 'demys-over3', 'demys-over4', 'temp-free']) {
    const c = parseExperimentConfig(raw(name), name);
    assert.equal(c.loss?.metric, undefined);
    assert.notEqual(c.start.type, 'demysNearTrue');
    assert.equal(c.fit.relativeLag, undefined);
  }
});
