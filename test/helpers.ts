/** Shared test fixtures: the spec's true models (experiments.md). */
import { GATE_TYPES, gateDefinition, type Gate, type GateSpec } from '../src/gates/index.js';
import type { Model } from '../src/models/types.js';
import { Rng } from '../src/rng/index.js';

export const DEMYS: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: -8, beta1: [25], a: [-20], b: 15, nu: 0.09 },
    { beta0: 0, beta1: [0], a: [20], b: -5, nu: 0.16 },
  ],
  input: { type: 'uniform', low: 0, high: 1, dim: 1 },
};

/** The top-K scenario of experiments.md: k* = 3, K = 2, x in [-1, 1]. */
export const TOPK: Model = {
  gate: { type: 'topk', K: 2, rankBy: 'slope' },
  experts: [
    { beta0: 0.5, beta1: [-4], a: [2], b: 1, nu: 0.1 },
    { beta0: -0.5, beta1: [4], a: [-2], b: -1, nu: 0.2 },
    { beta0: 0, beta1: [0], a: [1], b: 0, nu: 0.15 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 1 },
};

/** The temperature / activation scenario of experiments.md: tau* = 0.5, x in [-1, 1]. */
export function tempModel(gate: Model['gate']): Model {
  return {
    gate,
    experts: [
      { beta0: 0.5, beta1: [3], a: [-2], b: 1, nu: 0.1 },
      { beta0: 0, beta1: [0], a: [2], b: -1, nu: 0.15 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 1 },
  };
}

/** A d = 2 softmax model with 3 experts (for dimension-general code paths). */
export const SOFTMAX_D2: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 1, beta1: [2, -1], a: [1, 0.5], b: 0, nu: 0.2 },
    { beta0: -0.5, beta1: [-1, 2], a: [-1, 1], b: 1, nu: 0.3 },
    { beta0: 0, beta1: [0, 0], a: [0.5, -0.5], b: -1, nu: 0.25 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 2 },
};

/** Central finite-difference gradient of f at x with step h (relative to |x_j| + 1). */
export function centralDifference(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const step = h * (Math.abs(x[j]!) + 1);
    const xp = x.slice();
    const xm = x.slice();
    xp[j] = xp[j]! + step;
    xm[j] = xm[j]! - step;
    g[j] = (f(xp) - f(xm)) / (2 * step);
  }
  return g;
}

/** max_j |a_j - b_j| / (|b_j| + scale) */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!) / (Math.abs(b[j]!) + scale));
  return m;
}

/** One example spec of a registered gate, with its name for test titles. */
export interface GateExampleCase {
  name: string;
  spec: GateSpec;
  tau: 'known' | 'free';
}

/** Every registered gate's examples for k experts (a gate added to the registry is covered unedited). */
export function registryExamples(k: number): GateExampleCase[] {
  return GATE_TYPES.flatMap((type) =>
    gateDefinition(type)
      .examples(k)
      .map(({ spec, tau }) => ({ name: `${type} (${gateDefinition(type).describe(spec as never)}, tau ${tau})`, spec: spec as GateSpec, tau })),
  );
}

/** Responsibilities (n x k, rows summing to 1) positive exactly where the gate keeps an expert, so Q is finite. */
export function keptResponsibilities(gate: Gate, theta: Float64Array, X: Float64Array, n: number, seed: number): Float64Array {
  const G = new Float64Array(n * gate.k);
  gate.weights(theta, X, n, G);
  const rng = new Rng(seed);
  const R = new Float64Array(n * gate.k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < gate.k; i++) s += R[r * gate.k + i] = G[r * gate.k + i]! > 0 ? rng.uniform() + 0.05 : 0;
    for (let i = 0; i < gate.k; i++) R[r * gate.k + i] = R[r * gate.k + i]! / s;
  }
  return R;
}
