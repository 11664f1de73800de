/**
 * npm run stopping-rule: what the [DEMYS] authors' relative stopping rule does to over-specified
 * fits and to their slopes, beside gatelab's default (score certificate + SQUAREM). Writes
 * figures/stopping-rule.md. About 6 minutes on 2 cores (measured once).
 *
 * 1. Fits: demys-over3 data (k = 3 on the k* = 2 truth) at n = 1e4 and 3e4, 3 seeds, from the same
 *    near-truth start: the relative rule 1e-6 with plain EM, the default, and long plain EM (stops
 *    when one iteration gains at most 1e-9 nats, at most 20000 iterations).
 * 2. Slopes: the quick demys-over3 sweep with the relative rule (results/demys-over3-relative-quick)
 *    beside the default one (results/demys-over3-quick, made by npm run reproduce; run first).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { analyseRates } from '../src/analysis/index.js';
import { fitMoE, type FitOptions } from '../src/fitting/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { parseExperimentConfig } from '../src/sweeps/config.js';
import { readStore } from '../src/sweeps/store.js';
import { runSweep } from '../src/sweeps/sweep.js';

const raw = JSON.parse(readFileSync('experiments/demys-over3.json', 'utf8'));
const config = parseExperimentConfig(raw, 'demys-over3');
const truth = config.truth;
const lines: string[] = [
  '# What the relative stopping rule does to over-specified fits',
  '',
  'Made by `npm run stopping-rule` (scripts/stopping-rule.ts). [DEMYS] truth, k = 3 fitted, near-truth start (s = 0.1, one start).',
  '',
  '## Fits from the same start',
  '',
  '"long EM" = plain EM until one iteration gains at most 1e-9 nats (at most 20000 iterations): the maximum the run climbs to.',
  '',
  '| n | seed | relative 1e-6: L - L(long) | iterations | default: L - L(long) | EM maps | seconds | stop | long EM iterations | seconds |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
const base: FitOptions = { k: 3, gate: { type: 'softmax' }, nuMin: config.fit.nuMin };
for (const n of [10000, 30000]) {
  for (const seed of [1, 2, 3]) {
    const data = sample(truth, n, new Rng(seed));
    const start = { type: 'nearTruth' as const, truth, noise: 0.1, seed: seed + 100 };
    const relative = fitMoE(data, { ...base, stop: 'relative', tol: 1e-6, accelerate: 'none', maxIterations: 2000 }, start);
    const fast = fitMoE(data, base, start);
    const long = fitMoE(data, { ...base, stop: 'relative', tol: 0, absTol: 1e-9, accelerate: 'none', maxIterations: 20000 }, start);
    const row = `| ${n} | ${seed} | ${(relative.fit.loglik - long.fit.loglik).toFixed(3)} | ${relative.fit.iterations} | ${(fast.fit.loglik - long.fit.loglik).toFixed(4)} | ${fast.fit.iterations} | ${fast.fit.seconds.toFixed(1)} | ${fast.fit.stopReason} | ${long.fit.iterations}${long.fit.stopReason === 'converged' ? '' : ' (cap)'} | ${long.fit.seconds.toFixed(1)} |`;
    lines.push(row);
    process.stderr.write(row + '\n');
  }
}

// slopes: the same quick sweep under the relative rule
const relativeConfig = parseExperimentConfig(
  {
    ...raw,
    name: 'demys-over3-relative',
    fit: { ...Object.fromEntries(Object.entries(raw.fit).filter(([key]) => key !== 'scoreTol')), stop: 'relative', tol: 1e-6, accelerate: 'none' },
  },
  'demys-over3-relative',
);
await runSweep(relativeConfig, 'quick', 'results/demys-over3-relative-quick', { workers: 2 });
const before = analyseRates(readStore('results/demys-over3-relative-quick').rows, relativeConfig, 'quick');
const afterDir = 'results/demys-over3-quick';
const after = existsSync(afterDir) ? analyseRates(readStore(afterDir).rows, config, 'quick') : [];
lines.push(
  '',
  '## Slopes of the quick demys-over3 sweep (mean over replicates)',
  '',
  'Same tasks, seeds and starts; only the stopping rule and the accelerator differ.',
  '',
  '| quantity | predicted | relative 1e-6: slope [CI] | verdict | default: slope [CI] | verdict | default: not converged |',
  '|---|---|---|---|---|---|---|',
);
const fmt = (r: (typeof before)[number] | undefined) =>
  r && r.slope !== null ? `${r.slope.toFixed(3)} [${r.ciLow?.toFixed(3)}, ${r.ciHigh?.toFixed(3)}] | ${r.verdict}` : '- | -';
for (const r of before.filter((x) => x.statistic === 'mean' && x.predicted !== null)) {
  const a = after.find((x) => x.quantity === r.quantity && x.statistic === 'mean');
  lines.push(`| ${r.quantity} | ${r.predicted} | ${fmt(r)} | ${fmt(a)} | ${a ? `${a.nNotConverged} of ${a.nFits}` : '-'} |`);
}
if (after.length === 0) lines.push('', `(${afterDir} not found: run npm run reproduce first for the default column.)`);
writeFileSync('figures/stopping-rule.md', lines.join('\n') + '\n');
process.stderr.write('wrote figures/stopping-rule.md\n');
