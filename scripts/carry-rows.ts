/**
 * node --import tsx scripts/carry-rows.ts --from DIR --config experiments/<name>.json --to DIR [--variant full]
 *
 * Carries the finished rows of a results store into a new store for a design that differs only in
 * its variant's n grid and fit range (a shrunk design, issue 15: the paper-scale run of an
 * over-specified experiment kept for a cluster, its first n run on 2 cores). A task's row depends
 * only on the config's truth, fit, start, seed and the variant's other settings, and on (n,
 * replicate) through its seed (sweeps/tasks.ts), so a task both designs share has the same row in
 * both; this script checks exactly that before it copies anything:
 *   - the two run identities (store.ts runIdentity) are equal once the variant's `n` and
 *     `fitRange` are left out (else it refuses, naming the first field that differs);
 *   - every carried row's key, n and seed are those of a task of the new design.
 * Rows of tasks the new design does not have stay behind. The source store is only read; the
 * destination is a new store (ResultsStore.open refuses a folder holding another run's rows) and
 * is appended to, so running it twice carries nothing twice (a key already there is skipped).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../src/errors.js';
import { parseExperimentConfig } from '../src/sweeps/config.js';
import { jsonDifference, latestPerKey, readStore, ResultsStore, runIdentity } from '../src/sweeps/store.js';
import { sweepTasks } from '../src/sweeps/tasks.js';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, config: { type: 'string' }, variant: { type: 'string', default: 'full' } } });
if (!values.from || !values.to || !values.config) throw new ConfigError('carry-rows: --from DIR, --config FILE and --to DIR are required');
const variant = values.variant === 'quick' ? 'quick' : values.variant === 'full' ? 'full' : undefined;
if (!variant) throw new ConfigError(`--variant: ${values.variant} is not a variant; must be "quick" or "full"`);
const config = parseExperimentConfig(JSON.parse(readFileSync(values.config, 'utf8')), values.config);
const source = readStore(values.from);
if (source.variant !== variant) throw new ConfigError(`--from ${values.from}: holds the ${source.variant} variant, not ${variant}`);

// the two runs must agree on everything but the variant's grid and fit range
const withoutGrid = (identity: unknown): unknown => {
  const copy = structuredClone(identity) as { variants: Record<string, Record<string, unknown>> };
  delete copy.variants[variant]!.n;
  delete copy.variants[variant]!.fitRange;
  return copy;
};
const difference = jsonDifference(withoutGrid(runIdentity(source)), withoutGrid(runIdentity({ config, variant })), '', ['in the source store', 'in this config']);
if (difference !== undefined) throw new ConfigError(`carry-rows: the runs differ in more than the ${variant} variant's n and fitRange: ${difference}`);

const tasks = new Map(sweepTasks(config, variant).map((t) => [t.key, t]));
const store = ResultsStore.open(values.to, config, variant);
let carried = 0;
let present = 0;
let left = 0;
try {
  const have = new Set(store.rows.map((r) => r.key));
  for (const row of latestPerKey(source.rows)) {
    const task = tasks.get(row.key);
    if (!task) {
      left++;
      continue;
    }
    if (task.n !== row.n || task.seed !== row.seed) throw new ConfigError(`carry-rows: row ${row.key} has n ${row.n}, seed ${row.seed}; the new design's task has n ${task.n}, seed ${task.seed}`);
    if (have.has(row.key)) {
      present++;
      continue;
    }
    store.append(row);
    carried++;
  }
} finally {
  store.close();
}
console.log(`${values.from} -> ${values.to}: ${carried} rows carried, ${present} already there, ${left} left behind (tasks the new design does not have); ${tasks.size - carried - present} of its ${tasks.size} tasks to run`);
