/**
 * The slope table as text: Markdown for reading, CSV and JSON for tools.
 */
import type { RateRow } from './rates.js';
import { ConfigError, show } from '../errors.js';

/** The CSV columns, in order: the fixed first eleven, then the extras. */
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
  const { fitRange, ...rest } = r;
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

/**
 * Render a slope table.
 * - 'json': `JSON.stringify(rows, null, 2)`: an array of the RateRow objects, numbers as numbers,
 *   null where undefined (JSON.parse gives back rows deep-equal to the input).
 * - 'csv': RFC 4180, '\n' line ends, a header of {@link RATE_CSV_COLUMNS} (fitRange split into
 *   fitLow, fitHigh), then one line per row; numbers in full precision (String(x)), null as an
 *   empty field; a field with a comma, quote or line break is quoted, quotes doubled.
 * - 'md': a Markdown table, header and separator then one line per row; slope, CI, predicted
 *   and reference rounded to 3 decimals, CI as [lo, hi], undefined numbers as '–'; fits counted
 *   as "failed (n not converged)".
 *
 * @param rows RateRow objects (from {@link analyseRates})
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
    const header = ['experiment', 'quantity', 'statistic', 'slope', ci, 'predicted', 'log-corrected', 'verdict', 'fits', 'failed (not converged)', 'missing', 'n points', 'source', 'note'];
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
        String(r.nFits),
        `${r.nFailed} (${r.nNotConverged})`,
        String(r.nMissing),
        String(r.nPoints),
        r.source ?? '',
        r.note ?? '',
      ];
      lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
    }
    return lines.join('\n') + '\n';
  }
  throw new ConfigError(`formatRates: format: unknown (got ${show(format)}); must be 'md', 'csv' or 'json'`);
}
