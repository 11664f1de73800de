/**
 * One reader for a results folder that holds any mix of an unsharded store (`DIR/rows.jsonl`) and
 * shard stores (`DIR/shards/<i>-of-<N>/`). It checks that every store belongs to one config and
 * variant, merges the rows (one per task key, in task order; a key found in two stores must hold
 * the same row, wall time aside, except that an ok row wins over a failed one: a failed task
 * retried by another store), and lists the tasks of the grid that no store holds yet. Each
 * store's rows are already its latest row per key (store.ts latestPerKey).
 * Reading never writes: a store being written is read up to its last complete line.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import { fsCall } from '../files.js';
import { parseShardName, type Shard, shardName, shardsDir, shardTasks } from './shard.js';
import { anotherConfigError, jsonDifference, readStore, runIdentity, sameRun } from './store.js';
import { sweepTasks } from './tasks.js';
import type { ExperimentConfig, SweepRow, SweepTask } from './types.js';

/** Row fields that may differ between two runs of one task (they measure the machine). */
export const TIMING_FIELDS: readonly string[] = ['seconds'];

/** One store found in a results folder. */
export interface StoreInfo {
  dir: string;
  /** the shard it holds, or undefined for the unsharded store `DIR/rows.jsonl` */
  shard?: Shard;
  rows: SweepRow[];
  tornBytes: number;
}

export interface MergedResults {
  dir: string;
  config: ExperimentConfig;
  variant: 'quick' | 'full';
  /** every store found, the unsharded one first, then shards by count and index */
  stores: StoreInfo[];
  /** one row per task key, in task order (n, then replicate) */
  rows: SweepRow[];
  /** where each key's row was read from: `main` or the shard name `<i>-of-<N>` */
  source: Map<string, string>;
  /** all tasks of the variant */
  tasks: SweepTask[];
  /** tasks without a row in any store */
  missing: SweepTask[];
}

/** The label of a store in messages and exports: `main` or `<i>-of-<N>`. */
export function storeLabel(store: Pick<StoreInfo, 'shard'>): string {
  return store.shard ? shardName(store.shard) : 'main';
}

/** The store folders in a results folder (unsharded first, then shards by count and index). */
export function listStores(dir: string): { dir: string; shard?: Shard }[] {
  const found: { dir: string; shard?: Shard }[] = [];
  if (existsSync(dir) && !fsCall(dir, 'read', dir, () => statSync(dir)).isDirectory()) {
    throw new ConfigError(`${dir}: is a file, not a folder; a results folder (--out of gatelab sweep) is a folder: give another path`);
  }
  if (existsSync(join(dir, 'config.json'))) found.push({ dir });
  const sd = shardsDir(dir);
  if (existsSync(sd) && statSync(sd).isDirectory()) {
    const shards = fsCall(dir, 'read the folder', sd, () => readdirSync(sd))
      .map((name) => ({ name, shard: parseShardName(name) }))
      .filter((e): e is { name: string; shard: Shard } => e.shard !== undefined && existsSync(join(sd, e.name, 'config.json')))
      .sort((a, b) => a.shard.count - b.shard.count || a.shard.index - b.shard.index);
    for (const e of shards) found.push({ dir: join(sd, e.name), shard: e.shard });
  }
  return found;
}

function withoutTiming(row: SweepRow): string {
  return JSON.stringify(row, (k, v: unknown) => (TIMING_FIELDS.includes(k) ? undefined : v));
}

function firstDifference(a: SweepRow, b: SweepRow): string {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (TIMING_FIELDS.includes(k)) continue;
    if (JSON.stringify((a as unknown as Record<string, unknown>)[k]) !== JSON.stringify((b as unknown as Record<string, unknown>)[k])) return k;
  }
  return '?';
}

/**
 * Read and merge every store of a results folder. Throws ConfigError when the folder holds no
 * store or stores of different configs, DataError when two stores hold different rows for a task.
 * `exclude` leaves one store folder out (a shard reading what the others already did).
 */
export function readResults(dir: string, options: { exclude?: string } = {}): MergedResults {
  const found = listStores(dir).filter((s) => s.dir !== options.exclude);
  if (found.length === 0) {
    throw new ConfigError(`${dir}: is not a results folder (no config.json, no shards/<i>-of-<N>/config.json); run gatelab sweep first`);
  }
  const stores: StoreInfo[] = [];
  let meta: { config: ExperimentConfig; variant: 'quick' | 'full'; from: string } | undefined;
  for (const f of found) {
    const s = readStore(f.dir);
    if (!meta) meta = { config: s.config, variant: s.variant, from: f.dir };
    else if (!sameRun(meta, s)) {
      const difference = jsonDifference(runIdentity(meta), runIdentity(s), '', [`in ${meta.from}`, `in ${f.dir}`]);
      throw new ConfigError(
        `${f.dir}: holds results of another config (${s.config.name}, ${s.variant}) than ${meta.from} (${meta.config.name}, ${meta.variant})${difference ? `: ${difference}` : ''}; a results folder must hold one config`,
      );
    }
    stores.push({ ...f, rows: s.rows, tornBytes: s.tornBytes });
  }
  const { config, variant } = meta!;
  const byKey = new Map<string, SweepRow>();
  const source = new Map<string, string>();
  for (const store of stores) {
    for (const row of store.rows) {
      const previous = byKey.get(row.key);
      if (!previous || (previous.status === 'failed' && row.status === 'ok')) {
        // a task that failed in one store and was retried in another: the ok row counts
        byKey.set(row.key, row);
        source.set(row.key, storeLabel(store));
      } else if (previous.status !== row.status || row.status === 'failed') {
        // an ok row over a failed one (kept), or two failed runs (the first found is kept)
      } else if (withoutTiming(previous) !== withoutTiming(row)) {
        throw new DataError(
          `${dir}: task ${row.key} has different rows in ${source.get(row.key)} and ${storeLabel(store)} (field ${firstDifference(previous, row)}); the stores come from different code or data; remove one`,
        );
      }
    }
  }
  const tasks = sweepTasks(config, variant);
  const order = new Map(tasks.map((t, i) => [t.key, i]));
  const rows = [...byKey.values()].sort((a, b) => (order.get(a.key) ?? Infinity) - (order.get(b.key) ?? Infinity) || (a.key < b.key ? -1 : 1));
  const missing = tasks.filter((t) => !byKey.has(t.key));
  return { dir, config, variant, stores, rows, source, tasks, missing };
}

/** A one-line summary of missing tasks, e.g. `12 of 96 tasks missing (n=200: r=3,4; n=2000: r=0)`. */
export function describeMissing(results: Pick<MergedResults, 'missing' | 'tasks'>, limit = 8): string {
  const { missing, tasks } = results;
  if (missing.length === 0) return `all ${tasks.length} tasks present`;
  const byN = new Map<number, number[]>();
  for (const t of missing) byN.set(t.n, [...(byN.get(t.n) ?? []), t.replicate]);
  const parts = [...byN].slice(0, limit).map(([n, rs]) => `n=${n}: r=${rs.length > 6 ? `${rs.slice(0, 6).join(',')},...` : rs.join(',')}`);
  return `${missing.length} of ${tasks.length} tasks missing (${parts.join('; ')}${byN.size > limit ? '; ...' : ''})`;
}

/** What one run on a results folder does (see planRun). */
export interface RunPlan {
  /** the tasks this run is responsible for (all, or its shard's), in task order */
  tasks: SweepTask[];
  /** the store it writes: DIR, or DIR/shards/<i>-of-<N> */
  storeDir: string;
  /** keys that other stores of DIR already hold (skipped, so that a new shard count resumes too) */
  doneElsewhere: Set<string>;
  /** of those, the keys whose row there is failed (a sweep that retries failed tasks runs them) */
  failedElsewhere: Set<string>;
}

/**
 * Plan a run of a config on a results folder, unsharded or as one shard: its tasks, its store
 * folder, and what the folder's other stores already did (they must hold the same config).
 */
export function planRun(config: ExperimentConfig, variant: 'quick' | 'full', dir: string, shard?: Shard): RunPlan {
  const all = sweepTasks(config, variant);
  const storeDir = shard ? join(shardsDir(dir), shardName(shard)) : dir;
  const tasks = shard ? shardTasks(all, shard) : all;
  const others = listStores(dir).filter((s) => s.dir !== storeDir);
  if (others.length === 0) return { tasks, storeDir, doneElsewhere: new Set(), failedElsewhere: new Set() };
  const merged = readResults(dir, { exclude: storeDir });
  checkSameConfig(dir, merged, config, variant);
  return {
    tasks,
    storeDir,
    doneElsewhere: new Set(merged.rows.map((r) => r.key)),
    failedElsewhere: new Set(merged.rows.filter((r) => r.status === 'failed').map((r) => r.key)),
  };
}

/** Throw when merged results belong to another config or variant (names the field that differs). */
export function checkSameConfig(dir: string, merged: Pick<MergedResults, 'config' | 'variant'>, config: ExperimentConfig, variant: 'quick' | 'full'): void {
  if (!sameRun(merged, { config, variant })) {
    throw anotherConfigError(dir, merged, config, variant);
  }
}

/**
 * What `gatelab sweep` refuses in a results folder, checked without writing (for `slurm --submit`):
 * stores of another config or variant, a damaged store, a path that is a file. A folder that
 * does not exist yet, or holds no store, is fine.
 */
export function checkResultsFolder(config: ExperimentConfig, variant: 'quick' | 'full', dir: string): void {
  if (listStores(dir).length === 0) return;
  checkSameConfig(dir, readResults(dir), config, variant);
}
