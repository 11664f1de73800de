import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseRates, formatRates, RATE_CSV_COLUMNS, type RateRow } from '../../src/analysis/index.js';
import { ConfigError } from '../../src/errors.js';
import type { SweepRow } from '../../src/sweeps/types.js';
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
  assert.ok(csv.includes('"hypothesis, ""our reading"" | to test'));
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
  const all = md.trimEnd().split('\n');
  const lines = all.slice(0, rows.length + 2); // the slope table; then a blank line, the caption and the per-n table
  assert.equal(all[rows.length + 2], '');
  assert.match(
    lines[0]!,
    /^\| experiment \| quantity \| statistic \| slope \| CI \(95%\) \| predicted \| log-corrected \| verdict \| CI width \| R Sxx \| CV \| fits \| failed \(not converged\) \|/,
  );
  assert.match(lines[1]!, /^\|(---\|)+$/);
  const r = rows[0]!;
  assert.ok(
    lines[2]!.startsWith(
      `| synthetic | D1 | mean | ${r.slope!.toFixed(3)} | [${r.ciLow!.toFixed(3)}, ${r.ciHigh!.toFixed(3)}] | -0.500 | ${r.predictedLogCorrected!.toFixed(3)} | ${r.verdict} | ` +
        `${(r.ciHigh! - r.ciLow!).toFixed(3)} | ${r.rSxx!.toFixed(1)} | ${r.cv!.toFixed(2)} | ${r.nFits} | 0 (0) |`,
    ),
    lines[2],
  );
  // the mean and the median are both rows
  assert.ok(lines.some((l) => l.startsWith('| synthetic | D1 | median |')));
  // a '|' inside a note is escaped, so every line has the same number of cells
  const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
  for (const l of lines) assert.equal(cells(l), cells(lines[0]!), l);
  assert.ok(md.includes('| tau | mean | – | – | 0.000 | 0.000 | insufficient data | – | 0.0 | – |'));
  assert.ok(!md.includes('NaN'));
  assert.match(md, /statistic: the mean or the median over replicates of the per-replicate errors/);
  assert.match(md, /R Sxx >= 56 CV\^2/);
});

test('formatRates(rows, "md") ends with the per-n table of fits, non-converged and failed fits and missing values', () => {
  const base = powerRows({ ns: [100, 1000, 10000], replicates: 4, exponent: -0.5, seed: 3 });
  const rows: SweepRow[] = base.map((r): SweepRow =>
    r.n === 1000 && r.replicate === 0
      ? { ...r, stopReason: 'maxIterations', converged: false, quantities: { ...r.quantities, E: r.quantities!.D1! } }
      : r.n === 1000 && r.replicate === 1
        ? { ...r, status: 'failed' as const, stopReason: undefined, quantities: undefined }
        : r.n === 10000 && r.replicate === 2
          ? { ...r, quantities: { D1: r.quantities!.D1!, E: null } }
          : { ...r, quantities: { ...r.quantities, E: r.quantities!.D1! } },
  );
  const out = analyseRates(rows, config({ D1: { slope: -0.5 }, E: { slope: -0.5 } }), 'full', { resamples: 50 });
  const md = formatRates(out, 'md');
  const at = md.indexOf('| n | rows | fits | not converged | failed | missing values |');
  assert.ok(at > 0, md);
  assert.match(md, /Fits per n in the fit range, synthetic \(full\): fits are the rows with status ok; not converged/);
  assert.deepEqual(md.slice(at).trimEnd().split('\n'), [
    '| n | rows | fits | not converged | failed | missing values |',
    '|---|---|---|---|---|---|',
    '| 100 | 4 | 4 | 0 | 0 | 0 |',
    '| 1000 | 4 | 3 | 1 | 1 | 0 |',
    '| 10000 | 4 | 4 | 0 | 0 | E: 1 |',
  ]);
  // the slope table's totals agree: failed (not converged) = 2 (1)
  assert.ok(md.includes('| 11 | 2 (1) | 0 | 3 |'), md);
  // an empty table is the header alone
  assert.equal(formatRates([], 'md').trimEnd().split('\n').length, 2);
});

test('formatRates: the CSV has plain ciWidth, rSxx, cv columns and no perN; the JSON keeps perN', () => {
  const rows = table();
  const lines = formatRates(rows, 'csv').split('\n');
  const header = lines[0]!.split(',');
  for (const c of ['ciWidth', 'rSxx', 'cv']) assert.ok(header.includes(c), c);
  assert.ok(!header.includes('perN'));
  const d1 = lines[1]!.split(',');
  assert.equal(Number(d1[header.indexOf('ciWidth')]), rows[0]!.ciWidth);
  assert.equal(Number(d1[header.indexOf('rSxx')]), rows[0]!.rSxx);
  assert.equal(Number(d1[header.indexOf('cv')]), rows[0]!.cv);
  assert.ok(!lines[1]!.includes('[object Object]'));
  const json = JSON.parse(formatRates(rows, 'json'));
  assert.deepEqual(json[0].perN, rows[0]!.perN);
  assert.deepEqual(json[0].perN.map((p: { n: number }) => p.n), [100, 1000, 10000]);
});

test('formatRates(rows, format) rejects an unknown format with a ConfigError', () => {
  assert.throws(() => formatRates([], 'html' as never), (e: unknown) => e instanceof ConfigError && /format: unknown \(got "html"\); must be 'md', 'csv' or 'json'/.test(e.message));
});
