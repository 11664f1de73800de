/**
 * Benchmark (not a test): the gate M-step's two passes, the Hessian and the objective (with its
 * gradient and the weights), by the reference path (LogitGate.referenceHessian /
 * referenceObjective: the generic chain rule point by point) and the fast path (gate.hessian /
 * gate.objective: per-point values once, a dense local accumulator), in ns per point per call at
 * n = 1e5, for a few (gate, k, d, tau) cases. Rounds alternate reference and fast; the best of 3
 * rounds is kept for each (on a loaded machine the worst rounds include waiting for a core).
 *
 *   npm run bench:gate [-- --n 100000 --rounds 3]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createGate, type GateSpec } from '../src/gates/index.js';
import type { Gate } from '../src/gates/types.js';
import { LogitGate } from '../src/gates/logit-gate.js';
import { Rng } from '../src/rng/index.js';

interface Case {
  spec: GateSpec;
  tau: 'known' | 'free';
  k: number;
  d: number;
}

const CASES: Case[] = [
  { spec: { type: 'activation', activation: 'identity', tau: 0.5 }, tau: 'free', k: 2, d: 1 },
  { spec: { type: 'activation', activation: 'identity', tau: 0.5 }, tau: 'known', k: 2, d: 1 },
  { spec: { type: 'activation', activation: 'tanh', tau: 0.8 }, tau: 'free', k: 3, d: 1 },
  { spec: { type: 'activation', activation: 'tanh', tau: 0.8 }, tau: 'known', k: 3, d: 2 },
  { spec: { type: 'activation', activation: 'gelu', tau: 0.8 }, tau: 'free', k: 2, d: 2 },
  { spec: { type: 'activation', activation: 'relu', tau: 0.8 }, tau: 'free', k: 3, d: 2 },
  { spec: { type: 'temperature', tau: 0.5 }, tau: 'free', k: 2, d: 1 },
  { spec: { type: 'temperature', tau: 0.5 }, tau: 'free', k: 3, d: 2 },
  { spec: { type: 'sigmoid' }, tau: 'known', k: 2, d: 1 },
  { spec: { type: 'sigmoid' }, tau: 'known', k: 3, d: 2 },
];

function label(c: Case): string {
  const name = c.spec.type === 'activation' ? `activation ${c.spec.activation}` : c.spec.type;
  return `${name}, k=${c.k}, d=${c.d}, tau ${c.tau}`;
}

/** Best ns per point per call of `fn` over alternating rounds (fn runs `calls` times per round). */
function nsPerPoint(fn: () => void, n: number, calls: number): number {
  const t = performance.now();
  for (let c = 0; c < calls; c++) fn();
  return ((performance.now() - t) * 1e6) / (calls * n);
}

function run(c: Case, n: number, rounds: number) {
  const gate = createGate(c.spec, c.k, c.d, { tau: c.tau });
  if (!(gate instanceof LogitGate)) throw new Error(`${label(c)}: not a LogitGate`);
  const rng = new Rng(11);
  const { k, d, nParams: P } = gate;
  const X = new Float64Array(n * d);
  for (let t = 0; t < X.length; t++) X[t] = 2 * rng.uniform() - 1;
  const theta = new Float64Array(P);
  for (let t = 0; t < P; t++) theta[t] = rng.uniform() - 0.5;
  const R = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += (R[r * k + i] = rng.uniform() + 0.05);
    for (let i = 0; i < k; i++) R[r * k + i] = R[r * k + i]! / s;
  }
  const G = new Float64Array(n * k);
  gate.weights(theta, X, n, G);
  const H = new Float64Array(P * P);
  const grad = new Float64Array(P);
  const Gout = new Float64Array(n * k);
  const passes = {
    hessianRef: () => gate.referenceHessian(theta, X, n, G, H, R),
    hessianFast: () => (gate as Gate).hessian!(theta, X, n, G, H, R),
    objectiveRef: () => void gate.referenceObjective(theta, X, n, R, grad, Gout),
    objectiveFast: () => void gate.objective(theta, X, n, R, grad, Gout),
  };
  const best = { hessianRef: Infinity, hessianFast: Infinity, objectiveRef: Infinity, objectiveFast: Infinity };
  for (const fn of Object.values(passes)) fn(); // warm-up (JIT tiers)
  for (let round = 0; round < rounds; round++) {
    for (const key of Object.keys(passes) as (keyof typeof passes)[]) best[key] = Math.min(best[key], nsPerPoint(passes[key], n, 3));
  }
  return best;
}

function main() {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
  const n = Number(values.n);
  const rounds = Number(values.rounds);
  console.log(`gate M-step passes, ns per point per call, n = ${n}, best of ${rounds} alternating rounds (3 calls each)`);
  console.log(`${'case'.padEnd(40)} ${'H ref'.padStart(8)} ${'H fast'.padStart(8)} ${'ratio'.padStart(6)}   ${'Q ref'.padStart(8)} ${'Q fast'.padStart(8)} ${'ratio'.padStart(6)}`);
  for (const c of CASES) {
    const b = run(c, n, rounds);
    const f = (v: number) => v.toFixed(1).padStart(8);
    console.log(
      `${label(c).padEnd(40)} ${f(b.hessianRef)} ${f(b.hessianFast)} ${(b.hessianRef / b.hessianFast).toFixed(1).padStart(6)}   ${f(b.objectiveRef)} ${f(b.objectiveFast)} ${(b.objectiveRef / b.objectiveFast).toFixed(1).padStart(6)}`,
    );
  }
}

main();
