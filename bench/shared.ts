/** Truths and settings shared by the benchmarks. */
import type { FitOptions } from '../src/fitting/index.js';
import type { Model } from '../src/models/index.js';

/** The d = 2 truth of the benchmarks: a softmax gate, two experts, x uniform on [-1, 1]^2. */
export const D2: Model = {
  gate: { type: 'softmax' },
  experts: [
    { beta0: 1, beta1: [2, -1], a: [1, 0.5], b: 0, nu: 0.2 },
    { beta0: -0.5, beta1: [-1, 2], a: [-1, 1], b: 1, nu: 0.3 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 2 },
};

/**
 * The benchmarks' plain EM iteration (the numpy port's algorithm): a softmax gate, one gate
 * Newton step per M-step, no acceleration, and a relative rule at tol and absTol below 0, which
 * never stops a run early (callers pass the engine maxIterations; runEM takes it past fitMoE's
 * option validation).
 */
export function plainEmOptions(k: number): FitOptions {
  return { k, gate: { type: 'softmax' }, stop: 'relative', tol: -1, absTol: -1, accelerate: 'none', gateSteps: 1, gateTol: 0 };
}
