/**
 * A sweep's tasks on the GPU backend: tasks are grouped by n; each group (up to a memory bound)
 * is sampled on the GPU from the tasks' own seeds (the CPU sampler's streams), kept there, and
 * fitted by one batched EM over every (task, start) pair. Rows are built by the CPU code
 * (run-task.ts taskRow) and keep their shape, with backend: 'gpu'. A GPU failure is thrown (not
 * recorded as failed rows): the rows already appended stay, and a re-run resumes.
 */
import type { ComputeBackend } from '../compute/backend-choice.js';
import { ConfigError } from '../errors.js';
import { fitMany } from '../compute/fit-many.js';
import { Rng } from '../rng/rng.js';
import { maxReplicates, readSamples, releaseSample, sampleOnGpu } from '../gpu/sampler.js';
import { failedRow, taskFitOptions, taskRow, taskStart } from './run-task.js';
import type { ExperimentConfig, SweepRow, SweepTask } from './types.js';


/** The groups of tasks that run as one GPU batch: by n (ascending), at most maxTasks each. */
export function gpuTaskGroups(tasks: readonly SweepTask[], maxTasks: (n: number) => number): SweepTask[][] {
  const byN = new Map<number, SweepTask[]>();
  for (const t of tasks) byN.set(t.n, [...(byN.get(t.n) ?? []), t]);
  const groups: SweepTask[][] = [];
  for (const n of [...byN.keys()].sort((a, b) => a - b)) {
    const list = byN.get(n)!;
    const size = Math.max(1, maxTasks(n));
    for (let i = 0; i < list.length; i += size) groups.push(list.slice(i, i + size));
  }
  return groups;
}

/**
 * Run `tasks` on the GPU, calling onRow for each finished row (in task order within a group).
 * @param stopped polled between groups: true stops the run after the current group
 */
export async function runGpuTasks(
  backend: Extract<ComputeBackend, { kind: 'gpu' }>,
  config: ExperimentConfig,
  variant: 'quick' | 'full',
  tasks: readonly SweepTask[],
  onRow: (row: SweepRow) => void,
  stopped: () => boolean = () => false,
): Promise<void> {
  // a group's sample is one buffer per coordinate on the GPU (D n f32): the device's limit bounds D
  for (const group of gpuTaskGroups(tasks, (n) => maxReplicates(backend.ctx, n))) {
    if (stopped()) return;
    const n = group[0]!.n;
    const onGpu = await sampleOnGpu(backend.ctx, config.truth, n, group.map((t) => new Rng(t.seed)));
    try {
      const datasets = await readSamples(onGpu);
      const problems = group.map((t, j) => ({ data: datasets[j]!, start: taskStart(config, t, variant) }));
      let results;
      try {
        results = await fitMany(problems, taskFitOptions(config, variant), backend, onGpu);
      } catch (e) {
        // an input error (e.g. an option the GPU does not run) fails every task of the group alike
        if (e instanceof ConfigError) {
          for (const t of group) onRow(failedRow(config, variant, t, e));
          continue;
        }
        throw e;
      }
      group.forEach((t, j) => onRow(taskRow(config, variant, t, results[j]!, 'gpu')));
    } finally {
      releaseSample(onGpu);
    }
  }
}
