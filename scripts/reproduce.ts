/**
 * npm run reproduce [-- --full] [-- --workers N] [-- --only name,name]
 * Runs every shipped experiment (experiments/*.json), quick variant by default, into
 * results/<name>-quick/ (or results/<name>/ with --full; re-running resumes), then writes each
 * slope table to figures/<name>/rates.{md,csv,json} and an overview to figures/rates-<variant>.md.
 * With --full, each experiment's rows are also exported to figures/<name>/results-full.parquet
 * (the compact form committed in the repository: figures, rates and notebooks read it where no
 * store is; the store itself is never overwritten).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyseRates, formatRates, type RateRow } from '../src/analysis/index.js';
import { readJson } from '../src/cli/io.js';
import { progressReporter } from '../src/cli/progress.js';
import { GatelabError } from '../src/errors.js';
import { defaultResultsDir, parseExperimentConfig } from '../src/sweeps/config.js';
import { exportParquet } from '../src/sweeps/export-parquet.js';
import { readResults } from '../src/sweeps/merged-store.js';
import { committedExport } from '../src/sweeps/results-variant.js';
import { isSelectConfig } from '../src/sweeps/select-sweep.js';
import { readStore } from '../src/sweeps/store.js';
import { runSweep } from '../src/sweeps/sweep.js';
import { makeFigures } from './figures.js';

/** The overview's sections by experiment name ("## name" up to the next such heading), or none. */
function previousSections(path: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  const parts = text.split(/^(?=## )/m).slice(1);
  // each part but the file's last ends with the newline that joining the overview's lines adds after it
  parts.forEach((part, i) => out.set(part.slice(3, part.indexOf('\n')).trim(), i < parts.length - 1 ? part.replace(/\n$/, '') : part));
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { full: { type: 'boolean' }, workers: { type: 'string' }, only: { type: 'string' } },
    strict: true,
  });
  const variant = values.full ? 'full' : 'quick';
  const workers = values.workers ? Number(values.workers) : availableParallelism();
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const files = readdirSync('experiments').filter((f) => f.endsWith('.json')).sort();
  const overview: string[] = [`# Slope tables, ${variant} variant`, '', 'Made by `npm run reproduce' + (variant === 'full' ? ' -- --full' : '') + '`. Verdicts compare the bootstrap CI of the slope with the predicted slope and its log-corrected reference.', ''];
  const overviewPath = join('figures', `rates-${variant}.md`);
  // with --only, the sections of the experiments not run are kept from the existing overview
  const kept = only ? previousSections(overviewPath) : new Map<string, string>();
  const t0 = Date.now();
  for (const file of files) {
    const json = readJson(join('experiments', file), 'experiment config');
    // selection configs ("kind": "select") run with gatelab select-sweep, not as rate sweeps
    if (isSelectConfig(json)) continue;
    const config = parseExperimentConfig(json, file);
    if (only && !only.has(config.name)) {
      const section = kept.get(config.name);
      if (section !== undefined) overview.push(section);
      continue;
    }
    const dir = defaultResultsDir(config.name, variant);
    const summary = await runSweep(config, variant, dir, {
      workers,
      onProgress: progressReporter((t) => process.stderr.write(t), Boolean(process.stderr.isTTY), `${config.name} (${variant})`),
    });
    const store = readStore(dir);
    const rates: RateRow[] = analyseRates(store.rows, config, variant);
    const out = join('figures', config.name);
    mkdirSync(out, { recursive: true });
    if (variant === 'full') {
      // the compact form committed in the repository (figures and rates read it where no store is)
      const written = exportParquet(readResults(dir), committedExport(config.name), { force: true });
      process.stderr.write(`${config.name}: ${written.rows} rows -> ${committedExport(config.name)} (${(written.bytes / 1e6).toFixed(1)} MB)\n`);
    }
    for (const format of ['md', 'csv', 'json'] as const) writeFileSync(join(out, `rates-${variant}.${format}`), formatRates(rates, format));
    const withPrediction = rates.filter((r) => r.predicted !== null);
    overview.push(`## ${config.name}`, '', config.description, '', `${summary.total} fits (${summary.failed} failed), ${summary.seconds.toFixed(0)} s this run.`, '', formatRates(withPrediction, 'md'), '');
    process.stderr.write(`${config.name}: ${rates.filter((r) => r.verdict === 'consistent').length} consistent of ${withPrediction.length} predicted slope fits -> ${out}\n`);
  }
  mkdirSync('figures', { recursive: true });
  writeFileSync(overviewPath, overview.join('\n'));
  if (!only) await makeFigures(variant);
  process.stderr.write(`reproduce (${variant}): done in ${((Date.now() - t0) / 1000).toFixed(0)} s; overview in figures/rates-${variant}.md\n`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof GatelabError ? e.message : e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
