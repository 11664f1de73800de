/**
 * The task grid of a sweep and the per-task seeds. A task's seed depends only on (experiment seed,
 * n, replicate): seed = 53 bits of the first block of Rng(seed).derive(n, replicate). So results do
 * not depend on scheduling, worker count or which tasks already ran.
 */
import { Rng } from '../rng/rng.js';
import { resolveNGrid } from './config.js';
import type { ExperimentConfig, SweepTask } from './types.js';

/** The seed of task (n, replicate) of an experiment with root seed `seed`. */
export function taskSeed(seed: number, n: number, replicate: number): number {
  const stream = new Rng(seed).derive(n, replicate);
  const lo = stream.nextUint32();
  const hi = stream.nextUint32() & 0x1fffff;
  return hi * 4294967296 + lo;
}

export function taskKey(n: number, replicate: number): string {
  return `n=${n}/r=${replicate}`;
}

/** All tasks of a variant, ordered by n then replicate. */
export function sweepTasks(config: ExperimentConfig, variant: 'quick' | 'full'): SweepTask[] {
  const v = config.variants[variant];
  const tasks: SweepTask[] = [];
  for (const n of resolveNGrid(v.n)) {
    for (let replicate = 0; replicate < v.replicates; replicate++) {
      tasks.push({ key: taskKey(n, replicate), n, replicate, seed: taskSeed(config.seed, n, replicate) });
    }
  }
  return tasks;
}
