/**
 * Benchmark (not a test): the EM engine of this tree against the engine of another checkout of
 * gatelab (e.g. the commit before a refactoring), in one process, alternating A and B runs so that
 * both see the same machine state; prints the minimum of R runs each and the ratio B / A.
 *
 *   node --import tsx bench/engine-compare.ts /path/to/other/checkout [R = 3]
 *
 * Cases: fixed-iteration plain EM (40 maps, n = 1e5, k = 2 and 3, d = 1, the [DEMYS] truth from a
 * near-truth start) and a converged default fit (score rule, SQUAREM; k = 3 over-specified, n = 1e4).
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const other = process.argv[2];
if (!other) {
  console.error('usage: node --import tsx bench/engine-compare.ts /path/to/other/checkout [runs]');
  process.exit(2);
}
const runs = Number(process.argv[3] ?? 3);

type Lib = typeof import('../src/index.js');
const load = async (root: string): Promise<Lib> => (await import(pathToFileURL(resolve(root, 'src/index.ts')).href)) as Lib;
const A = await load(resolve(import.meta.dirname, '..'));
const B = await load(other);

interface Case {
  name: string;
  run: (lib: Lib) => number;
}
const cases: Case[] = [];
for (const k of [2, 3]) {
  cases.push({
    name: `plain EM, 40 maps, n = 1e5, k = ${k}`,
    run: (lib) => {
      const data = lib.sample(lib.DEMYS_MODEL, 100000, new lib.Rng(1));
      const t0 = performance.now();
      lib.fitMoE(data, { k, gate: { type: 'softmax' }, stop: 'relative', tol: 0, accelerate: 'none', maxIterations: 40 }, { type: 'nearTruth', truth: lib.DEMYS_MODEL, noise: 0.1, seed: 2 });
      return performance.now() - t0;
    },
  });
}
cases.push({
  name: 'converged default fit, k = 3 over-specified, n = 1e4',
  run: (lib) => {
    const data = lib.sample(lib.DEMYS_MODEL, 10000, new lib.Rng(3));
    const t0 = performance.now();
    lib.fitMoE(data, { k: 3, gate: { type: 'softmax' } }, { type: 'nearTruth', truth: lib.DEMYS_MODEL, noise: 0.1, seed: 4 });
    return performance.now() - t0;
  },
});

console.log(`engine comparison: this tree (A) against ${other} (B), minimum of ${runs} alternating runs`);
console.log('| case | A (ms) | B (ms) | B / A |');
console.log('|---|---|---|---|');
for (const c of cases) {
  let a = Infinity;
  let b = Infinity;
  for (let r = 0; r < runs; r++) {
    a = Math.min(a, c.run(A));
    b = Math.min(b, c.run(B));
  }
  console.log(`| ${c.name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(3)} |`);
}
