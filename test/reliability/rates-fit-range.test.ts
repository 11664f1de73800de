/**
 * `gatelab rates --fit-range LO,HI`: the slope fits over another n range than the config's (to see
 * whether a slope is pre-asymptotic), and its flag errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneLineError, cli, tinyResults } from './helpers.js';

interface RateJson { quantity: string; statistic: string; nPoints: number; slope: number | null }

test('gatelab rates --fit-range: the fits use only the sizes in the range; a bad range is a one-line usage error naming the flag', async () => {
  const { dir } = await tinyResults('rates-range');
  const d1 = async (...flags: string[]) => {
    const r = await cli('rates', dir, '--format', 'json', ...flags);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as RateJson[]).find((x) => x.quantity === 'D1' && x.statistic === 'mean')!;
  };
  const whole = await d1();
  assert.equal(whole.nPoints, 2);
  assert.ok(whole.slope !== null);
  // one size left in the range: no slope can be fitted
  const one = await d1('--fit-range', '250,1000');
  assert.equal(one.nPoints, 1);
  assert.equal(one.slope, null);
  for (const bad of ['300', '300,200', '0,10', 'a,b', '1,2,3']) {
    const r = await cli('rates', dir, '--fit-range', bad);
    assertOneLineError(r, /^error: --fit-range: .* is not allowed; must be LO,HI with 1 <= LO < HI/, 2);
  }
});
