/**
 * The generic EM engine (spec: fitting.md, "EM"). It calls only the Gate contract, the Gaussian
 * expert M-step and the Backend's E-step; it never reads a parameter by name.
 *
 *   E-step:  R_ni = G_i(X_n) N(Y_n | a_i.X_n + b_i, nu_i) / p(Y_n | X_n),  L = sum_n log p(Y_n | X_n)
 *   M-step:  experts in closed form (weighted least squares, variance floored at nu_min);
 *            gate: Newton or L-BFGS on Q(theta) = sum_n sum_i R_ni log G_i(X_n), never decreasing Q.
 *   Stop:    |L_t - L_{t-1}| <= tol |L_{t-1}|  (or <= absTol), or maxIterations M-steps.
 * The returned parameters are those of the last E-step, so `loglik` is exactly their likelihood.
 */
import type { Backend } from '../backend/types.js';
import { CpuBackend } from '../backend/cpu.js';
import type { Dataset } from '../data/dataset.js';
import { expertMStep, expertStatsSize } from '../experts/gaussian-linear.js';
import { gateMStep } from './gate-mstep.js';
import { copyState, restoreState, type PackedState } from './state.js';
import type { FitOptions, StopReason } from './types.js';

export interface EngineResult {
  loglik: number;
  iterations: number;
  stopReason: StopReason;
  nuFloorHits: number[];
  decreases: number;
  trace: number[];
  warnings: string[];
}

/** Relative size of a log-likelihood decrease that counts as rounding, not a real decrease. */
export const ROUNDING_TOLERANCE = 1e-10;

/** Run EM in place on `state` (its parameters become the fitted ones). */
export function runEM(data: Dataset, state: PackedState, options: FitOptions, backend: Backend = new CpuBackend()): EngineResult {
  const { n, d, X } = data;
  const { gate, experts, free } = state;
  const k = experts.k;
  const tol = options.tol ?? 1e-6;
  const absTol = options.absTol ?? 0;
  const maxIterations = options.maxIterations ?? 2000;
  const nuMin = options.nuMin ?? 1e-10;
  const mstep = { maxSteps: options.gateSteps ?? 5, tol: options.gateTol ?? 1e-10 };
  const G = new Float64Array(n * k);
  const R = new Float64Array(n * k);
  const stats = new Float64Array(k * expertStatsSize(d));
  const logWeightsAt = (row: number, out: Float64Array) =>
    backend.gateLogWeights(gate, state.theta, X.subarray(row * d, row * d + d), 1, out);
  backend.gateWeights(gate, state.theta, X, n, G);
  const gateCache = { lseSum: NaN };

  const trace: number[] = [];
  const warnings: string[] = [];
  let floorHits = new Array<boolean>(k).fill(false);
  let decreases = 0;
  let previous = -Infinity;
  let saved = copyState(state);
  let stopReason: StopReason = 'maxIterations';
  let iterations = 0;
  let loglik = NaN;
  for (;;) {
    const L = backend.eStep(data, G, experts, R, stats, logWeightsAt);
    if (!Number.isFinite(L)) {
      stopReason = 'numericalFailure';
      warnings.push(nonFiniteWarning(L, iterations));
      if (iterations > 0) restoreState(state, saved);
      loglik = previous;
      break;
    }
    loglik = L;
    trace.push(L);
    if (iterations > 0) {
      const change = L - previous;
      if (change < -ROUNDING_TOLERANCE * Math.abs(previous)) decreases++;
      if (Math.abs(change) <= tol * Math.abs(previous) || Math.abs(change) <= absTol) {
        stopReason = 'converged';
        break;
      }
    }
    if (iterations >= maxIterations) {
      stopReason = 'maxIterations';
      break;
    }
    saved = copyState(state);
    floorHits = expertMStep(experts, stats, nuMin);
    gateMStep(gate, backend, state.theta, X, n, R, G, free, mstep, gateCache);
    previous = L;
    iterations++;
  }
  const nuFloorHits = floorHits.flatMap((hit, i) => (hit ? [i] : []));
  warnings.push(...closingWarnings(nuFloorHits, stopReason, decreases, { nuMin, maxIterations, tol }, 'rounding'));
  return { loglik, iterations, stopReason, nuFloorHits, decreases, trace, warnings };
}

/** The warning of a run whose log-likelihood became L (not finite) after `iterations`. */
export function nonFiniteWarning(L: number, iterations: number): string {
  return `EM: the log-likelihood became ${L} after ${iterations} iterations; the parameters of the last finite iteration are returned. Try another start or a larger nuMin.`;
}

/**
 * The warnings of a finished EM run: experts on the variance floor, no convergence, decreases of L
 * beyond `rounding` (the engine's rounding level, named for the user).
 */
export function closingWarnings(
  nuFloorHits: number[],
  stopReason: StopReason,
  decreases: number,
  o: { nuMin: number; maxIterations: number; tol: number },
  rounding: string,
): string[] {
  const out: string[] = [];
  if (nuFloorHits.length > 0) {
    out.push(
      `EM: the variance of expert(s) ${nuFloorHits.map((i) => i + 1).join(', ')} hit the floor nuMin = ${o.nuMin} (an expert collapsing onto few points); try another start or fewer experts.`,
    );
  }
  if (stopReason === 'maxIterations') out.push(`EM: did not converge in ${o.maxIterations} iterations (tol ${o.tol}); raise maxIterations or loosen tol.`);
  if (decreases > 0) out.push(`EM: the log-likelihood decreased beyond ${rounding} in ${decreases} iteration(s).`);
  return out;
}
