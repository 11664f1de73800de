/**
 * The slope table as text: Markdown for reading, CSV and JSON for tools.
 */
import type { RateRow } from './rates.js';
import { ConfigError, show } from '../errors.js';

/**
 * The CSV columns, in order: the fixed first eleven, then the extras. One line per RateRow, every
 * field plain (a number, a string or empty): `fitRange` is split into fitLow and fitHigh;
 * `ciWidth` = ciHigh - ciLow, `rSxx` and `cv` the power diagnostic (see RateRow); the per-n
 * counts (`perN`) are not in the CSV (their sums are nFits, nFailed, nNotConverged, nMissing):
 * they are in the JSON and in the Markdown's per-n table.
 */
export const RATE_CSV_COLUMNS: readonly string[] = Object.freeze([
  'experiment',
  'quantity',
  'statistic',
  'slope',
  'ciLow',
  'ciHigh',
  'predicted',
  'predictedLogCorrected',
  'verdict',
  'nFits',
  'nFailed',
  'nNotConverged',
  'nMissing',
  'nPoints',
  'ciWidth',
  'rSxx',
  'cv',
  'fitLow',
  'fitHigh',
  'intercept',
  'level',
  'resamples',
  'seed',
  'variant',
  'source',
  'note',
]);

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRecord(r: RateRow): Record<string, unknown> {
  const { fitRange, perN: _perN, ...rest } = r;
  return { ...rest, fitLow: fitRange[0], fitHigh: fitRange[1] };
}

function fixed3(x: number | null): string {
  if (x === null) return '–';
  const s = x.toFixed(3);
  return s === '-0.000' ? '0.000' : s;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function percent(level: number): string {
  return `${Number((level * 100).toFixed(2))}%`;
}

function fixed(x: number | null, digits: number): string {
  return x === null ? '–' : x.toFixed(digits);
}

/**
 * The per-n table of the Markdown output: per experiment and variant, per n of the fit range, the
 * rows, fits, non-converged fits, failed fits and missing values (the last per quantity, as
 * "quantity: count", only where nonzero). Fit counts are per row, so any quantity's perN gives
 * them; the first row of each n is used.
 */
function perNTable(rows: readonly RateRow[]): string[] {
  const groups = new Map<string, Map<number, { nFits: number; nFailed: number; nNotConverged: number; missing: Map<string, number> }>>();
  for (const r of rows) {
    const key = `${r.experiment} (${r.variant})`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = new Map()));
    for (const p of r.perN ?? []) {
      let e = g.get(p.n);
      if (e === undefined) g.set(p.n, (e = { nFits: p.nFits, nFailed: p.nFailed, nNotConverged: p.nNotConverged, missing: new Map() }));
      if (p.nMissing > 0) e.missing.set(r.quantity, p.nMissing);
    }
  }
  const out: string[] = [];
  for (const [key, g] of groups) {
    if (g.size === 0) continue;
    out.push(
      '',
      `Fits per n in the fit range, ${key}: fits are the rows with status ok; not converged is the part of them ` +
        `that stopped before converging (their values are in the statistics, and figures mark them); failed is the ` +
        `rows with status failed (no values). The table above counts "failed (not converged)" as both together.`,
      '',
      '| n | rows | fits | not converged | failed | missing values |',
      '|---|---|---|---|---|---|',
    );
    for (const n of [...g.keys()].sort((a, b) => a - b)) {
      const e = g.get(n)!;
      const failed = e.nFailed - e.nNotConverged;
      const missing = e.missing.size === 0 ? '0' : [...e.missing].map(([q, c]) => `${q}: ${c}`).join(', ');
      out.push(`| ${[String(n), String(e.nFits + failed), String(e.nFits), String(e.nNotConverged), String(failed), missing].map(mdCell).join(' | ')} |`);
    }
  }
  return out;
}

/**
 * Render a slope table.
 * - 'json': `JSON.stringify(rows, null, 2)`: an array of the RateRow objects, numbers as numbers,
 *   null where undefined, `perN` as an array of plain objects (JSON.parse gives back rows
 *   deep-equal to the input).
 * - 'csv': RFC 4180, '\n' line ends, a header of {@link RATE_CSV_COLUMNS} (fitRange split into
 *   fitLow, fitHigh; perN left out), then one line per row; numbers in full precision (String(x)),
 *   null as an empty field; a field with a comma, quote or line break is quoted, quotes doubled.
 * - 'md': a Markdown table, header and separator then one line per row (one per quantity and
 *   statistic: the mean and the median of the per-replicate errors are separate rows); slope, CI,
 *   predicted, reference and CI width rounded to 3 decimals, CI as [lo, hi], the CI width beside
 *   the verdict, R Sxx and CV (power diagnostic) to 1 and 2 decimals, undefined numbers as '–';
 *   fits counted as "failed (n not converged)". Then, for a non-empty table, a caption line and,
 *   per experiment, the per-n table of fits, non-converged and failed fits and missing values.
 *
 * @param rows RateRow objects (from {@link analyseRates}); a row without `perN` adds nothing to
 *   the per-n table
 * @param format 'md', 'csv' or 'json'
 * @returns the text, ending with a line break for 'md' and 'csv'
 * @throws {ConfigError} an unknown format
 * @example
 *   formatRates([], 'csv') // => 'experiment,quantity,statistic,slope,ciLow,ciHigh,predicted,predictedLogCorrected,verdict,nFits,nFailed,...\n'
 *
 * Edge case: an empty table gives '[]' (json) or the header alone (csv, md).
 */
export function formatRates(rows: readonly RateRow[], format: 'md' | 'csv' | 'json'): string {
  if (!Array.isArray(rows)) throw new ConfigError(`formatRates: rows: not an array (got ${show(rows)}); must be an array of RateRow`);
  if (format === 'json') return JSON.stringify(rows, null, 2);
  if (format === 'csv') {
    const lines = [RATE_CSV_COLUMNS.join(',')];
    for (const row of rows) {
      const record = csvRecord(row);
      lines.push(RATE_CSV_COLUMNS.map((c) => csvCell(record[c])).join(','));
    }
    return lines.join('\n') + '\n';
  }
  if (format === 'md') {
    const levels = new Set(rows.map((r) => r.level));
    const ci = levels.size === 1 ? `CI (${percent([...levels][0]!)})` : 'CI';
    const header = [
      'experiment',
      'quantity',
      'statistic',
      'slope',
      ci,
      'predicted',
      'log-corrected',
      'verdict',
      'CI width',
      'R Sxx',
      'CV',
      'fits',
      'failed (not converged)',
      'missing',
      'n points',
      'source',
      'note',
    ];
    const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
    for (const r of rows) {
      const cells = [
        r.experiment,
        r.quantity,
        r.statistic,
        fixed3(r.slope),
        r.ciLow === null || r.ciHigh === null ? '–' : `[${fixed3(r.ciLow)}, ${fixed3(r.ciHigh)}]`,
        fixed3(r.predicted),
        fixed3(r.predictedLogCorrected),
        r.verdict,
        fixed3(r.ciWidth ?? null),
        fixed(r.rSxx ?? null, 1),
        fixed(r.cv ?? null, 2),
        String(r.nFits),
        `${r.nFailed} (${r.nNotConverged})`,
        String(r.nMissing),
        String(r.nPoints),
        r.source ?? '',
        r.note ?? '',
      ];
      lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
    }
    if (rows.length > 0) {
      lines.push(
        '',
        'statistic: the mean or the median over replicates of the per-replicate errors at each n (heavy tails: the median is the robust one). ' +
          'Verdicts (docs/rates.md): consistent, inconclusive (the CI also meets another exponent of the ladder -1/2, -1/4, -1/6, -1/8, -1/12, 0, ' +
          'or is wider than 0.5), faster / slower than predicted, refuted (a slope-0 prediction with a CI entirely below 0). ' +
          'Power: the slope SE is about CV / sqrt(R Sxx); telling -1/8 from -1/2 needs R Sxx >= 56 CV^2.',
        ...perNTable(rows),
      );
    }
    return lines.join('\n') + '\n';
  }
  throw new ConfigError(`formatRates: format: unknown (got ${show(format)}); must be 'md', 'csv' or 'json'`);
}
