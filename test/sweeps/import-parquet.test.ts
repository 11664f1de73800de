import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseRates, formatRates } from '../../src/analysis/index.js';
import { ConfigError, DataError } from '../../src/errors.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { resultsToParquet } from '../../src/sweeps/export-parquet.js';
import { readParquetResults } from '../../src/sweeps/import-parquet.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { committedExport, preferredResults } from '../../src/sweeps/results-variant.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import type { SweepRow } from '../../src/sweeps/types.js';

const configFile = 'test/fixtures/tiny-sweep.json';
const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);

/** A row without its null or undefined top-level fields (the export writes both as null; they read back absent). */
function withoutNulls(row: SweepRow): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined));
}

test('readParquetResults: an export reads back as the rows, sources, config and variant of the folder; the rates are identical', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-import-'));
  await runSweep(config, 'quick', dir, { workers: 1, shard: { index: 1, count: 2 } });
  await runSweep(config, 'quick', dir, { workers: 1, shard: { index: 2, count: 2 } });
  const results = readResults(dir);
  // a failed task (no quantities, an error) beside the ok ones
  const last = results.rows[results.rows.length - 1]!;
  const failed: SweepRow = { experiment: last.experiment, variant: last.variant, key: 'n=999999,r=0', n: 999999, replicate: 0, seed: 12345, status: 'failed', error: 'fit: diverged' };
  const rows = [...results.rows, failed];
  const file = join(dir, 'all.parquet');
  writeFileSync(file, new Uint8Array(resultsToParquet({ ...results, rows })));
  const back = await readParquetResults(file);
  assert.equal(back.variant, 'quick');
  assert.deepEqual(back.config, results.config);
  assert.equal(back.rows.length, rows.length);
  // the failed row's key is not a task of the variant: it sorts last
  back.rows.forEach((r, i) => assert.deepEqual(withoutNulls(r), withoutNulls(rows[i]!), rows[i]!.key));
  assert.equal(back.rows[back.rows.length - 1]!.quantities, undefined);
  for (const r of results.rows) assert.equal(back.source.get(r.key), results.source.get(r.key));
  assert.deepEqual(back.missing, results.missing);
  // what the analysis makes of them: the same table, to the last digit
  const rates = (m: { rows: SweepRow[] }) => formatRates(analyseRates(m.rows, config, 'quick'), 'csv');
  assert.equal(rates(back), rates({ rows }));
  // gatelab rates reads the export as it reads the folder
  const cli = (source: string) => spawnSync(process.execPath, ['bin/gatelab.js', 'rates', source, '--format', 'csv'], { encoding: 'utf8' });
  const fromFolder = cli(dir);
  const fromFile = cli(file);
  assert.equal(fromFolder.status, 0, fromFolder.stderr);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  assert.equal(fromFile.stdout, fromFolder.stdout);
});

test('readParquetResults: an export without metadata (written before it) needs its config, named; bad files are refused with the file named', async () => {
  // the committed export of the authors' exact recipe predates the metadata
  const legacy = committedExport('demys-authors-exact');
  await assert.rejects(readParquetResults(legacy), (e: unknown) => e instanceof ConfigError && /carries no config.*configFile.*experiments\/demys-authors-exact\.json/.test(e.message));
  await assert.rejects(readParquetResults(legacy, { configFile }), (e: unknown) => e instanceof ConfigError && /holds rows of "demys-authors-exact", but configFile .* is "tiny-demys"/.test(e.message));
  const results = await readParquetResults(legacy, { configFile: 'experiments/demys-authors-exact.json' });
  assert.equal(results.rows.length, 8000);
  assert.equal(results.missing.length, 0);
  assert.equal(results.variant, 'full');
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-import-bad-'));
  const junk = join(dir, 'junk.parquet');
  writeFileSync(junk, 'not parquet at all');
  await assert.rejects(readParquetResults(junk), (e: unknown) => e instanceof DataError && e.message.startsWith(`${junk}: is not a Parquet file`));
  await assert.rejects(readParquetResults(join(dir, 'none.parquet')), (e: unknown) => e instanceof ConfigError && /none\.parquet: cannot be read \(ENOENT\)/.test(e.message));
  const cli = spawnSync(process.execPath, ['bin/gatelab.js', 'rates', dir, '--config', configFile], { encoding: 'utf8' });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /--config: only for a Parquet export/);
});

test('preferredResults: with no full store, the committed export stands in for the full variant', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatelab-choice-'));
  const results = join(root, 'results');
  const none = preferredResults('demys-authors-exact', 'auto', results);
  assert.equal(none.variant, 'quick');
  assert.equal(none.parquet, undefined);
  // the repository's own layout: figures/demys-authors-exact/results-full.parquet, no results/demys-authors-exact/
  const here = preferredResults('demys-authors-exact');
  assert.equal(here.variant, 'full');
  assert.equal(here.parquet, join('figures', 'demys-authors-exact', 'results-full.parquet'));
  assert.equal(here.configFile, join('experiments', 'demys-authors-exact.json'));
  assert.equal(preferredResults('demys-authors-exact', 'quick').parquet, undefined);
});
