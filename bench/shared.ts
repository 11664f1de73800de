/** The d = 2 truth of the benchmarks: a softmax gate, two experts, x uniform on [-1, 1]^2. */
import type { Model } from '../src/models/index.js';

export const D2: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 1, beta1: [2, -1], a: [1, 0.5], b: 0, nu: 0.2 },
    { beta0: -0.5, beta1: [-1, 2], a: [-1, 1], b: 1, nu: 0.3 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 2 },
};
