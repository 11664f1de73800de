// Worker of bench/gpu.bench.ts: sample and fit the [DEMYS] model on the CPU backend for the seeds
// it is given; answers the EM iterations per fit.
import { parentPort, workerData } from 'node:worker_threads';
import { fitMoE } from '../src/fitting/fit.js';
import { DEMYS_MODEL } from '../src/models/examples.js';
import { Rng } from '../src/rng/rng.js';
import { sample } from '../src/sampling/sample.js';

const { n, seeds, mode } = workerData as { n: number; seeds: number[]; mode: 'sample' | 'fit' };
// warm up (JIT), say ready, then work when told: start-up is not timed
fitMoE(sample(DEMYS_MODEL, 500, new Rng(0)), { k: 2, gate: { type: 'softmax' } }, { type: 'nearTruth', truth: DEMYS_MODEL, noise: 0.1, seed: 0 });
parentPort!.postMessage('ready');
parentPort!.once('message', () => {
  const out: number[] = [];
  for (const seed of seeds) {
    const data = sample(DEMYS_MODEL, n, new Rng(seed));
    if (mode === 'fit') {
      const r = fitMoE(data, { k: 2, gate: { type: 'softmax' } }, { type: 'nearTruth', truth: DEMYS_MODEL, noise: 0.1, seed });
      out.push(r.fit.iterations);
    } else out.push(0);
  }
  parentPort!.postMessage(out);
});
