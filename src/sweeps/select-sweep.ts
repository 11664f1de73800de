/**
 * The selection sweep (docs/selection.md, "Sweep"): over an n grid and replicates, sample from a
 * true model, run selectK and record which k each criterion (AIC, BIC, ICL, DIC) chooses. A config
 * is an experiments/*.json file with `"kind": "select"`. Rows go to the results store of the rate
 * sweeps (store.ts: append-only rows.jsonl with CRC, fsync per row, the lock, config.json pinned),
 * so a run resumes where it stopped; tasks run one after another in this thread, and a task's
 * seed depends only on (seed, n, replicate) (tasks.ts).
 */
import { ConfigError, GatelabError, show } from '../errors.js';
import { validateFitOptions } from '../fitting/fit.js';
import type { FitOptions } from '../fitting/types.js';
import type { Model } from '../models/types.js';
import { parseGate, parseModel } from '../models/validate.js';
import { Rng, validateSeed } from '../rng/rng.js';
import { sample } from '../sampling/sample.js';
import { MAX_SELECT_K, selectK } from '../selection/select-k.js';
import { resolveNGrid } from './config.js';
import { ResultsStore, readStore } from './store.js';
import { taskKey, taskSeed } from './tasks.js';
import type { ExperimentConfig, NGridSpec, SweepRow, SweepTask, TaskRowBase } from './types.js';

export interface SelectVariant {
  n: NGridSpec;
  replicates: number;
  /** random starts per k in this variant (overrides select.restarts) */
  restarts?: number;
  /** EM maps per fit in this variant (overrides select.fit.maxIterations) */
  maxIterations?: number;
}

export interface SelectExperimentConfig {
  kind: 'select';
  name: string;
  description: string;
  seed: number;
  truth: Model;
  select: { gate: unknown; kMax: number; restarts?: number; fit?: Omit<FitOptions, 'k' | 'gate' | 'trace'> };
  variants: { quick: SelectVariant; full: SelectVariant };
}

/** One task's row: the k each criterion chose, and per k the fit's summary. */
export interface SelectRow extends TaskRowBase {
  kStar: number;
  chosen?: { aic: number | null; bic: number | null; icl: number | null; dic: number | null };
  k?: { k: number; loglik: number; params: number; aic: number; bic: number; icl: number; entropy: number; source: string; converged: boolean }[];
  /** the dendrogram's levels kappa = kMax..2: height and DIC */
  dendrogram?: { k: number; loglik: number; height: number; dic: number }[] | null;
  seconds?: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
function keys(o: Obj, path: string, allowed: string[]): void {
  for (const key of Object.keys(o)) if (!allowed.includes(key)) throw new ConfigError(`${path}.${key}: unknown field; allowed here: ${allowed.join(', ')}`);
}
function integerIn(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`${path}: ${show(v)} is not allowed; must be an integer in ${lo}..${hi}`);
  return v;
}

/** Whether a parsed JSON value is a selection config (`"kind": "select"`), not a rate sweep's. */
export function isSelectConfig(v: unknown): boolean {
  return isObj(v) && v.kind === 'select';
}

/**
 * Validate a selection sweep config; errors name the JSON path.
 * @param source the file name, for messages
 * @example parseSelectConfig(JSON.parse(readFileSync('experiments/select-demys.json', 'utf8')))
 */
export function parseSelectConfig(v: unknown, source = 'config'): SelectExperimentConfig {
  if (!isObj(v)) throw new ConfigError(`${source}: ${show(v)} is not an object; must be a selection config`);
  keys(v, source, ['kind', 'name', 'description', 'seed', 'truth', 'select', 'variants']);
  if (v.kind !== 'select') throw new ConfigError(`${source}.kind: ${show(v.kind)} is not allowed; must be "select"`);
  if (typeof v.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(v.name)) throw new ConfigError(`${source}.name: ${show(v.name)} is not a name; must be lower-case letters, digits and -`);
  if (typeof v.description !== 'string') throw new ConfigError(`${source}.description: ${show(v.description)} is not a text`);
  const seed = validateSeed(v.seed, `${source}.seed`);
  let truth: Model;
  try {
    truth = parseModel(v.truth, `${source}.truth`);
  } catch (e) {
    throw e instanceof GatelabError ? new ConfigError(e.message) : e;
  }
  if (!isObj(v.select)) throw new ConfigError(`${source}.select: ${show(v.select)} is not an object; must hold gate, kMax (and restarts, fit)`);
  const s = v.select;
  keys(s, `${source}.select`, ['gate', 'kMax', 'restarts', 'fit']);
  const kMax = integerIn(s.kMax, `${source}.select.kMax`, 1, MAX_SELECT_K);
  try {
    parseGate(s.gate, kMax, `${source}.select.gate`);
  } catch (e) {
    throw e instanceof GatelabError ? new ConfigError(e.message) : e;
  }
  if (s.restarts !== undefined) integerIn(s.restarts, `${source}.select.restarts`, 1, 1000);
  if (s.fit !== undefined) {
    if (!isObj(s.fit)) throw new ConfigError(`${source}.select.fit: ${show(s.fit)} is not an object of fit options`);
    for (const key of ['k', 'gate', 'trace']) if (key in s.fit) throw new ConfigError(`${source}.select.fit.${key}: is set by the selection; leave it out`);
    try {
      validateFitOptions({ ...(s.fit as Obj), k: kMax, gate: s.gate } as FitOptions);
    } catch (e) {
      throw e instanceof GatelabError ? new ConfigError(`${source}.select.fit.${e.message}`) : e;
    }
  }
  if (!isObj(v.variants)) throw new ConfigError(`${source}.variants: ${show(v.variants)} is not an object; must hold quick and full`);
  keys(v.variants, `${source}.variants`, ['quick', 'full']);
  for (const name of ['quick', 'full'] as const) {
    const path = `${source}.variants.${name}`;
    const variant = v.variants[name];
    if (!isObj(variant)) throw new ConfigError(`${path}: ${show(variant)} is not a variant; must hold n and replicates`);
    keys(variant, path, ['n', 'replicates', 'restarts', 'maxIterations']);
    const grid = resolveNGrid(variant.n as NGridSpec, `${path}.n`);
    if (grid[0]! < kMax) throw new ConfigError(`${path}.n: ${grid[0]} points cannot be fitted with kMax = ${kMax} experts`);
    integerIn(variant.replicates, `${path}.replicates`, 1, 100000);
    if (variant.restarts !== undefined) integerIn(variant.restarts, `${path}.restarts`, 1, 1000);
    if (variant.maxIterations !== undefined) integerIn(variant.maxIterations, `${path}.maxIterations`, 0, 1e7);
  }
  return { ...(v as unknown as SelectExperimentConfig), truth, seed };
}

/** The (n, replicate) tasks of a variant, with their seeds (tasks.ts: seed from (seed, n, replicate) only). */
export function selectTasks(config: SelectExperimentConfig, variant: 'quick' | 'full'): SweepTask[] {
  const v = config.variants[variant];
  return resolveNGrid(v.n).flatMap((n) =>
    Array.from({ length: v.replicates }, (_, replicate) => ({ key: taskKey(n, replicate), n, replicate, seed: taskSeed(config.seed, n, replicate) })),
  );
}

/** Run one task: sample n points from the truth with the task's seed, then selectK (its starts seeded from the task's seed). */
export function runSelectTask(config: SelectExperimentConfig, variant: 'quick' | 'full', task: SweepTask): SelectRow {
  const base = { experiment: config.name, variant, key: task.key, n: task.n, replicate: task.replicate, seed: task.seed, kStar: config.truth.experts.length };
  const t0 = Date.now();
  try {
    const v = config.variants[variant];
    const rng = new Rng(task.seed);
    const data = sample(config.truth, task.n, rng.derive(1));
    const fit = { ...(config.select.fit ?? {}), ...(v.maxIterations !== undefined ? { maxIterations: v.maxIterations } : {}) };
    const s = selectK(data, {
      gate: config.select.gate,
      kMax: config.select.kMax,
      seed: rng.derive(2).nextUint32(),
      restarts: v.restarts ?? config.select.restarts ?? 3,
      fit,
    });
    return {
      ...base,
      status: 'ok',
      chosen: s.chosen,
      k: s.k.map((f) => ({ k: f.k, loglik: f.loglik, params: f.params, aic: f.aic, bic: f.bic, icl: f.icl, entropy: f.entropy, source: f.source, converged: f.converged })),
      dendrogram: s.dendrogram
        ? s.dendrogram.levels.filter((l) => l.height !== null).map((l) => ({ k: l.k, loglik: l.loglik, height: l.height!, dic: l.dic! }))
        : null,
      seconds: (Date.now() - t0) / 1000,
    };
  } catch (e) {
    if (!(e instanceof GatelabError)) throw e;
    return { ...base, status: 'failed', error: e.message, seconds: (Date.now() - t0) / 1000 };
  }
}

export interface SelectSweepSummary {
  dir: string;
  total: number;
  skipped: number;
  ran: number;
  failed: number;
  seconds: number;
}

/**
 * Run (or resume) a selection sweep into `dir` (the store of store.ts; finished tasks are skipped,
 * failed ones run again).
 * @param onRow called after each row is stored (progress)
 * @param shouldStop polled between tasks (a signal handler sets it; signals are seen between tasks)
 */
export async function runSelectSweep(
  config: SelectExperimentConfig,
  variant: 'quick' | 'full',
  dir: string,
  onRow: (row: SelectRow, done: number, total: number) => void = () => undefined,
  shouldStop: () => boolean = () => false,
): Promise<SelectSweepSummary> {
  // the store's config.json needs name, seed and the variants' n and replicates, which a
  // selection config has; its rows are read back as SelectRow (readSelectRows)
  const store = ResultsStore.open(dir, config as unknown as ExperimentConfig, variant);
  const t0 = Date.now();
  try {
    const tasks = selectTasks(config, variant);
    const todo = tasks.filter((t) => !store.isDone(t.key));
    let ran = 0;
    for (const task of todo) {
      if (shouldStop()) break;
      const row = runSelectTask(config, variant, task);
      store.append(row as unknown as SweepRow);
      ran++;
      onRow(row, tasks.length - todo.length + ran, tasks.length);
      await new Promise((resolve) => setImmediate(resolve)); // let signals through between tasks
    }
    const failed = store.rows.filter((r) => r.status === 'failed').length;
    return { dir, total: tasks.length, skipped: tasks.length - todo.length, ran, failed, seconds: (Date.now() - t0) / 1000 };
  } finally {
    store.close();
  }
}

/** The rows of a selection sweep's store (the latest per task), with its config. */
export function readSelectRows(dir: string): { rows: SelectRow[]; config: SelectExperimentConfig; variant: 'quick' | 'full' } {
  const s = readStore(dir);
  const config = parseSelectConfig(s.config, `${dir}/config.json`);
  return { rows: s.rows as unknown as SelectRow[], config, variant: s.variant };
}
