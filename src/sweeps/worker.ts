/**
 * A sweep worker thread: receives {config, variant} once, then tasks; answers each with its row.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTask } from './run-task.js';
import type { ExperimentConfig, SweepTask } from './types.js';

const { config, variant } = workerData as { config: ExperimentConfig; variant: 'quick' | 'full' };
parentPort!.on('message', (task: SweepTask) => {
  parentPort!.postMessage(runTask(config, variant, task));
});
parentPort!.postMessage('ready');
