/**
 * Issue 12, "make it a property": kill-and-resume at scale. `gatelab sweep --workers 2` runs in
 * its own process group and the whole group is SIGKILLed at 12 seeded random moments (some during
 * start-up: loading, taking the lock, writing config.json; most while rows are being appended),
 * re-running the same command after each kill; a last run finishes. The final rows must equal an
 * uninterrupted run's, wall time aside, with one record per task and no lock left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/rng/rng.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { TIMING_FIELDS } from '../../src/sweeps/merged-store.js';
import { parseRows, readStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';
import type { SweepRow } from '../../src/sweeps/types.js';
import { BIN, ROOT, tempDir, tinyConfigFile } from './helpers.js';

const KILLS = 12;
const SEED = 1212;

const comparable = (rows: SweepRow[]) =>
  JSON.stringify(
    [...rows].sort((a, b) => (a.key < b.key ? -1 : 1)),
    (k, v: unknown) => (TIMING_FIELDS.includes(k) ? undefined : v),
  );

function recordCount(dir: string): number {
  const file = join(dir, 'rows.jsonl');
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8');
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

test(`gatelab sweep --workers 2, its process group SIGKILLed at ${KILLS} seeded random moments, resumes to an uninterrupted run's rows`, async (t) => {
  const base = tempDir('kill-resume');
  // 200 small tasks (n 200..500, short fits): a few seconds of work on 2 workers, more than the
  // killed runs get through
  const configFile = tinyConfigFile(base, 'rel-kill-resume', 50, (c) => {
    (c.variants as Record<string, unknown>).quick = { n: [200, 300, 400, 500], replicates: 50, fitRange: [200, 500], densityPoints: 0 };
  });
  const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
  const total = sweepTasks(config, 'quick').length;

  const referenceDir = join(base, 'reference');
  await runSweep(config, 'quick', referenceDir, { workers: 2 });
  const reference = readStore(referenceDir).rows;
  assert.equal(reference.length, total);

  const dir = join(base, 'results');
  const children = new Set<ChildProcess>();
  t.after(() => children.forEach(killGroup));
  const start = () => {
    const child = spawn(process.execPath, [BIN, 'sweep', configFile, '--quick', '--workers', '2', '--out', dir], {
      cwd: ROOT,
      detached: true, // its own process group: the kill takes the whole group
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal, err });
      }),
    );
    return { child, exit };
  };

  const rng = new Rng(SEED);
  const log: string[] = [];
  let kills = 0;
  let killedWhileAppending = 0;
  for (let attempt = 0; attempt < KILLS; attempt++) {
    const before = recordCount(dir);
    if (before >= total) break;
    const { child, exit } = start();
    let exited = false;
    void exit.then(() => (exited = true));
    const t0 = Date.now();
    const u = rng.uniform();
    let moment: string;
    if (u < 0.25) {
      // during start-up: loading the CLI, taking the lock, writing config.json, starting workers
      // (or at this run's first new row, if that comes first: a fast machine appends rows within
      // the delay, and start-up is over then)
      const delay = 50 + Math.floor(rng.uniform() * 600);
      while (!exited && Date.now() - t0 < delay && recordCount(dir) === before) await sleep(2);
      moment = `start-up +${Math.min(delay, Date.now() - t0)} ms`;
    } else {
      // while rows are appended: after this run's first few new rows (a seeded count, so each
      // killed run gets through a few rows whatever the machine's speed: a fast one appends a row
      // every few ms, and a fixed delay let runs finish), a random moment later
      const rows = 1 + Math.floor(rng.uniform() * 3);
      const extra = Math.floor(rng.uniform() * 20);
      while (!exited && recordCount(dir) < before + rows) {
        if (Date.now() - t0 > 60_000) throw new Error('no row within 60 s of a start');
        await sleep(2);
      }
      await sleep(extra);
      moment = `new row ${rows} +${extra} ms`;
      killedWhileAppending++;
    }
    if (!exited) {
      killGroup(child);
      kills++;
    }
    const result = await exit;
    assert.ok(result.signal === 'SIGKILL' || result.code === 0, `run ${attempt + 1} ended with ${result.code}/${result.signal}: ${result.err}`);
    assert.doesNotMatch(result.err, /internal error|\n\s+at /);
    const after = recordCount(dir);
    log.push(`run ${attempt + 1}: ${result.signal ?? `exit ${result.code}`} at ${moment}, records ${before} -> ${after}`);
  }
  for (const line of log) t.diagnostic(line);
  assert.ok(kills >= 10, `only ${kills} runs were killed before they finished:\n${log.join('\n')}`);
  assert.ok(killedWhileAppending >= 6, log.join('\n'));

  // the last run, uninterrupted, takes over the stale lock and finishes
  const last = await start().exit;
  assert.equal(last.code, 0, last.err);
  assert.doesNotMatch(last.err, /internal error|\n\s+at /);
  const rows = readStore(dir).rows;
  assert.equal(rows.length, total);
  assert.equal(comparable(rows), comparable(reference));
  // one intact record per task: killed runs lost only the tasks in flight, and torn lines were cut
  const records = parseRows(readFileSync(join(dir, 'rows.jsonl'), 'utf8'), 'rows.jsonl');
  assert.equal(records.tornBytes, 0);
  assert.equal(records.rows.length, total);
  assert.equal(new Set(records.rows.map((r) => r.key)).size, total);
  assert.ok(!existsSync(join(dir, 'lock')), 'the last run released the lock');
});
