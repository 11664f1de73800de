/** `gatelab slurm`, `gatelab status` and `gatelab export`: sweeps beyond one machine. */
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { defaultResultsDir, parseExperimentConfig } from '../sweeps/config.js';
import { checkExportTarget, exportParquet } from '../sweeps/export-parquet.js';
import { checkResultsFolder, describeMissing, readResults } from '../sweeps/merged-store.js';
import { formatRepair, QUARANTINE_FILE, repairResults } from '../sweeps/repair.js';
import { arraySpec, shardsWithWork, submitScript, writeSbatchScript, sbatchScript, type SlurmJobOptions } from '../sweeps/slurm.js';
import { formatStatus, sweepStatus } from '../sweeps/status.js';
import { sweepTasks } from '../sweeps/tasks.js';
import { integerFlag, parseFlagsAndPositionals, required, UsageError } from './args.js';
import type { Command } from './command.js';
import { backendChoice } from './backend-flag.js';
import { readJson } from './io.js';
import { isSelectStore, selectStatus } from '../sweeps/select-status.js';

/** Run a flag check of the library as a usage error (exit 2), keeping its message. */
export function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ConfigError && !(e instanceof UsageError)) throw new UsageError(e.message);
    throw e;
  }
}

export const slurmCommand: Command = {
  summary: 'run a sweep as a SLURM job array, one shard per array task (resumable)',
  help: `gatelab slurm experiments/<name>.json [--quick] [--array N] [--partition P] [--time T]
              [--cpus-per-task C] [--mem M] [--out DIR] [--backend B] [--submit]

  --quick            the CI-sized variant (default: the full variant)
  --backend B        passed to each array task's sweep: cpu, gpu or auto (default auto; request
                     the GPUs with your site's --gres in the script or with sbatch)
  --array N          array tasks = shards (default 4); shard i of N gets tasks of about equal cost
  --partition P      SLURM partition (default: the cluster's default)
  --time T           time limit per array task, e.g. 2:00:00 or 1-00:00:00 (default: the partition's)
  --cpus-per-task C  CPUs per array task = sweep workers (default 1)
  --mem M            memory per array task, e.g. 4G (default: the partition's)
  --out DIR          results folder (default as gatelab sweep)
  --submit           submit it with sbatch (only the shards with tasks left) and print the job id

Writes DIR/slurm/sweep.sbatch and prints it. Array task i runs
  gatelab sweep EXP --shard i/N --workers $SLURM_CPUS_PER_TASK --out DIR
into DIR/shards/<i>-of-<N>/, logging to DIR/logs/<job>_<i>.log. Submitting again resumes:
finished tasks are skipped. Re-run one array task alone: sbatch --array=I DIR/slurm/sweep.sbatch.
Follow a run with gatelab status DIR; merge the shards with gatelab export DIR --parquet F.`,
  run(argv, io) {
    const { values: v, positionals } = parseFlagsAndPositionals(
      argv,
      {
        quick: { type: 'boolean' },
        array: { type: 'string' },
        partition: { type: 'string' },
        time: { type: 'string' },
        'cpus-per-task': { type: 'string' },
        mem: { type: 'string' },
        out: { type: 'string' },
        submit: { type: 'boolean' },
        backend: { type: 'string' },
      },
      'slurm',
      1,
    );
    const file = positionals[0]!;
    const config = parseExperimentConfig(readJson(file, 'experiment'), file);
    const variant = v.quick ? 'quick' : 'full';
    const tasks = sweepTasks(config, variant).length;
    const array = integerFlag(v.array as string | undefined, 'array', 1, 4);
    if (array > tasks) throw new UsageError(`--array: ${array} is not allowed; must be at most the number of tasks of ${config.name} (${variant}), ${tasks}`);
    const dir = typeof v.out === 'string' ? v.out : defaultResultsDir(config.name, variant);
    // what every array task's sweep would refuse (another config's results, a damaged store),
    // refused here, before a script is written or a job submitted
    checkResultsFolder(config, variant, dir);
    const options: SlurmJobOptions = {
      experimentFile: file,
      variant,
      dir,
      array,
      cpusPerTask: integerFlag(v['cpus-per-task'] as string | undefined, 'cpus-per-task', 1, 1),
      jobName: `gatelab-${config.name}`,
      ...(typeof v.partition === 'string' ? { partition: v.partition } : {}),
      ...(typeof v.time === 'string' ? { time: v.time } : {}),
      ...(typeof v.mem === 'string' ? { mem: v.mem } : {}),
      ...(v.backend !== undefined ? { backend: backendChoice(v.backend) } : {}),
    };
    const text = usage(() => sbatchScript(options)); // checks the flags before anything is written
    const script = writeSbatchScript(options);
    io.out(text);
    if (!v.submit) {
      io.err(`slurm: script written to ${script}; submit it with: sbatch ${script} (or add --submit)\n`);
      return;
    }
    const todo = shardsWithWork(config, variant, dir, array);
    if (todo.length === 0) {
      io.out(`\nnothing to submit: all ${tasks} tasks of ${config.name} (${variant}) are done in ${dir}\n`);
      return;
    }
    const spec = arraySpec(todo);
    const job = submitScript(script, spec);
    const logs = join(dir, 'logs');
    io.out(
      [
        '',
        `submitted: job ${job}, array tasks ${spec} of 1-${array}${todo.length < array ? ` (the other shards are done)` : ''}`,
        `follow it:   squeue -j ${job}        gatelab status ${dir}        tail -f ${logs}/${job}_*.log`,
        `re-run one array task alone: sbatch --array=I ${script}`,
        `resume after a failure: the same command again (finished tasks are skipped)`,
        `when done:   gatelab rates ${dir}        gatelab export ${dir} --parquet ${config.name}.parquet`,
        '',
      ].join('\n'),
    );
  },
};

export const statusCommand: Command = {
  summary: 'progress of a sweep: done per n and per shard, failures, ETA',
  help: `gatelab status DIR

  DIR   a results folder (of gatelab sweep, sharded or not, gatelab slurm or gatelab select-sweep)

Prints tasks done out of total per n and per shard (with the shard's workers and whether it is
running), failed tasks with their error, and an ETA: the cost (sum of n) of the tasks left times
the seconds per unit of n measured on the finished tasks, assuming the shards with work left run
at once with their workers (and the total if they run one after another). For a selection sweep
(gatelab select-sweep): tasks done per n, how often each criterion chose k* so far, and an ETA.`,
  run(argv, io) {
    const { positionals } = parseFlagsAndPositionals(argv, {}, 'status', 1);
    const dir = positionals[0]!;
    io.out(isSelectStore(dir) ? selectStatus(dir) : formatStatus(sweepStatus(readResults(dir))));
  },
};

export const exportCommand: Command = {
  summary: 'merge every shard of a results folder into one Parquet file',
  help: `gatelab export DIR --parquet FILE [--force]

  DIR              a results folder (unsharded, sharded or both)
  --parquet FILE   the Parquet file to write (written to a temporary file, then renamed into place)
  --force          replace FILE if it exists (never a file of a results store, a link or a device)

One row per task, in task order: experiment, variant, key, n, replicate, seed, status, error,
loglik, iterations, stopReason, converged, seconds, shard (main or <i>-of-<N>), start, lossKind,
hellingerSE, tvSE, warnings, cells and model (JSON text), then one DOUBLE column per quantity
(D1, hellinger, beta1[1], ...; null where undefined). Missing tasks are reported, not invented.
Read it with DuckDB, pandas/pyarrow or R arrow (README "Running on a cluster").`,
  run(argv, io) {
    const { values: v, positionals } = parseFlagsAndPositionals(argv, { parquet: { type: 'string' }, force: { type: 'boolean' } }, 'export', 1);
    const file = required(v, 'parquet', 'export');
    checkExportTarget(file, v.force === true); // before the folder is read: a typo costs nothing
    const results = readResults(positionals[0]!);
    const written = exportParquet(results, file, { force: v.force === true });
    io.err(`export: ${written.rows} rows, ${written.columns} columns from ${results.stores.length} store(s) -> ${file} (${written.bytes} bytes); ${describeMissing(results)}\n`);
  },
};

export const repairCommand: Command = {
  summary: 'move damaged records of a results store to a quarantine file, keep the rest',
  help: `gatelab repair DIR

  DIR   a results folder (of gatelab sweep, sharded or not)

For every store in DIR (DIR/rows.jsonl and each DIR/shards/<i>-of-<N>/rows.jsonl): the records
whose checksum or JSON is damaged (a disk error or a hand edit; a crash only ever tears the last
line) and a torn last record are appended, byte for byte, to ${QUARANTINE_FILE} beside it; the
intact records stay in rows.jsonl (rewritten atomically). Nothing is deleted. Prints what it moved.
The quarantined tasks count as missing: the same gatelab sweep command runs them again. Takes each
store's lock, so it refuses a folder a sweep is writing.`,
  run(argv, io) {
    const { positionals } = parseFlagsAndPositionals(argv, {}, 'repair', 1);
    const dir = positionals[0]!;
    io.out(formatRepair(dir, repairResults(dir)));
  },
};
