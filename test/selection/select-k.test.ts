/**
 * selectK on data from a well-separated k* = 2 truth, and the select CLI's flag errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { datasetToCsv } from '../../src/data/index.js';
import { ConfigError } from '../../src/errors.js';
import type { Model } from '../../src/models/types.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';
import { selectK } from '../../src/selection/select-k.js';

// two experts 4 sd apart in y everywhere (means 2x + 2 and -2x - 2, sd 0.22 on x in [-1, 1]) and a
// gate that mixes both over the whole range (masses 1/2, 1/2 at x = 0)
const SEPARATED: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 0, beta1: [3], a: [2], b: 2, nu: 0.05 },
    { beta0: 0, beta1: [0], a: [-2], b: -2, nu: 0.05 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 1 },
};

test('well-separated k* = 2 at n = 4000: BIC, ICL and DIC choose 2; L does not fall with k; the JSON shape', () => {
  const data = sample(SEPARATED, 4000, new Rng(20251014));
  const s = selectK(data, { gate: { type: 'softmax' }, kMax: 3, seed: 5, restarts: 2, fit: { maxIterations: 400 } });
  // Tolerance: none is needed on the choices, by the margins. BIC(3) - BIC(2) = -2 (L3 - L2) + 5 log n,
  // with 5 log 4000 = 41.5 against an over-fit gain L3 - L2 that is O(log log n) nats (a few; it
  // is asserted below to be < 10, so that a mistake in the fit would show there, not as a lucky
  // choice). ICL adds 2 EN, larger at k = 3 (two atoms sharing one component). DIC: merging the
  // two true atoms costs h(2) = (1/4)(9 + 16 + 4) ~ 7 against log(n) (L3 - L2) / n < 0.03.
  assert.deepEqual(s.k.map((f) => f.k), [1, 2, 3]);
  for (let i = 1; i < s.k.length; i++) assert.ok(s.k[i]!.loglik >= s.k[i - 1]!.loglik, `L(${i + 1}) < L(${i})`);
  assert.ok(s.k[2]!.loglik - s.k[1]!.loglik < 10, `over-fit gain ${s.k[2]!.loglik - s.k[1]!.loglik}`);
  assert.equal(s.chosen.bic, 2);
  assert.equal(s.chosen.icl, 2);
  assert.equal(s.chosen.dic, 2);
  assert.deepEqual(s.k.map((f) => f.params), [3, 8, 13]);
  const f = s.k[1]!;
  assert.ok(Math.abs(f.aic - (-2 * f.loglik + 2 * f.params)) < 1e-9);
  assert.ok(Math.abs(f.bic - (-2 * f.loglik + f.params * Math.log(4000))) < 1e-9);
  assert.ok(Math.abs(f.icl - (f.bic + 2 * f.entropy)) < 1e-9 && f.entropy > 0);
  assert.equal(s.dendrogram!.levels.length, 3);
  const json = JSON.parse(JSON.stringify(s));
  for (const key of ['k', 'chosen', 'dendrogram']) assert.ok(key in json, key);
  for (const key of ['k', 'loglik', 'params', 'aic', 'bic', 'icl']) assert.ok(key in json.k[0], `k[0].${key}`);
  assert.deepEqual(Object.keys(json.chosen), ['aic', 'bic', 'icl', 'dic']);
});

test('top-K: k starts at K, the dendrogram is null with the reason; bad options are ConfigErrors naming the option', () => {
  const data = sample({ ...SEPARATED, gate: { type: 'topk', K: 2, rankBy: 'slope' } }, 300, new Rng(2));
  const s = selectK(data, { gate: { type: 'topk', K: 2 }, kMax: 2, seed: 1, restarts: 1, fit: { maxIterations: 50 } });
  assert.equal(s.kMin, 2);
  assert.equal(s.dendrogram, null);
  assert.match(s.dendrogramNote!, /topk gate has no exact merge/);
  assert.equal(s.chosen.dic, null);
  // split: false runs no warm start (its candidate is null); the default runs one for k > kMin
  const soft = sample(SEPARATED, 300, new Rng(3));
  const noSplit = selectK(soft, { gate: { type: 'softmax' }, kMax: 2, seed: 1, restarts: 1, split: false, fit: { maxIterations: 50 } });
  assert.equal(noSplit.k[1]!.candidates.split, null);
  const withSplit = selectK(soft, { gate: { type: 'softmax' }, kMax: 2, seed: 1, restarts: 1, fit: { maxIterations: 50 } });
  assert.equal(typeof withSplit.k[1]!.candidates.split, 'number');
  const bad = (options: Record<string, unknown>, field: RegExp) =>
    assert.throws(() => selectK(data, { gate: { type: 'softmax' }, kMax: 2, seed: 1, ...options } as never), (e: unknown) => e instanceof ConfigError && field.test(e.message));
  bad({ kMax: 0 }, /^kMax: 0 is not allowed/);
  bad({ seed: -1 }, /^seed: -1 is not a valid seed/);
  bad({ restarts: 0 }, /^restarts: 0 is not allowed/);
  bad({ fit: { k: 3 } }, /^fit\.k: is set by selectK/);
  bad({ gate: { type: 'topk', K: 3 } }, /kMax: 2 is too small for this gate: gate\.K/);
});

test('gatelab select: flag errors are usage errors (exit 2) naming the flag; a run prints the table and the JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-select-'));
  const csv = join(dir, 'd.csv');
  writeFileSync(csv, datasetToCsv(sample(SEPARATED, 200, new Rng(4))));
  const gate = join(dir, 'g.json');
  writeFileSync(gate, JSON.stringify({ type: 'softmax' }));
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(['select', ...argv], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  const base = ['--data', csv, '--gate', gate, '--seed', '1'];
  const cases: [string[], RegExp][] = [
    [['--data', csv, '--gate', gate, '--seed', '1'], /--k-max is required/],
    [[...base, '--k-max', '0'], /--k-max: "0" is not allowed/],
    [[...base, '--k-max', '51'], /--k-max: 51 is not allowed/],
    [[...base, '--k-max', '201'], /--k-max: 201 is not allowed/],
    [['--data', csv, '--gate', gate, '--k-max', '2', '--seed', '-3'], /--seed: "-3" is not allowed/],
    [[...base, '--k-max', '2', '--exponents', '2'], /--exponents: "2" is not allowed/],
    [[...base, '--k-max', '2', '--omega', '0'], /--omega: "0" is not allowed/],
    [[...base, '--k-max', '2', '--restarts', '0'], /--restarts: "0" is not allowed/],
    [[...base, '--k-max', '2', '--tau', 'warm'], /--tau: "warm" is not a temperature mode; must be "known" \(default\) or "free"/],
    [[...base, '--k-max', '2', '--k-maxx', '3'], /--k-maxx is not a flag here; did you mean --k-max\?/],
  ];
  for (const [argv, message] of cases) {
    const r = await run(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  writeFileSync(gate, JSON.stringify({ type: 'topk', K: 3 }));
  const g = await run(...base, '--k-max', '2');
  assert.equal(g.code, 1);
  assert.match(g.err, /g\.json: gate\.K: 3 exceeds the number of experts \(2\).*--k-max 2/);
  writeFileSync(gate, JSON.stringify({ type: 'softmax' }));
  const ok = await run(...base, '--k-max', '2', '--restarts', '1', '--max-iter', '50', '--out', join(dir, 's.json'));
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.err, /^select: n = 200, d = 1, gate softmax, k = 1\.\.2/);
  assert.match(ok.err, /chosen: AIC \d, BIC \d, ICL \d, DIC \d/);
  assert.deepEqual(Object.keys(JSON.parse(ok.out).chosen), ['aic', 'bic', 'icl', 'dic']);
});
