/**
 * Runs tasks on a pool of worker threads (or in this thread when workers = 1) and hands each
 * finished row to `onRow` as it arrives. Scheduling is dynamic (a free worker takes the next task);
 * since every row depends only on its task, the rows do not depend on it.
 */
import { Worker } from 'node:worker_threads';
import { runTask } from './run-task.js';
import type { ExperimentConfig, SweepRow, SweepTask } from './types.js';

export interface PoolHandle {
  /** resolves when every task is done */
  done: Promise<void>;
  /** stop now: terminate the workers (rows in flight are lost, finished ones were handed over) */
  stop(): Promise<void>;
}

export function runPool(
  config: ExperimentConfig,
  variant: 'quick' | 'full',
  tasks: SweepTask[],
  workers: number,
  onRow: (row: SweepRow) => void,
): PoolHandle {
  if (workers <= 1 || tasks.length <= 1) {
    let stopped = false;
    const done = (async () => {
      for (const task of tasks) {
        if (stopped) return;
        onRow(runTask(config, variant, task));
        await new Promise((resolve) => setImmediate(resolve)); // let signals and progress through
      }
    })();
    return { done, stop: async () => void (stopped = true) };
  }
  const threads: Worker[] = [];
  let next = 0;
  let finished = 0;
  const done = new Promise<void>((resolve, reject) => {
    if (tasks.length === 0) return resolve();
    const count = Math.min(workers, tasks.length);
    for (let w = 0; w < count; w++) {
      const worker = new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: { config, variant } });
      threads.push(worker);
      const feed = () => {
        if (next < tasks.length) worker.postMessage(tasks[next++]);
      };
      worker.on('message', (message: SweepRow | 'ready') => {
        if (message !== 'ready') {
          try {
            onRow(message);
          } catch (e) {
            reject(e);
            return;
          }
          finished++;
          if (finished === tasks.length) {
            resolve();
            return;
          }
        }
        feed();
      });
      worker.on('error', reject);
    }
  }).finally(() => Promise.all(threads.map((t) => t.terminate())));
  return {
    done,
    stop: async () => {
      next = tasks.length;
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}
