/**
 * Issue 12, item 10: configs that validated but made every task fail (or hang) are refused up
 * front, each with one line naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';

const base = JSON.parse(readFileSync('experiments/demys-over3.json', 'utf8'));
const edit = (f: (c: Record<string, any>) => void) => {
  const c = structuredClone(base);
  f(c);
  return c;
};

const cases: [string, Record<string, unknown>, RegExp][] = [
  ['densityPoints 1', edit((c) => (c.variants.quick.densityPoints = 1)), /variants\.quick\.densityPoints: 1 is not allowed; must be 0 .* or an integer in 2\.\.100000/],
  ['densityPoints 1e8', edit((c) => (c.variants.quick.densityPoints = 1e8)), /variants\.quick\.densityPoints: 100000000 is not allowed/],
  ['fit.k 100 with 2 true experts', edit((c) => (c.fit.k = 100)), /fit\.k: 100 with k\* = 2 true experts allows a Voronoi cell of 99 atoms; .*k <= 4/],
  ['start.noise 1e300', edit((c) => (c.start.noise = 1e300)), /start\.noise: 1e\+300 is not a noise level; must be a number in \[0, 100\]/],
  ['a prediction for atom 9', edit((c) => (c.predictions['a[9]'] = { slope: -0.5 })), /predictions\.a\[9\]: true atom 9 does not exist; the truth has atoms 1\.\.2/],
  ['a prediction for a cell of 5 atoms', edit((c) => (c.predictions['b[size=5]'] = { slope: -0.1 })), /predictions\.b\[size=5\]: no Voronoi cell can have 5 atoms/],
  ['replicates 1e8', edit((c) => (c.variants.quick.replicates = 1e8)), /variants\.quick\.replicates: 100000000 x 6 sample sizes = 600000000 tasks; at most 1000000/],
  ['a linspace of 1e9 sizes', edit((c) => (c.variants.full.n = { linspace: [1000, 100000, 1e9] })), /variants\.full\.n\.linspace: .* an integer count in 1\.\.10000/],
  ['n above the sampler limit', edit((c) => (c.variants.full.n = [1000, 2 ** 32])), /variants\.full\.n\[1\]: 4294967296 is not a sample size; must be an integer in 2\.\.2147483648/],
];

for (const [name, config, message] of cases) {
  test(`a sweep config with ${name} is refused at validation, naming the field`, () => {
    assert.throws(
      () => parseExperimentConfig(config, 'demys-over3'),
      (e: unknown) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
    );
  });
}

test('the shipped configs still validate', () => {
  assert.doesNotThrow(() => parseExperimentConfig(base, 'demys-over3'));
});
