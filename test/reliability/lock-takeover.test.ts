/**
 * Issue 12, item 13: a stale-lock takeover must be atomic: of many runs that all see the same dead
 * PID in a store's lock at once, exactly one may take the store over (the old code unlinked the
 * stale lock and created its own, so a second run could unlink the first's fresh lock and both
 * wrote). Tried with concurrent child processes that take it over again and again; also a
 * takeover whose winner died half-way (its marker left behind) is taken over in turn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readLock, ResultsStore } from '../../src/sweeps/store.js';
import { ROOT, tinyResults } from './helpers.js';

const CHILD = join(ROOT, 'test', 'reliability', 'fixtures', 'lock-child.ts');

/** A PID that is not running (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

interface Counts {
  wins: number;
  refused: number;
  overlaps: number;
  unexpected: string[];
}

/** Start `count` children, release them at once, collect the counts each printed. */
async function race(dir: string, count: number, durationMs: number): Promise<Counts[]> {
  const go = join(dir, '..', `go-${Date.now()}`);
  const dead = String(deadPid());
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--import', 'tsx', CHILD, dir, go, dead, String(durationMs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  const outputs = children.map(() => '');
  const ready = children.map(
    (child, i) =>
      new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          outputs[i] += chunk.toString();
          if (outputs[i]!.startsWith('ready\n')) resolve();
        });
        child.stderr.on('data', (chunk: Buffer) => (outputs[i] += chunk.toString()));
        child.on('exit', () => reject(new Error(`child ${i} exited early: ${outputs[i]}`)));
      }),
  );
  const exited = children.map((child) => new Promise<void>((resolve) => child.on('exit', () => resolve())));
  await Promise.all(ready);
  writeFileSync(go, '');
  await Promise.all(exited);
  return outputs.map((o, i) => {
    try {
      return JSON.parse(o.replace(/^ready\n/, '').trim()) as Counts;
    } catch {
      throw new Error(`child ${i} printed no counts: ${o}`);
    }
  });
}

test('6 runs keep taking over a stale lock for 3 s: never two holders at once, no other error', { timeout: 240_000 }, async () => {
  const { dir } = await tinyResults('lock-race');
  writeFileSync(join(dir, 'lock'), `${deadPid()} ${hostname()}`);
  const counts = await race(dir, 6, 3000);
  const total = (f: (c: Counts) => number) => counts.reduce((s, c) => s + f(c), 0);
  const summary = `wins ${total((c) => c.wins)}, refusals ${total((c) => c.refused)}, overlaps ${total((c) => c.overlaps)}`;
  assert.deepEqual(counts.flatMap((c) => c.unexpected), [], summary);
  assert.equal(total((c) => c.overlaps), 0, `two runs held the store at once: ${summary}`);
  assert.ok(total((c) => c.wins) >= 20, `the takeover was tried often enough: ${summary}`);
  assert.ok(total((c) => c.refused) > 0, summary);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('lock.')), [], 'no candidate or marker file is left');
});

test('a takeover whose winner died half-way (its marker left) is taken over by the next run', async () => {
  const { dir, config } = await tinyResults('lock-marker');
  const stale = `${deadPid()} ${hostname()} aaaa`;
  writeFileSync(join(dir, 'lock'), stale);
  // the marker a killed winner leaves: named by the stale lock's text, holding its own dead lock text
  const marker = join(dir, `lock.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 20)}`);
  writeFileSync(marker, `${deadPid()} ${hostname()} bbbb`);
  const store = ResultsStore.open(dir, config, 'quick');
  assert.equal(readLock(dir)?.pid, process.pid);
  assert.equal(existsSync(marker), false, 'the dead marker was cleared');
  store.close();
  assert.equal(readLock(dir), undefined);
  // a live claimant's marker is respected: the store is refused, not taken
  writeFileSync(join(dir, 'lock'), stale);
  writeFileSync(marker, `${process.ppid} ${hostname()} cccc`);
  assert.throws(() => ResultsStore.open(dir, config, 'quick'), new RegExp(`is being written by process ${process.ppid} \\(.*lock\\.takeover-`));
  assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), stale);
});
