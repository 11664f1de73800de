/**
 * gatelab slurm: the sbatch script and its errors (always), and a real one-node SLURM cluster
 * (scripts/slurm/start-cluster.sh; .ci/run starts one): the quick demys-exact as a 4-task job array
 * gives the rows of a local run, and again after one array task is cancelled mid-run and the job
 * re-submitted. Without SLURM the cluster tests skip with a message; with CI=true they fail.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { shardDir, shardTasks } from '../../src/sweeps/shard.js';
import { arraySpec, sbatchScript, SchedulerError, submitScript } from '../../src/sweeps/slurm.js';
import { readStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';
import { comparable } from './shard-helpers.js';

const experiment = 'experiments/demys-exact.json';
const demys = parseExperimentConfig(JSON.parse(readFileSync(experiment, 'utf8')), experiment);
const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `gatelab-slurm-${prefix}-`));
const gatelab = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, ['bin/gatelab.js', ...args], { encoding: 'utf8', env });

test('sbatchScript: a job array of N shards, workers = CPUs per task, one log per array task; optional flags only when given', () => {
  const base = { experimentFile: experiment, variant: 'quick' as const, dir: '/data/run', array: 4, cpusPerTask: 2, jobName: 'gatelab-demys-exact', node: '/opt/node', root: '/src/gatelab' };
  const text = sbatchScript(base);
  assert.match(text, /^#!\/bin\/bash\n/);
  assert.match(text, /\n#SBATCH --array=1-4\n/);
  assert.match(text, /\n#SBATCH --cpus-per-task=2\n/);
  assert.match(text, /\n#SBATCH --output=\/data\/run\/logs\/%A_%a\.log\n/);
  assert.doesNotMatch(text, /--partition|--time|--mem/);
  assert.match(text, /\ncd \/src\/gatelab\n/);
  assert.match(
    text,
    new RegExp(`\\nexec "\\$\\{GATELAB_NODE:-/opt/node\\}" /src/gatelab/bin/gatelab\\.js sweep ${resolve(experiment).replace(/[.]/g, '\\.')} --quick --shard "\\$\\{SLURM_ARRAY_TASK_ID\\}/4" --workers "\\$\\{SLURM_CPUS_PER_TASK:-1\\}" --out /data/run\\n$`),
  );
  const full = sbatchScript({ ...base, variant: 'full', partition: 'long', time: '1-00:00:00', mem: '4G' });
  assert.match(full, /#SBATCH --partition=long\n#SBATCH --time=1-00:00:00\n#SBATCH --mem=4G\n/);
  assert.doesNotMatch(full, /--quick/);
  assert.throws(() => sbatchScript({ ...base, time: 'soon' }), /--time: "soon" is not allowed; must be a SLURM time/);
  assert.throws(() => sbatchScript({ ...base, mem: '4 GB' }), /--mem: "4 GB" is not allowed/);
  assert.throws(() => sbatchScript({ ...base, partition: 'a b' }), /--partition: "a b" is not allowed/);
  assert.equal(arraySpec([4, 1, 2, 3]), '1-4');
  assert.equal(arraySpec([2, 4, 5, 6, 9]), '2,4-6,9');
});

test('gatelab slurm: writes DIR/slurm/sweep.sbatch and prints it; usage errors name the flag', () => {
  const dir = tmp('script');
  const r = gatelab(['slurm', experiment, '--quick', '--array', '3', '--cpus-per-task', '2', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(join(dir, 'slurm', 'sweep.sbatch'), 'utf8'));
  assert.ok(existsSync(join(dir, 'logs')), 'the log folder exists before submission (SLURM does not create it)');
  const tooMany = gatelab(['slurm', experiment, '--quick', '--array', '97', '--out', dir]);
  assert.equal(tooMany.status, 2);
  assert.equal(tooMany.stderr, 'error: --array: 97 is not allowed; must be at most the number of tasks of demys-exact (quick), 96\n');
  const badTime = gatelab(['slurm', experiment, '--quick', '--time', '2h', '--out', dir]);
  assert.equal(badTime.status, 2);
  assert.match(badTime.stderr, /^error: --time: "2h" is not allowed; must be a SLURM time/);
});

test('gatelab slurm --submit: a clear error when sbatch is missing, and sbatch\'s message when the cluster refuses', () => {
  const dir = tmp('errors');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const noSbatch = gatelab(['slurm', experiment, '--quick', '--out', dir, '--submit'], { ...process.env, PATH: bin });
  assert.equal(noSbatch.status, 1);
  assert.match(noSbatch.stderr, /^error: --submit: sbatch is not on PATH .*submit it with sbatch .*sweep\.sbatch\n$/);
  writeFileSync(join(bin, 'sbatch'), '#!/bin/sh\necho "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\nexit 1\n');
  chmodSync(join(bin, 'sbatch'), 0o755);
  const refused = gatelab(['slurm', experiment, '--quick', '--partition', 'nope', '--out', dir, '--submit'], { ...process.env, PATH: `${bin}:${process.env.PATH}` });
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, 'error: --submit: the cluster refused the job (sbatch exit 1): sbatch: error: Batch job submission failed: Invalid partition name specified\n');
  assert.throws(() => submitScript(join(dir, 'slurm', 'sweep.sbatch'), '1', { PATH: bin }), SchedulerError);
});

// ---------------------------------------------------------------------------------------------
// the real cluster

/** Why no cluster can be used here, or undefined when one answers. */
function clusterProblem(): string | undefined {
  for (const tool of ['sbatch', 'squeue', 'scancel', 'sinfo']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not on PATH (install: scripts/slurm/install.sh)`;
  }
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) return `no SLURM cluster answers (sinfo: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}); start one: eval "$(scripts/slurm/start-cluster.sh)"`;
  if (!/idle|mix|alloc|completing/.test(r.stdout)) return `no SLURM node is up (sinfo: ${r.stdout.trim()})`;
  return undefined;
}

/** Skip (or, in CI, fail) when there is no cluster; true when the test may go on. */
function needCluster(t: TestContext): boolean {
  const problem = clusterProblem();
  if (!problem) return true;
  if (process.env.CI === 'true') assert.fail(`CI must run the SLURM tests: ${problem}`);
  t.skip(`SLURM test skipped: ${problem}`);
  return false;
}

function submit(dir: string): { job: string; spec: string; stdout: string } {
  const r = gatelab(['slurm', experiment, '--quick', '--array', '4', '--cpus-per-task', '1', '--out', dir, '--submit']);
  assert.equal(r.status, 0, r.stderr);
  const m = /\nsubmitted: job (\d+), array tasks ([\d,-]+) of 1-4/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { job: m[1]!, spec: m[2]!, stdout: r.stdout };
}

/** Wait until a job has left the queue. */
async function waitForJob(job: string, timeoutMs = 240_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const r = spawnSync('squeue', ['-h', '-j', job], { encoding: 'utf8' });
    if ((r.status === 0 && r.stdout.trim() === '') || /Invalid job id/i.test(r.stderr)) return;
    await sleep(300);
  }
  assert.fail(`job ${job} still queued after ${timeoutMs / 1000} s: ${spawnSync('squeue', [], { encoding: 'utf8' }).stdout}`);
}

let reference: Promise<string> | undefined;
/** The quick demys-exact run locally, unsharded (once). */
function localRun(): Promise<string> {
  reference ??= (async () => {
    const dir = tmp('local');
    await runSweep(demys, 'quick', dir, { workers: 2 });
    return comparable(readStore(dir).rows);
  })();
  return reference;
}

const rowsIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);

test('SLURM: the quick demys-exact as a 4-task job array gives the rows of a local run; status and export read it', { timeout: 300_000 }, async (t) => {
  if (!needCluster(t)) return;
  const dir = tmp('array');
  const { job, spec } = submit(dir);
  assert.equal(spec, '1-4');
  await waitForJob(job);
  assert.deepEqual(readdirSync(join(dir, 'logs')).sort(), [1, 2, 3, 4].map((i) => `${job}_${i}.log`));
  const merged = readResults(dir);
  assert.deepEqual(merged.missing, [], `missing after the job: ${merged.missing.map((m) => m.key).join(' ')}; logs: ${readFileSync(join(dir, 'logs', `${job}_1.log`), 'utf8')}`);
  assert.equal(merged.stores.length, 4);
  assert.equal(comparable(merged.rows), await localRun());

  const status = gatelab(['status', dir]);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /96 of 96 tasks done, 0 failed, 0 to go/);
  assert.equal(status.stdout.match(/-of-4 +24 +24 +1 +done\n/g)?.length, 4);
  const parquet = join(dir, 'all.parquet');
  const exported = gatelab(['export', dir, '--parquet', parquet]);
  assert.equal(exported.status, 0, exported.stderr);
  assert.match(exported.stderr, /^export: 96 rows, .* from 4 store\(s\).*all 96 tasks present/);
  // submitting again: nothing left
  const again = gatelab(['slurm', experiment, '--quick', '--array', '4', '--cpus-per-task', '1', '--out', dir, '--submit']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /nothing to submit: all 96 tasks of demys-exact \(quick\) are done/);
});

test('SLURM: an array task cancelled mid-run (scancel) and the job re-submitted give the rows of a local run again', { timeout: 400_000 }, async (t) => {
  if (!needCluster(t)) return;
  const all = sweepTasks(demys, 'quick');
  // the cancel races the task's end (a shard takes about a second here): try a few times
  for (let attempt = 1; attempt <= 4; attempt++) {
    const dir = tmp('cancel');
    const { job } = submit(dir);
    let cancelled: number | undefined;
    const t0 = Date.now();
    while (cancelled === undefined && Date.now() - t0 < 120_000) {
      for (let i = 1; i <= 4 && cancelled === undefined; i++) {
        const store = shardDir(dir, { index: i, count: 4 });
        const done = rowsIn(join(store, 'rows.jsonl'));
        if (done >= 1 && done < shardTasks(all, { index: i, count: 4 }).length) {
          const r = spawnSync('scancel', [`${job}_${i}`], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
          cancelled = i;
        }
      }
      if (cancelled === undefined) {
        if (spawnSync('squeue', ['-h', '-j', job], { encoding: 'utf8' }).stdout.trim() === '') break;
        await sleep(5);
      }
    }
    await waitForJob(job);
    if (cancelled === undefined) {
      t.diagnostic(`attempt ${attempt}: no array task was caught mid-run; again`);
      continue;
    }
    const shard = { index: cancelled, count: 4 };
    const left = readResults(dir).missing.length;
    if (left === 0) {
      t.diagnostic(`attempt ${attempt}: array task ${cancelled} finished before the cancel reached it; again`);
      continue;
    }
    t.diagnostic(`attempt ${attempt}: array task ${job}_${cancelled} cancelled with ${rowsIn(join(shardDir(dir, shard), 'rows.jsonl'))} rows; ${left} tasks missing`);
    const status = gatelab(['status', dir]);
    assert.match(status.stdout, new RegExp(`${96 - left} of 96 tasks done`));
    // re-submit the same command: only the cancelled shard runs, its finished tasks are skipped
    const again = submit(dir);
    assert.equal(again.spec, String(cancelled));
    await waitForJob(again.job);
    const log = readFileSync(join(dir, 'logs', `${again.job}_${cancelled}.log`), 'utf8');
    assert.match(log, new RegExp(`${left} tasks run, ${shardTasks(all, shard).length - left} already done, 0 failed`));
    const merged = readResults(dir);
    assert.deepEqual(merged.missing, []);
    assert.equal(comparable(merged.rows), await localRun());
    return;
  }
  assert.fail('could not cancel an array task mid-run in 4 attempts');
});
