/**
 * How a finished sweep row's fit stopped, as the analysis and `gatelab status` both read it: the
 * one rule for "converged" (analysis/summary.ts isConverged is this reason being 'converged').
 */
import { gateBoundExcess } from '../models/gate-bound.js';
import type { SweepRow } from './types.js';

/**
 * The stop reason of an ok row: its `stopReason`, or for a row that records none 'converged' /
 * 'not recorded' from its `converged` flag; a converged stop whose stored gate left the compact
 * box ({@link gateBoundExcess}) is 'gate outside the box' (rows written before the box included).
 * @example rowStopReason({ ...row, stopReason: 'converged', model }) // => 'gate outside the box' when model's gate has |beta| > 1000
 */
export function rowStopReason(row: SweepRow): string {
  const stop = row.stopReason ?? (row.converged === true ? 'converged' : 'not recorded');
  return stop === 'converged' && gateBoundExcess(row.model) !== undefined ? 'gate outside the box' : stop;
}
