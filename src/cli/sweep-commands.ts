/** `gatelab sweep` and `gatelab rates`. */
import { cpuOnlyGate } from '../compute/backend-choice.js';
import { availableParallelism } from 'node:os';
import { ConfigError, RunError, show } from '../errors.js';
import { defaultResultsDir, parseExperimentConfig } from '../sweeps/config.js';
import { readParquetResults } from '../sweeps/import-parquet.js';
import { describeMissing, readResults } from '../sweeps/merged-store.js';
import { parseShard, shardName } from '../sweeps/shard.js';
import { runSweep } from '../sweeps/sweep.js';
import { analyseRates, formatRates } from '../analysis/index.js';
import { choiceFlag, integerFlag, parseFlagsAndPositionals, UsageError } from './args.js';
import { usage } from './cluster-commands.js';
import type { Command } from './command.js';
import { readJson } from './io.js';
import { isSelectStore } from '../sweeps/select-status.js';
import { progressReporter } from './progress.js';
import { withBackend } from './backend-flag.js';

export const sweepCommand: Command = {
  summary: 'run a Monte Carlo sweep of an experiment (resumable)',
  help: `gatelab sweep experiments/<name>.json [--quick] [--workers N] [--out DIR] [--shard i/N]
                    [--backend cpu|gpu|auto] [--no-retry] [--seed S]

  --quick       the CI-sized variant (default: the full, paper-scale variant)
  --workers N   worker threads (default: all cores, here ${availableParallelism()})
  --out DIR     results folder (default results/<name>/, or results/<name>-quick/ with --quick)
  --shard i/N   run only shard i (1..N) of a partition of the tasks into N parts of about equal
                cost, into DIR/shards/<i>-of-<N>/ (one writer per file; see gatelab slurm)
  --backend B   cpu (worker threads, float64), gpu (tasks grouped by n into GPU batches: sampled
                and fitted on the GPU, scored on the CPU) or auto (default: a hardware GPU where
                WebGPU finds one, else the CPU). Rows record the backend; seeds do not depend on it
  --no-retry    on a resume, keep the tasks recorded as failed as they are (default: run them again)
  --seed S      the experiment seed instead of the config's (an integer in [0, 2^53)): an
                independent replication of the whole sweep, into results/<name>-seed<S>/ (or
                results/<name>-quick-seed<S>/) unless --out is given; the folder's config.json
                records the seed, so a resume must give the same --seed

Every (n, replicate) task is fitted and its row appended durably (fsync) to DIR/rows.jsonl.
Re-running the same command resumes: finished tasks are skipped, and failed tasks are run again
(the new row is appended; every reader takes a task's latest row). A task's seed depends only on
(experiment seed, n, replicate), so the rows do not depend on --workers. Ctrl-C stops cleanly;
even a killed run loses only the tasks in flight.`,
  async run(argv, io) {
    const { values: v, positionals } = parseFlagsAndPositionals(
      argv,
      {
        quick: { type: 'boolean' },
        workers: { type: 'string' },
        out: { type: 'string' },
        shard: { type: 'string' },
        backend: { type: 'string' },
        'no-retry': { type: 'boolean' },
        seed: { type: 'string' },
      },
      'sweep',
      1,
    );
    const file = positionals[0]!;
    const seed = v.seed === undefined ? undefined : integerFlag(v.seed as string, 'seed', 0);
    const parsed = parseExperimentConfig(readJson(file, 'experiment'), file);
    // a replication: the same design under another experiment seed (every task seed derives from it)
    const config = seed === undefined ? parsed : { ...parsed, seed };
    const variant = v.quick ? 'quick' : 'full';
    const workers = integerFlag(v.workers as string | undefined, 'workers', 1, availableParallelism());
    if (workers > availableParallelism()) {
      io.err(`warning: --workers ${workers} is above the ${availableParallelism()} cores here: the extra workers share the cores and slow every task down; the default is ${availableParallelism()}\n`);
    }
    const dir = typeof v.out === 'string' ? v.out : `${defaultResultsDir(config.name, variant)}${seed === undefined ? '' : `-seed${seed}`}`;
    const shard = typeof v.shard === 'string' ? usage(() => parseShard(v.shard as string)) : undefined;
    const label = `${config.name} (${variant}${shard ? `, shard ${shardName(shard)}` : ''})`;
    const report = progressReporter(io.err, Boolean(process.stderr.isTTY), label);
    let stop: (() => Promise<void>) | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      io.err(`\n${config.name}: ${signal}: stopping; finished tasks are saved, re-run the same command to resume\n`);
      void (stop ? stop() : Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const cpuOnly = (config.fit.method ?? 'em') === 'mle' ? 'method mle runs on the CPU' : cpuOnlyGate(config.fit.gate, config.fit.k, config.truth.input.dim, config.fit.stop ?? 'score');
    try {
      const summary = await withBackend(
        v.backend,
        io,
        (backend) => runSweep(config, variant, dir, {
            workers,
            backend,
            retryFailed: v['no-retry'] !== true,
            onProgress: report,
            onStart: (s) => (stop = s),
            ...(shard ? { shard } : {}),
          }),
        cpuOnly,
      );
      io.err(
        `${label}: ${summary.ran} tasks run${summary.retried > 0 ? ` (${summary.retried} failed before, retried)` : ''}, ${summary.skipped} already done, ${summary.failed} failed, ${summary.seconds.toFixed(1)} s -> ${summary.dir}\n` +
          (summary.tornBytes > 0 ? `note: a torn last record (${summary.tornBytes} bytes, from an interrupted run) was discarded\n` : ''),
      );
      if (summary.total > 0 && summary.failed === summary.total) {
        throw new RunError(`${label}: every task failed (${summary.failed} of ${summary.total}); see gatelab status ${summary.dir} for the errors`);
      }
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};

/** `--fit-range LO,HI`: two numbers 1 <= LO < HI (a UsageError naming the flag otherwise). */
function fitRangeFlag(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || !parts.every((x) => Number.isFinite(x)) || !(parts[0]! >= 1 && parts[0]! < parts[1]!)) {
    throw new UsageError(`--fit-range: ${show(v)} is not allowed; must be LO,HI with 1 <= LO < HI (sample sizes, e.g. 3000,30000)`);
  }
  return [parts[0]!, parts[1]!];
}

export const ratesCommand: Command = {
  summary: 'log-log rate fits of a sweep against theory',
  help: `gatelab rates DIR|FILE.parquet [--format md|csv|json] [--fit-range LO,HI] [--config FILE]

  DIR        a results folder written by gatelab sweep (any number of shards; missing tasks are reported)
  FILE.parquet  or an export of one (gatelab export --parquet; the committed full results
             figures/<name>/results-full.parquet); exports made before they carried their config
             need --config experiments/<name>.json
  --format   md (default), csv or json
  --fit-range LO,HI  the n range of the slope fits (inclusive) instead of the config's: e.g. the
             upper half of the grid, to see whether a slope is pre-asymptotic

Per quantity and statistic (mean, median over replicates): the OLS slope of log(error) on log(n)
over the config's declared fit range, a bootstrap CI over replicates (2000 resamples, seeded), the
predicted slope and its log-corrected reference, a verdict (consistent, inconclusive, faster or
slower than predicted, refuted; see docs/rates.md) with the CI width beside it, the power
diagnostic (R Sxx, CV), and the counts of fits, failed or non-converged fits; the md format adds
a table of those counts per n.`,
  async run(argv, io) {
    const { values: v, positionals } = parseFlagsAndPositionals(argv, { format: { type: 'string' }, 'fit-range': { type: 'string' }, config: { type: 'string' } }, 'rates', 1);
    const format = choiceFlag(v.format as string | undefined, 'format', ['md', 'csv', 'json'] as const) ?? 'md';
    const range = fitRangeFlag(v['fit-range'] as string | undefined);
    const source = positionals[0]!;
    const isExport = source.endsWith('.parquet');
    if (v.config !== undefined && !isExport) throw new UsageError(`--config: only for a Parquet export (a results folder carries its config.json); got the folder ${show(source)}`);
    if (!isExport && isSelectStore(source)) {
      throw new ConfigError(`${source}: holds a selection sweep (config "kind": "select"), which has no rates; its frequencies and figures come from gatelab select-sweep CONFIG --figures DIR, its progress from gatelab status ${source}`);
    }
    const results = isExport ? await readParquetResults(source, { configFile: v.config as string | undefined }) : readResults(source);
    let config = parseExperimentConfig(results.config, isExport ? source : `${source}/config.json`);
    if (range) {
      const variant = config.variants[results.variant]!;
      config = { ...config, variants: { ...config.variants, [results.variant]: { ...variant, fitRange: range } } };
    }
    if (results.missing.length > 0) io.err(`rates: ${describeMissing(results)}; the rates use the ${results.rows.length} rows present\n`);
    const rows = analyseRates(results.rows, config, results.variant);
    io.out(formatRates(rows, format));
  },
};
