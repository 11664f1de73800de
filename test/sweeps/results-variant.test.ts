import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { preferredResults, readChosen } from '../../src/sweeps/results-variant.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { ResultsStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';

test('preferredResults: the full variant where its store exists, else the quick one, saying why; a variant asked for is kept', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatelab-variant-'));
  // the experiment config beside the results folder: <parent of root>/experiments/<name>.json
  const configFile = join(root, '..', 'experiments', 'demo.json');
  assert.deepEqual(preferredResults('demo', 'auto', root), { variant: 'quick', dir: join(root, 'demo-quick'), reason: 'no full results', configFile });
  // an empty folder is not a store
  mkdirSync(join(root, 'demo'));
  assert.equal(preferredResults('demo', 'auto', root).variant, 'quick');
  writeFileSync(join(root, 'demo', 'config.json'), '{}');
  assert.deepEqual(preferredResults('demo', 'auto', root), { variant: 'full', dir: join(root, 'demo'), reason: 'full results present', configFile });
  assert.deepEqual(preferredResults('demo', 'quick', root), { variant: 'quick', dir: join(root, 'demo-quick'), reason: 'asked for', configFile });
  assert.equal(preferredResults('other', 'full', root).dir, join(root, 'other'));
});

test('preferredResults: a full store still being written is not taken for the full results (the reason says how many tasks are missing); once complete it is', async () => {
  const configFile = 'test/fixtures/tiny-sweep.json';
  const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
  const root = mkdtempSync(join(tmpdir(), 'gatelab-variant-'));
  const dir = join(root, config.name);
  ResultsStore.open(dir, config, 'full').close(); // a store with no rows yet
  const partial = preferredResults(config.name, 'auto', root);
  assert.equal(partial.variant, 'quick');
  assert.match(partial.reason, /^full results incomplete: (\d+) of \1 tasks missing/);
  assert.equal(preferredResults(config.name, 'full', root).dir, dir); // asked for: the rows present
  await runSweep(config, 'full', dir, { workers: 1 });
  const complete = preferredResults(config.name, 'auto', root);
  assert.equal(complete.reason, 'full results present');
  // readChosen takes the results preferredResults read to count the tasks (one read, not two):
  // a row appended in between shows only in a second readChosen of the same choice
  const rowsThen = readResults(dir).rows;
  const store = ResultsStore.open(dir, config, 'full');
  store.append({ ...rowsThen[0]!, key: 'appended', replicate: 99 });
  store.close();
  const first = await readChosen(complete);
  assert.deepEqual(first.rows, rowsThen);
  assert.equal((await readChosen(complete)).rows.length, rowsThen.length + 1);
});
