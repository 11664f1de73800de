/**
 * Starting values (spec: fitting.md, "Starts").
 *
 * nearTruth: a random surjective map pi from the k fitted experts onto the k* true experts (each
 *   true expert gets at least one; with pinLast, pi(k) = k*, see below), then every parameter = its true counterpart + N(0, s^2):
 *   beta0, each coordinate of beta1 and a, b and nu, and tau when it is fitted (perturbTau). A
 *   perturbed variance is reflected at 0 (nu = |nu* + e|, floored at nuMin; tau likewise, >= 1e-3). s is fixed (default) or shrinks as s n^-exponent (the
 *   [DEMYS] authors' code uses exponent 0.083): the label says which, since that makes the measured
 *   rate partly a property of the start.
 *   pinLast is used for the reference convention under a gate where fixing beta1_k = 0 is an
 *   assumption (the activation gate): a start that put another true expert in the pinned slot
 *   could never reach the truth.
 * random: data-driven, no truth needed: k-means++ on the standardised (X, Y), a few Lloyd steps,
 *   least squares per cluster for (a, b, nu), and a softmax gate fitted to the smoothed cluster
 *   memberships (one gate M-step) for (beta0, beta1).
 */
import { CpuBackend } from '../backend/cpu.js';
import type { Dataset } from '../data/dataset.js';
import { ConfigError, show } from '../errors.js';
import { gatingOf } from '../gates/gating.js';
import { createGate, gateDefinition, specTau } from '../gates/index.js';
import { solveDamped } from '../numerics/cholesky.js';
import { gateTau, type Expert, type GateSpec, type Model } from '../models/types.js';
import type { Rng } from '../rng/rng.js';
import { gateMStep } from './gate-mstep.js';

export interface NearTruthStart {
  type: 'nearTruth';
  truth: Model;
  /** noise standard deviation s > 0 */
  noise: number;
  /** optional: s_n = noise * n^-shrinkExponent */
  shrinkExponent?: number;
}

/** A perturbed copy of the truth with k experts. Returns the start and its label. */
export function nearTruthStart(
  spec: NearTruthStart,
  k: number,
  n: number,
  gate: GateSpec,
  rng: Rng,
  nuMin = 1e-10,
  perturbTau = false,
  pinLast = false,
): { model: Model; label: string } {
  const truth = spec.truth;
  const kStar = truth.experts.length;
  if (!(spec.noise >= 0) || !Number.isFinite(spec.noise)) {
    throw new ConfigError(`noise: ${show(spec.noise)} is not a noise level; must be a finite number >= 0`);
  }
  if (k < kStar) {
    throw new ConfigError(`k: ${k} is below the number of true experts (${kStar}); a near-truth start needs k >= ${kStar}`);
  }
  const s = spec.shrinkExponent === undefined ? spec.noise : spec.noise * Math.pow(n, -spec.shrinkExponent);
  // surjective map: every true expert once, then k - k* uniform extra draws, all shuffled. With
  // pinLast the last fitted expert stays on the last true expert (the reference expert of a gate
  // whose reference pin is an assumption, not an invariance) and the others are shuffled.
  const free = pinLast ? kStar - 1 : kStar;
  const slots = pinLast ? k - 1 : k;
  const map: number[] = Array.from({ length: free }, (_, j) => j);
  for (let i = free; i < slots; i++) map.push(rng.integer(kStar));
  for (let i = slots - 1; i > 0; i--) {
    const j = rng.integer(i + 1);
    [map[i], map[j]] = [map[j]!, map[i]!];
  }
  if (pinLast) map.push(kStar - 1);
  // the gating fields are the fit gate's (GateDefinition.gating): the truth's expert in that form
  // (adopt), perturbed by the gate (linear: beta0, beta1; gaussian: beta0, c and the Cholesky
  // factor of Gamma, so Gamma stays positive definite), then a, b, nu
  const gating = gatingOf(gateDefinition(gate.type));
  const d = truth.input.dim;
  const experts: Expert[] = map.map((j) => {
    const t = truth.experts[j]!;
    return {
      ...gating.perturb(gating.adopt(t, `truth.experts[${j}]`, d), s, () => rng.normal()),
      a: t.a.map((v) => v + s * rng.normal()),
      b: t.b + s * rng.normal(),
      nu: Math.max(Math.abs(t.nu + s * rng.normal()), nuMin),
    };
  });
  const label =
    spec.shrinkExponent === undefined
      ? `nearTruth(s=${spec.noise})`
      : `nearTruth(s=${spec.noise}*n^-${spec.shrinkExponent}, shrinking: the rate depends on the start)`;
  const trueTau = gateTau(truth.gate);
  let startGate = gate.type === truth.gate.type && trueTau !== undefined ? { ...gate, tau: trueTau } : gate;
  const startTau = specTau(startGate);
  if (perturbTau && startTau !== undefined) {
    // tau is a fitted parameter: perturbed like the others (reflected at 0); otherwise a start at
    // tau* would never leave it along the temperature gate's invariant ray
    startGate = { ...startGate, tau: Math.max(Math.abs(startTau + s * rng.normal()), 1e-3) } as GateSpec;
  }
  return { model: { gate: startGate as GateSpec, experts, input: truth.input }, label };
}


/** Data-driven start: k-means++ on standardised (X, Y), Lloyd steps, per-cluster least squares. */
export function randomStart(data: Dataset, k: number, gate: GateSpec, rng: Rng): Model {
  const { n, d, X, Y } = data;
  if (n < k) throw new ConfigError(`k: ${k} experts need at least ${k} data points; the data has ${n}`);
  const dim = d + 1;
  // standardise columns
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  const col = (r: number, c: number) => (c < d ? X[r * d + c]! : Y[r]!);
  for (let c = 0; c < dim; c++) {
    let s = 0;
    let ss = 0;
    for (let r = 0; r < n; r++) {
      s += col(r, c);
      ss += col(r, c) * col(r, c);
    }
    mean[c] = s / n;
    sd[c] = Math.sqrt(Math.max(ss / n - (s / n) ** 2, 1e-24)) || 1;
  }
  const P = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) for (let c = 0; c < dim; c++) P[r * dim + c] = (col(r, c) - mean[c]!) / sd[c]!;
  const dist2 = (r: number, C: Float64Array, j: number) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += (P[r * dim + c]! - C[j * dim + c]!) ** 2;
    return s;
  };
  // k-means++ seeding
  const C = new Float64Array(k * dim);
  const first = rng.integer(n);
  C.set(P.subarray(first * dim, first * dim + dim), 0);
  const best = new Float64Array(n).fill(Infinity);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let r = 0; r < n; r++) {
      best[r] = Math.min(best[r]!, dist2(r, C, j - 1));
      total += best[r]!;
    }
    let u = rng.uniform() * total;
    let pick = n - 1;
    for (let r = 0; r < n; r++) {
      u -= best[r]!;
      if (u <= 0) {
        pick = r;
        break;
      }
    }
    C.set(P.subarray(pick * dim, pick * dim + dim), j * dim);
  }
  // Lloyd steps
  const label = new Int32Array(n);
  for (let step = 0; step < 20; step++) {
    let changed = 0;
    for (let r = 0; r < n; r++) {
      let bj = 0;
      let bd = Infinity;
      for (let j = 0; j < k; j++) {
        const dd = dist2(r, C, j);
        if (dd < bd) {
          bd = dd;
          bj = j;
        }
      }
      if (label[r] !== bj) changed++;
      label[r] = bj;
    }
    const count = new Float64Array(k);
    C.fill(0);
    for (let r = 0; r < n; r++) {
      count[label[r]!]!++;
      for (let c = 0; c < dim; c++) C[label[r]! * dim + c] = C[label[r]! * dim + c]! + P[r * dim + c]!;
    }
    for (let j = 0; j < k; j++) {
      if (count[j]! > 0) for (let c = 0; c < dim; c++) C[j * dim + c] = C[j * dim + c]! / count[j]!;
      else {
        // an empty cluster is reseeded at one random row (one draw: both ends of the slice)
        const row = rng.integer(n);
        C.set(P.subarray(row * dim, row * dim + dim), j * dim);
      }
    }
    if (changed === 0 && step > 0) break;
  }
  // smoothed memberships: 0.9 on the cluster, the rest spread
  const R = new Float64Array(n * k);
  const off = k > 1 ? 0.1 / (k - 1) : 0;
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) R[r * k + j] = k === 1 ? 1 : label[r] === j ? 0.9 : off;
  // experts: weighted least squares of y on (x, 1) per cluster
  const m = d + 1;
  const experts: Expert[] = [];
  for (let j = 0; j < k; j++) {
    const A = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    let sw = 0;
    for (let r = 0; r < n; r++) {
      const w = R[r * k + j]!;
      sw += w;
      for (let p = 0; p < m; p++) {
        const zp = p < d ? X[r * d + p]! : 1;
        rhs[p] = rhs[p]! + w * zp * Y[r]!;
        for (let q = 0; q < m; q++) A[p * m + q] = A[p * m + q]! + w * zp * (q < d ? X[r * d + q]! : 1);
      }
    }
    const coef = solveDamped(A, rhs, m);
    let ss = 0;
    for (let r = 0; r < n; r++) {
      let mu = coef[d]!;
      for (let p = 0; p < d; p++) mu += coef[p]! * X[r * d + p]!;
      ss += R[r * k + j]! * (Y[r]! - mu) ** 2;
    }
    experts.push({ beta0: 0, beta1: new Array(d).fill(0), a: Array.from(coef.subarray(0, d)), b: coef[d]!, nu: Math.max(ss / sw, 1e-6) });
  }
  // gate: a gate with its own data-driven form (the gaussian gate: weights, centroids and
  // covariances of the clusters in x) takes it from the memberships
  const own = gatingOf(gateDefinition(gate.type)).fromMemberships;
  if (own) {
    const gating = own(X, n, d, R, k);
    return { gate, experts: experts.map((e, j) => ({ ...gating[j]!, a: e.a, b: e.b, nu: e.nu })), input: { type: 'uniform', low: 0, high: 1, dim: d } };
  }
  // else a softmax gate fitted to the memberships (a temperature gate's logits are divided by tau)
  const softmax = createGate({ type: 'softmax' }, k, d);
  const theta = new Float64Array(softmax.nParams);
  // reference expert (the last) pinned at 0
  const pinned = (j: number) => j === k - 1 || (j >= k + (k - 1) * d && j < k + k * d);
  const free = Int32Array.from({ length: softmax.nParams }, (_, j) => j).filter((j) => !pinned(j));
  gateMStep(softmax, new CpuBackend(), theta, X, n, R, new Float64Array(n * k), free, { maxSteps: 20, tol: 1e-8 });
  const scale = gateDefinition(gate.type).startScale(gate);
  const { beta0, beta1 } = softmax.unpack(theta);
  experts.forEach((e, j) => {
    e.beta0 = beta0[j]! * scale;
    e.beta1 = beta1[j]!.map((v) => v * scale);
  });
  return { gate, experts, input: { type: 'uniform', low: 0, high: 1, dim: d } };
}
