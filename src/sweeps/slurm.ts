/**
 * A sweep as a SLURM job array: array task i (1..N) runs `gatelab sweep EXP --shard i/N` with as
 * many workers as the task has CPUs, each into its own shard store under one results folder, one
 * log file per array task. Submitting again resumes: only the shards with tasks left are submitted,
 * and each skips its finished tasks. gatelab does no scheduling of its own: SLURM does.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, GatelabError, show } from '../errors.js';
import { ensureDir, fsCall } from '../files.js';
import { listStores, readResults } from './merged-store.js';
import { partitionTasks } from './shard.js';
import { sweepTasks } from './tasks.js';
import type { ExperimentConfig } from './types.js';

/** SLURM is missing, or refused or lost a job. */
export class SchedulerError extends GatelabError {}

export interface SlurmJobOptions {
  /** the experiment file (made absolute in the script) */
  experimentFile: string;
  variant: 'quick' | 'full';
  /** the results folder (made absolute in the script) */
  dir: string;
  /** array tasks = shards */
  array: number;
  cpusPerTask: number;
  partition?: string;
  time?: string;
  mem?: string;
  /** job name (default gatelab-<experiment name>) */
  jobName: string;
  /** --backend of each array task's sweep (default: the sweep's own default, auto) */
  backend?: 'cpu' | 'gpu' | 'auto';
  /** node executable (default: this one) */
  node?: string;
  /** project root (default: this checkout) */
  root?: string;
}

/** This checkout's root folder (two levels above src/sweeps/). */
export function projectRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Where `gatelab slurm` writes the script and the logs of a results folder. */
export function slurmPaths(dir: string): { script: string; logs: string } {
  return { script: join(resolve(dir), 'slurm', 'sweep.sbatch'), logs: join(resolve(dir), 'logs') };
}

const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i;
const MEM = /^\d+[KMGT]?$/i;
const PARTITION = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;

/** Check the SLURM flags; errors name the flag, the value and what is allowed. */
export function checkSlurmOptions(o: Pick<SlurmJobOptions, 'partition' | 'time' | 'mem' | 'dir'>): void {
  if (o.time !== undefined && !TIME.test(o.time)) {
    throw new ConfigError(`--time: ${show(o.time)} is not allowed; must be a SLURM time: minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S`);
  }
  if (o.mem !== undefined && !MEM.test(o.mem)) throw new ConfigError(`--mem: ${show(o.mem)} is not allowed; must be an integer with an optional unit K, M, G or T (e.g. 4G)`);
  if (o.partition !== undefined && !PARTITION.test(o.partition)) {
    throw new ConfigError(`--partition: ${show(o.partition)} is not allowed; must be a partition name (letters, digits, _ . -), or several separated by commas`);
  }
  if (/\s/.test(resolve(o.dir))) throw new ConfigError(`--out: ${show(resolve(o.dir))} is not allowed; #SBATCH --output cannot hold a path with spaces: choose a folder without`);
}

/** Quote a word for bash. */
function sh(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The sbatch script of a sweep (see the module comment). */
export function sbatchScript(o: SlurmJobOptions): string {
  checkSlurmOptions(o);
  const root = o.root ?? projectRoot();
  const dir = resolve(o.dir);
  const { logs } = slurmPaths(dir);
  const lines = [
    '#!/bin/bash',
    `# gatelab sweep of ${o.jobName.replace(/^gatelab-/, '')} (${o.variant}) as a SLURM job array: array task i runs shard i of ${o.array}.`,
    '# Written by `gatelab slurm`. Submit: sbatch THIS_FILE (or gatelab slurm ... --submit, which submits only the',
    '# shards with tasks left). Re-run one array task alone: sbatch --array=I THIS_FILE.',
    `#SBATCH --job-name=${o.jobName}`,
    `#SBATCH --array=1-${o.array}`,
    `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --output=${logs}/%A_%a.log`,
  ];
  if (o.partition !== undefined) lines.push(`#SBATCH --partition=${o.partition}`);
  if (o.time !== undefined) lines.push(`#SBATCH --time=${o.time}`);
  if (o.mem !== undefined) lines.push(`#SBATCH --mem=${o.mem}`);
  lines.push(
    'set -eu',
    `cd ${sh(root)}`,
    `exec "\${GATELAB_NODE:-${o.node ?? process.execPath}}" ${sh(join(root, 'bin', 'gatelab.js'))} sweep ${sh(resolve(o.experimentFile))}` +
      `${o.variant === 'quick' ? ' --quick' : ''} --shard "\${SLURM_ARRAY_TASK_ID}/${o.array}" --workers "\${SLURM_CPUS_PER_TASK:-1}" --out ${sh(dir)}` +
      (o.backend ? ` --backend ${o.backend}` : ''),
  );
  return lines.join('\n') + '\n';
}

/** Write the script (and create the log folder, which SLURM does not); returns the script's path. */
export function writeSbatchScript(o: SlurmJobOptions): string {
  const text = sbatchScript(o);
  const { script, logs } = slurmPaths(o.dir);
  ensureDir(dirname(script), '--out');
  ensureDir(logs, '--out');
  fsCall('--out', 'write', script, () => writeFileSync(script, text, { mode: 0o755 }));
  return script;
}

/**
 * The shards (1..array) that still have tasks left in a results folder: tasks without a row, and
 * failed tasks (each array task's sweep retries them, as a resume does).
 */
export function shardsWithWork(config: ExperimentConfig, variant: 'quick' | 'full', dir: string, array: number): number[] {
  const tasks = sweepTasks(config, variant);
  const done = listStores(dir).length > 0 ? new Set(readResults(dir).rows.filter((r) => r.status === 'ok').map((r) => r.key)) : new Set<string>();
  return partitionTasks(tasks, array)
    .map((shard, i) => (shard.some((t) => !done.has(t.key)) ? i + 1 : 0))
    .filter((i) => i > 0);
}

/** A SLURM array spec for a list of indices: `1-4`, `2,4`, `1-3,6`. */
export function arraySpec(indices: number[]): string {
  const parts: string[] = [];
  const sorted = [...indices].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * Submit a script with `sbatch --parsable [--array=SPEC] SCRIPT`; returns the job id. Throws a
 * SchedulerError when sbatch is not on PATH or exits non-zero (with its message).
 */
export function submitScript(script: string, array?: string, env: NodeJS.ProcessEnv = process.env): string {
  const args = ['--parsable', ...(array ? [`--array=${array}`] : []), script];
  const r = spawnSync('sbatch', args, { encoding: 'utf8', env });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new SchedulerError(`--submit: sbatch is not on PATH (is this a SLURM login node? Debian: apt-get install slurm-client); the script is written: submit it with sbatch ${script}`);
    }
    throw new SchedulerError(`--submit: cannot run sbatch (${code ?? r.error.message})`);
  }
  const message = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').join(' ');
  if (r.status !== 0) throw new SchedulerError(`--submit: the cluster refused the job (sbatch exit ${r.status ?? r.signal}): ${message || '(no message)'}`);
  const id = /^(\d+)/.exec((r.stdout ?? '').trim());
  if (!id) throw new SchedulerError(`--submit: sbatch printed no job id: ${show(message)}`);
  return id[1]!;
}
