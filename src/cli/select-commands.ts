/** `gatelab select` (choose k on one data set) and `gatelab select-sweep` (how often each criterion finds k*). */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { formatSelectionFrequencies, selectionFrequencies } from '../analysis/selection-frequency.js';
import { ConfigError, GatelabError, ModelError, RunError } from '../errors.js';
import { fitFlagSpec, fitFlagsHelp, fitOptionsFromFlags } from '../fitting/options.js';
import type { FitOptions } from '../fitting/types.js';
import { parseGate } from '../models/validate.js';
import { copyPlotly, ExportError, figuresToHtml, renderImages } from '../plots/export.js';
import { criteriaFigure, dendrogramFigure, selectionFrequencyFigure } from '../plots/selection.js';
import type { Figure } from '../plots/types.js';
import { MAX_SELECT_K, selectK, type Selection } from '../selection/select-k.js';
import { defaultResultsDir } from '../sweeps/config.js';
import { isSelectConfig, parseSelectConfig, readSelectRows, runSelectSweep } from '../sweeps/select-sweep.js';
import { integerFlag, numberFlag, parseFlags, parseFlagsAndPositionals, required, UsageError } from './args.js';
import type { Command, Io } from './command.js';
import { readDataset, readJson, refuseStoreFile, writeText } from './io.js';

const num = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** The terminal table of a selection: one row per k, the choices, the dendrogram's levels. */
export function selectionTable(s: Selection): string {
  const head = ['k', 'loglik', 'params', 'AIC', 'BIC', 'ICL', 'entropy', 'kept fit', 'stop'];
  const rows = s.k.map((f) => [String(f.k), num(f.loglik, 3), String(f.params), num(f.aic), num(f.bic), num(f.icl), num(f.entropy), f.source, f.stopReason]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 7 || c === 8 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ').trimEnd();
  const out = [`select: n = ${s.n}, d = ${s.d}, gate ${s.gate.type}, k = ${s.kMin}..${s.kMax} (criteria: -2 L + penalty, smaller is better)`, line(head), ...rows.map(line)];
  const c = s.chosen;
  out.push(`chosen: AIC ${c.aic ?? '-'}, BIC ${c.bic ?? '-'}, ICL ${c.icl ?? '-'}, DIC ${c.dic ?? '-'}`);
  if (s.dendrogram) {
    out.push(`dendrogram of the k = ${s.kMax} fit (DIC = -(h + ${num(s.dendrogram.omega, 3)} L / n)):`);
    for (const l of s.dendrogram.levels) {
      out.push(`  level ${l.k}: loglik ${num(l.loglik, 3)}${l.height !== null ? `, height ${l.height.toPrecision(4)}, DIC ${l.dic!.toFixed(5)}` : ''}; atoms ${l.atoms.map((a) => `{${a.map((i) => i + 1).join(',')}}`).join(' ')}`);
    }
  } else out.push(`dendrogram: none (${s.dendrogramNote})`);
  out.push(`parameters: ${s.counting}`);
  for (const w of s.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}

/**
 * The plotly.min.js an HTML page in `dir` uses, as a relative path: the nearest one in a folder
 * above `dir` (figures/plotly.min.js for figures/<name>/ and figures/<name>/<sub>/), else a copy
 * made beside `dir`.
 */
function plotlyFor(dir: string): string {
  const start = resolve(dir);
  for (let up = dirname(start), depth = 1; depth <= 4 && up !== dirname(up); up = dirname(up), depth++) {
    if (existsSync(join(up, 'plotly.min.js'))) return relative(start, join(up, 'plotly.min.js')).split(sep).join('/');
  }
  copyPlotly(join(dirname(start), 'plotly.min.js'));
  return '../plotly.min.js';
}

/** Write figures to DIR/index<suffix>.html (offline: a relative plotly.min.js) and PNGs where Chromium is installed. */
async function writeFigures(dir: string, figures: Figure[], title: string, suffix: string, io: Io): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeText(join(dir, `index${suffix}.html`), figuresToHtml(figures, title, { plotlySrc: plotlyFor(dir) }), '--figures');
  try {
    await renderImages(figures.map((figure) => ({ figure, path: join(dir, `${figure.name}${suffix}.png`), format: 'png' as const, scale: 1.5 })));
    io.err(`figures: ${figures.length} figures -> ${dir}/index${suffix}.html and PNG\n`);
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    io.err(`figures: ${figures.length} figures -> ${dir}/index${suffix}.html; PNG skipped: ${e.message}\n`);
  }
}

/** The fit options `gatelab select` takes as flags (from the fit options table). */
const SELECT_FIT_OPTIONS = ['maxIterations', 'tau'] as const;

export const selectCommand: Command = {
  summary: 'choose the number of experts: AIC, BIC, ICL per k and the dendrogram DIC',
  help: `gatelab select --data D.csv --gate G.json --k-max K --seed S [--out F.json] [--restarts r]
               [--max-iter m] [--tau known|free] [--omega w] [--exponents r1,r2] [--no-slope]
               [--no-split] [--figures DIR]

  --data D.csv       header x1,...,xd,y (a z column is ignored)
  --gate G.json      a gate object, e.g. {"type":"softmax"}, or a model file (its gate is used)
  --k-max K          fit k = kMin..K (kMin: the smallest k the gate allows, e.g. K of top-K), K in 1..${MAX_SELECT_K}
  --seed S           seed of the random starts (each k derives its own)
  --restarts r       random starts per k (default 3); k > kMin is also warm-started from the
                     k - 1 fit with its heaviest atom split, and the better fit is kept
${fitFlagsHelp(SELECT_FIT_OPTIONS, 21)}
  --omega w          the DIC's omega_n (default log n)
  --exponents r1,r2  the merge distance's exponents (default 2,1)
  --no-slope         leave dbeta1 out of the merge distance (the published code's choice)
  --no-split         no split warm starts
  --out F.json       also write the JSON there
  --figures DIR      write the dendrogram and the criteria figure to DIR/index.html (and PNG)

Prints a table (standard error) and the JSON (standard output): {"k": [{"k", "loglik", "params",
"aic", "bic", "icl", "entropy", "source", ...}], "chosen": {"aic", "bic", "icl", "dic"},
"dendrogram": {...} or null with "dendrogramNote"}. Criteria are "smaller is better":
AIC = -2L + 2p, BIC = -2L + p log n, ICL = BIC + 2 EN (EN the entropy of the responsibilities);
p counts the gate's free parameters from its packing (fixed settings such as top-K's K are not
counted; a free tau counts 1, except on the temperature gate's invariant ray: 0) plus k (d + 1) + k.
The dendrogram (softmax and temperature gates): docs/selection.md.`,
  async run(argv, io) {
    const v = parseFlags(
      argv,
      {
        data: { type: 'string' },
        gate: { type: 'string' },
        'k-max': { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        restarts: { type: 'string' },
        ...fitFlagSpec(SELECT_FIT_OPTIONS),
        omega: { type: 'string' },
        exponents: { type: 'string' },
        'no-slope': { type: 'boolean' },
        'no-split': { type: 'boolean' },
        figures: { type: 'string' },
      },
      'select',
    );
    const kMax = integerFlag(required(v, 'k-max', 'select'), 'k-max', 1);
    if (kMax > MAX_SELECT_K) throw new UsageError(`--k-max: ${kMax} is not allowed; must be an integer in 1..${MAX_SELECT_K}`);
    const seed = integerFlag(required(v, 'seed', 'select'), 'seed', 0);
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed: ${seed} is not allowed; must be an integer in [0, 2^53)`);
    const restarts = integerFlag(v.restarts as string | undefined, 'restarts', 1, 3);
    if (restarts > 1000) throw new UsageError(`--restarts: ${restarts} is not allowed; must be an integer in 1..1000`);
    let fitFlags;
    try {
      fitFlags = fitOptionsFromFlags(v, SELECT_FIT_OPTIONS);
    } catch (e) {
      throw e instanceof ConfigError ? new UsageError(e.message) : e;
    }
    const { maxIterations, tau } = fitFlags;
    const omega = numberFlag(v.omega as string | undefined, 'omega', (x) => x > 0, 'a number > 0');
    let exponents: [number, number] | undefined;
    if (typeof v.exponents === 'string') {
      const parts = v.exponents.split(',').map((p) => Number(p));
      if (parts.length !== 2 || !parts.every((p) => Number.isFinite(p) && p > 0) || v.exponents.trim() === '') {
        throw new UsageError(`--exponents: ${JSON.stringify(v.exponents)} is not allowed; must be two numbers > 0, e.g. 2,1`);
      }
      exponents = [parts[0]!, parts[1]!];
    }
    const gatePath = required(v, 'gate', 'select');
    const gateJson = readJson(gatePath, '--gate') as Record<string, unknown>;
    const gate = gateJson && typeof gateJson === 'object' && 'gate' in gateJson ? gateJson.gate : gateJson;
    try {
      parseGate(gate, kMax, 'gate');
    } catch (e) {
      throw e instanceof ModelError ? new ConfigError(`${gatePath}: ${e.message} (at --k-max ${kMax})`) : e;
    }
    const out = typeof v.out === 'string' ? v.out : undefined;
    if (out !== undefined) refuseStoreFile(out, '--out');
    const dataPath = required(v, 'data', 'select');
    const data = readDataset(dataPath, '--data');
    if (kMax > data.n) throw new UsageError(`--k-max: ${kMax} experts need at least ${kMax} data rows; ${dataPath} has ${data.n}`);
    const fit: Omit<FitOptions, 'k' | 'gate' | 'trace'> = { ...(maxIterations !== undefined ? { maxIterations } : {}), ...(tau ? { tau } : {}) };
    let selection: Selection;
    try {
      selection = selectK(data, {
        gate,
        kMax,
        seed,
        restarts,
        split: v['no-split'] !== true,
        fit,
        dendrogram: { ...(omega !== undefined ? { omega } : {}), ...(exponents ? { exponents } : {}), ...(v['no-slope'] ? { slope: false } : {}) },
      });
    } catch (e) {
      if (e instanceof GatelabError) throw new (e.constructor as new (m: string) => GatelabError)(`select: ${e.message}`);
      throw e;
    }
    const json = JSON.stringify(selection, null, 2) + '\n';
    if (out !== undefined) writeText(out, json);
    io.err(selectionTable(selection));
    io.out(json);
    if (typeof v.figures === 'string') {
      const title = `${basename(dataPath)} (n = ${data.n})`;
      const figures = [criteriaFigure(selection, title), ...(selection.dendrogram ? [dendrogramFigure(selection.dendrogram, title)] : [])];
      await writeFigures(v.figures, figures, `gatelab select: ${title}`, '', io);
    }
  },
};

export const selectSweepCommand: Command = {
  summary: 'how often AIC, BIC, ICL and DIC choose k* over n and replicates (resumable)',
  help: `gatelab select-sweep experiments/<name>.json [--quick] [--out DIR] [--figures DIR]

  a config with "kind": "select" (e.g. experiments/select-demys.json)
  --quick        the small variant (default: the full variant)
  --out DIR      results folder (default results/<name>/, or results/<name>-quick/ with --quick)
  --figures DIR  also write DIR/frequencies-<variant>.md, DIR/index-<variant>.html and the PNG
                 (figures/<name>/ is where the committed ones live)

Each (n, replicate) task samples n points from the truth (seed from the config's seed, n and
replicate only), runs gatelab select on them and appends its row durably to DIR/rows.jsonl (the
store of gatelab sweep: CRC per line, fsync, a lock); re-running resumes. Tasks run one after
another in this process. Prints, per n and criterion, the frequency of choosing k* with its 95%
Wilson interval and the counts of over- and under-selection.`,
  async run(argv, io) {
    const { values: v, positionals } = parseFlagsAndPositionals(argv, { quick: { type: 'boolean' }, out: { type: 'string' }, figures: { type: 'string' } }, 'select-sweep', 1);
    const file = positionals[0]!;
    const json = readJson(file, 'experiment');
    if (!isSelectConfig(json)) throw new ConfigError(`${file}: is not a selection config ("kind": "select"); rate sweeps run with gatelab sweep`);
    const config = parseSelectConfig(json, file);
    const variant = v.quick ? 'quick' : 'full';
    const dir = typeof v.out === 'string' ? v.out : defaultResultsDir(config.name, variant);
    let stop = false;
    const onSignal = (signal: NodeJS.Signals) => {
      io.err(`\n${config.name}: ${signal}: stopping after the task in flight; finished tasks are saved, re-run to resume\n`);
      stop = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      // a task runs synchronously: a signal is seen between tasks
      const summary = await runSelectSweep(config, variant, dir, (row, done, total) => {
        io.err(`${config.name} (${variant}): ${done}/${total} ${row.key} ${row.status === 'ok' ? `chosen ${JSON.stringify(row.chosen)}` : `failed: ${row.error}`} ${row.seconds?.toFixed(1)} s\n`);
      }, () => stop);
      io.err(`${config.name} (${variant}): ${summary.ran} tasks run, ${summary.skipped} already done, ${summary.failed} failed, ${summary.seconds.toFixed(1)} s -> ${summary.dir}\n`);
      if (summary.total > 0 && summary.failed === summary.total) throw new RunError(`${config.name}: every task failed; see ${summary.dir}/rows.jsonl`);
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    const { rows } = readSelectRows(dir);
    const freqs = selectionFrequencies(rows.filter((r) => r.variant === variant));
    const table = formatSelectionFrequencies(freqs);
    io.out(table);
    if (typeof v.figures === 'string') {
      const seconds = rows.reduce((s, r) => s + (r.seconds ?? 0), 0);
      mkdirSync(v.figures, { recursive: true });
      writeText(
        join(v.figures, `frequencies-${variant}.md`),
        `# ${config.name} (${variant})\n\n${config.description}\n\nMade by \`gatelab select-sweep ${file}${variant === 'quick' ? ' --quick' : ''} --figures ${v.figures}\`: ${rows.length} tasks, k* = ${config.truth.experts.length}, k = 1..${config.select.kMax}; ${seconds.toFixed(0)} s of selection in all. Each cell: tasks choosing k* / tasks = frequency [95% Wilson interval] (over-selections / under-selections).\n\n${table}`,
        '--figures',
      );
      await writeFigures(v.figures, [selectionFrequencyFigure(freqs, `${config.name} (${variant})`)], `${config.name} (${variant})`, `-${variant}`, io);
    }
  },
};
