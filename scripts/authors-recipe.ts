/**
 * node --import tsx scripts/authors-recipe.ts [--full]
 * The [DEMYS] authors' stored curves (docs/spec/demys-authors-stored.csv, CRPE-SGaME @ 53c4234)
 * beside gatelab running their recipe (results/demys-authors-{exact,over3,over4}[-quick]/, made by
 * `npm run reproduce -- [--full] --only demys-authors-exact,demys-authors-over3,demys-authors-over4`):
 * per experiment the OLS slope of log(mean loss) and of log(median loss) on log n over all sizes
 * (their figure's line), the loss at the smallest and largest n, the per-n median range, and
 * the share of fits whose Voronoi cells split the reference expert. Writes
 * figures/demys-authors-<variant>.md and prints it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { perNSummary } from '../src/analysis/index.js';
import { loglogFit } from '../src/analysis/loglog.js';
import { defaultResultsDir, parseExperimentConfig } from '../src/sweeps/config.js';
import { readResults } from '../src/sweeps/merged-store.js';
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
  const dir = defaultResultsDir(name, variant);
  let rows: SweepRow[];
  try {
    const store = readResults(dir);
    parseExperimentConfig(store.config, `${dir}/config.json`);
    rows = store.rows.filter((r) => r.status === 'ok');
  } catch (e) {
    out.push(`| ${name} | ${quantity} | (no results in ${dir}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}) | | | | | | | | | | |`);
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
  let mine: Curve;
  try {
    mine = ours(readResults(defaultResultsDir(name, variant)).rows.filter((r) => r.status === 'ok'), quantity);
  } catch {
    continue;
  }
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
out.push('');
const text = out.join('\n');
writeFileSync(`figures/demys-authors-${variant}.md`, text);
process.stdout.write(text);
