import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { ResultsStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';

const configFile = 'test/fixtures/tiny-sweep.json';
const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);

/** A results folder with an unsharded part, two shards and one failed task, and its export. */
async function exported(): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-export-'));
  await runSweep(config, 'quick', dir, { workers: 2, shard: { index: 1, count: 2 } });
  await runSweep(config, 'quick', dir, { workers: 2, shard: { index: 2, count: 2 } });
  // one task, already done by a shard, also in the unsharded store (the merge keeps one row)
  const task = sweepTasks(config, 'quick')[0]!;
  const main = ResultsStore.open(dir, config, 'quick');
  main.append(readResults(dir).rows.find((r) => r.key === task.key)!);
  main.close();
  const file = join(dir, 'all.parquet');
  const r = spawnSync(process.execPath, ['bin/gatelab.js', 'export', dir, '--parquet', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^export: 24 rows, \d+ columns from 3 store\(s\) -> .*all\.parquet \(\d+ bytes\); all 24 tasks present\n$/);
  return { dir, file };
}

test('gatelab export: one Parquet file of every shard that DuckDB reads with the rows as stored', async () => {
  const { dir, file } = await exported();
  const rows = readResults(dir).rows;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const types = (await c.runAndReadAll(`DESCRIBE SELECT * FROM '${file}'`)).getRowObjectsJson() as { column_name: string; column_type: string }[];
  const type = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
  assert.equal(type.n, 'INTEGER');
  assert.equal(type.seed, 'BIGINT');
  assert.equal(type.converged, 'BOOLEAN');
  assert.equal(type.D1, 'DOUBLE');
  assert.equal(type['beta1[1]'], 'DOUBLE');
  assert.equal(type.model, 'VARCHAR');
  const table = (await c.runAndReadAll(`SELECT key, n, replicate, seed::VARCHAR AS seed, status, loglik, D1, "beta1[1]" AS b1, shard, model FROM '${file}' ORDER BY n, replicate`)).getRowObjectsJson() as Record<string, unknown>[];
  assert.equal(table.length, rows.length);
  table.forEach((t, i) => {
    const r = rows[i]!;
    assert.deepEqual([t.key, t.n, t.replicate, t.seed, t.status, t.loglik, t.D1, t.b1], [r.key, r.n, r.replicate, String(r.seed), r.status, r.loglik, r.quantities!.D1, r.quantities!['beta1[1]']]);
    // the unsharded store is read first: the task it also holds comes from there
    assert.match(String(t.shard), i === 0 ? /^main$/ : /^[12]-of-2$/);
    assert.deepEqual(JSON.parse(String(t.model)), r.model);
  });
  // the README's one-line query
  const byN = (await c.runAndReadAll(`SELECT n, avg(D1) AS d1 FROM '${file}' GROUP BY n ORDER BY n`)).getRowObjectsJson() as { n: number; d1: number }[];
  assert.deepEqual(byN.map((x) => x.n), [...new Set(rows.map((r) => r.n))]);
  c.closeSync();
});

test('gatelab export: hyparquet (an independent pure-JS reader) reads the same values; errors name --parquet', async () => {
  const { dir, file } = await exported();
  const rows = readResults(dir).rows;
  const table = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[];
  assert.equal(table.length, rows.length);
  table.forEach((t, i) => {
    const r = rows[i]!;
    assert.equal(t.key, r.key);
    assert.equal(t.seed, BigInt(r.seed));
    assert.equal(t.seconds, r.seconds);
    assert.equal(t.error, null);
    for (const [q, v] of Object.entries(r.quantities!)) assert.equal(t[q], v, `${r.key} ${q}`);
  });
  const bad = spawnSync(process.execPath, ['bin/gatelab.js', 'export', dir, '--parquet', join(dir, 'no', 'such', 'x.parquet')], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error: --parquet: cannot write ".*x\.parquet" \(ENOENT\); give a file in an existing, writable folder\n$/);
  const missing = spawnSync(process.execPath, ['bin/gatelab.js', 'export', dir], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--parquet is required/);
});
