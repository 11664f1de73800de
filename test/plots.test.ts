import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RateRow } from '../src/analysis/index.js';
import { chromiumPath, convergenceFigure, densityFigure, figuresToHtml, gateWeightsFigure, parameterPanels, renderImages } from '../src/plots/index.js';
import { DEMYS, TOPK } from './helpers.js';

const rate: RateRow = {
  experiment: 'x', variant: 'quick', quantity: 'D1', statistic: 'mean', slope: -0.52, intercept: 1.5, ciLow: -0.6, ciHigh: -0.45,
  predicted: -0.5, predictedLogCorrected: -0.433, verdict: 'consistent', ciWidth: 0.15, rSxx: 85, cv: 0.3, nFits: 20, nFailed: 0, nNotConverged: 0, nMissing: 0,
  nPoints: 2, perN: [], fitRange: [100, 10000], level: 0.95, resamples: 2000, seed: 1, source: '[DEMYS] Thm 1',
};
const summary = [100, 10000].map((n) => ({ n, mean: 4 * n ** -0.5, median: 4 * n ** -0.5, count: 2, values: [3 * n ** -0.5, 5 * n ** -0.5], replicates: [0, 1], converged: [true, true], nFits: 2, nFailed: 0, nNotConverged: 0, nMissing: 0 }));

test('convergenceFigure: log axes, replicate cloud, slope and CI in the legend, predicted line with the predicted slope', () => {
  const f = convergenceFigure({ experiment: 'x', quantity: 'D1', summary, rate });
  const layout = f.layout as { xaxis: { type: string; title: { text: string } }; yaxis: { type: string } };
  assert.equal(layout.xaxis.type, 'log');
  assert.equal(layout.yaxis.type, 'log');
  assert.match(layout.xaxis.title.text, /sample size n/);
  const names = f.data.map((t) => t.name as string);
  assert.deepEqual((f.data[0] as { y: number[] }).y.length, 4); // the replicate cloud
  assert.ok(names.some((n) => n === 'fitted to the mean: slope -0.520 [95% CI -0.600, -0.450]'), names.join(' | '));
  assert.ok(!names.some((n) => n.startsWith('not converged')), 'no non-converged trace when every fit converged');
  const title = (f.layout as { title: { text: string } }).title.text;
  assert.match(title, /^x: D1, line fitted to the mean — consistent \(CI width 0\.150\)<br><sup>4 fits, 0 not converged, 0 failed<\/sup>$/);
  const predicted = f.data.find((t) => (t.name as string).startsWith('predicted slope -0.500')) as { x: number[]; y: number[] };
  const slope = Math.log(predicted.y.at(-1)! / predicted.y[0]!) / Math.log(predicted.x.at(-1)! / predicted.x[0]!);
  assert.ok(Math.abs(slope + 0.5) < 1e-12);
  assert.ok(names.some((n) => n.includes('(log n / n)^0.500')));
});

test('convergenceFigure marks non-converged fits with red crosses, counts them in the title, and names the statistic of the fitted line', () => {
  // n = 100: replicate 1 did not converge (kept in the statistics); n = 10000: one failed row, no value
  const marked = [
    { ...summary[0]!, converged: [true, false], nFailed: 1, nNotConverged: 1 },
    { ...summary[1]!, nFits: 2, nFailed: 1, nNotConverged: 0 },
  ];
  const median: RateRow = { ...rate, statistic: 'median', verdict: 'inconclusive', ciWidth: 0.7, ciLow: -1, ciHigh: -0.3 };
  const f = convergenceFigure({ experiment: 'x', quantity: 'D1', summary: marked, rate: median });
  const byName = new Map(f.data.map((t) => [t.name as string, t as { x: number[]; y: number[]; marker: { symbol: string; color: string } }]));
  const nc = byName.get('not converged (1)');
  assert.ok(nc, [...byName.keys()].join(' | '));
  assert.deepEqual([nc.x, nc.y], [[100], [5 * 100 ** -0.5]]);
  assert.match(nc.marker.symbol, /^x/);
  assert.equal(nc.marker.color, '#d62728');
  const cloud = byName.get('replicates')!;
  assert.deepEqual(cloud.y.length, 3); // the other three values
  assert.ok(!cloud.y.includes(5 * 100 ** -0.5));
  assert.ok(byName.has('median over replicates'));
  assert.ok(byName.has('fitted to the median: slope -0.520 [95% CI -1.000, -0.300]'), [...byName.keys()].join(' | '));
  const title = (f.layout as { title: { text: string } }).title.text;
  assert.match(title, /line fitted to the median — inconclusive \(CI width 0\.700\)<br><sup>4 fits, 1 not converged \(red x\), 1 failed<\/sup>/);
  assert.equal(f.name, 'convergence-D1-median');
});

test('parameterPanels makes one log-log panel per quantity', () => {
  const f = parameterPanels('x', [{ quantity: 'a[1]', summary, rate }, { quantity: 'b[1]', summary, rate }]);
  const layout = f.layout as Record<string, { type?: string }>;
  assert.equal(layout.xaxis?.type, 'log');
  assert.equal(layout.yaxis2?.type, 'log');
  assert.equal((f.layout.annotations as unknown[]).length, 2);
});

test('gateWeightsFigure shows exact top-K zeros and rows summing to 1', () => {
  const f = gateWeightsFigure(TOPK, 'topk', 101);
  const ys = f.data.map((t) => t.y as number[]);
  for (let t = 0; t < 101; t++) {
    assert.ok(Math.abs(ys.reduce((s, y) => s + y[t]!, 0) - 1) < 1e-12);
    assert.ok(ys.some((y) => y[t] === 0), 'one of three experts is dropped at every x');
  }
});

test('densityFigure integrates to 1 for the fitted and the true model', () => {
  const f = densityFigure(DEMYS, DEMYS, 'demys');
  for (const trace of f.data) {
    const x = trace.x as number[];
    const y = trace.y as number[];
    let area = 0;
    for (let t = 1; t < x.length; t++) area += ((y[t]! + y[t - 1]!) / 2) * (x[t]! - x[t - 1]!);
    assert.ok(Math.abs(area - 1) < 1e-3, `${trace.name}: ${area}`);
  }
});

test('figuresToHtml works offline: plotly referenced beside the page or inlined, never a CDN', () => {
  const f = convergenceFigure({ experiment: 'x', quantity: 'D1', summary, rate });
  const linked = figuresToHtml([f], 'x', { plotlySrc: '../plotly.min.js' });
  assert.match(linked, /<script src="\.\.\/plotly\.min\.js"><\/script>/);
  assert.doesNotMatch(linked, /https?:\/\//);
  const inlined = figuresToHtml([f], 'x');
  assert.ok(inlined.length > 1e6, 'plotly.min.js inlined');
  assert.doesNotMatch(inlined, /<script src=/);
});

test('renderImages writes PNG and SVG with headless Chromium', { skip: chromiumPath() ? false : 'Chromium is not installed (apt-get install -y chromium fonts-liberation)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-png-'));
  const f = convergenceFigure({ experiment: 'x', quantity: 'D1', summary, rate });
  await renderImages([
    { figure: f, path: join(dir, 'a.png'), format: 'png', scale: 1 },
    { figure: f, path: join(dir, 'a.svg'), format: 'svg' },
  ]);
  const png = readFileSync(join(dir, 'a.png'));
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  assert.equal(png.readUInt32BE(16), 860); // width from the layout
  assert.ok(existsSync(join(dir, 'a.svg')) && statSync(join(dir, 'a.svg')).size > 1000);
  assert.match(readFileSync(join(dir, 'a.svg'), 'utf8'), /^<svg/);
});
