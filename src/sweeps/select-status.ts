/**
 * `gatelab status` for a selection sweep's store (select-sweep.ts): tasks done per n, failed
 * tasks, the k each criterion chose so far, and an ETA for the single process that runs it. The
 * rate sweeps' status (status.ts) reads fit rows; a selection row holds one fit per k instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from './status.js';
import { isSelectConfig, readSelectRows, selectTasks } from './select-sweep.js';
import { taskCost } from './shard.js';

const CRITERIA = ['aic', 'bic', 'icl', 'dic'] as const;

/** Whether DIR holds a selection sweep's store (its config.json has `"kind": "select"`). */
export function isSelectStore(dir: string): boolean {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return false;
  try {
    const pinned = JSON.parse(readFileSync(file, 'utf8')) as { config?: unknown };
    return isSelectConfig(pinned.config);
  } catch {
    return false; // a damaged config.json: the rate-sweep reader reports it by name
  }
}

/**
 * The status of a selection sweep's store as text.
 *
 * ETA = (sum of n over the tasks left) x (seconds per unit of n over the finished tasks): a task
 * costs about n, and the sweep runs its tasks one after another in one process.
 * @param dir a folder written by `gatelab select-sweep`
 * @example selectStatus('results/select-demys')
 */
export function selectStatus(dir: string): string {
  const { rows, config, variant } = readSelectRows(dir);
  const tasks = selectTasks(config, variant);
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const lines = [`${config.name} (${variant}, selection sweep) in ${dir}: ${rows.filter((r) => r.status === 'ok').length} of ${tasks.length} tasks done`, ''];
  lines.push(`${'n'.padStart(8)}  ${'done'.padStart(5)}  ${'total'.padStart(5)}  ${CRITERIA.map((c) => `${c} = k*`.padStart(9)).join('  ')}`);
  for (const n of [...new Set(tasks.map((t) => t.n))]) {
    const here = tasks.filter((t) => t.n === n);
    const done = here.map((t) => byKey.get(t.key)).filter((r) => r?.status === 'ok');
    const hits = CRITERIA.map((c) => `${done.filter((r) => r!.chosen?.[c] === r!.kStar).length}`.padStart(9));
    lines.push(`${String(n).padStart(8)}  ${String(done.length).padStart(5)}  ${String(here.length).padStart(5)}  ${hits.join('  ')}`);
  }
  const failed = rows.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    lines.push('', 'failed tasks:');
    for (const r of failed) lines.push(`  ${r.key}: ${r.error ?? '(no message)'}`);
    lines.push('(a re-run of gatelab select-sweep runs failed tasks again)');
  }
  const left = tasks.filter((t) => byKey.get(t.key)?.status !== 'ok');
  const timed = rows.filter((r) => r.status === 'ok' && typeof r.seconds === 'number');
  lines.push('');
  if (left.length === 0) lines.push('ETA: done');
  else if (timed.length === 0) lines.push('ETA: unknown (no finished task to measure the time per task on)');
  else {
    const perUnit = timed.reduce((s, r) => s + r.seconds!, 0) / timed.reduce((s, r) => s + r.n, 0);
    const seconds = perUnit * left.reduce((s, t) => s + taskCost(t), 0);
    lines.push(`ETA: ${formatDuration(seconds)} (one process), at ${perUnit.toExponential(2)} s per unit of n measured on ${timed.length} finished tasks; resume with gatelab select-sweep on the config`);
  }
  return lines.join('\n') + '\n';
}
