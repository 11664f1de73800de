/** Shared test fixtures: the spec's true models (experiments.md). */
import type { Model } from '../src/models/types.js';

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
