/**
 * scripts/carry-rows.ts: the rows it carries into a shrunk design are the rows that design's own
 * sweep computes (same keys, seeds and values; only the timing differs), it carries nothing twice,
 * and it refuses runs that differ in more than the grid and fit range.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';

const raw = JSON.parse(readFileSync('test/fixtures/tiny-sweep.json', 'utf8'));
const carry = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/carry-rows.ts', ...args], { encoding: 'utf8' });
const withoutTiming = (rows: readonly Record<string, unknown>[]) => rows.map(({ seconds: _s, ...r }) => r).sort((a, b) => String(a.key).localeCompare(String(b.key)));

test('carry-rows: a shrunk design gets exactly the rows its own sweep computes, once; other runs are refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gatelab-carry-'));
  // the "paper-scale" design: the quick variant's 4 n x 6 replicates; the shrunk one keeps its first 2 n
  const big = parseExperimentConfig(raw, 'tiny');
  const grid = [...new Set((await import('../../src/sweeps/tasks.js')).sweepTasks(big, 'quick').map((t) => t.n))];
  const shrunkRaw = structuredClone(raw);
  shrunkRaw.variants.quick.n = grid.slice(0, 2);
  shrunkRaw.variants.quick.fitRange = [grid[0], grid[1]];
  const shrunkFile = join(root, 'shrunk.json');
  writeFileSync(shrunkFile, JSON.stringify(shrunkRaw));
  const shrunk = parseExperimentConfig(shrunkRaw, shrunkFile);

  await runSweep(big, 'quick', join(root, 'big'), { workers: 1 });
  const out = carry(['--from', join(root, 'big'), '--config', shrunkFile, '--to', join(root, 'carried'), '--variant', 'quick']);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /12 rows carried, 0 already there, 12 left behind \(tasks the new design does not have\); 0 of its 12 tasks to run/);
  await runSweep(shrunk, 'quick', join(root, 'own'), { workers: 1 });
  assert.deepEqual(withoutTiming(readStore(join(root, 'carried')).rows as never), withoutTiming(readStore(join(root, 'own')).rows as never));

  const again = carry(['--from', join(root, 'big'), '--config', shrunkFile, '--to', join(root, 'carried'), '--variant', 'quick']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 rows carried, 12 already there/);

  const otherRaw = structuredClone(shrunkRaw);
  otherRaw.fit.maxIterations = 100;
  const otherFile = join(root, 'other.json');
  writeFileSync(otherFile, JSON.stringify(otherRaw));
  const refused = carry(['--from', join(root, 'big'), '--config', otherFile, '--to', join(root, 'other'), '--variant', 'quick']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /the runs differ in more than the quick variant's n and fitRange: fit\.maxIterations/);
});

test('each paper-scale config validates and differs from its shipped, shrunk config only in the full variant\'s n and fitRange: their shared tasks have the same rows', async () => {
  const { readdirSync } = await import('node:fs');
  const { runIdentity } = await import('../../src/sweeps/store.js');
  const { sweepTasks } = await import('../../src/sweeps/tasks.js');
  const files = readdirSync('experiments/paper-scale').filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const paper = parseExperimentConfig(JSON.parse(readFileSync(`experiments/paper-scale/${f}`, 'utf8')), f);
    const shipped = parseExperimentConfig(JSON.parse(readFileSync(`experiments/${f}`, 'utf8')), f);
    const strip = (c: typeof paper) => {
      const id = runIdentity({ config: c, variant: 'full' }) as { variants: { full: Record<string, unknown> } };
      delete id.variants.full.n;
      delete id.variants.full.fitRange;
      return id;
    };
    assert.deepEqual(strip(shipped), strip(paper), f);
    const paperTasks = new Map(sweepTasks(paper, 'full').map((t) => [t.key, t]));
    const shrunk = sweepTasks(shipped, 'full');
    assert.ok(shrunk.length < paperTasks.size, `${f}: the shipped design is the smaller one`);
    for (const t of shrunk) assert.deepEqual(paperTasks.get(t.key), t, `${f}: task ${t.key}`);
  }
});
