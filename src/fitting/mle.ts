/**
 * Direct maximum likelihood (spec: fitting.md, "Direct MLE"): L-BFGS on all parameters
 *   v = (free gate coordinates, a, b, log nu)
 * with the analytic gradient of L = sum_n log p(Y_n | X_n). By Fisher's identity the gradient is
 * that of the EM objective at the posterior R(v):
 *   dL/dtheta    = dQ/dtheta (gate.objective with R),
 *   dL/dphi      = the experts' family's gradient from the E-step's statistics (ExpertFamily.gradient;
 *                  Gaussian linear: dL/d(a_i,b_i) = sum_n R_ni z_n r_ni / nu_i, z = (x, 1),
 *                  r = y - a_i.x - b_i, and dL/dlog nu_i = sum_n R_ni (r_ni^2 / (2 nu_i) - 1/2)).
 * Under top-K the likelihood jumps where the selection changes: L-BFGS still runs, but only EM's
 * monotone steps are guaranteed there (documented limit).
 */
import type { Backend } from '../backend/types.js';
import { CpuBackend } from '../backend/cpu.js';
import type { Dataset } from '../data/dataset.js';
import { lbfgs } from '../numerics/lbfgs.js';
import type { EngineResult } from './em.js';
import { projectOntoGateBox } from './gate-box.js';
import type { PackedState } from './state.js';
import { CertificateWorkspace, scoreStatistic } from './certificate.js';
import { resolveStopping, type FitOptions, type StopReason } from './types.js';

/** The MLE vector's layout for a state: the free gate coordinates, then the experts' (offset offExperts). */
function layout(state: PackedState) {
  const { experts, free } = state;
  const { k, d, family } = experts;
  const offExperts = free.length;
  return { k, d, family, offExperts, size: offExperts + family.vectorSize(k, d) };
}

/** Pack a state into the MLE vector (free gate coordinates, then the family's coordinates: a, b, log nu). */
export function packMle(state: PackedState): Float64Array {
  const { family, offExperts, size } = layout(state);
  const v = new Float64Array(size);
  state.free.forEach((j, a) => (v[a] = state.theta[j]!));
  family.toVector(state.experts, v, offExperts);
  return v;
}

/** Write an MLE vector into a state. */
export function unpackMle(state: PackedState, v: Float64Array): void {
  const { family, offExperts } = layout(state);
  state.free.forEach((j, a) => (state.theta[j] = v[a]!));
  family.fromVector(state.experts, v, offExperts);
}

/**
 * Move a state to the MLE vector v, variances projected onto [nuMin, Infinity) and the gate onto
 * its box where the fit has one (fitting/gate-box.ts).
 */
export function setVectorFloored(state: PackedState, v: Float64Array, nuMin: number): void {
  unpackMle(state, v);
  state.experts.family.project(state.experts, nuMin);
  projectOntoGateBox(state.theta, state.box);
}

/**
 * The log-likelihood at v and its gradient (into grad), for a state. Exported for the
 * finite-difference tests.
 */
export function mleObjective(data: Dataset, state: PackedState, backend: Backend = new CpuBackend()) {
  const { n, d, X } = data;
  const { gate, experts } = state;
  const { k, family, offExperts } = layout(state);
  const size = family.statsSize(d);
  const G = new Float64Array(n * k);
  const R = new Float64Array(n * k);
  const stats = new Float64Array(k * size);
  const gateGrad = new Float64Array(gate.nParams);
  const logWeightsAt = (row: number, out: Float64Array) =>
    backend.gateLogWeights(gate, state.theta, X.subarray(row * d, row * d + d), 1, out);
  const f = (v: Float64Array, grad: Float64Array | null): number => {
    unpackMle(state, v);
    backend.gateWeights(gate, state.theta, X, n, G);
    const L = backend.eStep(data, G, experts, R, stats, logWeightsAt);
    if (!grad || !Number.isFinite(L)) return L;
    backend.gateObjective(gate, state.theta, X, n, R, gateGrad, null);
    state.free.forEach((j, a) => (grad[a] = gateGrad[j]!));
    family.gradient(experts, stats, grad, offExperts);
    return L;
  };
  /** the responsibilities of the last evaluation */
  f.responsibilities = R;
  /** the gate weights of the last evaluation */
  f.weights = G;
  return f;
}

/** Run direct MLE in place on `state`. */
export function runMLE(data: Dataset, state: PackedState, options: FitOptions, backend: Backend = new CpuBackend()): EngineResult {
  const rule = resolveStopping(options);
  const objective = mleObjective(data, state, backend);
  const scale = 1 / data.n;
  const trace: number[] = [];
  const ws = new CertificateWorkspace(state);
  let certificate: number | null = null;
  let lastChange = NaN;
  let evaluations = 0;
  // the score rule: T at the accepted point (the objective's last evaluation), where the last step gained <= scoreTol
  const stopWhen = (f: number, fPrevious: number): boolean => {
    const gain = (fPrevious - f) / scale;
    lastChange = Math.abs(gain);
    certificate = null;
    if (rule.stop === 'relative') return lastChange <= rule.tol * Math.abs(f / scale) || lastChange <= rule.absTol;
    if (!(gain <= rule.scoreTol)) return false;
    certificate = scoreStatistic(data, state, objective.responsibilities, objective.weights, rule.nuMin, ws).T;
    return certificate <= rule.scoreTol;
  };
  const result = lbfgs(
    (v, g) => {
      evaluations++;
      const L = objective(v, g);
      for (let t = 0; t < g.length; t++) g[t] = -g[t]! * scale;
      return Number.isFinite(L) ? -L * scale : Infinity;
    },
    packMle(state),
    {
      maxIterations: rule.maxIterations,
      gradTol: 1e-12,
      stopWhen,
      onIteration: options.trace ? (_, f) => trace.push(-f / scale) : undefined,
    },
  );
  unpackMle(state, result.x);
  const loglik = objective(result.x, null);
  const warnings: string[] = [];
  let stopReason: StopReason;
  if (result.stopReason === 'converged') stopReason = 'converged';
  else if (result.stopReason === 'maxIterations') {
    stopReason = 'maxIterations';
    warnings.push(`MLE: did not converge in ${rule.maxIterations} iterations; raise maxIterations.`);
  } else if (result.stopReason === 'lineSearchFailed') {
    // L-BFGS cannot improve further: at the precision of L this is a stationary point
    stopReason = 'converged';
    warnings.push('MLE: the line search found no further increase (converged to the precision of L).');
  } else {
    stopReason = 'numericalFailure';
    warnings.push('MLE: the log-likelihood is not finite at the start; try another start.');
  }
  const nuMin = rule.nuMin;
  const nuFloorHits = state.experts.family.onFloor(state.experts, nuMin);
  if (nuFloorHits.length > 0) {
    warnings.push(`MLE: the variance of expert(s) ${nuFloorHits.map((i) => i + 1).join(', ')} fell below nuMin = ${nuMin} (a collapsing expert).`);
  }
  if (result.stopReason === 'lineSearchFailed' && rule.stop === 'score') {
    // the line search stalled: converged only if the certificate says so
    certificate = scoreStatistic(data, state, objective.responsibilities, objective.weights, rule.nuMin, ws).T;
    if (!(certificate <= rule.scoreTol)) {
      stopReason = 'stalled';
      warnings.push(`MLE: stalled with the score statistic T = ${certificate} above scoreTol ${rule.scoreTol}; try EM or another start.`);
    }
  }
  return {
    loglik,
    iterations: result.iterations,
    stopReason,
    nuFloorHits,
    decreases: 0,
    trace,
    warnings,
    certificate,
    lastChange,
    evaluations,
    extrapolations: { accepted: 0, refused: 0 },
    polish: null,
  };
}
