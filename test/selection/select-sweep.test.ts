/**
 * The selection sweep: resumable and append-only in the rate sweeps' store, its config pinned;
 * config errors name the JSON path; Wilson intervals and the frequency table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectionFrequencies, wilsonInterval } from '../../src/analysis/selection-frequency.js';
import { ConfigError } from '../../src/errors.js';
import { parseSelectConfig, readSelectRows, runSelectSweep } from '../../src/sweeps/select-sweep.js';
import { DEMYS } from '../helpers.js';
import { cli } from '../reliability/helpers.js';

const CONFIG = {
  kind: 'select',
  name: 'select-tiny',
  description: 'test',
  seed: 3,
  truth: DEMYS,
  select: { gate: { type: 'softmax' }, kMax: 2, restarts: 1, fit: { maxIterations: 30 } },
  variants: { quick: { n: [40, 60], replicates: 2 }, full: { n: [40], replicates: 1 } },
};

test('a selection sweep resumes: a second run skips every task and appends nothing; another config is refused naming the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-select-sweep-'));
  const config = parseSelectConfig(CONFIG);
  const first = await runSelectSweep(config, 'quick', dir);
  assert.deepEqual([first.total, first.ran, first.skipped], [4, 4, 0]);
  const lines = readFileSync(join(dir, 'rows.jsonl'), 'utf8');
  assert.equal(lines.trim().split('\n').length, 4);
  const again = await runSelectSweep(config, 'quick', dir);
  assert.deepEqual([again.ran, again.skipped], [0, 4]);
  assert.equal(readFileSync(join(dir, 'rows.jsonl'), 'utf8'), lines);
  const { rows } = readSelectRows(dir);
  assert.deepEqual(rows.map((r) => r.key), ['n=40/r=0', 'n=40/r=1', 'n=60/r=0', 'n=60/r=1']);
  for (const r of rows) assert.ok(r.status === 'ok' && r.chosen && r.k!.length === 2, JSON.stringify(r));
  // gatelab status reads a selection store (it once failed with an internal error on its config)
  const status = await cli('status', dir);
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /select-tiny \(quick, selection sweep\) in .*: 4 of 4 tasks done/);
  assert.match(status.out, /^ +40 +2 +2 /m);
  assert.match(status.out, /^ +60 +2 +2 /m);
  assert.match(status.out, /ETA: done/);
  const rates = await cli('rates', dir);
  assert.equal(rates.code, 1);
  assert.match(rates.err, /^error: .*: holds a selection sweep \(config "kind": "select"\), which has no rates; .*gatelab select-sweep CONFIG --figures DIR/);
  const other = parseSelectConfig({ ...CONFIG, seed: 4 });
  await assert.rejects(runSelectSweep(other, 'quick', dir), (e: unknown) => e instanceof ConfigError && /seed: 3 in the folder, 4 in this config/.test(e.message));
});

test('selection config errors name the JSON path', () => {
  const bad = (patch: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => parseSelectConfig({ ...CONFIG, ...patch }, 'c.json'), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  bad({ kind: 'rates' }, /^c\.json\.kind: "rates" is not allowed/);
  bad({ select: { ...CONFIG.select, kMax: 0 } }, /^c\.json\.select\.kMax: 0 is not allowed/);
  bad({ select: { ...CONFIG.select, gate: { type: 'topk', K: 3 } } }, /^c\.json\.select\.gate\.K: 3 exceeds/);
  bad({ select: { ...CONFIG.select, fit: { maxIterations: -1 } } }, /^c\.json\.select\.fit\.maxIterations: -1/);
  bad({ variants: { ...CONFIG.variants, quick: { n: [1], replicates: 2 } } }, /^c\.json\.variants\.quick\.n/);
  bad({ extra: 1 }, /^c\.json\.extra: unknown field/);
});

test('Wilson intervals against known values, and the frequencies count over- and under-selection apart', () => {
  const [lo, hi] = wilsonInterval(8, 10);
  assert.ok(Math.abs(lo - 0.4902) < 1e-4 && Math.abs(hi - 0.9433) < 1e-4);
  const [lo0, hi0] = wilsonInterval(0, 10);
  assert.ok(lo0 === 0 && Math.abs(hi0 - 0.2775) < 1e-4);
  assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
  const row = (key: string, aic: number, dic: number | null) => ({
    experiment: 'x', variant: 'quick' as const, key, n: 100, replicate: 0, seed: 0, status: 'ok' as const, kStar: 2, chosen: { aic, bic: 2, icl: 2, dic },
  });
  const f = selectionFrequencies([row('a', 3, 2), row('b', 2, null), row('c', 1, 3)]);
  const aic = f.find((x) => x.criterion === 'aic')!;
  assert.deepEqual([aic.trials, aic.correct, aic.over, aic.under, aic.missing], [3, 1, 1, 1, 0]);
  const dic = f.find((x) => x.criterion === 'dic')!;
  assert.deepEqual([dic.trials, dic.correct, dic.over, dic.missing], [2, 1, 1, 1]);
});
