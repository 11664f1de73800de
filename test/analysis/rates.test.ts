import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, median } from 'simple-statistics';
import { analyseRates, loglogFit, referenceSlope, type RateRow } from '../../src/analysis/index.js';
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
