/**
 * node --import tsx scripts/authors-recipe.ts [--full]
 * The [DEMYS] authors' stored curves (docs/spec/demys-authors-stored.csv, CRPE-SGaME @ 53c4234)
 * beside gatelab running their recipe (results/demys-authors-{exact,over3,over4}[-quick]/, made by
 * `npm run reproduce -- [--full] --only demys-authors-exact,demys-authors-over3,demys-authors-over4`;
 * with --full and no store, the committed exports figures/<name>/results-full.parquet):
 * per experiment the OLS slope of log(mean loss) and of log(median loss) on log n over all sizes
 * (their figure's line), the loss at the smallest and largest n, the per-n median range, and
 * the share of fits whose Voronoi cells split the reference expert. Writes
 * figures/demys-authors-<variant>.md and prints it; and per scenario (K = 2, 3, 4) the side-by-side
 * figure figures/demys-side-by-side/<K>-<variant>.{png} and index-<variant>.html: (a) their stored
 * per-n mean and median, (b) gatelab with their recipe (raw block metric), (c) gatelab's converged,
 * aligned, mass-weighted loss (demys-exact-grid, demys-over3, demys-over4: the full results where
 * present, quick otherwise, as the title says) with its fitted line, CI and verdict.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseRates, meanStandardError, perNSummary } from '../src/analysis/index.js';
import { loglogFit } from '../src/analysis/loglog.js';
import { copyPlotly, ExportError, figuresToHtml, renderImages, sideBySideFigure, type Figure, type SideCurve } from '../src/plots/index.js';
import { preferredResults, readChosen } from '../src/sweeps/results-variant.js';
import type { SweepRow } from '../src/sweeps/types.js';

const variant = process.argv.includes('--full') ? 'full' : 'quick';
const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toFixed(d));

interface Curve {
  n: number[];
  mean: number[];
  median: number[];
}

function stored(k: number): Curve {
  const lines = readFileSync('docs/spec/demys-authors-stored.csv', 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const header = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i]!, Number(v)])));
  const mine = rows.filter((r) => r.K === k);
  return { n: mine.map((r) => r.n!), mean: mine.map((r) => r.mean!), median: mine.map((r) => r.median!) };
}

function ours(rows: SweepRow[], quantity: string): Curve {
  const s = perNSummary(rows, quantity).filter((p) => p.mean !== null && p.median !== null);
  return { n: s.map((p) => p.n), mean: s.map((p) => p.mean!), median: s.map((p) => p.median!) };
}

const okRowsRead = new Map<string, Promise<SweepRow[] | string>>();
/**
 * The ok rows of an experiment's results of this variant (a store, or the committed export), or
 * why there are none; read once per experiment (the tables and the figures ask for each several times).
 */
function okRows(name: string): Promise<SweepRow[] | string> {
  let rows = okRowsRead.get(name);
  if (!rows) {
    const choice = preferredResults(name, variant);
    rows = readChosen(choice).then(
      (results) => results.rows.filter((r) => r.status === 'ok'),
      (e: unknown) => `no results in ${choice.parquet ?? choice.dir}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
    );
    okRowsRead.set(name, rows);
  }
  return rows;
}

const slope = (n: number[], y: number[]) => (n.length >= 2 ? loglogFit(n, y).slope : null);
const range = (v: number[]) => (v.length ? `${fmt(Math.min(...v))} – ${fmt(Math.max(...v))}` : '–');
/** how many per-n medians lie within 0.1 of 1 (the unaligned split of the reference expert) */
const nearOne = (v: number[]) => `${v.filter((x) => Math.abs(x - 1) <= 0.1).length} of ${v.length}`;

const out: string[] = [
  `# The [DEMYS] authors' recipe: their stored curves and gatelab running their recipe (${variant} variant)`,
  '',
  `Made by \`node --import tsx scripts/authors-recipe.ts${variant === 'full' ? ' --full' : ''}\` from \`results/\` and \`docs/spec/demys-authors-stored.csv\` (the authors' stored per-n means and medians over 40 replicates, CRPE-SGaME @ 53c4234; they store no K = 4 curve). Slopes: OLS of log(statistic per n) on log n over every size of the curve, as their figure's line (no CI here: \`figures/<name>/rates-${variant}.md\` has the bootstrap CIs). "split ref": the share of fits whose cells put 2 or more fitted atoms on the reference expert (their raw mass term |1 + 1 - 1| = 1).`,
  '',
  '| experiment | quantity | curve | sizes | fits | slope of mean | slope of median | mean at smallest n | mean at largest n | per-n medians | medians in [0.9, 1.1] | split ref | EM maps per fit (median, max) |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const [name, k, quantity] of [['demys-authors-exact', 2, 'D1.raw'], ['demys-authors-over3', 3, 'D2.raw'], ['demys-authors-over4', 4, 'D2.raw']] as const) {
  if (k !== 4) {
    const c = stored(k);
    out.push(`| the authors (stored), K = ${k} | ${quantity.replace('.raw', '')} | their fits | ${c.n.length} in [${c.n[0]}, ${c.n[c.n.length - 1]}] | ${c.n.length * 40} | ${fmt(slope(c.n, c.mean))} | ${fmt(slope(c.n, c.median))} | ${fmt(c.mean[0])} | ${fmt(c.mean[c.mean.length - 1])} | ${range(c.median)} | ${nearOne(c.median)} | – | – |`);
  }
  const rows = await okRows(name);
  if (typeof rows === 'string') {
    out.push(`| ${name} | ${quantity} | (${rows}) | | | | | | | | | | |`);
    continue;
  }
  const iters = rows.map((r) => r.iterations ?? 0).sort((a, b) => a - b);
  const med = iters.length ? iters[Math.floor((iters.length - 1) / 2)]! : NaN;
  const splitRef = rows.filter((r) => (r.cells?.[r.cells.length - 1]?.length ?? 0) >= 2).length;
  for (const q of [quantity, quantity.replace('.raw', '')]) {
    const c = ours(rows, q);
    const label = q.endsWith('.raw') ? 'gatelab, their recipe (raw, their loss)' : 'gatelab, their recipe, aligned loss';
    out.push(`| ${name} | ${q} | ${label} | ${c.n.length} in [${c.n[0]}, ${c.n[c.n.length - 1]}] | ${rows.length} | ${fmt(slope(c.n, c.mean))} | ${fmt(slope(c.n, c.median))} | ${fmt(c.mean[0])} | ${fmt(c.mean[c.mean.length - 1])} | ${range(c.median)} | ${nearOne(c.median)} | ${k === 2 ? '–' : `${splitRef} of ${rows.length}`} | ${med}, ${iters[iters.length - 1]} |`);
  }
}
// where the curves differ: their per-n mean and median over ours (geometric mean over the sizes of a band)
out.push('', 'Their stored per-n statistic over gatelab\'s with their recipe (raw loss), same sizes: the geometric mean of the ratios over the sizes in each band.', '');
out.push('| K | band of n | sizes | their mean / ours | their median / ours |', '|---|---|---|---|---|');
for (const [name, k, quantity, bands] of [
  ['demys-authors-exact', 2, 'D1.raw', [[100, 1000], [1000, 2500], [2500, 11000], [11000, 20000], [20000, 100001]]],
  ['demys-authors-over3', 3, 'D2.raw', [[10000, 20000], [20000, 50000], [50000, 100001]]],
] as const) {
  const rows = await okRows(name);
  if (typeof rows === 'string') continue;
  const mine = ours(rows, quantity);
  const theirs = stored(k);
  for (const [lo, hi] of bands) {
    const pairs = theirs.n.flatMap((n, i) => {
      const j = mine.n.indexOf(n);
      return n >= lo && n < hi && j >= 0 ? [{ mean: theirs.mean[i]! / mine.mean[j]!, median: theirs.median[i]! / mine.median[j]! }] : [];
    });
    const geo = (v: number[]) => Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
    if (pairs.length > 0) out.push(`| ${k} | [${lo}, ${Math.min(hi, 100000)}${hi > 100000 ? ']' : ')'} | ${pairs.length} | ${fmt(geo(pairs.map((p) => p.mean)), 2)} | ${fmt(geo(pairs.map((p) => p.median)), 2)} |`);
  }
}
// section 3 of issue 15: one figure per scenario, three pipelines
const figures: Figure[] = [];
out.push('', `Side by side (figures/demys-side-by-side/index-${variant}.html): the slope of the per-n mean over each curve's sizes for their stored curve and their recipe (OLS over all sizes, as their figure); for gatelab converged the rate row over the config's fit range, with its bootstrap CI and verdict, of the mean for K = 2 and of the median for K = 3 and 4 (their per-n means are carried by a few replicates with a runaway gate intercept).`, '');
out.push('| K | quantity | theory | the authors (stored) | gatelab, their recipe (raw) | gatelab converged (aligned) | converged results | verdict |', '|---|---|---|---|---|---|---|---|');
// the converged curve's line: the mean for K = 2; the median for the over-specified fits, whose
// per-n means are carried by a few replicates with a runaway gate intercept (README, verdicts)
for (const [k, recipe, converged, quantity, statistic] of [[2, 'demys-authors-exact', 'demys-exact-grid', 'D1', 'mean'], [3, 'demys-authors-over3', 'demys-over3', 'D2', 'median'], [4, 'demys-authors-over4', 'demys-over4', 'D2', 'median']] as const) {
  const curves: SideCurve[] = [];
  let theirSlope: number | null = null;
  if (k !== 4) {
    const c = stored(k);
    theirSlope = slope(c.n, c.mean);
    curves.push({ label: 'the authors (stored, CRPE-SGaME @ 53c4234)', ...c });
  }
  const recipeRows = await okRows(recipe);
  let recipeSlope: number | null = null;
  if (typeof recipeRows !== 'string') {
    const c = ours(recipeRows, `${quantity}.raw`);
    recipeSlope = slope(c.n, c.mean);
    curves.push({ label: `gatelab, their recipe (${recipe}, ${variant})`, ...c });
  }
  const choice = preferredResults(converged);
  let conv = '–';
  let verdict = '–';
  let theory = '–';
  try {
    const results = await readChosen(choice);
    const summary = perNSummary(results.rows, quantity).filter((p) => p.mean !== null);
    const rate = analyseRates(results.rows, results.config, results.variant).find((r) => r.quantity === quantity && r.statistic === statistic);
    const se = summary.map(meanStandardError);
    curves.push({ label: `gatelab converged (${converged}, ${results.variant})`, n: summary.map((p) => p.n), mean: summary.map((p) => p.mean), median: summary.map((p) => p.median), se, rate });
    if (rate) {
      conv = `${statistic}: ${fmt(rate.slope)} [${fmt(rate.ciLow)}, ${fmt(rate.ciHigh)}]`;
      verdict = rate.verdict;
      theory = `${fmt(rate.predicted)}${rate.source ? ` (${rate.source})` : ''}`;
    }
  } catch (e) {
    conv = `(no results: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
  out.push(`| ${k} | ${quantity} | ${theory} | ${fmt(theirSlope)} | ${fmt(recipeSlope)} | ${conv} | ${converged} (${choice.variant}) | ${verdict} |`);
  figures.push(sideBySideFigure(`[DEMYS] K = ${k}: ${quantity}, three pipelines (their recipe: ${variant}; converged: ${choice.variant})`, `${quantity} (their recipe: raw block metric; converged: aligned)`, curves, `K${k}`));
}
out.push('');
const text = out.join('\n');
writeFileSync(`figures/demys-authors-${variant}.md`, text);
process.stdout.write(text);
const dir = join('figures', 'demys-side-by-side');
mkdirSync(dir, { recursive: true });
copyPlotly(join('figures', 'plotly.min.js'));
writeFileSync(join(dir, `index-${variant}.html`), figuresToHtml(figures, `[DEMYS] side by side (${variant})`, { plotlySrc: '../plotly.min.js', intro: 'The authors\' stored curves, gatelab running their recipe, and gatelab\'s converged fits (scripts/authors-recipe.ts).' }));
try {
  await renderImages(figures.map((figure) => ({ figure, path: join(dir, `${figure.name}-${variant}.png`), format: 'png' as const, scale: 1.5 })));
} catch (e) {
  if (e instanceof ExportError) process.stderr.write(`authors-recipe: PNG skipped: ${e.message}\n`);
  else throw e;
}
