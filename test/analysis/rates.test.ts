import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, median } from 'simple-statistics';
import {
  analyseRates,
  ladderReferences,
  LADDER_SEPARATION,
  loglogFit,
  MAX_CI_WIDTH,
  POWER_FACTOR,
  powerDiagnostic,
  RATE_LADDER,
  rateVerdict,
  referenceSlope,
  type RateRow,
} from '../../src/analysis/index.js';
import { ConfigError, DataError } from '../../src/errors.js';
import type { SweepRow } from '../../src/sweeps/types.js';
import { allFinite, config, frozen, linspace, powerRows, row } from './fixtures.js';

const NS = linspace(1000, 100000, 20);
const find = (rows: RateRow[], quantity: string, statistic: 'mean' | 'median') => {
  const r = rows.find((x) => x.quantity === quantity && x.statistic === statistic);
  assert.ok(r, `no row ${quantity} ${statistic}`);
  return r;
};
/** Slope of ln(stat of the given values per n) on ln n, computed here. */
const manualSlope = (byN: Map<number, number[]>, stat: (v: number[]) => number) => {
  const ns = [...byN.keys()].sort((a, b) => a - b);
  return loglogFit(ns, ns.map((n) => stat(byN.get(n)!))).slope;
};

test("analyseRates(rows, config, 'full') on C n^-0.5 x lognormal noise: CI contains -0.5, verdict 'consistent'", () => {
  const rows = frozen(powerRows({ ns: NS, replicates: 40, exponent: -0.5, seed: 7 }));
  const out = analyseRates(rows, frozen(config({ D1: { slope: -0.5, source: '[DEMYS] Thm 1' } })), 'full');
  assert.equal(out.length, 2);
  for (const statistic of ['mean', 'median'] as const) {
    const r = find(out, 'D1', statistic);
    assert.ok(r.ciLow! <= -0.5 && -0.5 <= r.ciHigh!, `${statistic} CI [${r.ciLow}, ${r.ciHigh}]`);
    assert.ok(r.ciLow! < r.slope! && r.slope! < r.ciHigh!);
    assert.ok(r.ciHigh! - r.ciLow! < 0.1, 'CI is informative');
    assert.equal(r.verdict, 'consistent');
    assert.equal(r.predicted, -0.5);
    assert.equal(r.predictedLogCorrected, referenceSlope({ slope: -0.5 }, NS));
    assert.equal(r.source, '[DEMYS] Thm 1');
    assert.deepEqual([r.nFits, r.nFailed, r.nNotConverged, r.nMissing, r.nPoints], [800, 0, 0, 0, 20]);
    assert.deepEqual([r.level, r.resamples, r.seed, r.variant, r.experiment], [0.95, 2000, 1, 'full', 'synthetic']);
  }
});

test("analyseRates(rows, config) on C n^-0.25 against -0.5 is 'slower than predicted'; C n^-1 is 'faster than predicted'", () => {
  const slow = analyseRates(powerRows({ ns: NS, replicates: 40, exponent: -0.25, seed: 8 }), config({ D1: { slope: -0.5 } }), 'full');
  const fast = analyseRates(powerRows({ ns: NS, replicates: 40, exponent: -1, seed: 9 }), config({ D1: { slope: -0.5 } }), 'full');
  for (const statistic of ['mean', 'median'] as const) {
    const s = find(slow, 'D1', statistic);
    assert.equal(s.verdict, 'slower than predicted');
    assert.ok(s.ciLow! <= -0.25 && -0.25 <= s.ciHigh!, `slow CI [${s.ciLow}, ${s.ciHigh}]`);
    assert.equal(find(fast, 'D1', statistic).verdict, 'faster than predicted');
  }
});

test('analyseRates(rows, config) counts the log-corrected reference as consistent: a slope of -0.452 on [1e4, 1e5] against -1/2', () => {
  // error exactly (ln n / n)^(1/2) with tiny noise: the CI is near -0.452, outside a small band
  // around -0.5 but inside [-0.5, reference]
  const ns = linspace(1e4, 1e5, 30);
  const rows = powerRows({ ns, replicates: 10, exponent: 0, sigma: 0.001, seed: 3 }).map((r) => ({
    ...r,
    quantities: { D1: r.quantities!.D1! * Math.sqrt(Math.log(r.n) / r.n) },
  }));
  const r = find(analyseRates(rows, config({ D1: { slope: -0.5 } }), 'full'), 'D1', 'mean');
  assert.ok(r.ciLow! > -0.46 && r.ciHigh! < -0.445, `CI [${r.ciLow}, ${r.ciHigh}]`);
  assert.equal(r.verdict, 'consistent');
  const none = find(analyseRates(rows, config({ D1: { slope: -0.5, kind: 'none' } }), 'full'), 'D1', 'mean');
  assert.equal(none.predictedLogCorrected, -0.5);
  assert.equal(none.verdict, 'slower than predicted');
});

test('analyseRates(rows, config, variant, {seed}) is deterministic, independent of row order, and changes with the seed', () => {
  const rows = powerRows({ ns: NS, replicates: 10, exponent: -0.5, seed: 1 });
  const cfg = config({ D1: { slope: -0.5 } });
  const a = analyseRates(rows, cfg, 'full', { resamples: 500 });
  const b = analyseRates(rows, cfg, 'full', { resamples: 500 });
  assert.deepEqual(a, b);
  assert.deepEqual(analyseRates([...rows].reverse(), cfg, 'full', { resamples: 500 }), a);
  const c = analyseRates(rows, cfg, 'full', { resamples: 500, seed: 2 });
  assert.notEqual(c[0]!.ciLow, a[0]!.ciLow);
  assert.equal(c[0]!.slope, a[0]!.slope);
  assert.equal(c[0]!.seed, 2);
  // the default seed is config.seed
  assert.deepEqual(analyseRates(rows, config({ D1: { slope: -0.5 } }, undefined, 2), 'full', { resamples: 500 }), c);
});

test('analyseRates(rows, config) counts failed and non-converged fits; non-converged ok rows stay in the statistics', () => {
  const rows: SweepRow[] = powerRows({ ns: [100, 1000, 10000], replicates: 6, exponent: -0.5, seed: 4 });
  // replicate 0 at n = 1000 did not converge (kept), replicate 1 at n = 1000 failed (no values)
  const rows2 = rows.map((r) =>
    r.n === 1000 && r.replicate === 0
      ? { ...r, stopReason: 'maxIterations', converged: false, quantities: { D1: 5 } }
      : r.n === 1000 && r.replicate === 1
        ? { ...r, status: 'failed' as const, error: 'numerical failure', stopReason: 'numericalFailure', quantities: undefined }
        : r,
  );
  rows2.push({ ...row(10000, 6, {}), status: 'failed', error: 'boom', stopReason: undefined, quantities: undefined });
  const out = analyseRates(frozen(rows2), config({ D1: { slope: -0.5 } }), 'full', { resamples: 200 });
  const r = find(out, 'D1', 'mean');
  assert.deepEqual([r.nFits, r.nFailed, r.nNotConverged, r.nMissing, r.nPoints], [17, 3, 1, 0, 3]);
  // the same counts per n: not converged at 1000, failed at 1000 and 10000; the sums are the totals
  assert.deepEqual(r.perN, [
    { n: 100, nFits: 6, nFailed: 0, nNotConverged: 0, nMissing: 0, count: 6 },
    { n: 1000, nFits: 5, nFailed: 2, nNotConverged: 1, nMissing: 0, count: 5 },
    { n: 10000, nFits: 6, nFailed: 1, nNotConverged: 0, nMissing: 0, count: 6 },
  ]);
  assert.deepEqual(find(out, 'D1', 'median').perN, r.perN);
  const byN = new Map<number, number[]>();
  for (const x of rows2) if (x.status === 'ok') byN.set(x.n, [...(byN.get(x.n) ?? []), x.quantities!.D1!]);
  assert.equal(byN.get(1000)!.length, 5);
  assert.ok(byN.get(1000)!.includes(5));
  assert.equal(r.slope, manualSlope(byN, mean));
  assert.equal(find(out, 'D1', 'median').slope, manualSlope(byN, median));
});

test('analyseRates(rows, config) counts null, NaN, infinite and absent values as missing and never averages them', () => {
  const base = powerRows({ ns: [100, 1000, 10000], replicates: 5, exponent: -0.5, seed: 5 });
  const holes: (number | null | undefined)[] = [null, NaN, Infinity, undefined];
  const rows = base.map((r, i) => {
    if (r.n !== 1000 || r.replicate >= holes.length) return r;
    const h = holes[r.replicate];
    return { ...r, quantities: h === undefined ? { other: 1 } : { D1: h } };
  });
  const r = find(analyseRates(rows, config({ D1: { slope: -0.5 } }), 'full', { resamples: 100 }), 'D1', 'mean');
  assert.equal(r.nMissing, 4);
  assert.equal(r.nFits, 15);
  assert.equal(r.nFailed, 0);
  const byN = new Map<number, number[]>();
  for (const x of rows) {
    const v = x.quantities!.D1;
    if (typeof v === 'number' && Number.isFinite(v)) byN.set(x.n, [...(byN.get(x.n) ?? []), v]);
  }
  assert.equal(byN.get(1000)!.length, 1);
  assert.equal(r.slope, manualSlope(byN, mean));
  assert.ok(allFinite(r));
});

test('analyseRates(rows, config) fits only the n inside fitRange (bounds included) and counts only those rows', () => {
  const inside = powerRows({ ns: [1000, 3000, 10000], replicates: 4, exponent: -0.5, seed: 6 });
  const outside = [row(999, 0, { D1: 1e6 }), row(10001, 0, { D1: 1e-9 }, { status: 'failed' }), row(50, 0, { D1: 7 })];
  const cfg = config({ D1: { slope: -0.5 } }, [1000, 10000]);
  const all = analyseRates([...inside, ...outside], cfg, 'full', { resamples: 300 });
  const only = analyseRates(inside, cfg, 'full', { resamples: 300 });
  assert.deepEqual(all, only);
  const r = find(all, 'D1', 'mean');
  assert.deepEqual([r.nPoints, r.nFits, r.nFailed, r.fitRange], [3, 12, 0, [1000, 10000]]);
  // the reference is over the sweep's n in range
  assert.equal(r.predictedLogCorrected, referenceSlope({ slope: -0.5 }, [1000, 3000, 10000]));
  // a variant's own fit range is used
  const quickRange = { ...cfg, variants: { ...cfg.variants, full: { ...cfg.variants.full, fitRange: [50, 10000] as [number, number] } } };
  assert.equal(find(analyseRates([...inside, ...outside], quickRange, 'full', { resamples: 10 }), 'D1', 'mean').nPoints, 5);
});

test("analyseRates(rows, config) with a quantity at a single n gives 'insufficient data' and null numbers, no NaN anywhere", () => {
  const rows = [
    ...powerRows({ ns: [100, 1000], replicates: 3, exponent: -0.5, seed: 2 }),
    row(100, 9, { tau: 0.3 }),
    row(100, 10, { tau: 0.2 }),
  ];
  const out = analyseRates(rows, config({ tau: { slope: 0, kind: 'none', note: 'slower than any power' }, absent: { slope: -0.5 } }), 'full', { resamples: 50 });
  assert.deepEqual(
    out.map((r) => [r.quantity, r.statistic, r.verdict]),
    [
      ['tau', 'mean', 'insufficient data'],
      ['tau', 'median', 'insufficient data'],
      ['absent', 'mean', 'insufficient data'],
      ['absent', 'median', 'insufficient data'],
      ['D1', 'mean', 'no prediction'],
      ['D1', 'median', 'no prediction'],
    ],
  );
  const tau = find(out, 'tau', 'mean');
  assert.deepEqual([tau.slope, tau.intercept, tau.ciLow, tau.ciHigh, tau.nPoints, tau.predicted, tau.predictedLogCorrected], [null, null, null, null, 1, 0, 0]);
  assert.equal(tau.note, 'slower than any power; values at 1 distinct n in the fit range; a slope needs 2');
  assert.equal(find(out, 'absent', 'mean').note, 'not recorded in any row');
  assert.equal(find(out, 'absent', 'mean').nMissing, 8);
  const d1 = find(out, 'D1', 'median');
  assert.equal(d1.predicted, null);
  assert.equal(typeof d1.slope, 'number');
  assert.ok(allFinite(out));
  assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
});

test('analyseRates(rows, config) leaves the slope null with a note when a per-n median is 0, and the CI null when a resample is', () => {
  const rows = [
    row(100, 0, { E: 0 }), row(100, 1, { E: 0 }), row(100, 2, { E: 1 }),
    row(1000, 0, { E: 0.5 }), row(1000, 1, { E: 0.4 }), row(1000, 2, { E: 0.3 }),
  ];
  const out = analyseRates(rows, config({ E: { slope: -0.5 } }), 'full', { resamples: 100 });
  const med = find(out, 'E', 'median');
  assert.deepEqual([med.slope, med.ciLow, med.verdict], [null, null, 'insufficient data']);
  assert.match(med.note!, /median <= 0 at n = 100; log-log slope undefined/);
  const mn = find(out, 'E', 'mean');
  assert.equal(typeof mn.slope, 'number'); // mean 1/3 > 0 at n = 100
  assert.equal(mn.ciLow, null); // some resample draws three zeros
  assert.match(mn.note!, /of 100 bootstrap resamples have a mean <= 0 at some n; CI undefined/);
  assert.ok(allFinite(out));
  // a quantity that is 0 by construction (e.g. a fixed reference parameter)
  const zeros = analyseRates([row(100, 0, { Z: 0 }), row(1000, 0, { Z: 0 })], config({}), 'full', { resamples: 10 });
  assert.deepEqual(zeros.map((r) => [r.slope, r.verdict, r.note]), [
    [null, 'no prediction', 'every value in the fit range is 0: no rate to measure'],
    [null, 'no prediction', 'every value in the fit range is 0: no rate to measure'],
  ]);
});

test('analyseRates(rows, config, variant, options) rejects bad options, fit ranges, predictions and foreign rows', () => {
  const rows = powerRows({ ns: [100, 1000], replicates: 2, exponent: -0.5, seed: 1 });
  const cfg = config({ D1: { slope: -0.5 } });
  const err = (cls: typeof ConfigError | typeof DataError, re: RegExp) => (e: unknown) => e instanceof cls && re.test(e.message);
  assert.throws(() => analyseRates(rows, cfg, 'full', { resample: 10 } as never), err(ConfigError, /options\.resample: unknown option .*allowed: resamples, seed, level/));
  assert.throws(() => analyseRates(rows, cfg, 'full', { level: 1 }), err(ConfigError, /options\.level: not a CI level \(got 1\); must be in \(0, 1\)/));
  assert.throws(() => analyseRates(rows, cfg, 'full', { resamples: 0 }), err(ConfigError, /options\.resamples: not a count \(got 0\)/));
  assert.throws(() => analyseRates(rows, cfg, 'full', { seed: -1 }), err(ConfigError, /options\.seed/));
  assert.throws(() => analyseRates(rows, cfg, 'medium' as never), err(ConfigError, /variant: unknown \(got "medium"\)/));
  assert.throws(() => analyseRates(rows, config({ D1: { slope: -0.5 } }, [1000, 100]), 'full'), err(ConfigError, /fitRange: not a range \(got \[1000,100\]\)/));
  assert.throws(() => analyseRates(rows, config({ D1: { slope: 0.5 } }), 'full'), err(ConfigError, /predictions\["D1"\]\.slope: positive for kind 'power'/));
  assert.throws(
    () => analyseRates(rows, cfg, 'quick'),
    err(DataError, /rows\[0\] \(key "n100-r0"\): from another sweep \(got experiment "synthetic", variant "full"\); pass only the rows of experiment "synthetic", variant "quick"/),
  );
});

test("analyseRates(rows, config) on an exact power law (the TSDoc example) gives a point CI and 'consistent'", () => {
  const rows = [100, 1000, 10000].flatMap((n) => [0, 1, 2].map((r) => row(n, r, { D1: 2 * n ** -0.5 })));
  const [r] = analyseRates(rows, config({ D1: { slope: -0.5 } }), 'full');
  assert.ok(Math.abs(r!.slope! - -0.5) < 1e-15 && Math.abs(r!.ciLow! - -0.5) < 1e-15 && Math.abs(r!.ciHigh! - -0.5) < 1e-15);
  assert.ok(Math.abs(r!.intercept! - Math.log(2)) < 1e-14);
  assert.ok(Math.abs(r!.predictedLogCorrected! - -0.42474250108400485) < 1e-12); // numpy.polyfit
  assert.equal(r!.verdict, 'consistent'); // the CI sits 4e-16 below -0.5: rounding, not a verdict
});

// ---- verdicts that can say "cannot tell" (rates.md step 4, revised) ----

const PLAIN = RATE_LADDER.map((e) => ({ slope: e, logCorrected: e }));

test('RATE_LADDER is {-1/2, -1/4, -1/6, -1/8, -1/12, 0}; the separation is 0.05, the widest CI 0.5, the power factor 56', () => {
  assert.deepEqual(RATE_LADDER, [-1 / 2, -1 / 4, -1 / 6, -1 / 8, -1 / 12, 0]);
  assert.equal(LADDER_SEPARATION, 0.05);
  assert.equal(MAX_CI_WIDTH, 0.5);
  // (z_0.975 + z_0.8)^2 / (3/8)^2 = 55.8: the factor of "R Sxx >= 56 CV^2"
  const need = (1.959963984540054 + 0.8416212335729143) ** 2 / (3 / 8) ** 2;
  assert.ok(Math.abs(need - 55.81) < 0.01, String(need));
  assert.equal(POWER_FACTOR, Math.ceil(need));
});

test("rateVerdict(ciLow, ciHigh, predicted): the issue's worked examples", () => {
  // [-0.55, -0.45] against -1/2: holds -1/2, excludes -1/4 and every other exponent
  assert.deepEqual(rateVerdict(-0.55, -0.45, -0.5), { verdict: 'consistent', alsoMeets: [], wide: false });
  assert.deepEqual(rateVerdict(-0.55, -0.45, -0.5, -0.445, ladderReferences([100, 1000, 10000, 100000], [100, 100000])).verdict, 'consistent');
  // the D2 CI of demys-over3 against -1/2: it also holds -1/4, -1/6, -1/8, -1/12, and is 0.826 wide
  assert.deepEqual(rateVerdict(-0.836, -0.01, -0.5), { verdict: 'inconclusive', alsoMeets: [-1 / 4, -1 / 6, -1 / 8, -1 / 12], wide: true });
  // a slope-0 prediction ("does not converge") met by a CI entirely below 0: refuted, not "faster"
  assert.deepEqual(rateVerdict(-0.6, -0.4, 0), { verdict: 'refuted', alsoMeets: [], wide: false });
  // wider than 0.5 and holding the prediction, but no other ladder exponent: inconclusive on width alone
  assert.deepEqual(rateVerdict(-1.1, -0.45, -0.5), { verdict: 'inconclusive', alsoMeets: [], wide: true });
  assert.deepEqual(rateVerdict(-0.05, 0.5, 0), { verdict: 'inconclusive', alsoMeets: [], wide: true });
  assert.deepEqual(rateVerdict(-0.25, 0.2499, 0).verdict, 'inconclusive'); // meets -1/4 (and -1/6, ...), 0.4999 wide
  assert.deepEqual(rateVerdict(-0.04, 0.46, 0), { verdict: 'consistent', alsoMeets: [], wide: false }); // 0.5 wide exactly: not wider
});

test('rateVerdict: faster / slower than predicted are one-sided misses, whatever the width; refuted only for slope 0', () => {
  assert.equal(rateVerdict(-0.9, -0.6, -0.5).verdict, 'faster than predicted');
  assert.equal(rateVerdict(-1.9, -0.6, -0.5).verdict, 'faster than predicted'); // 1.3 wide, still a definite miss
  assert.equal(rateVerdict(-0.9, -0.6, -0.5).wide, false);
  assert.equal(rateVerdict(-0.3, -0.1, -0.5).verdict, 'slower than predicted'); // it meets -1/4: not a "cannot tell" of -1/2
  assert.equal(rateVerdict(-0.3, -0.1, -0.5, -0.445).verdict, 'slower than predicted');
  assert.equal(rateVerdict(-0.45, -0.1, -0.5, -0.445).verdict, 'inconclusive'); // meets the log-corrected reference, and -1/4
  assert.equal(rateVerdict(-0.44, -0.1, -0.5, -0.445).verdict, 'slower than predicted');
  assert.equal(rateVerdict(0.1, 0.3, 0).verdict, 'slower than predicted');
  assert.equal(rateVerdict(-0.3, -0.2, -0.125).verdict, 'faster than predicted');
  // rounding: a point CI 4e-16 off the prediction meets it
  assert.equal(rateVerdict(-0.5 - 4e-16, -0.5 - 4e-16, -0.5).verdict, 'consistent');
  assert.equal(rateVerdict(-1e-12, -1e-12, 0).verdict, 'consistent');
});

test('rateVerdict: only ladder exponents at least 0.05 from the prediction (interval) count as others', () => {
  // -1/8: -1/6 and -1/12 are 0.042 away, so a CI holding them is still consistent; -1/4 (0.125 away) is not
  assert.deepEqual(rateVerdict(-0.17, -0.08, -0.125, -0.125, PLAIN), { verdict: 'consistent', alsoMeets: [], wide: false });
  assert.deepEqual(rateVerdict(-0.26, -0.12, -0.125, -0.125, PLAIN), { verdict: 'inconclusive', alsoMeets: [-1 / 4], wide: false });
  assert.deepEqual(rateVerdict(-0.16, 0.01, -0.125, -0.125, PLAIN), { verdict: 'inconclusive', alsoMeets: [0], wide: false });
  // the boundary: exactly 0.05 away is "another exponent" (up to rounding), 0.04 is not
  assert.deepEqual(rateVerdict(-0.26, -0.17, -0.2).alsoMeets, [-1 / 4]);
  assert.deepEqual(rateVerdict(-0.31, -0.25, -0.3).alsoMeets, [-1 / 4]);
  assert.deepEqual(rateVerdict(-0.26, -0.17, -0.21), { verdict: 'consistent', alsoMeets: [], wide: false });
  // the distance is measured from the prediction's interval [pred, reference]: -1/6 is 0.083 from
  // -1/4 but 0.043 from [-0.25, -0.21], so it is no longer an alternative
  assert.deepEqual(rateVerdict(-0.26, -0.16, -0.25), { verdict: 'inconclusive', alsoMeets: [-1 / 6], wide: false });
  assert.deepEqual(rateVerdict(-0.26, -0.16, -0.25, -0.21), { verdict: 'consistent', alsoMeets: [], wide: false });
});

test("rateVerdict: another exponent stands for [e, its log-corrected reference], as the prediction does", () => {
  // against 0, a CI reaching -0.22 misses -1/4 itself but meets a reference of -0.2
  assert.equal(rateVerdict(-0.22, 0.05, 0, 0, [{ slope: -0.25, logCorrected: -0.25 }]).verdict, 'consistent');
  assert.deepEqual(rateVerdict(-0.22, 0.05, 0, 0, [{ slope: -0.25, logCorrected: -0.2 }]), { verdict: 'inconclusive', alsoMeets: [-0.25], wide: false });
  // ladderReferences: referenceSlope of each exponent over the grid, 0 stays 0
  const grid = [100, 1000, 10000];
  const ladder = ladderReferences([...grid, 50000], [100, 10000]);
  assert.deepEqual(ladder.map((e) => e.slope), [...RATE_LADDER]);
  for (const e of ladder) assert.equal(e.logCorrected, e.slope === 0 ? 0 : referenceSlope({ slope: e.slope }, grid));
  assert.ok(Math.abs(ladder[0]!.logCorrected - -0.42474250108400485) < 1e-12);
  // no reference without two n >= 2 in range: the plain values
  assert.deepEqual(ladderReferences([1, 100], [1, 100]), PLAIN);
});

test("analyseRates: a slope-0 prediction met by a power-law error is 'refuted', with the CI width and a note", () => {
  const rows = powerRows({ ns: [100, 1000, 10000], replicates: 10, exponent: -0.5, seed: 3 });
  const out = analyseRates(rows, config({ D1: { slope: 0, kind: 'none', note: 'does not converge' } }), 'full', { resamples: 300 });
  for (const r of out) {
    assert.equal(r.verdict, 'refuted');
    assert.ok(r.ciHigh! < 0);
    assert.equal(r.ciWidth, r.ciHigh! - r.ciLow!);
    assert.match(r.note!, /^does not converge; CI entirely below 0: the quantity converges at a power rate$/);
  }
});

test("analyseRates: a wide CI holding -1/2 and -1/4 is 'inconclusive', and the note names the exponents and the lack of power", () => {
  // 3 replicates at 3 n, CV ~ 0.8: R Sxx = 31.8 < 56 CV^2
  const rows = powerRows({ ns: [100, 1000, 10000], replicates: 3, exponent: -0.3, sigma: 1.2, seed: 11 });
  const out = analyseRates(rows, config({ D1: { slope: -0.5 } }), 'full', { resamples: 500 });
  const [mn, md] = [find(out, 'D1', 'mean'), find(out, 'D1', 'median')];
  for (const r of [mn, md]) {
    assert.equal(r.verdict, 'inconclusive');
    assert.ok(r.ciLow! < -0.5 && r.ciHigh! > -0.25, `CI [${r.ciLow}, ${r.ciHigh}]`);
    assert.ok(Math.abs(r.rSxx! - 3 * 2 * Math.log(10) ** 2) < 1e-9);
    assert.ok(r.rSxx! < POWER_FACTOR * r.cv! ** 2);
    assert.match(r.note!, /underpowered to tell -1\/8 from -1\/2: R Sxx = 31\.8 < 56 CV\^2 = \d+\.\d$/);
  }
  assert.match(md.note!, /^CI also meets -1\/4, -1\/6, -1\/8, -1\/12 of the ladder: cannot tell them apart; CI wider than 0\.5 \(0\.\d{3}\); underpowered/);
  assert.equal(md.ciWidth, md.ciHigh! - md.ciLow!);
  // a well-powered sweep of the same law is not flagged
  const big = find(analyseRates(powerRows({ ns: NS, replicates: 40, exponent: -0.5, seed: 7 }), config({ D1: { slope: -0.5 } }), 'full', { resamples: 300 }), 'D1', 'mean');
  assert.equal(big.verdict, 'consistent');
  assert.equal(big.note, undefined);
});

test('analyseRates: ciWidth is ciHigh - ciLow or null; rSxx and cv are those of powerDiagnostic over the fit', () => {
  const rows = powerRows({ ns: [100, 1000, 10000], replicates: 5, exponent: -0.5, seed: 5 });
  rows.push(row(100, 9, { tau: 1 }));
  const out = analyseRates(rows, config({ D1: { slope: -0.5 }, tau: { slope: 0, kind: 'none' } }), 'full', { resamples: 100 });
  const d1 = find(out, 'D1', 'mean');
  assert.equal(d1.ciWidth, d1.ciHigh! - d1.ciLow!);
  const byN = new Map<number, number[]>();
  for (const x of rows) if (typeof x.quantities!.D1 === 'number') byN.set(x.n, [...(byN.get(x.n) ?? []), x.quantities!.D1]);
  const p = powerDiagnostic([...byN].map(([n, values]) => ({ n, values })));
  assert.deepEqual([d1.rSxx, d1.cv], [p.rSxx, p.cv]);
  assert.deepEqual([find(out, 'D1', 'median').rSxx, find(out, 'D1', 'median').cv], [p.rSxx, p.cv]);
  const tau = find(out, 'tau', 'mean');
  assert.deepEqual([tau.ciWidth, tau.rSxx, tau.cv, tau.verdict], [null, 0, null, 'insufficient data']);
});

test('powerDiagnostic(points) on a hand-made example: R Sxx with unequal replicate counts, CV the median of sd/mean', () => {
  // n = 1 (ln 0) with [1, 3]; n = e^2 (ln 2) with [2, 2, 2, 6]: m = 8/6, R Sxx = 2 (4/3)^2 + 4 (2/3)^2 = 16/3
  // CV at n = 1: sd sqrt(2) / mean 2; at e^2: sd sqrt(12/3) = 2 / mean 3; median of two = their mean
  const p = powerDiagnostic([{ n: 1, values: [1, 3] }, { n: Math.E ** 2, values: [2, 2, 2, 6] }]);
  assert.ok(Math.abs(p.rSxx! - 16 / 3) < 1e-12, String(p.rSxx));
  assert.ok(Math.abs(p.cv! - (Math.SQRT2 / 2 + 2 / 3) / 2) < 1e-12, String(p.cv));
  // one value at an n: in R Sxx, not in CV; a mean of 0 has no CV; an n without values adds nothing
  const q = powerDiagnostic([{ n: 10, values: [5] }, { n: 100, values: [0, 0] }, { n: 1000, values: [] }, { n: 1000 ** 2, values: [1, 2, 3] }]);
  // ln n = L, 2L, -, 6L with L = ln 10: counts 1, 2, 3; m = (1 + 4 + 18) L / 6 = 23 L / 6
  const L = Math.log(10);
  const m = (23 * L) / 6;
  assert.ok(Math.abs(q.rSxx! - ((L - m) ** 2 + 2 * (2 * L - m) ** 2 + 3 * (6 * L - m) ** 2)) < 1e-9);
  assert.equal(q.cv, 1 / 2); // only n = 1e6: sd 1 / mean 2
  assert.deepEqual(powerDiagnostic([]), { rSxx: null, cv: null });
  assert.deepEqual(powerDiagnostic([{ n: 10, values: [1] }]), { rSxx: 0, cv: null });
  // three per-n CVs: the middle one
  assert.equal(powerDiagnostic([{ n: 1, values: [1, 3] }, { n: 2, values: [4, 4] }, { n: 3, values: [1, 1, 4] }]).cv, Math.SQRT2 / 2);
});

test('powerDiagnostic: CV / sqrt(R Sxx) is the bootstrap SE of the slope (lognormal noise, 20 n x 40 replicates)', () => {
  // sigma 0.5: the per-replicate CV is sqrt(e^0.25 - 1) = 0.533; the 95% CI is about 3.92 SE wide
  const out = analyseRates(powerRows({ ns: NS, replicates: 40, exponent: -0.5, seed: 7 }), config({ D1: { slope: -0.5 } }), 'full', { resamples: 1000 });
  const r = find(out, 'D1', 'mean');
  assert.ok(Math.abs(r.cv! - Math.sqrt(Math.exp(0.25) - 1)) < 0.05, String(r.cv));
  const se = r.cv! / Math.sqrt(r.rSxx!);
  const bootSe = r.ciWidth! / (2 * 1.959964);
  assert.ok(bootSe > 0.75 * se && bootSe < 1.33 * se, `bootstrap SE ${bootSe}, CV / sqrt(R Sxx) ${se}`);
});

test('analyseRates: more than 5% non-converged fits make a definite verdict inconclusive, saying why', () => {
  const rows = powerRows({ ns: [100, 1000, 10000, 100000], replicates: 25, exponent: -0.5, seed: 9, sigma: 0.2 });
  const mark = (count: number) => rows.map((r, i) => (i < count ? { ...r, stopReason: 'maxIterations', converged: false } : r));
  const verdictOf = (rs: SweepRow[]) => find(analyseRates(rs, config({ D1: { slope: -0.5 } }), 'full', { resamples: 300 }), 'D1', 'mean');
  const clean = verdictOf(rows);
  assert.equal(clean.verdict, 'consistent', clean.note);
  // 5 of 100 = 5%: still definite; 6 of 100: inconclusive (MAX_NOT_CONVERGED = 0.05)
  assert.equal(verdictOf(mark(5)).verdict, 'consistent');
  const many = verdictOf(mark(6));
  assert.equal(many.verdict, 'inconclusive');
  assert.match(many.note!, /6 of 100 fits not converged \(more than 5%\): the slope may be the stopping rule's; would read "consistent"/);
  // failed tasks count too: 3 not converged + 3 failed of 100 tasks is 6%, where the failed ones
  // alone would leave 3 of 97 fits (3.1%) and a definite verdict
  const failed = mark(3).map((r, i) => (i >= 3 && i < 6 ? { ...r, status: 'failed' as const, error: 'numerical', quantities: undefined } : r));
  const withFailed = verdictOf(failed);
  assert.equal(withFailed.verdict, 'inconclusive');
  assert.match(withFailed.note!, /6 of 100 fits not converged or failed \(3 failed\) \(more than 5%\)/);
});
