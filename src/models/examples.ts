/**
 * The [DEMYS] true model (spec: experiments.md): d = 1, k* = 2, softmax gate with the last expert as
 * reference, x ~ U[0, 1]. Used by `gatelab demo` and the benchmarks.
 */
import type { Model } from './types.js';

export const DEMYS_MODEL: Model = Object.freeze({
  gate: { type: 'softmax' },
  experts: [
    { beta0: -8, beta1: [25], a: [-20], b: 15, nu: 0.09 },
    { beta0: 0, beta1: [0], a: [20], b: -5, nu: 0.16 },
  ],
  input: { type: 'uniform', low: 0, high: 1, dim: 1 },
}) as Model;
