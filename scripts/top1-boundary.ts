/**
 * node --import tsx scripts/top1-boundary.ts: the measurement behind docs/fitting.md "Top-K: the
 * selection search": top-1 fits of the topk1-practice truth (k = 2, K = 1, d = 1) from near-truth
 * starts (s = 0.1), with the selection search off (EM alone keeps the start's boundary) and on (the
 * default). Prints the selection boundary x* = -(beta0_1 - beta0_2) / (beta1_1 - beta1_2), L, the
 * stop reason and the Hellinger distance to the truth. About a minute on one core.
 */
import { readFileSync } from 'node:fs';
import { fitMoE, type FitOptions } from '../src/fitting/index.js';
import { densityDistance } from '../src/losses/index.js';
import type { Model } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { parseExperimentConfig } from '../src/sweeps/config.js';

const config = parseExperimentConfig(JSON.parse(readFileSync('experiments/topk1-practice.json', 'utf8')), 'topk1-practice');
const truth = config.truth;
const boundary = (m: Model): number => -(m.experts[0]!.beta0 - m.experts[1]!.beta0) / (m.experts[0]!.beta1![0]! - m.experts[1]!.beta1![0]!);
const hellinger = (m: Model): string => densityDistance(m, truth, { seed: 1, nx: 500 }).hellinger.toExponential(2);
console.log(`true boundary ${boundary(truth)}`);
console.log('| n | seed | start x* | EM alone: x* | L | Hellinger | with the search: x* | L | Hellinger | rounds | seconds |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const n of [1000, 10000, 100000]) {
  for (const seed of [1, 2]) {
    const data = sample(truth, n, new Rng(seed));
    const start = { type: 'nearTruth' as const, truth, noise: 0.1, seed: seed + 10 };
    const base = config.fit as FitOptions;
    const s0 = fitMoE(data, { ...base, maxIterations: 0 }, start);
    const alone = fitMoE(data, { ...base, selectionSearch: 'none' }, start);
    const searched = fitMoE(data, base, start);
    console.log(
      `| ${n} | ${seed} | ${boundary(s0.model).toFixed(4)} | ${boundary(alone.model).toFixed(4)} | ${alone.fit.loglik.toFixed(1)} | ${hellinger(alone.model)} | ${boundary(searched.model).toFixed(4)} | ${searched.fit.loglik.toFixed(1)} | ${hellinger(searched.model)} | ${searched.fit.selectionSearch?.rounds} | ${searched.fit.seconds.toFixed(1)} |`,
    );
  }
}
