/**
 * Progress of a (possibly distributed) sweep, read from its results folder alone: tasks done out of
 * total per n and per shard, failed tasks with their error, and an ETA from the finished tasks'
 * wall times. Each run also leaves `run.json` (workers, host, PID, start time) in its store, so
 * that the ETA knows how many tasks a shard runs at once.
 */
import { GATE_BOUND, gateBoundExcess, gateBoxFace } from '../models/gate-bound.js';
import { rowStopReason } from './row-stop.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fsCall } from '../files.js';
import { type MergedResults, storeLabel } from './merged-store.js';
import { partitionTasks, type Shard, shardName, taskCost } from './shard.js';
import { type LockHolder, readLock } from './store.js';
import type { SweepTask } from './types.js';

/** What a run records about itself in its store folder. */
export interface RunInfo {
  workers: number;
  host: string;
  pid: number;
  started: string;
}

/** Record the run that writes a store (for status). */
export function writeRunInfo(storeDir: string, workers: number): void {
  const info: RunInfo = { workers, host: hostname(), pid: process.pid, started: new Date().toISOString() };
  const file = join(storeDir, 'run.json');
  fsCall('results folder (--out)', 'write', file, () => writeFileSync(file, JSON.stringify(info) + '\n'));
}

/** The last run recorded in a store folder, if any. */
export function readRunInfo(storeDir: string): RunInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(storeDir, 'run.json'), 'utf8')) as RunInfo;
  } catch {
    return undefined;
  }
}

export interface ShardStatus {
  name: string;
  shard: Shard;
  done: number;
  total: number;
  /** whether the shard's store exists */
  started: boolean;
  /** workers of its last run, if recorded */
  workers?: number;
  lock?: LockHolder;
  /** sum of the costs (n) of its tasks not done */
  remainingCost: number;
}

export interface SweepStatus {
  name: string;
  variant: 'quick' | 'full';
  dir: string;
  done: number;
  total: number;
  byN: { n: number; done: number; total: number }[];
  /** shards of the largest shard count found (empty for an unsharded folder) */
  shards: ShardStatus[];
  failed: { key: string; source: string; error: string }[];
  /** finished fits (status ok) that did not converge, by stopReason ('gate outside the box' for a converged stop whose gate left it) */
  notConverged: Record<string, number>;
  /** finished fits whose gate left the compact box |beta| <= GATE_BOUND (models/gate-bound.ts), with the first field beyond it */
  outsideGateBox: { key: string; field: string; value: number }[];
  /**
   * where the config keeps the gate in a box (fit.gateBound): finished fits on its face, the
   * constrained maxima (converged ones count as converged), with the field on the face
   */
  onGateBoxFace?: { bound: number; fits: { key: string; field: string; value: number }[] };
  eta?: {
    /** seconds if every store with work left runs at once with its workers */
    seconds: number;
    /** seconds if they run one after another */
    serialSeconds: number;
    secondsPerUnit: number;
    /** finished tasks the rate was measured on */
    measuredOn: number;
    /** stores with work left */
    parallel: number;
  };
}

function doneCount(tasks: SweepTask[], done: Set<string>): { done: number; remainingCost: number } {
  let count = 0;
  let remainingCost = 0;
  for (const t of tasks) {
    if (done.has(t.key)) count++;
    else remainingCost += taskCost(t);
  }
  return { done: count, remainingCost };
}

/** Compute the status of merged results (see readResults). */
export function sweepStatus(results: MergedResults): SweepStatus {
  const done = new Set(results.rows.map((r) => r.key));
  const ns = [...new Set(results.tasks.map((t) => t.n))];
  const byN = ns.map((n) => {
    const tasks = results.tasks.filter((t) => t.n === n);
    return { n, done: doneCount(tasks, done).done, total: tasks.length };
  });
  const count = Math.max(0, ...results.stores.map((s) => s.shard?.count ?? 0));
  const shards: ShardStatus[] = [];
  if (count > 0) {
    partitionTasks(results.tasks, count).forEach((tasks, i) => {
      const shard = { index: i + 1, count };
      const store = results.stores.find((s) => s.shard?.index === shard.index && s.shard.count === count);
      const run = store ? readRunInfo(store.dir) : undefined;
      const lock = store ? readLock(store.dir) : undefined;
      shards.push({
        name: shardName(shard),
        shard,
        ...doneCount(tasks, done),
        total: tasks.length,
        started: store !== undefined,
        ...(run ? { workers: run.workers } : {}),
        ...(lock ? { lock } : {}),
      });
    });
  }
  const failed = results.rows
    .filter((r) => r.status === 'failed')
    .map((r) => ({ key: r.key, source: results.source.get(r.key) ?? '?', error: r.error ?? '(no message)' }));
  const notConverged: Record<string, number> = {};
  const outsideGateBox: SweepStatus['outsideGateBox'] = [];
  const bound = results.config.fit.gateBound;
  const onFace: { key: string; field: string; value: number }[] = [];
  for (const r of results.rows) {
    if (r.status !== 'ok') continue;
    const excess = gateBoundExcess(r.model);
    if (excess !== undefined) outsideGateBox.push({ key: r.key, field: `experts[${excess.expert}].${excess.field}`, value: excess.value });
    const face = bound !== undefined ? gateBoxFace(r.model, bound) : undefined;
    if (face !== undefined) onFace.push({ key: r.key, field: `experts[${face.expert}].${face.field}`, value: face.value });
    const reason = rowStopReason(r);
    if (reason !== 'converged') notConverged[reason] = (notConverged[reason] ?? 0) + 1;
  }
  const timed = results.rows.filter((r) => typeof r.seconds === 'number' && r.seconds >= 0);
  const units = timed.reduce((s, r) => s + taskCost(r), 0);
  const status: SweepStatus = { name: results.config.name, variant: results.variant, dir: results.dir, done: done.size, total: results.tasks.length, byN, shards, failed, notConverged, outsideGateBox };
  if (bound !== undefined) status.onGateBoxFace = { bound, fits: onFace };
  const remaining = doneCount(results.tasks, done).remainingCost;
  if (timed.length > 0 && units > 0 && remaining > 0) {
    const secondsPerUnit = timed.reduce((s, r) => s + r.seconds!, 0) / units;
    const knownWorkers = results.stores.map((s) => readRunInfo(s.dir)?.workers).filter((w): w is number => w !== undefined);
    const fallback = knownWorkers.length > 0 ? Math.min(...knownWorkers) : 1;
    const mainWorkers = readRunInfo(results.dir)?.workers ?? fallback;
    const loads = shards.length > 0 ? shards.filter((s) => s.remainingCost > 0).map((s) => s.remainingCost / (s.workers ?? fallback)) : [remaining / mainWorkers];
    status.eta = {
      seconds: Math.max(...loads) * secondsPerUnit,
      serialSeconds: loads.reduce((a, b) => a + b, 0) * secondsPerUnit,
      secondsPerUnit,
      measuredOn: timed.length,
      parallel: loads.length,
    };
  }
  return status;
}

/** A duration as `42s`, `3m05s` or `2h10m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function shardState(s: ShardStatus): string {
  if (!s.started) return 'not started';
  const state = s.done === s.total ? 'done' : 'partial';
  if (!s.lock) return state;
  const where = s.lock.host ? ` on ${s.lock.host}` : '';
  if (s.lock.alive === false) return `${state} (stale lock of PID ${s.lock.pid}${where}: stopped)`;
  return `running (PID ${s.lock.pid}${where})`;
}

/** The status as text for a terminal. */
export function formatStatus(s: SweepStatus): string {
  const lines = [`${s.name} (${s.variant}) in ${s.dir}: ${s.done} of ${s.total} tasks done, ${s.failed.length} failed, ${s.total - s.done} to go`, ''];
  lines.push(`${'n'.padStart(8)}  ${'done'.padStart(5)}  ${'total'.padStart(5)}`);
  for (const r of s.byN) lines.push(`${String(r.n).padStart(8)}  ${String(r.done).padStart(5)}  ${String(r.total).padStart(5)}`);
  if (s.shards.length > 0) {
    lines.push('', `${'shard'.padEnd(10)}  ${'done'.padStart(5)}  ${'total'.padStart(5)}  ${'workers'.padStart(7)}  state`);
    for (const sh of s.shards) {
      lines.push(`${sh.name.padEnd(10)}  ${String(sh.done).padStart(5)}  ${String(sh.total).padStart(5)}  ${String(sh.workers ?? '-').padStart(7)}  ${shardState(sh)}`);
    }
  }
  if (s.failed.length > 0) {
    lines.push('', 'failed tasks:');
    for (const f of s.failed) lines.push(`  ${f.key} (${f.source}): ${f.error}`);
    lines.push('(a re-run of gatelab sweep runs failed tasks again; --no-retry keeps them)');
  }
  const reasons = Object.entries(s.notConverged);
  if (reasons.length > 0) {
    lines.push('', `not converged (finished fits): ${reasons.map(([why, c]) => `${c} ${why}`).join(', ')}`);
  }
  if (s.outsideGateBox.length > 0) {
    lines.push('', `fits whose gate left the compact box |beta| <= ${GATE_BOUND} (hard switches; counted as not converged): ${s.outsideGateBox.length}`);
    for (const o of s.outsideGateBox) lines.push(`  ${o.key}: ${o.field} = ${o.value.toPrecision(3)}`);
  }
  if (s.onGateBoxFace && s.onGateBoxFace.fits.length > 0) {
    lines.push('', `fits on the face of the gate box |beta| <= ${s.onGateBoxFace.bound} (fit.gateBound; maxima over the box, a hard switch held at the bound): ${s.onGateBoxFace.fits.length}`);
    for (const o of s.onGateBoxFace.fits) lines.push(`  ${o.key}: ${o.field} = ${o.value}`);
  }
  lines.push('');
  if (s.done === s.total) lines.push('ETA: done');
  else if (!s.eta) lines.push('ETA: unknown (no finished task to measure the time per task on)');
  else {
    const what = s.shards.length > 0 ? `the ${s.eta.parallel} shard(s) with work left run at once, each with its workers` : 'the run goes on with its workers';
    lines.push(
      `ETA: ${formatDuration(s.eta.seconds)} if ${what} (${formatDuration(s.eta.serialSeconds)} one after another), ` +
        `at ${s.eta.secondsPerUnit.toExponential(2)} s per unit of n (a task costs about n) measured on ${s.eta.measuredOn} finished tasks`,
    );
  }
  return lines.join('\n') + '\n';
}

export { storeLabel };
