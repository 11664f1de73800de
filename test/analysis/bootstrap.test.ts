import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median } from 'simple-statistics';
import { bootstrapSeries, digitsPerDraw, type SeriesPoint } from '../../src/analysis/bootstrap.js';
import { fnv1a32 } from '../../src/analysis/index.js';
import { Rng } from '../../src/rng/rng.js';
import { olsSlope } from './fixtures.js';

test('fnv1a32(s) matches the FNV-1a reference vectors over UTF-8 bytes', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  assert.equal(fnv1a32('β'), 95063385); // Python: FNV-1a of 'β'.encode() (2 bytes)
});

test('digitsPerDraw(c) takes the most base-c digits per accepted 32-bit word', () => {
  assert.equal(digitsPerDraw(1), 0);
  assert.equal(digitsPerDraw(2), 32);
  assert.equal(digitsPerDraw(40), 6); // 40^6 = 4.096e9 < 2^32: 6 * 0.954 > 5 * 0.978
  assert.equal(digitsPerDraw(65536), 2);
  assert.equal(digitsPerDraw(70000), 1);
});

/**
 * The documented algorithm, written plainly: per (n, count) its own stream, rng.integer(c^k) per k draws
 * (low base-c digit first), the resample's mean and median by simple-statistics, the slope by the
 * textbook OLS formula.
 */
function naive(points: SeriesPoint[], resamples: number, seed: number) {
  const stats = points.map((p) => {
    const c = p.values.length;
    const rng = new Rng(seed).derive(fnv1a32(String(p.n)), c);
    const k = digitsPerDraw(c);
    const out: { mean: number; median: number }[] = [];
    for (let r = 0; r < resamples; r++) {
      const draw: number[] = [];
      while (c > 1 && draw.length < c) {
        let u = rng.integer(c ** k);
        for (let j = 0; j < k && draw.length < c; j++) {
          draw.push(p.values[u % c]!);
          u = Math.floor(u / c);
        }
      }
      if (c === 1) draw.push(p.values[0]!);
      out.push({ mean: draw.reduce((a, b) => a + b, 0) / c, median: median(draw) });
    }
    return out;
  });
  const x = points.map((p) => Math.log(p.n));
  const slopes = (s: 'mean' | 'median') =>
    Array.from({ length: resamples }, (_, r) => olsSlope(x, stats.map((st) => Math.log(st[r]![s]))));
  return { mean: slopes('mean'), median: slopes('median') };
}

const series: SeriesPoint[] = [
  { n: 100, values: [0.3, 0.1, 0.25, 0.2, 0.22, 0.5, 0.15] },
  { n: 400, values: [0.11, 0.09, 0.1, 0.12, 0.08, 0.1] },
  { n: 1600, values: [0.05] },
  { n: 6400, values: Array.from({ length: 40 }, (_, i) => 0.02 + 0.001 * ((i * 17) % 40)) },
];

test('bootstrapSeries(series, resamples, seed) equals the plain resample-refit algorithm to 1e-12 (mean and median)', () => {
  const [fast] = bootstrapSeries([series], 300, 11);
  const slow = naive(series, 300, 11);
  for (const s of ['mean', 'median'] as const) {
    const f = Array.from(fast![s]);
    assert.equal(f.length, 300);
    f.forEach((v, r) => assert.ok(Math.abs(v - slow[s][r]!) < 1e-12, `${s} resample ${r}: ${v} vs ${slow[s][r]}`));
    assert.ok(new Set(f).size > 100, `${s}: resamples differ`);
  }
});

test('bootstrapSeries(series) gives a series the same slopes alone or beside others, in any order', () => {
  const other: SeriesPoint[] = series.map((p) => ({ ...p, values: p.values.map((v) => v * 1.5 + 0.01) }));
  const [alone] = bootstrapSeries([series], 50, 3);
  const [, beside] = bootstrapSeries([other, [...series].reverse()], 50, 3);
  assert.deepEqual(beside, alone);
  // the same replicates: the same draws, so a scaled copy has the same slopes up to rounding
  const [scaled] = bootstrapSeries([series.map((p) => ({ ...p, values: p.values.map((v) => 7 * v) }))], 50, 3);
  Array.from(scaled!.median).forEach((v, r) => assert.ok(Math.abs(v - alone!.median[r]!) < 1e-12));
});
