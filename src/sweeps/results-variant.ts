/**
 * Which results of an experiment to read: the full variant's where its store has rows (or, with
 * no store, where its Parquet export is committed: figures/<name>/results-full.parquet), the quick
 * variant's otherwise (the figures, the notebooks), with the variant said, so that every figure
 * can name what it shows.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { defaultResultsDir } from './config.js';
import { readParquetResults } from './import-parquet.js';
import { describeMissing, listStores, readResults, type MergedResults } from './merged-store.js';

/** The results directory read and its variant. */
export interface ResultsChoice {
  variant: 'quick' | 'full';
  dir: string;
  /** why this variant: 'full results present', 'the committed Parquet export', 'no full results', or 'asked for' */
  reason: string;
  /** where the rows come from a committed Parquet export instead of a store: the file */
  parquet?: string;
  /** the experiment config beside the results folder (experiments/<name>.json), for exports without one */
  configFile: string;
}

/** The committed Parquet export of an experiment's full results (issue 15), relative to the results folder's parent. */
export function committedExport(name: string, root = 'results'): string {
  return join(dirname(root), 'figures', name, 'results-full.parquet');
}

/**
 * The results to read for an experiment: `results/<name>/` (full) when it holds a store (or
 * shards) with a row for every task, else the committed export, else `results/<name>-quick/`;
 * or the variant asked for. A full store still being written (a multi-session run, committed as
 * it grows) is not taken for the full results: its reason names how many tasks are missing
 * (ask for 'full' to read the rows present). A store that cannot be read counts as complete,
 * so that reading it reports why.
 * @param name the experiment's name
 * @param want 'auto' (default), 'quick' or 'full'
 * @param root the results folder (default 'results'; a notebook in notebooks/ passes '../results')
 * @example preferredResults('demys-exact') // => { variant: 'quick', dir: 'results/demys-exact-quick', reason: 'no full results', configFile: 'experiments/demys-exact.json' } on a fresh clone
 */
export function preferredResults(name: string, want: 'auto' | 'quick' | 'full' = 'auto', root = 'results'): ResultsChoice {
  const at = (variant: 'quick' | 'full') => join(root, relative('results', defaultResultsDir(name, variant)));
  const configFile = join(dirname(root), 'experiments', `${name}.json`);
  if (want === 'quick') return { variant: want, dir: at(want), reason: 'asked for', configFile };
  const full = at('full');
  // a store wins over the export (it may hold more rows; in auto only a complete one); the export stands in otherwise
  const hasStore = listStores(full).length > 0;
  const exported = committedExport(name, root);
  const hasExport = existsSync(exported);
  if (want === 'full') return { variant: want, dir: full, reason: 'asked for', configFile, ...(!hasStore && hasExport ? { parquet: exported } : {}) };
  const read = hasStore ? readWhole(full) : undefined;
  const incomplete = read !== undefined && read.missing.length > 0 ? describeMissing(read) : undefined;
  if (hasStore && !incomplete) {
    const choice: ResultsChoice = { variant: 'full', dir: full, reason: 'full results present', configFile };
    // readChosen of this choice takes the results already read here instead of reading them again
    if (read !== undefined) readAhead.set(choice, read);
    return choice;
  }
  if (hasExport) return { variant: 'full', dir: full, reason: 'the committed Parquet export', configFile, parquet: exported };
  return { variant: 'quick', dir: at('quick'), reason: incomplete ? `full results incomplete: ${incomplete}` : 'no full results', configFile };
}

/** The merged results of a full store, or undefined when it cannot be read (readChosen then reports why). */
function readWhole(dir: string): MergedResults | undefined {
  try {
    return readResults(dir);
  } catch {
    return undefined;
  }
}

/** Results read by preferredResults to judge completeness, kept for readChosen of the same choice object. */
const readAhead = new WeakMap<ResultsChoice, MergedResults>();

/** Whether a choice has rows to read: a store in its folder, or its Parquet export. */
export function hasResults(choice: ResultsChoice): boolean {
  return choice.parquet !== undefined || listStores(choice.dir).length > 0;
}

/**
 * The merged results of a choice: the stores of its folder (readResults), or its Parquet export
 * (readParquetResults, with the config from the file or else from `configFile`).
 * @example const results = await readChosen(preferredResults('demys-authors-exact'));
 */
export async function readChosen(choice: ResultsChoice): Promise<MergedResults> {
  const read = readAhead.get(choice);
  if (read !== undefined) {
    readAhead.delete(choice); // once: a later read of the same choice sees rows appended since
    return read;
  }
  return choice.parquet ? readParquetResults(choice.parquet, { configFile: choice.configFile }) : readResults(choice.dir);
}
