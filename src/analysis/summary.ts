/**
 * Per-n summaries of one quantity over the replicates of a sweep (spec: rates.md, "Measuring a
 * rate", step 2): the replicate values, their mean and median, and what was missing or failed.
 */
import { mean, median } from 'simple-statistics';
import type { SweepRow } from '../sweeps/types.js';
import { rowStopReason } from '../sweeps/row-stop.js';
import { DataError, show } from '../errors.js';

/** One sample size of {@link perNSummary}. */
export interface PerNSummary {
  n: number;
  /** arithmetic mean of `values`; null when `count` is 0 */
  mean: number | null;
  /** median of `values` (the mean of the two middle values when `count` is even); null when `count` is 0 */
  median: number | null;
  /** number of finite values (= values.length) */
  count: number;
  /** the finite values of the ok rows at this n, in replicate order (the replicate cloud) */
  values: number[];
  /** the replicate index of each value (same order as `values`) */
  replicates: number[];
  /**
   * whether the fit behind each value converged ({@link isConverged}; same order as `values`):
   * false marks a non-converged fit whose value is kept in the statistics (figures draw it apart)
   */
  converged: boolean[];
  /** rows with status 'ok' at this n (with or without a value of this quantity) */
  nFits: number;
  /** rows with status 'failed', or status 'ok' but not converged (see {@link isConverged}) */
  nFailed: number;
  /** the part of `nFailed` with status 'ok': not converged, but their values are in `values` */
  nNotConverged: number;
  /** rows with status 'ok' whose value is absent, null, NaN or infinite: not in `values` */
  nMissing: number;
}

/**
 * Whether a row's fit converged: its `stopReason` is 'converged', or, for a row that records no
 * `stopReason`, its `converged` flag is true, and its fitted gate lies inside the compact
 * parameter space's box (sweeps/row-stop.ts rowStopReason, models/gate-bound.ts: a gate parameter beyond 1000 is a hard switch
 * whose likelihood still climbs along a ray, however small the score; rows written before the
 * box existed are classified from their stored model the same way). A failed row never converged.
 */
export function isConverged(row: SweepRow): boolean {
  return row.status === 'ok' && rowStopReason(row) === 'converged';
}

/** Check the fields the analysis reads (internal). */
export function checkRow(fn: string, row: SweepRow, i: number): void {
  if (row === null || typeof row !== 'object') {
    throw new DataError(`${fn}: rows[${i}]: not a sweep row (got ${show(row)}); must be an object`);
  }
  if (typeof row.n !== 'number' || !Number.isFinite(row.n) || row.n <= 0) {
    throw new DataError(`${fn}: rows[${i}].n (key ${show(row.key)}): not a sample size (got ${show(row.n)}); must be finite and > 0`);
  }
  if (row.status !== 'ok' && row.status !== 'failed') {
    throw new DataError(`${fn}: rows[${i}].status (key ${show(row.key)}): unknown (got ${show(row.status)}); must be 'ok' or 'failed'`);
  }
  if (row.quantities !== undefined && (row.quantities === null || typeof row.quantities !== 'object')) {
    throw new DataError(`${fn}: rows[${i}].quantities (key ${show(row.key)}): not an object (got ${show(row.quantities)}); must map names to numbers or null`);
  }
}

/** The value of a quantity in a row if it is a finite number, else null (internal). */
export function finiteValue(row: SweepRow, quantity: string): number | null {
  const q = row.quantities;
  if (q === undefined || !Object.prototype.hasOwnProperty.call(q, quantity)) return null;
  const v = q[quantity];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Per-n summary of one quantity: for every n that has a row (any status), the finite values of
 * the rows with status 'ok' (converged or not), their mean and median (simple-statistics `mean`,
 * `median`: the sample median, the mean of the two middle values for an even count), and the
 * counts of fits, failures and missing values. Sorted by n. Nothing is dropped without a count:
 * failed rows are in `nFailed`, ok rows without a finite value in `nMissing`.
 *
 * @param rows sweep rows (any experiment or variant: filter first if they are mixed)
 * @param quantity a key of `row.quantities`, e.g. 'D1' or 'beta1[2]'
 * @returns one entry per distinct n, ascending
 * @throws {DataError} a row without a finite n > 0, with an unknown status or non-object quantities
 * @example
 *   perNSummary([{ n: 100, replicate: 0, status: 'ok', stopReason: 'converged', quantities: { D1: 0.2 } }, ...], 'D1')
 *   // => [{ n: 100, mean: 0.2, median: 0.2, count: 1, values: [0.2], replicates: [0], converged: [true], nFits: 1, nFailed: 0, nNotConverged: 0, nMissing: 0 }]
 *
 * Edge case: an n whose rows all failed or all miss the quantity is listed with count 0 and
 * mean / median null (never NaN).
 */
export function perNSummary(rows: readonly SweepRow[], quantity: string): PerNSummary[] {
  if (!Array.isArray(rows)) throw new DataError(`perNSummary: rows: not an array (got ${show(rows)}); must be an array of sweep rows`);
  if (typeof quantity !== 'string') throw new DataError(`perNSummary: quantity: not a string (got ${show(quantity)}); must be a quantity name`);
  const byN = new Map<number, { rep: number; v: number; ok: boolean }[]>();
  const counts = new Map<number, { nFits: number; nFailed: number; nNotConverged: number; nMissing: number }>();
  rows.forEach((row, i) => {
    checkRow('perNSummary', row, i);
    let c = counts.get(row.n);
    if (c === undefined) {
      c = { nFits: 0, nFailed: 0, nNotConverged: 0, nMissing: 0 };
      counts.set(row.n, c);
      byN.set(row.n, []);
    }
    if (row.status === 'failed') {
      c.nFailed++;
      return;
    }
    c.nFits++;
    const ok = isConverged(row);
    if (!ok) {
      c.nFailed++;
      c.nNotConverged++;
    }
    const v = finiteValue(row, quantity);
    if (v === null) c.nMissing++;
    else byN.get(row.n)!.push({ rep: row.replicate, v, ok });
  });
  return [...counts.keys()]
    .sort((a, b) => a - b)
    .map((n) => {
      const pts = byN.get(n)!.sort((a, b) => a.rep - b.rep);
      const values = pts.map((p) => p.v);
      return {
        n,
        mean: values.length > 0 ? mean(values) : null,
        median: values.length > 0 ? median(values) : null,
        count: values.length,
        values,
        replicates: pts.map((p) => p.rep),
        converged: pts.map((p) => p.ok),
        ...counts.get(n)!,
      };
    });
}

/**
 * The standard error of a per-n mean over replicates: sd / sqrt(count), with the sample sd
 * (divisor count - 1); 0 where there are fewer than 2 values (no spread to estimate).
 * @param s one entry of {@link perNSummary}
 * @example meanStandardError({ ...entry, values: [1, 3], count: 2, mean: 2 }) // => 1
 */
export function meanStandardError(s: Pick<PerNSummary, 'count' | 'mean' | 'values'>): number {
  if (s.count < 2 || s.mean === null) return 0;
  const m = s.mean;
  const variance = s.values.reduce((acc, v) => acc + (v - m) ** 2, 0) / (s.count - 1);
  return Math.sqrt(variance / s.count);
}
