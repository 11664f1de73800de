/**
 * The CLI commands: thin layers over the library (parse flags, read files, call, print).
 * Contract used by other tools: see README "Command line".
 */
import { performance } from 'node:perf_hooks';
import { formatNumber } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { ConfigError, GatelabError, NumericalError, show } from '../errors.js';
import { MAX_RESTARTS, MAX_START_NOISE } from '../sweeps/config.js';
import { firstNonFinite } from '../sweeps/run-task.js';
import { fitMoE, type StartSpec } from '../fitting/fit.js';
import { fitFlagSpec, fitFlagsHelp, fitFlagsUsage, fitOptionsFromFlags } from '../fitting/options.js';
import type { FitOptions } from '../fitting/types.js';
import { logDensity } from '../likelihood/density.js';
import { voronoiLoss } from '../losses/index.js';
import type { Model } from '../models/types.js';
import { DEMYS_MODEL } from '../models/examples.js';
import { parseGate } from '../models/validate.js';
import { Rng } from '../rng/rng.js';
import { sample, sampleChunks } from '../sampling/sample.js';
import { cpuOnlyGate } from '../compute/backend-choice.js';
import { fitMany } from '../compute/fit-many.js';
import { sampleMany } from '../compute/sample-many.js';
import type { Command } from './command.js';
import { BACKEND_FLAG_HELP, withBackend } from './backend-flag.js';
import { choiceFlag, integerFlag, numberFlag, parseFlags, required, UsageError } from './args.js';
import { csvHeader, csvRows, datasetPieces, readDataset, readJson, readModel, refuseStoreFile, writeStream, writeText } from './io.js';
import { exportCommand, repairCommand, slurmCommand, statusCommand } from './cluster-commands.js';
import { ratesCommand, sweepCommand } from './sweep-commands.js';
import { selectCommand, selectSweepCommand } from './select-commands.js';


const density: Command = {
  summary: 'log p(y|x) of a model at given points',
  help: `gatelab density --model M.json --points P.csv

  --model M.json   model file (gate, experts, input)
  --points P.csv   header x1,...,xd,y (a trailing z column is ignored)

Prints CSV: a header "logp" and one value per row, each printed so that it parses back to the
same float64. log p(y|x) = logsumexp_i(log G_i(x) + log N(y | a_i.x + b_i, nu_i)); -Infinity
where the density underflows to 0 (a point far from every expert).`,
  async run(argv, io) {
    const v = parseFlags(argv, { model: { type: 'string' }, points: { type: 'string' } }, 'density');
    const model = readModel(required(v, 'model', 'density'), '--model');
    const data = readDataset(required(v, 'points', 'density'), '--points', model.input.dim);
    const values = logDensity(model, data.X, data.Y, data.n);
    await writeStream(undefined, io, densityPieces(values));
  },
};

/** The density command's output in pieces: the header, then 65536 values at a time. */
function* densityPieces(values: Float64Array, chunk = 65536): Generator<string> {
  yield 'logp\n';
  for (let first = 0; first < values.length; first += chunk) {
    const lines: string[] = [];
    for (let r = first; r < Math.min(values.length, first + chunk); r++) lines.push(formatNumber(values[r]!));
    yield lines.join('\n') + '\n';
  }
}

/**
 * A sample as CSV pieces: the header, then the rows of each piece of points, CSV_ROWS at a time:
 * a piece's text and the row strings it is joined from stay a few MB (65536 rows at once came
 * within a few MB of a 32 MB heap, and ran out of it when the collector lagged on a busy machine).
 */
const CSV_ROWS = 8192;
function* csvPieces(d: number, pieces: Iterable<Dataset>): Generator<string> {
  yield csvHeader(d, true);
  for (const piece of pieces) for (const rows of datasetPieces(piece, CSV_ROWS)) yield csvRows(rows);
}

const sampleCommand: Command = {
  summary: 'draw a seeded sample from a model',
  help: `gatelab sample --model M.json --n N --seed S [--out F.csv] [--backend cpu|gpu|auto]

  --model M.json   model file
  --n N            sample size (integer in 1..2^31; written as it is drawn, in bounded memory)
  --seed S         seed (integer in [0, 2^53)); the same seed gives the same bytes
  --out F.csv      write there instead of standard output
${BACKEND_FLAG_HELP}

CSV header x1,...,xd,y,z; z is the 1-based index of the expert that generated the row. The GPU
draws from the same Philox stream: identical random words, values to float32 precision.`,
  async run(argv, io) {
    const v = parseFlags(
      argv,
      { model: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } },
      'sample',
    );
    const model = readModel(required(v, 'model', 'sample'), '--model');
    const n = integerFlag(required(v, 'n', 'sample'), 'n', 1);
    if (n > MAX_SAMPLE) throw new UsageError(`--n: ${n} is not allowed; must be an integer in 1..${MAX_SAMPLE} (2^31)`);
    const seed = integerFlag(required(v, 'seed', 'sample'), 'seed', 0);
    const out = typeof v.out === 'string' ? v.out : undefined;
    if (out !== undefined) refuseStoreFile(out, '--out');
    await withBackend(v.backend, io, async (backend) => {
      // the CPU draws and writes 65536 points at a time (any n in bounded memory); the GPU draws
      // the whole sample, written in pieces
      const pieces = backend.kind === 'cpu' ? sampleChunks(model, n, new Rng(seed)) : datasetPieces((await sampleMany(model, n, [new Rng(seed)], backend)).datasets[0]!);
      await writeStream(out, io, csvPieces(model.input.dim, pieces));
    });
  },
};

const fitCommand: Command = {
  summary: 'fit a Gaussian MoE by EM or direct MLE',
  help: `gatelab fit --data D.csv --experts k --gate G.json
            [--start S.json | --near-truth T.json --noise s --seed S [--shrink e] | --restarts r --seed S]
            ${fitFlagsUsage()}
            [--backend cpu|gpu|auto] --out F.json

  --data D.csv         header x1,...,xd,y (a z column is ignored)
  --experts k          number of experts to fit (at most the number of data rows)
  --gate G.json        a gate object, e.g. {"type":"topk","K":2}, or a model file (its gate is used)
  --start S.json       start from this model (k experts)
  --near-truth T.json  start near the true model T: each parameter + N(0, s^2), a random surjective
                       map of fitted onto true experts; needs --noise and --seed
  --noise s            noise sd of the near-truth start, in [0, 100] (fixed, not shrinking with n)
  --shrink e           optional: noise s * n^-e (the [DEMYS] authors' code uses e = 0.083; labelled)
  --restarts r         data-driven random starts (k-means++ then least squares), best of r (1..1000); needs --seed
  --seed S             seed of the start
  --out F.json         the fitted model plus "fit": {loglik, iterations, stopReason, seconds, ...}
  --backend B          cpu (float64), gpu (gpu.js on WebGPU: batched EM; an error where no adapter
                       answers) or auto (default: a hardware GPU where WebGPU finds one, else the CPU).
                       On the GPU, loglik is re-evaluated in float64 at the final parameters; MLE runs
                       on the CPU

The fit options (the options table of docs/fitting.md):
${fitFlagsHelp()}

Without a start option, --restarts 1 --seed 0 is used. "seconds" is the wall time of the
optimisation itself (no file I/O, no start-up).`,
  async run(argv, io) {
    const v = parseFlags(
      argv,
      {
        backend: { type: 'string' },
        data: { type: 'string' },
        experts: { type: 'string' },
        gate: { type: 'string' },
        start: { type: 'string' },
        'near-truth': { type: 'string' },
        noise: { type: 'string' },
        shrink: { type: 'string' },
        restarts: { type: 'string' },
        seed: { type: 'string' },
        ...fitFlagSpec(),
        out: { type: 'string' },
      },
      'fit',
    );
    const k = integerFlag(required(v, 'experts', 'fit'), 'experts', 1);
    const gatePath = required(v, 'gate', 'fit');
    const gateJson = readJson(gatePath, '--gate') as Record<string, unknown>;
    const gateObject = gateJson && typeof gateJson === 'object' && 'gate' in gateJson ? gateJson.gate : gateJson;
    let gate;
    try {
      gate = parseGate(gateObject, k, 'gate');
    } catch (e) {
      throw new ConfigError(`${gatePath}: ${(e as Error).message}`);
    }
    const outPath = required(v, 'out', 'fit');
    const starts = ['start', 'near-truth', 'restarts'].filter((f) => v[f] !== undefined);
    if (starts.length > 1) {
      throw new UsageError(`fit: --${starts[0]} and --${starts[1]} both given; choose one start option`);
    }
    let start: StartSpec;
    if (typeof v.start === 'string') {
      start = { type: 'given', model: readModel(v.start, '--start') };
    } else if (typeof v['near-truth'] === 'string') {
      const noise = numberFlag(required(v, 'noise', 'fit'), 'noise', (x) => x >= 0 && x <= MAX_START_NOISE, `a number in [0, ${MAX_START_NOISE}]`);
      const shrink = numberFlag(v.shrink as string | undefined, 'shrink', (x) => x >= 0, 'a number >= 0');
      start = {
        type: 'nearTruth',
        truth: readModel(v['near-truth'], '--near-truth'),
        noise: noise!,
        seed: integerFlag(required(v, 'seed', 'fit'), 'seed', 0),
        ...(shrink === undefined ? {} : { shrinkExponent: shrink }),
      };
    } else {
      start = {
        type: 'random',
        restarts: restartsFlag(v.restarts as string | undefined),
        seed: integerFlag(v.seed as string | undefined, 'seed', 0, 0),
      };
    }
    let flagged: Partial<FitOptions>;
    try {
      flagged = fitOptionsFromFlags(v);
    } catch (e) {
      // a flag's value: a usage error (exit code 2), like every other flag check
      throw e instanceof ConfigError ? new UsageError(e.message) : e;
    }
    const options: FitOptions = { k, gate, ...flagged };
    const { method, stop } = options;
    const dataPath = required(v, 'data', 'fit');
    const data = readDataset(dataPath, '--data');
    // more experts than points cannot be fitted (and a near-truth start of a huge k would exhaust
    // the memory before the fit could say so)
    if (k > data.n) throw new UsageError(`--experts: ${k} experts need at least ${k} data rows; ${dataPath} has ${data.n}`);
    const cpuOnly = method === 'mle' ? 'method mle runs on the CPU' : cpuOnlyGate(gate, k, data.d, stop ?? 'score');
    const [result] = await withBackend(v.backend, io, (backend) => fitMany([{ data, start }], options, backend), cpuOnly);
    const { model, fit } = result!;
    // a fit that failed numerically can end with parameters or a log-likelihood that are not
    // finite numbers: JSON would write them as null, a file no command reads back
    const bad = firstNonFinite({ loglik: fit.loglik, experts: model.experts, input: model.input }, 'fit');
    if (bad) {
      throw new NumericalError(
        `fit: ${fit.method} ended with ${fit.stopReason} after ${fit.iterations} iterations, ${bad.field.replace(/^fit\./, '')} = ${show(bad.value)}: nothing written to ${outPath}; ` +
          `check the data's scale (values whose squares overflow float64 cannot be fitted), or try another start or a larger --nu-min`,
      );
    }
    writeText(outPath, JSON.stringify({ gate: model.gate, experts: model.experts, input: model.input, fit }, null, 2) + '\n');
    io.err(
      `fit: ${fit.method} ${fit.stopReason} after ${fit.iterations} iterations, loglik ${fit.loglik}, ${fit.seconds.toFixed(3)} s -> ${outPath}\n`,
    );
    for (const w of fit.warnings) io.err(`warning: ${w}\n`);
  },
};

const lossCommand: Command = {
  summary: 'Voronoi loss (D1 or D2) between a fitted and the true model',
  help: `gatelab loss --truth T.json --fit F.json

  --truth T.json   the true model
  --fit F.json     the fitted model (as written by gatelab fit)

Prints JSON {"kind": "D1"|"D2", "raw", "aligned", "cells", "errors"}: D1 when the fit has as many
experts as the truth, D2 when it has more; raw is the loss as fitted; aligned the loss after a
common gating shift (t0, t1) with t0 fixed so that the fitted masses sum to the true total,
sum_i exp(beta0_i + t0) = sum_j exp(beta0*_j), and t1 minimising the loss (only t0 for an
activation gate with a non-linear sigma); aligned can exceed raw (docs/losses.md, "Translation").
cells[j] lists the 0-based fitted atoms in the Voronoi cell of true atom j; errors is
{"raw": [...], "aligned": [...]} (no shift, and the aligning shift) with, per true atom j, the
cell size, the cell mass error |sum_{i in A_j} exp(beta0_i) - exp(beta0*_j)|, the mass-weighted
errors beta1, a, b, nu (and tau), (sum_i w_i |d_i|^r / sum_i w_i)^(1/r) over the cell with r the
block's exponent in the loss, "exponents" (those r), and "max": the unweighted largest errors
over the cell (a diagnostic, dominated by atoms of vanishing mass); null for an empty cell.`,
  run(argv, io) {
    const v = parseFlags(argv, { truth: { type: 'string' }, fit: { type: 'string' } }, 'loss');
    const truthPath = required(v, 'truth', 'loss');
    const fitPath = required(v, 'fit', 'loss');
    const truth = readModel(truthPath, '--truth');
    const fitted = readModel(fitPath, '--fit');
    // the loss names the models "fit" and "truth": say which files they are
    const result = rephrased(() => voronoiLoss(fitted, truth), (m) => `loss (--fit ${fitPath}, --truth ${truthPath}): ${m.replace(/^voronoiLoss: /, '')}`);
    io.out(JSON.stringify({ kind: result.kind, raw: result.raw, aligned: result.aligned, cells: result.cells, errors: result.errors }) + '\n');
  },
};

/** --restarts: an integer in 1..MAX_RESTARTS (default 1; every start is made before the fits run). */
function restartsFlag(value: string | undefined): number {
  const r = integerFlag(value, 'restarts', 1, 1);
  if (r > MAX_RESTARTS) throw new UsageError(`--restarts: ${r} is not allowed; must be an integer in 1..${MAX_RESTARTS}`);
  return r;
}

/** Run `f`; a gatelab error it throws is thrown again, of the same class, with `message(e.message)`. */
function rephrased<T>(f: () => T, message: (m: string) => string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GatelabError) {
      const again = new (e.constructor as new (m: string) => GatelabError)(message(e.message));
      throw again;
    }
    throw e;
  }
}

/** The largest --n of sample (the sampler's limit). */
const MAX_SAMPLE = 2 ** 31;

const demo: Command = {
  summary: 'a small end-to-end run: sample from the [DEMYS] model, fit by EM, print the loss',
  help: `gatelab demo [--n N] [--seed S]

Samples N points (default 5000) from the [DEMYS] true model (softmax gate, k* = 2), fits k = 2
experts by EM from a near-truth start (noise 0.1), and prints the fit and its Voronoi loss D1.`,
  run(argv, io) {
    const v = parseFlags(argv, { n: { type: 'string' }, seed: { type: 'string' } }, 'demo');
    const n = integerFlag(v.n as string | undefined, 'n', 10, 5000);
    const seed = integerFlag(v.seed as string | undefined, 'seed', 0, 1);
    const truth = DEMYS_MODEL;
    const t0 = performance.now();
    const data = sample(truth, n, new Rng(seed));
    const result = fitMoE(data, { k: 2, gate: { type: 'softmax' } }, { type: 'nearTruth', truth, noise: 0.1, seed });
    const loss = rephrased(
      () => voronoiLoss(result.model, truth),
      (m) => `demo: the fit of n = ${n} points cannot be scored (${m.replace(/^voronoiLoss: /, '')}); too few points for this model: use a larger --n (default 5000)`,
    );
    const row = (label: string, m: Model) =>
      m.experts.map((e, i) => `${label} expert ${i + 1}: beta0 ${e.beta0.toFixed(3)}  beta1 ${e.beta1!.map((x) => x.toFixed(3)).join(',')}  a ${e.a.map((x) => x.toFixed(3)).join(',')}  b ${e.b.toFixed(3)}  nu ${e.nu.toFixed(4)}`);
    io.out(
      [
        `gatelab demo: n = ${n}, seed = ${seed}, [DEMYS] model, EM from a near-truth start`,
        ...row('true  ', truth),
        ...row('fitted', result.model),
        `EM: ${result.fit.stopReason} after ${result.fit.iterations} iterations, loglik ${result.fit.loglik.toFixed(4)}, ${(result.fit.seconds * 1000).toFixed(1)} ms`,
        `Voronoi loss ${loss.kind}: raw ${loss.raw.toExponential(4)}, aligned ${loss.aligned.toExponential(4)}`,
        `total ${((performance.now() - t0) / 1000).toFixed(2)} s`,
      ].join('\n') + '\n',
    );
  },
};

export const COMMANDS: Record<string, Command> = {
  demo,
  sweep: sweepCommand,
  rates: ratesCommand,
  slurm: slurmCommand,
  status: statusCommand,
  export: exportCommand,
  repair: repairCommand,
  sample: sampleCommand,
  fit: fitCommand,
  density,
  loss: lossCommand,
  select: selectCommand,
  'select-sweep': selectSweepCommand,
};

export function checkCommand(name: string): Command {
  const c = COMMANDS[name];
  if (!c) throw new UsageError(`${show(name)} is not a command; commands: ${Object.keys(COMMANDS).join(', ')} (gatelab --help)`);
  return c;
}
