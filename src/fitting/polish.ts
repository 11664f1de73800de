/**
 * The polish of a stalled EM run (spec: fitting.md, "Reaching the maximum", revised): Newton steps
 * with the outer-product information J (the BHHH method, Berndt, Hall, Hall and Hausman 1974) on
 * the log-likelihood itself, from the point where EM crawls.
 *
 *   v' = v + t J^-1 g,   t = 1, 1/2, 1/4, ... until L(v') > L(v)   (at most MAX_HALVINGS)
 *
 * with g, J and the coordinates left out (a variance on its floor pushing down, a gate coordinate
 * without information) exactly those of the certificate (certificate.ts): the full step's
 * predicted gain is T itself, so the polish ends when T <= scoreTol, which is the stopping rule.
 *
 * Why: over-specified likelihoods have long ridges along which EM's map contracts by 0.99-0.99999
 * per iteration; SQUAREM's extrapolation does not help where the ridge bends. Measured on the
 * [DEMYS] over-specified fit that stalled at n = 3e4 (k = 3, seed 3 of figures/stopping-rule.md):
 * EM gained under 1e-5 nats per 1000 maps with T = 2.3e-3; BHHH steps climbed 3.1 nats in about
 * 150 steps to T = 5e-6, where the split atom's variance had shrunk to 0.0013 (a narrow expert,
 * counted as a spike; still above nu_min). Every accepted step raises L, so the polish keeps the
 * monotone path of the run; it follows the ridge EM was on, it does not restart elsewhere.
 *
 * Not for selective gates (top-K): a step of the full likelihood may change the selected sets,
 * where the likelihood jumps; EM there keeps every point's selection (gate-mstep.ts), and so does
 * the run's result.
 */
import { CpuBackend } from '../backend/cpu.js';
import type { Dataset } from '../data/dataset.js';
import { CertificateWorkspace, scoreStatistic } from './certificate.js';
import { packMle, setVectorFloored } from './mle.js';
import type { PackedState } from './state.js';
import type { ResolvedStopping } from './types.js';

/** Most BHHH steps of one polish. */
export const POLISH_MAX_STEPS = 500;
/** Most step halvings per BHHH step (t down to 2^-30). */
const MAX_HALVINGS = 30;

/** How a polish ended and what it did. */
export interface PolishResult {
  /** the certificate T at the final parameters (Infinity if it could not be computed) */
  T: number;
  /** the log-likelihood at the final parameters */
  L: number;
  /** accepted BHHH steps */
  steps: number;
  /** L(final) - L(start), >= 0 */
  gain: number;
  /** E-steps run */
  evaluations: number;
  /** 'converged': T <= scoreTol; 'noAscent': no halving of the step raised L; 'maxSteps' */
  reason: 'converged' | 'noAscent' | 'maxSteps';
}

/**
 * Polish `state` in place by BHHH steps (see the module comment) until T <= stopping.scoreTol,
 * a step that cannot raise L, or `maxSteps` steps. Float64 on the host data.
 * @param data the fit's data
 * @param state the fit's parameters (moved to the polished point)
 * @param stopping the run's rule (scoreTol and nuMin are used)
 * @param maxSteps most accepted steps (default {@link POLISH_MAX_STEPS})
 * @example
 *   const p = polishAt(data, state, resolveStopping(options));
 *   // p.reason === 'converged' means T <= scoreTol at the polished parameters
 */
export function polishAt(data: Dataset, state: PackedState, stopping: ResolvedStopping, maxSteps: number = POLISH_MAX_STEPS): PolishResult {
  const { n, d, X } = data;
  const k = state.experts.k;
  const backend = new CpuBackend();
  // the backend's fit buffers where it has them: its kernels then work in place, and the
  // certificate's sums run in its score kernel, not the reference loop (most of a polish's time)
  const buffers = backend.fitBuffers(data, k);
  const G = buffers?.G ?? new Float64Array(n * k);
  const R = buffers?.R ?? new Float64Array(n * k);
  const stats = new Float64Array(k * state.experts.family.statsSize(d));
  const ws = new CertificateWorkspace(state);
  const direction = new Float64Array(ws.P);
  const logWeightsAt = (row: number, out: Float64Array): void => backend.gateLogWeights(state.gate, state.theta, X.subarray(row * d, row * d + d), 1, out);
  let evaluations = 0;
  const evaluate = (v: Float64Array): number => {
    setVectorFloored(state, v, stopping.nuMin);
    backend.gateWeights(state.gate, state.theta, X, n, G);
    evaluations++;
    return backend.eStep(data, G, state.experts, R, stats, logWeightsAt);
  };
  let v = packMle(state);
  let L = evaluate(v);
  const L0 = L;
  const trial = new Float64Array(v.length);
  let steps = 0;
  for (;;) {
    const T = Number.isFinite(L) ? scoreStatistic(data, state, R, G, stopping.nuMin, ws, backend, direction).T : Infinity;
    const done = (reason: PolishResult['reason']): PolishResult => ({ T, L, steps, gain: L - L0, evaluations, reason });
    if (T <= stopping.scoreTol) return done('converged');
    if (!Number.isFinite(T) || steps >= maxSteps) return done(Number.isFinite(T) ? 'maxSteps' : 'noAscent');
    let accepted = false;
    let t = 1;
    for (let h = 0; h < MAX_HALVINGS && !accepted; h++, t /= 2) {
      for (let u = 0; u < v.length; u++) trial[u] = v[u]! + t * direction[u]!;
      const Lt = evaluate(trial);
      if (Number.isFinite(Lt) && Lt > L) {
        accepted = true;
        L = Lt;
        v = packMle(state); // the accepted point, variances as projected onto the floor
      }
    }
    if (!accepted) {
      // back to the best point (its E-step refills R and G for the caller's certificate)
      L = evaluate(v);
      return done('noAscent');
    }
    steps++;
  }
}
