import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseRates, formatRates, RATE_CSV_COLUMNS, type RateRow } from '../../src/analysis/index.js';
import { ConfigError } from '../../src/errors.js';
import { config, powerRows, row } from './fixtures.js';

function table(): RateRow[] {
  const rows = [
    ...powerRows({ ns: [100, 1000, 10000], replicates: 5, exponent: -0.5, seed: 1 }),
    ...powerRows({ ns: [100, 1000, 10000], replicates: 5, exponent: -0.25, seed: 2, name: 'beta1[1]' }).map((r) => ({ ...r, key: `b${r.key}` })),
    row(100, 7, { tau: 1 }),
  ];
  return analyseRates(
    rows,
    config({
      D1: { slope: -0.5, source: '[DEMYS] Thm 1' },
      'beta1[1]': { slope: -0.125, source: '[DEMYS], cell of 2', note: 'hypothesis, "our reading" | to test' },
      tau: { slope: 0, kind: 'none' },
    }),
    'full',
    { resamples: 200 },
  );
}

test('formatRates(rows, "csv") starts with the exact header and writes one line per row, quoting commas and quotes', () => {
  const rows = table();
  const csv = formatRates(rows, 'csv');
  const lines = csv.split('\n');
  assert.equal(lines[0]!.split(',').slice(0, 11).join(','), 'experiment,quantity,statistic,slope,ciLow,ciHigh,predicted,predictedLogCorrected,verdict,nFits,nFailed');
  assert.equal(lines[0], RATE_CSV_COLUMNS.join(','));
  assert.equal(lines.length, rows.length + 2); // header, rows, '' after the final line break
  assert.equal(lines.at(-1), '');
  const d1 = lines[1]!.split(',');
  assert.deepEqual(d1.slice(0, 3), ['synthetic', 'D1', 'mean']);
  assert.equal(Number(d1[3]), rows[0]!.slope); // full precision
  assert.ok(csv.includes('"[DEMYS], cell of 2"'));
  assert.ok(csv.includes('"hypothesis, ""our reading"" | to test"'));
  // tau: insufficient data, null numbers as empty fields
  const tau = lines.find((l) => l.startsWith('synthetic,tau,mean,'))!;
  assert.ok(tau.startsWith('synthetic,tau,mean,,,,0,0,insufficient data,'), tau);
  assert.ok(!csv.includes('NaN'));
});

test('formatRates(rows, "json") parses back to rows deep-equal to the input', () => {
  const rows = table();
  const json = formatRates(rows, 'json');
  assert.deepEqual(JSON.parse(json), rows);
  assert.equal(typeof JSON.parse(json)[0].slope, 'number');
  assert.equal(JSON.parse(json).at(-1).slope, null);
  assert.equal(formatRates([], 'json'), '[]');
});

test('formatRates(rows, "md") writes a header, a separator and one line per row, slopes to 3 decimals and CI as [lo, hi]', () => {
  const rows = table();
  const md = formatRates(rows, 'md');
  const lines = md.trimEnd().split('\n');
  assert.equal(lines.length, rows.length + 2);
  assert.match(lines[0]!, /^\| experiment \| quantity \| statistic \| slope \| CI \(95%\) \| predicted \| log-corrected \| verdict \|/);
  assert.match(lines[1]!, /^\|(---\|)+$/);
  const r = rows[0]!;
  assert.ok(lines[2]!.startsWith(`| synthetic | D1 | mean | ${r.slope!.toFixed(3)} | [${r.ciLow!.toFixed(3)}, ${r.ciHigh!.toFixed(3)}] | -0.500 | ${r.predictedLogCorrected!.toFixed(3)} | ${r.verdict} |`), lines[2]);
  // a '|' inside a note is escaped, so every line has the same number of cells
  const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
  for (const l of lines) assert.equal(cells(l), cells(lines[0]!), l);
  assert.ok(md.includes('| tau | mean | – | – | 0.000 | 0.000 | insufficient data |'));
  assert.ok(!md.includes('NaN'));
});

test('formatRates(rows, format) rejects an unknown format with a ConfigError', () => {
  assert.throws(() => formatRates([], 'html' as never), (e: unknown) => e instanceof ConfigError && /format: unknown \(got "html"\); must be 'md', 'csv' or 'json'/.test(e.message));
});
