import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { parseExperimentConfig, resolveNGrid } from '../../src/sweeps/config.js';
import { readStore, ResultsStore } from '../../src/sweeps/store.js';
import { runSweep, type SweepProgress } from '../../src/sweeps/sweep.js';
import { sweepTasks, taskSeed } from '../../src/sweeps/tasks.js';
import type { SweepRow } from '../../src/sweeps/types.js';

const configFile = 'test/fixtures/tiny-sweep.json';
const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
const tmp = () => mkdtempSync(join(tmpdir(), 'gatelab-sweep-'));

/** Rows sorted by key, without wall time (the only field that depends on the machine's load). */
function comparable(rows: SweepRow[]): string {
  return JSON.stringify(
    [...rows].sort((a, b) => (a.key < b.key ? -1 : 1)).map(({ seconds: _seconds, ...rest }) => rest),
  );
}

test('taskSeed(seed, n, replicate) depends on its arguments only and differs between tasks', () => {
  assert.equal(taskSeed(1, 100, 0), taskSeed(1, 100, 0));
  const seeds = new Set(sweepTasks(config, 'full').map((t) => t.seed));
  assert.equal(seeds.size, sweepTasks(config, 'full').length);
  assert.notEqual(taskSeed(1, 100, 0), taskSeed(2, 100, 0));
});

test('resolveNGrid merges segments into sorted distinct integers', () => {
  assert.deepEqual(resolveNGrid([{ linspace: [100, 900, 5] }, { linspace: [1000, 3000, 3] }, 500]), [100, 300, 500, 700, 900, 1000, 2000, 3000]);
  assert.deepEqual(resolveNGrid({ geomspace: [10, 1000, 3] }), [10, 100, 1000]);
  assert.throws(() => resolveNGrid({ linspace: [1, 10] } as never), /is not \[low, high, count\]/);
});

test('runSweep progress: the ETA is unknown (NaN) before a task ends, finite and >= 0 after, 0 at the end', async () => {
  const seen: SweepProgress[] = [];
  await runSweep(config, 'quick', tmp(), { workers: 1, onProgress: (p) => seen.push({ ...p }) });
  assert.ok(seen.length >= 2);
  assert.ok(Number.isNaN(seen[0]!.eta));
  for (const p of seen.slice(1)) assert.ok(Number.isFinite(p.eta) && p.eta >= 0, `eta ${p.eta} after ${p.ranNow} tasks`);
  const last = seen.at(-1)!;
  assert.equal(last.done, last.total);
  assert.equal(last.eta, 0);
});

test('runSweep gives identical rows with 1 and 2 workers', async () => {
  const a = tmp();
  const b = tmp();
  await runSweep(config, 'quick', a, { workers: 1 });
  await runSweep(config, 'quick', b, { workers: 2 });
  const ra = readStore(a).rows;
  const rb = readStore(b).rows;
  assert.equal(ra.length, sweepTasks(config, 'quick').length);
  assert.ok(ra.every((r) => r.status === 'ok'));
  assert.equal(comparable(ra), comparable(rb));
});

test('runSweep resumes: a second run skips every finished task', async () => {
  const dir = tmp();
  const first = await runSweep(config, 'quick', dir, { workers: 1 });
  const second = await runSweep(config, 'quick', dir, { workers: 1 });
  assert.equal(second.skipped, first.total);
  assert.equal(second.ran, 0);
  assert.equal(readStore(dir).rows.length, first.total);
});

test('ResultsStore.open detects a torn last record, cuts it off and re-runs that task', async () => {
  const dir = tmp();
  await runSweep(config, 'quick', dir, { workers: 1 });
  const file = join(dir, 'rows.jsonl');
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  // simulate a crash in the middle of writing the last record
  writeFileSync(file, lines.slice(0, -1).join('\n') + '\n' + lines.at(-1)!.slice(0, 40));
  const contents = readStore(dir);
  assert.equal(contents.rows.length, lines.length - 1);
  assert.ok(contents.tornBytes > 0);
  const resumed = await runSweep(config, 'quick', dir, { workers: 1 });
  assert.equal(resumed.ran, 1);
  assert.ok(resumed.tornBytes > 0);
  const after = readStore(dir);
  assert.equal(after.tornBytes, 0);
  assert.equal(after.rows.length, lines.length);
});

test('ResultsStore rejects a damaged record before the end, and a checksum mismatch at the end is torn', async () => {
  const dir = tmp();
  await runSweep(config, 'quick', dir, { workers: 1 });
  const file = join(dir, 'rows.jsonl');
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  // flip a digit in the last record: the CRC no longer matches
  const last = lines.at(-1)!.replace(/"n":(\d)/, (_m, d: string) => `"n":${(Number(d) + 1) % 10}`);
  writeFileSync(file, [...lines.slice(0, -1), last].join('\n') + '\n');
  assert.equal(readStore(dir).rows.length, lines.length - 1);
  writeFileSync(file, [lines[0], last, ...lines.slice(1)].join('\n') + '\n');
  assert.throws(() => readStore(dir), /line 2: damaged record before the end/);
});

test('ResultsStore.open refuses a folder locked by a live process and takes over a stale lock', () => {
  const dir = tmp();
  const store = ResultsStore.open(dir, config, 'quick');
  assert.throws(() => ResultsStore.open(dir, config, 'quick'), (e: unknown) => e instanceof ConfigError && /is being written by process \d+/.test((e as Error).message));
  store.close();
  assert.equal(existsSync(join(dir, 'lock')), false);
  writeFileSync(join(dir, 'lock'), '999999999'); // no such process
  ResultsStore.open(dir, config, 'quick').close();
});

test('ResultsStore.open refuses a folder holding another config', () => {
  const dir = tmp();
  ResultsStore.open(dir, config, 'quick').close();
  assert.throws(() => ResultsStore.open(dir, config, 'full'), /holds results of another config \(tiny-demys, quick\)/);
});

test('a store resumes under an edited description (documentation, not identity) and keeps its config.json; any other change is refused', () => {
  const dir = tmp();
  ResultsStore.open(dir, config, 'quick').close();
  const before = readFileSync(join(dir, 'config.json'), 'utf8');
  ResultsStore.open(dir, { ...config, description: 'reworded' }, 'quick').close();
  assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), before);
  assert.throws(() => ResultsStore.open(dir, { ...config, description: 'reworded', seed: config.seed + 1 }, 'quick'), /holds results of another config .*seed:/);
});

test('gatelab sweep killed with SIGKILL mid-run resumes to the rows of an uninterrupted run', async () => {
  const reference = tmp();
  await runSweep(config, 'full', reference, { workers: 2 });
  const dir = tmp();
  const run = () => spawn(process.execPath, ['bin/gatelab.js', 'sweep', configFile, '--workers', '2', '--out', dir], { stdio: 'ignore' });
  // start, wait until some rows are on disk, kill -9
  const child = run();
  const total = sweepTasks(config, 'full').length;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const file = join(dir, 'rows.jsonl');
      const count = existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;
      if (count >= 3) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the sweep finished before it could be killed; make the fixture larger'));
    });
  });
  await new Promise((resolve) => child.on('exit', resolve));
  const partial = readStore(dir).rows.length;
  assert.ok(partial >= 3 && partial < total, `${partial} of ${total} rows before the kill`);
  // the lock of the killed process is stale: a new run takes over and finishes
  const resumed = run();
  const code = await new Promise((resolve) => resumed.on('exit', resolve));
  assert.equal(code, 0);
  assert.equal(comparable(readStore(dir).rows), comparable(readStore(reference).rows));
});

test('parseExperimentConfig names the bad field', () => {
  const raw = JSON.parse(readFileSync(configFile, 'utf8'));
  const bad = (mutate: (c: any) => void) => {
    const c = structuredClone(raw);
    mutate(c);
    return () => parseExperimentConfig(c, 'x.json');
  };
  assert.throws(bad((c) => (c.variants.quick.replicates = 0)), /x\.json: variants\.quick\.replicates: 0 is not allowed/);
  assert.throws(bad((c) => (c.variants.quick.fitRange = [5000, 6000])), /variants\.quick\.fitRange: \[5000,6000\] holds 0 of the grid's n/);
  assert.throws(bad((c) => (c.predictions['beta9'] = { slope: -0.5 })), /predictions\.beta9: unknown quantity/);
  assert.throws(bad((c) => (c.fit.k = 1)), /fit\.k: 1 is below the number of true experts \(2\)/);
  assert.throws(bad((c) => (c.truth.experts[0].nu = -1)), /x\.json: truth\.experts\[0\]\.nu: -1 is not a variance/);
  assert.throws(bad((c) => (c.start.type = 'magic')), /start\.type: "magic" is not a start/);
  assert.throws(bad((c) => (c.extra = 1)), /x\.json\.extra: unknown field/);
});

test('gatelab sweep --seed: a replication under another experiment seed, recorded in the folder; bad seeds name the flag', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = tmp();
  const run = (...extra: string[]) => spawnSync(process.execPath, ['bin/gatelab.js', 'sweep', configFile, '--quick', '--workers', '1', '--out', dir, ...extra], { encoding: 'utf8' });
  const r = run('--seed', '7');
  assert.equal(r.status, 0, r.stderr);
  const store = readStore(dir);
  assert.equal(store.config.seed, 7);
  // every task seed derives from the experiment seed: the rows are those of the config with seed 7
  const tasks = sweepTasks({ ...config, seed: 7 }, 'quick');
  assert.deepEqual(store.rows.map((row) => row.seed).sort(), tasks.map((t) => t.seed).sort());
  assert.notDeepEqual(store.rows.map((row) => row.seed).sort(), sweepTasks(config, 'quick').map((t) => t.seed).sort());
  // the folder pins the seed: resuming without it is refused, naming the field
  const other = run();
  assert.equal(other.status, 1);
  assert.match(other.stderr, /seed/);
  for (const bad of ['-1', '1.5', 'x', '9007199254740993']) {
    const b = run('--seed', bad);
    assert.equal(b.status, 2, bad);
    assert.match(b.stderr, /^error: --seed: .* is not allowed; must be an integer >= 0/, bad);
  }
});
