import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError } from '../../src/errors.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { crc32 } from '../../src/sweeps/crc32.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { parseShard, partitionTasks, shardDir, shardTasks, taskCost } from '../../src/sweeps/shard.js';
import { readStore, ResultsStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';
import { comparable } from './shard-helpers.js';

const configFile = 'test/fixtures/tiny-sweep.json';
const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
const demysFile = 'experiments/demys-exact.json';
const demys = parseExperimentConfig(JSON.parse(readFileSync(demysFile, 'utf8')), demysFile);
const tmp = () => mkdtempSync(join(tmpdir(), 'gatelab-shard-'));


test('parseShard accepts i/N with 1 <= i <= N and names the flag, the value and what is allowed otherwise', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
  assert.throws(() => parseShard('0/4'), /--shard: "0\/4" is not allowed; i must be in 1\.\.4 \(shards are numbered from 1\)/);
  assert.throws(() => parseShard('5/4'), /i must be in 1\.\.4/);
  assert.throws(() => parseShard('1/0'), /N must be an integer >= 1/);
  assert.throws(() => parseShard('two/4'), /must be i\/N with 1 <= i <= N/);
});

test('partitionTasks is a deterministic partition balanced by cost (max load / mean load small)', () => {
  for (const [tasks, counts] of [
    [sweepTasks(demys, 'quick'), [1, 2, 3, 4, 7, 16]],
    [sweepTasks(demys, 'full'), [4, 10, 64, 200]],
  ] as const) {
    for (const count of counts) {
      const parts = partitionTasks(tasks, count);
      assert.equal(parts.length, count);
      const keys = parts.flat().map((t) => t.key);
      assert.equal(new Set(keys).size, tasks.length, 'disjoint');
      assert.deepEqual([...keys].sort(), tasks.map((t) => t.key).sort(), 'covers every task');
      assert.deepEqual(partitionTasks([...tasks], count), parts, 'a pure function of (tasks, N)');
      for (const part of parts) {
        const order = part.map((t) => tasks.indexOf(t));
        assert.deepEqual(order, [...order].sort((a, b) => a - b), 'each shard keeps task order');
      }
      const loads = parts.map((p) => p.reduce((s, t) => s + taskCost(t), 0));
      const mean = loads.reduce((a, b) => a + b, 0) / count;
      // LPT: max <= mean + the largest task; here the grids are fine enough for 10%
      const limit = count <= tasks.length / 4 ? 1.1 : 1 + Math.max(...tasks.map(taskCost)) / mean;
      assert.ok(Math.max(...loads) / mean <= limit, `${count} shards: max/mean ${(Math.max(...loads) / mean).toFixed(3)}`);
    }
  }
  assert.deepEqual(shardTasks(sweepTasks(demys, 'quick'), { index: 3, count: 4 }), partitionTasks(sweepTasks(demys, 'quick'), 4)[2]);
});

test('N shards run separately give the rows of one unsharded run, each in its own store', async () => {
  const reference = tmp();
  await runSweep(config, 'quick', reference, { workers: 2 });
  const dir = tmp();
  for (let index = 1; index <= 3; index++) {
    const summary = await runSweep(config, 'quick', dir, { workers: 1, shard: { index, count: 3 } });
    assert.equal(summary.dir, shardDir(dir, { index, count: 3 }));
    assert.equal(readStore(summary.dir).rows.length, shardTasks(sweepTasks(config, 'quick'), { index, count: 3 }).length);
  }
  const merged = readResults(dir);
  assert.equal(merged.stores.length, 3);
  assert.equal(merged.missing.length, 0);
  assert.deepEqual(merged.rows.map((r) => r.key), sweepTasks(config, 'quick').map((t) => t.key), 'merged rows in task order');
  assert.equal(comparable(merged.rows), comparable(readStore(reference).rows));
});

test('readResults lists missing tasks; a new shard count skips tasks other stores already hold', async () => {
  const dir = tmp();
  await runSweep(config, 'quick', dir, { workers: 1, shard: { index: 1, count: 2 } });
  const partial = readResults(dir);
  const first = shardTasks(sweepTasks(config, 'quick'), { index: 1, count: 2 });
  assert.equal(partial.missing.length, sweepTasks(config, 'quick').length - first.length);
  // re-shard the rest into 3: tasks of 1-of-2 are not run again
  let ran = 0;
  for (let index = 1; index <= 3; index++) ran += (await runSweep(config, 'quick', dir, { workers: 1, shard: { index, count: 3 } })).ran;
  assert.equal(ran, partial.missing.length);
  assert.equal(readResults(dir).missing.length, 0);
});

test('readResults refuses stores of two configs and two different rows for one task', async () => {
  const dir = tmp();
  await runSweep(config, 'quick', dir, { workers: 1, shard: { index: 1, count: 2 } });
  await assert.rejects(runSweep(config, 'full', dir, { workers: 1, shard: { index: 2, count: 2 } }), (e: unknown) => e instanceof ConfigError && /holds results of another config/.test((e as Error).message));
  // a store of another config written past runSweep's check
  ResultsStore.open(shardDir(dir, { index: 2, count: 2 }), config, 'full').close();
  assert.throws(() => readResults(dir), (e: unknown) => e instanceof ConfigError && /holds results of another config/.test((e as Error).message));

  const other = tmp();
  await runSweep(config, 'quick', other, { workers: 1, shard: { index: 1, count: 2 } });
  const row = readStore(shardDir(other, { index: 1, count: 2 })).rows[0]!;
  // the same task in a second store, with the same values but another wall time: fine
  const store = ResultsStore.open(shardDir(other, { index: 1, count: 3 }), config, 'quick');
  store.append({ ...row, seconds: 99 });
  store.close();
  assert.equal(readResults(other).rows.find((r) => r.key === row.key)!.seconds, row.seconds);
  // a different loglik: an error naming the task, the stores and the field
  const json = JSON.stringify({ ...row, loglik: row.loglik! + 1 });
  appendFileSync(join(shardDir(other, { index: 1, count: 3 }), 'rows.jsonl'), `${json}\t${crc32(json)}\n`);
  assert.throws(
    () => readResults(other),
    (e: unknown) => e instanceof DataError && new RegExp(`task ${row.key.replace(/[/=]/g, '.')} has different rows in 1-of-2 and 1-of-3 \\(field loglik\\)`).test((e as Error).message),
  );
  assert.throws(() => readResults(tmp()), /is not a results folder/);
});

test('a lock taken on another host is never taken over', () => {
  const dir = tmp();
  ResultsStore.open(dir, config, 'quick').close();
  writeFileSync(join(dir, 'lock'), '12345 some-other-node');
  assert.throws(() => ResultsStore.open(dir, config, 'quick'), /is being written by process 12345 on host some-other-node .*remove/);
});

test('gatelab sweep --shard writes DIR/shards/<i>-of-<N> and rejects a bad shard with exit 2', () => {
  const dir = tmp();
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/gatelab.js', 'sweep', configFile, '--quick', '--workers', '1', '--out', dir, ...args], { encoding: 'utf8' });
  const ok = run('--shard', '2/2');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /shard 2-of-2\): \d+ tasks run, 0 already done, 0 failed, .* -> .*shards\/2-of-2/);
  const bad = run('--shard', '3/2');
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'error: --shard: "3/2" is not allowed; i must be in 1..2 (shards are numbered from 1)\n');
  const rates = spawnSync(process.execPath, ['bin/gatelab.js', 'rates', dir, '--format', 'csv'], { encoding: 'utf8' });
  assert.equal(rates.status, 0, rates.stderr);
  assert.match(rates.stderr, /^rates: \d+ of 24 tasks missing \(n=200: r=.*; the rates use the \d+ rows present\n$/);
});
