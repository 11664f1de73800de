/**
 * Issue 12, item 10 (last part): a resume retries failed tasks. A task recorded as failed is run
 * again by the next `gatelab sweep` (the new row is appended; the store stays append-only and every
 * reader takes a task's latest row); `--no-retry` keeps the failed rows. Failed rows are written
 * here by hand (as a run whose tasks failed would have written them), so the retried tasks succeed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { failedRow } from '../../src/sweeps/run-task.js';
import { partitionTasks, shardDir } from '../../src/sweeps/shard.js';
import { shardsWithWork } from '../../src/sweeps/slurm.js';
import { formatStatus, sweepStatus } from '../../src/sweeps/status.js';
import { latestPerKey, readStore, ResultsStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';
import type { ExperimentConfig, SweepRow } from '../../src/sweeps/types.js';
import { NumericalError } from '../../src/errors.js';
import { assertOneLineError, cli, tempDir, tinyConfigFile } from './helpers.js';

const base = tempDir('retry');
const configFile = tinyConfigFile(base, 'rel-retry', 2);
const config: ExperimentConfig = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
const tasks = sweepTasks(config, 'quick');

const comparable = (rows: SweepRow[]) =>
  JSON.stringify([...rows].sort((a, b) => (a.key < b.key ? -1 : 1)).map(({ seconds: _s, ...rest }) => rest));
const lineCount = (dir: string) => readFileSync(join(dir, 'rows.jsonl'), 'utf8').split('\n').filter((l) => l !== '').length;

/** A store holding failed rows for the tasks at `failed` (indices) and nothing else. */
function storeWithFailures(dir: string, failed: number[], message = 'EM diverged (test)'): void {
  const store = ResultsStore.open(dir, config, 'quick');
  for (const i of failed) store.append(failedRow(config, 'quick', tasks[i]!, new NumericalError(message)));
  store.close();
}

let reference: SweepRow[] | undefined;
async function referenceRows(): Promise<SweepRow[]> {
  if (!reference) {
    const dir = join(base, 'reference');
    await runSweep(config, 'quick', dir, { workers: 1 });
    reference = readStore(dir).rows;
  }
  return reference;
}

test('the store keeps every record and readers take the latest row per key (in place of the first)', () => {
  const dir = join(tempDir('retry-store'), 'results');
  storeWithFailures(dir, [0, 1], 'first try');
  const store = ResultsStore.open(dir, config, 'quick');
  assert.equal(store.has(tasks[0]!.key), true);
  assert.equal(store.isDone(tasks[0]!.key), false, 'a failed task is not done when retrying');
  assert.equal(store.isDone(tasks[0]!.key, false), true, 'without retry a failed task counts as done');
  store.append(failedRow(config, 'quick', tasks[0]!, new NumericalError('second try')));
  assert.equal(store.rows.length, 2);
  assert.equal(store.row(tasks[0]!.key)!.error, 'second try');
  store.close();
  assert.equal(lineCount(dir), 3, 'append-only: the first failed row is still in the file');
  const read = readStore(dir);
  assert.deepEqual(read.rows.map((r) => [r.key, r.error]), [[tasks[0]!.key, 'second try'], [tasks[1]!.key, 'first try']]);
  assert.equal(read.superseded, 1);
  // a torn retry record (a crash while appending it) is cut off: the earlier row counts again
  appendFileSync(join(dir, 'rows.jsonl'), '{"key":"' + tasks[1]!.key + '","status":"ok"');
  const reopened = ResultsStore.open(dir, config, 'quick');
  assert.ok(reopened.tornBytes > 0);
  assert.equal(reopened.row(tasks[1]!.key)!.error, 'first try');
  reopened.close();
  assert.equal(lineCount(dir), 3);
  assert.deepEqual(latestPerKey([{ key: 'a', n: 1 }, { key: 'b', n: 2 }, { key: 'a', n: 3 }] as never as SweepRow[]).map((r) => r.n), [3, 2]);
});

test('runSweep retries failed tasks by default: the final rows equal an uninterrupted run', async () => {
  const ref = await referenceRows();
  const dir = join(tempDir('retry-run'), 'results');
  storeWithFailures(dir, [0, 2]);
  const summary = await runSweep(config, 'quick', dir, { workers: 1 });
  assert.equal(summary.total, tasks.length);
  assert.equal(summary.ran, tasks.length);
  assert.equal(summary.retried, 2);
  assert.equal(summary.failed, 0);
  assert.equal(lineCount(dir), tasks.length + 2, 'the failed rows stay in the file');
  assert.equal(comparable(readStore(dir).rows), comparable(ref));
  const merged = readResults(dir);
  assert.equal(merged.rows.length, tasks.length);
  assert.equal(comparable(merged.rows), comparable(ref));
  assert.deepEqual(sweepStatus(merged).failed, []);
  // a second resume has nothing left to do
  const again = await runSweep(config, 'quick', dir, { workers: 1 });
  assert.equal(again.ran, 0);
  assert.equal(again.skipped, tasks.length);
});

test('gatelab sweep --no-retry keeps failed rows; without it the next run retries them', async () => {
  const ref = await referenceRows();
  const dir = join(tempDir('retry-cli'), 'results');
  // two tasks failed, the others finished
  const store = ResultsStore.open(dir, config, 'quick');
  store.append(failedRow(config, 'quick', tasks[1]!, new NumericalError('EM diverged (test)')));
  for (const row of ref.filter((r) => r.key !== tasks[1]!.key && r.key !== tasks[3]!.key)) store.append(row);
  store.append(failedRow(config, 'quick', tasks[3]!, new NumericalError('EM diverged (test)')));
  store.close();

  const kept = await cli('sweep', configFile, '--quick', '--workers', '1', '--out', dir, '--no-retry');
  assert.equal(kept.code, 0, kept.err);
  assert.match(kept.err, new RegExp(`0 tasks run, ${tasks.length} already done, 2 failed`));
  const status = await cli('status', dir);
  assert.match(status.out, /2 failed/);
  const counts = async () => {
    const r = await cli('rates', dir, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const d1 = (JSON.parse(r.out) as { quantity: string; statistic: string; nFits: number; nFailed: number }[]).find((x) => x.quantity === 'D1' && x.statistic === 'mean')!;
    return [d1.nFits, d1.nFailed];
  };
  // the rates count each task once, by its latest row
  assert.deepEqual(await counts(), [tasks.length - 2, 2]);
  assert.match(status.out, /re-run of gatelab sweep runs failed tasks again; --no-retry keeps them/);

  const help = await cli('sweep', '--help');
  assert.match(help.out, /--no-retry +on a resume, keep the tasks recorded as failed/);

  const retried = await cli('sweep', configFile, '--quick', '--workers', '1', '--out', dir);
  assert.equal(retried.code, 0, retried.err);
  assert.match(retried.err, /2 tasks run \(2 failed before, retried\), 2 already done, 0 failed/);
  assert.equal(comparable(readResults(dir).rows), comparable(ref));
  assert.doesNotMatch((await cli('status', dir)).out, /failed tasks:/);
  assert.deepEqual(await counts(), [tasks.length, 0]);
});

test('a resume whose every task failed and stays failed (--no-retry) exits 1; retrying fixes it', async () => {
  const dir = join(tempDir('retry-all'), 'results');
  storeWithFailures(dir, tasks.map((_, i) => i));
  const r = await cli('sweep', configFile, '--quick', '--workers', '1', '--out', dir, '--no-retry');
  assertOneLineError({ ...r, err: r.err.split('\n').filter((l) => !/tasks run, /.test(l)).join('\n') }, /every task failed \(4 of 4\)/);
  const ok = await cli('sweep', configFile, '--quick', '--workers', '1', '--out', dir);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.err, /4 tasks run \(4 failed before, retried\), 0 already done, 0 failed/);
});

test('a task failed in a shard store is retried by an unsharded run; the merge takes the ok row', async () => {
  const ref = await referenceRows();
  const dir = join(tempDir('retry-shard'), 'results');
  const shard = shardDir(dir, { index: 1, count: 2 });
  storeWithFailures(shard, [0]);
  // the unsharded run retries the task failed in the shard store (by default)
  const summary = await runSweep(config, 'quick', dir, { workers: 1 });
  assert.equal(summary.retried, 1);
  assert.equal(summary.ran, tasks.length);
  const merged = readResults(dir);
  assert.equal(comparable(merged.rows), comparable(ref));
  assert.equal(merged.source.get(tasks[0]!.key), 'main');
  assert.deepEqual(sweepStatus(merged).failed, []);
  assert.doesNotMatch(formatStatus(sweepStatus(merged)), /failed tasks:/);
  // without retry, a task failed elsewhere is skipped and counted failed
  const other = join(tempDir('retry-shard2'), 'results');
  storeWithFailures(shardDir(other, { index: 1, count: 2 }), [0]);
  const kept = await runSweep(config, 'quick', other, { workers: 1, retryFailed: false });
  assert.equal(kept.ran, tasks.length - 1);
  assert.equal(kept.failed, 1);
  assert.equal(sweepStatus(readResults(other)).failed.length, 1);
});

test('slurm --submit counts a shard whose only tasks left are failed ones as work left', async () => {
  const ref = await referenceRows();
  const dir = join(tempDir('retry-slurm'), 'results');
  const store = ResultsStore.open(dir, config, 'quick');
  for (const row of ref) store.append(row.key === tasks[2]!.key ? failedRow(config, 'quick', tasks[2]!, new NumericalError('EM diverged (test)')) : row);
  store.close();
  const owner = partitionTasks(tasks, 2).findIndex((shard) => shard.some((x) => x.key === tasks[2]!.key)) + 1;
  assert.deepEqual(shardsWithWork(config, 'quick', dir, 2), [owner]);
});
