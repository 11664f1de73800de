/** Shared models and helpers for the losses tests (not a test file itself). */
import type { Expert, Model } from '../../src/models/types.js';

/** The [DEMYS] true model (spec: experiments.md): softmax gate, k* = 2, d = 1, X ~ U[0, 1]. */
export function demys(): Model {
  return {
    gate: { type: 'softmax' },
    experts: [
      { beta0: -8, beta1: [25], a: [-20], b: 15, nu: 0.09 },
      { beta0: 0, beta1: [0], a: [20], b: -5, nu: 0.16 },
    ],
    input: { type: 'uniform', low: 0, high: 1, dim: 1 },
  };
}

/** Deep-freeze a model so a test fails if a loss mutates its input. */
export function frozen<T>(x: T): T {
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) frozen(v);
    Object.freeze(x);
  }
  return x;
}

/** A copy of m with every (beta0, beta1) shifted by (t0, t1). */
export function shifted(m: Model, t0: number, t1: number[]): Model {
  return {
    ...m,
    experts: m.experts.map((e) => ({ ...e, beta0: e.beta0 + t0, beta1: e.beta1!.map((v, c) => v + t1[c]!) })),
  };
}

/** A copy of m with the experts in the order `perm` (new expert i = old expert perm[i]). */
export function permuted(m: Model, perm: number[]): Model {
  return { ...m, experts: perm.map((i) => ({ ...m.experts[i]! })) };
}

/** A copy of m with experts replaced. */
export function withExperts(m: Model, experts: Expert[]): Model {
  return { ...m, experts };
}

/** A copy of m with every parameter of expert i moved by a small amount depending on eps and i. */
export function perturbed(m: Model, eps: number): Model {
  return {
    ...m,
    experts: m.experts.map((e, i) => ({
      beta0: e.beta0 + eps * (i + 1),
      beta1: e.beta1!.map((v, c) => v + eps * (2 - c)),
      a: e.a.map((v, c) => v - eps * (1 + c)),
      b: e.b + eps * (i - 0.5),
      nu: e.nu * (1 + eps),
    })),
  };
}

/** Euclidean norm of a - b. */
export function dist(a: number[], b: number[]): number {
  return Math.sqrt(a.reduce((s, v, c) => s + (v - b[c]!) ** 2, 0));
}
