/**
 * A sweep: every (n, replicate) task of an experiment variant, run on a worker pool, each finished
 * row appended durably to the results store; a re-run of the same command resumes: finished tasks
 * are skipped, and tasks recorded as failed are run again (retryFailed, default true; the new row
 * is appended and replaces the old one for every reader). Progress goes through a callback;
 * nothing is printed here.
 */
import { availableParallelism } from 'node:os';
import { ConfigError, show } from '../errors.js';
import { runPool, type PoolHandle } from './pool.js';
import { planRun } from './merged-store.js';
import type { Shard } from './shard.js';
import { writeRunInfo } from './status.js';
import { ResultsStore } from './store.js';
import type { ExperimentConfig, SweepRow } from './types.js';
import type { ComputeBackend } from '../compute/backend-choice.js';
import { runGpuTasks } from './gpu-sweep.js';

export interface SweepProgress {
  done: number;
  total: number;
  /** tasks finished in this run */
  ranNow: number;
  /** tasks per second in this run */
  rate: number;
  /**
   * estimated seconds left: this run's elapsed time times (sum of n over the tasks left) / (sum
   * of n over the tasks it finished), since a task costs about n (as `gatelab status` assumes);
   * NaN before the first task ends. Counting tasks alone underestimates a grid run in order of n.
   */
  eta: number;
  failed: number;
}

export interface SweepOptions {
  /** worker threads (default: all cores) */
  workers?: number;
  onProgress?: (p: SweepProgress) => void;
  /** called once the pool runs, with a handle to stop it (for signal handlers) */
  onStart?: (stop: () => Promise<void>) => void;
  /** run only this shard's tasks, into DIR/shards/<i>-of-<N>/ (see shard.ts); default: all, into DIR */
  shard?: Shard;
  /** where tasks run (default: the CPU worker pool); the GPU runs them in batches by n */
  backend?: ComputeBackend;
  /** run tasks recorded as failed again (default true); false keeps their failed rows */
  retryFailed?: boolean;
}

export interface SweepSummary {
  dir: string;
  total: number;
  skipped: number;
  ran: number;
  /** failed tasks of earlier runs that this run ran again */
  retried: number;
  /** tasks whose (latest) row is failed after this run */
  failed: number;
  tornBytes: number;
  seconds: number;
}

export async function runSweep(config: ExperimentConfig, variant: 'quick' | 'full', dir: string, options: SweepOptions = {}): Promise<SweepSummary> {
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new ConfigError(`workers: ${show(workers)} is not allowed; must be an integer >= 1`);
  const retry = options.retryFailed ?? true;
  const { tasks: all, storeDir, doneElsewhere, failedElsewhere } = planRun(config, variant, dir, options.shard);
  const store = ResultsStore.open(storeDir, config, variant);
  const t0 = Date.now();
  let handle: PoolHandle | undefined;
  try {
    writeRunInfo(storeDir, workers);
    // done: an ok row here or elsewhere; without retry, any row
    const isDone = (key: string) => store.isDone(key, retry) || (doneElsewhere.has(key) && !(retry && failedElsewhere.has(key)));
    const okSomewhere = (key: string) => store.row(key)?.status === 'ok' || (doneElsewhere.has(key) && !failedElsewhere.has(key));
    const todo = all.filter((t) => !isDone(t.key));
    const skipped = all.length - todo.length;
    // a task to do that has a row already is a failed one run again
    const retried = todo.filter((t) => store.has(t.key) || doneElsewhere.has(t.key)).length;
    // failed tasks kept as they are (without retry); each failed row of this run adds one
    let failed = all.filter((t) => isDone(t.key) && !okSomewhere(t.key)).length;
    let ranNow = 0;
    const workTotal = todo.reduce((sum, t) => sum + t.n, 0);
    let workDone = 0;
    const report = () => {
      const elapsed = (Date.now() - t0) / 1000;
      const rate = ranNow / Math.max(elapsed, 1e-9);
      const eta = workDone > 0 ? (elapsed * (workTotal - workDone)) / workDone : NaN;
      options.onProgress?.({ done: skipped + ranNow, total: all.length, ranNow, rate, eta, failed });
    };
    report();
    const onRow = (row: SweepRow) => {
      store.append(row);
      ranNow++;
      workDone += row.n;
      if (row.status === 'failed') failed++;
      report();
    };
    const backend = options.backend;
    if (backend?.kind === 'gpu') {
      let stop = false;
      const done = runGpuTasks(backend, config, variant, todo, onRow, () => stop);
      handle = { done, stop: async () => void (stop = true) };
    } else handle = runPool(config, variant, todo, workers, onRow);
    options.onStart?.(handle.stop);
    await handle.done;
    return { dir: storeDir, total: all.length, skipped, ran: ranNow, retried, failed, tornBytes: store.tornBytes, seconds: (Date.now() - t0) / 1000 };
  } finally {
    store.close();
  }
}
