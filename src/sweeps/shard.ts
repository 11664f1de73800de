/**
 * Shards of a sweep: a deterministic partition of the (n, replicate) task grid into N parts of
 * about equal cost, so that N processes (e.g. the N tasks of a SLURM job array) can run one sweep
 * without talking to each other. Shards are numbered 1..N (as `--shard i/N` and `--array=1-N`).
 * Shard i of N writes its own store, `DIR/shards/<i>-of-<N>/`, so no two processes ever write
 * one file.
 */
import { join } from 'node:path';
import { ConfigError, show } from '../errors.js';
import type { SweepTask } from './types.js';

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** The cost of a task, in arbitrary units: a fit of n points costs about n. */
export function taskCost(task: Pick<SweepTask, 'n'>): number {
  return task.n;
}

/** Parse `i/N` (1 <= i <= N); errors name the flag, the value and what is allowed. */
export function parseShard(value: string, flag = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new ConfigError(`${flag}: ${show(value)} is not allowed; must be i/N with 1 <= i <= N, e.g. 2/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError(`${flag}: ${show(value)} is not allowed; N must be an integer >= 1`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new ConfigError(`${flag}: ${show(value)} is not allowed; i must be in 1..${count} (shards are numbered from 1)`);
  }
  return { index, count };
}

/** The folder name of a shard store: `<i>-of-<N>`. */
export function shardName(shard: Shard): string {
  return `${shard.index}-of-${shard.count}`;
}

/** Parse a shard folder name (`<i>-of-<N>`); undefined when it is not one. */
export function parseShardName(name: string): Shard | undefined {
  const m = /^(\d+)-of-(\d+)$/.exec(name);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return index >= 1 && index <= count ? { index, count } : undefined;
}

/** The folder holding the shard stores of a results folder. */
export function shardsDir(dir: string): string {
  return join(dir, 'shards');
}

/** The store folder of one shard of a results folder. */
export function shardDir(dir: string, shard: Shard): string {
  return join(shardsDir(dir), shardName(shard));
}

/**
 * Partition tasks into `count` shards balanced by cost: longest processing time first (tasks by
 * cost descending, ties by their order in `tasks`, each to the least-loaded shard, ties to the
 * lowest index). A pure function of (tasks, count): every process computes the same partition.
 * Each shard's tasks come back in their order in `tasks`.
 */
export function partitionTasks<T extends Pick<SweepTask, 'n'>>(tasks: readonly T[], count: number): T[][] {
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError(`shard count: ${show(count)} is not allowed; must be an integer >= 1`);
  const order = tasks.map((_, i) => i).sort((a, b) => taskCost(tasks[b]!) - taskCost(tasks[a]!) || a - b);
  const load = new Array<number>(count).fill(0);
  const owner = new Array<number>(tasks.length);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    owner[i] = best;
    load[best]! += taskCost(tasks[i]!);
  }
  const shards: T[][] = Array.from({ length: count }, () => []);
  tasks.forEach((t, i) => shards[owner[i]!]!.push(t));
  return shards;
}

/** The tasks of one shard (see partitionTasks). */
export function shardTasks<T extends Pick<SweepTask, 'n'>>(tasks: readonly T[], shard: Shard): T[] {
  return partitionTasks(tasks, shard.count)[shard.index - 1]!;
}
