/**
 * Which results of an experiment to read: the full variant's where its store has rows, the quick
 * variant's otherwise (the figures, the notebooks), with the variant said, so that every figure
 * can name what it shows.
 */
import { join, relative } from 'node:path';
import { defaultResultsDir } from './config.js';
import { listStores } from './merged-store.js';

/** The results directory read and its variant. */
export interface ResultsChoice {
  variant: 'quick' | 'full';
  dir: string;
  /** why this variant: 'full results present', 'no full results', or 'asked for' */
  reason: string;
}

/**
 * The results to read for an experiment: `results/<name>/` (full) when it holds a store (or
 * shards), else `results/<name>-quick/`; or the variant asked for.
 * @param name the experiment's name
 * @param want 'auto' (default), 'quick' or 'full'
 * @param root the results folder (default 'results'; a notebook in notebooks/ passes '../results')
 * @example preferredResults('demys-exact') // => { variant: 'quick', dir: 'results/demys-exact-quick', reason: 'no full results' } on a fresh clone
 */
export function preferredResults(name: string, want: 'auto' | 'quick' | 'full' = 'auto', root = 'results'): ResultsChoice {
  const at = (variant: 'quick' | 'full') => join(root, relative('results', defaultResultsDir(name, variant)));
  if (want !== 'auto') return { variant: want, dir: at(want), reason: 'asked for' };
  const full = at('full');
  if (listStores(full).length > 0) return { variant: 'full', dir: full, reason: 'full results present' };
  return { variant: 'quick', dir: at('quick'), reason: 'no full results' };
}
