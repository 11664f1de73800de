/**
 * Issue 12, item 11: `slurm --submit` did not check the results folder: pointed at another
 * experiment's folder, every array task failed at once. It now refuses what `sweep` refuses
 * (planRun's config check, shared: merged-store.ts checkResultsFolder), before a script is
 * written or sbatch is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOneLineError, spawnCli, tinyConfigFile, tinyResults } from './helpers.js';

/** A fake sbatch on PATH that records its calls and prints a job id. */
function fakeSbatch(dir: string): { env: NodeJS.ProcessEnv; calls: string } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const calls = join(dir, 'sbatch-calls.txt');
  writeFileSync(join(bin, 'sbatch'), `#!/bin/sh\necho "$@" >> '${calls}'\necho 4242\n`);
  chmodSync(join(bin, 'sbatch'), 0o755);
  return { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, calls };
}

test('slurm --submit into another config\'s results folder is refused before anything is written or submitted', async () => {
  const { dir } = await tinyResults('slurm-other');
  const base = join(dir, '..');
  const other = tinyConfigFile(base, 'rel-other', 2, (c) => ((c.fit as Record<string, unknown>).maxIterations = 300));
  const { env, calls } = fakeSbatch(base);
  const r = spawnCli(['slurm', other, '--quick', '--array', '2', '--out', dir, '--submit'], { env });
  assertOneLineError(r, /holds results of another config \(rel-tiny, quick\) than rel-other \(quick\): name: "rel-tiny" in the folder, "rel-other" in this config/);
  assert.equal(existsSync(calls), false, 'sbatch was not run');
  assert.equal(existsSync(join(dir, 'slurm', 'sweep.sbatch')), false, 'no script was written into the folder');
  // the same config is fine: submitted (the folder's 4 tasks are done: nothing to submit)
  const same = tinyConfigFile(base, 'rel-tiny', 2);
  const ok = spawnCli(['slurm', same, '--quick', '--array', '2', '--out', dir, '--submit'], { env });
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /nothing to submit: all 4 tasks of rel-tiny \(quick\) are done/);
});

test('slurm --submit names the field of an edited config (max iterations) and refuses a damaged store', async () => {
  const { dir } = await tinyResults('slurm-edited');
  const base = join(dir, '..');
  const edited = tinyConfigFile(base, 'rel-tiny', 2, (c) => ((c.fit as Record<string, unknown>).maxIterations = 300));
  const { env, calls } = fakeSbatch(base);
  const r = spawnCli(['slurm', edited, '--quick', '--out', dir, '--submit'], { env });
  assertOneLineError(r, /: fit\.maxIterations: 200 in the folder, 300 in this config; use another --out/);
  writeFileSync(join(dir, 'config.json'), '{');
  const damaged = spawnCli(['slurm', join(base, 'rel-tiny.json'), '--quick', '--out', dir, '--submit'], { env });
  assertOneLineError(damaged, /config\.json: is not valid JSON/);
  assert.equal(existsSync(calls), false, 'sbatch was not run');
});
