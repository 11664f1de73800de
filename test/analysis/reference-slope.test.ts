import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceSlope } from '../../src/analysis/index.js';
import { ConfigError } from '../../src/errors.js';
import { linspace, olsSlope } from './fixtures.js';

const integers = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
const geometric = (lo: number, hi: number, count: number) =>
  Array.from({ length: count }, (_, i) => lo * (hi / lo) ** (i / (count - 1)));
/** The slope of 0.5 * ln(ln n / n) on ln n, computed here by the textbook formula. */
const direct = (ns: number[]) => olsSlope(ns.map(Math.log), ns.map((n) => 0.5 * (Math.log(Math.log(n)) - Math.log(n))));

test('referenceSlope({slope: -1/2}, grid, [1e4, 1e5]) is -0.452 (rates.md) on a 200-point, an integer and a geometric grid', () => {
  for (const grid of [linspace(1e4, 1e5, 200), integers(1e4, 1e5), geometric(1e4, 1e5, 20001)]) {
    const r = referenceSlope({ slope: -0.5 }, grid, [1e4, 1e5]);
    assert.equal(r.toFixed(3), '-0.452');
    assert.ok(Math.abs(r - direct(grid)) < 1e-12);
  }
  // numpy.polyfit on the same grids
  assert.ok(Math.abs(referenceSlope({ slope: -0.5 }, linspace(1e4, 1e5, 200)) - -0.4524214157516282) < 1e-12);
  assert.ok(Math.abs(referenceSlope({ slope: -0.5 }, integers(1e4, 1e5)) - -0.4524521428606129) < 1e-10);
});

test('referenceSlope({slope: -1/2}, grid, [1e2, 1e5]) is -0.445 (rates.md) on 200 points linspace(1e2, 1e5, 200); dense grids differ', () => {
  const r200 = referenceSlope({ slope: -0.5 }, linspace(1e2, 1e5, 200), [1e2, 1e5]);
  assert.equal(r200.toFixed(3), '-0.445');
  assert.ok(Math.abs(r200 - -0.4452551335495753) < 1e-12); // numpy.polyfit
  // the value depends on the spacing of the grid: rates.md's "about -0.445" is the 200-point
  // linear grid; every integer gives -0.447, a dense geometric grid -0.435 (numpy.polyfit)
  const dense = integers(100, 100000);
  const rInt = referenceSlope({ slope: -0.5 }, dense, [1e2, 1e5]);
  assert.ok(Math.abs(rInt - direct(dense)) < 1e-12);
  assert.ok(Math.abs(rInt - -0.4471539582055142) < 1e-10);
  const rGeo = referenceSlope({ slope: -0.5 }, geometric(1e2, 1e5, 100001));
  assert.ok(Math.abs(rGeo - -0.43547861557752016) < 1e-9);
});

test('referenceSlope({slope: -0.5}, [100, 1000, 10000]) is -0.42474 and scales linearly in the slope (numpy.polyfit)', () => {
  const r = referenceSlope({ slope: -0.5 }, [100, 1000, 10000]);
  assert.ok(Math.abs(r - -0.4247425010840049) < 1e-12, String(r));
  assert.ok(Math.abs(referenceSlope({ slope: -0.25 }, [100, 1000, 10000]) - -0.21237125054200243) < 1e-12);
  assert.ok(Math.abs(referenceSlope({ slope: -1 / 8 }, linspace(1e4, 1e5, 200)) - -0.11310535393790705) < 1e-12);
});

test('referenceSlope(prediction, grid, fitRange) uses only the distinct n inside the range, bounds included', () => {
  const grid = [50, 100, 100, 1000, 10000, 10000, 1e6];
  assert.equal(referenceSlope({ slope: -0.5 }, grid, [100, 10000]), referenceSlope({ slope: -0.5 }, [100, 1000, 10000]));
  assert.notEqual(referenceSlope({ slope: -0.5 }, grid), referenceSlope({ slope: -0.5 }, [100, 1000, 10000]));
});

test("referenceSlope(prediction, grid) equals the slope itself for kind 'none' and for slope 0", () => {
  assert.equal(referenceSlope({ slope: -0.5, kind: 'none' }, [100, 1000]), -0.5);
  assert.equal(referenceSlope({ slope: 0 }, [100, 1000]), 0);
  assert.equal(referenceSlope({ slope: 0, kind: 'none' }, []), 0);
});

test('referenceSlope(prediction, grid, fitRange) throws a ConfigError for s > 0, a grid n < 2 and fewer than two n in range', () => {
  assert.throws(() => referenceSlope({ slope: 0.5 }, [100, 1000]), (e: unknown) => e instanceof ConfigError && /positive for kind 'power' \(got 0.5\)/.test(e.message));
  assert.throws(() => referenceSlope({ slope: -0.5 }, [1, 1000]), (e: unknown) => e instanceof ConfigError && /grid: not a sample size >= 2 \(got 1\)/.test(e.message));
  assert.throws(
    () => referenceSlope({ slope: -0.5 }, [100, 1000, 1e5], [500, 5000]),
    (e: unknown) => e instanceof ConfigError && /fewer than two distinct n of the grid in the fit range \(got \[1000\]/.test(e.message),
  );
  assert.throws(() => referenceSlope({ slope: NaN }, [100, 1000]), (e: unknown) => e instanceof ConfigError && /not a finite number \(got NaN\)/.test(e.message));
});
