/**
 * Gaussian linear experts (spec: models.md):  f_i(y | x) = N(y | a_i.x + b_i, nu_i), nu_i a variance.
 * Parameters of all k experts as flat arrays: a (k x d, row-major), b (k), nu (k).
 */
import { solveDamped } from '../numerics/cholesky.js';
import type { Expert } from '../models/types.js';
import type { ExpertFamily, ExpertParameters } from './types.js';

export interface GaussianExperts extends ExpertParameters {
  readonly family: typeof gaussianLinear;
  /** k x d */
  a: Float64Array;
  b: Float64Array;
  nu: Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);

export function packExperts(experts: readonly Expert[], d: number): GaussianExperts {
  const k = experts.length;
  const a = new Float64Array(k * d);
  const b = new Float64Array(k);
  const nu = new Float64Array(k);
  experts.forEach((e, i) => {
    for (let p = 0; p < d; p++) a[i * d + p] = e.a[p]!;
    b[i] = e.b;
    nu[i] = e.nu;
  });
  return { k, d, family: gaussianLinear, a, b, nu };
}

export function copyExperts(e: GaussianExperts): GaussianExperts {
  return { k: e.k, d: e.d, family: gaussianLinear, a: e.a.slice(), b: e.b.slice(), nu: e.nu.slice() };
}

/** Whether packed parameters are the Gaussian linear family's (the fast kernels' layout). */
export function isGaussianLinear(p: ExpertParameters): p is GaussianExperts {
  return p.family.kernel === 'gaussian-linear';
}

/** log N(y | a_i.x + b_i, nu_i) = -0.5 log(2 pi nu_i) - (y - a_i.x - b_i)^2 / (2 nu_i), into out (n x k). */
export function expertLogDensities(
  e: GaussianExperts,
  X: Float64Array,
  Y: Float64Array,
  n: number,
  out: Float64Array,
): void {
  const { k, d, a, b, nu } = e;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) {
      let mean = b[i]!;
      for (let p = 0; p < d; p++) mean += a[i * d + p]! * X[r * d + p]!;
      const res = Y[r]! - mean;
      out[r * k + i] = -0.5 * (LOG_2PI + Math.log(nu[i]!)) - (res * res) / (2 * nu[i]!);
    }
  }
}

/**
 * Size of the per-expert weighted statistics block used by the M-step, with z = (x, 1), m = d + 1
 * and r = y - a_i.x - b_i the residual at the CURRENT parameters (centring keeps the variance
 * update free of cancellation):  [ Szz (m x m) | Szr (m) | Srr | ]
 *   Szz = sum_n w_ni z z',  Szr = sum_n w_ni z r,  Srr = sum_n w_ni r^2.
 */
export function expertStatsSize(d: number): number {
  const m = d + 1;
  return m * m + m + 1;
}

/**
 * Closed-form weighted M-step (spec: fitting.md, "M-step, experts"): weighted least squares of the
 * residual r on z gives the update delta = Szz^-1 Szr, so (a_i, b_i) += delta and
 *   nu_i = (Srr - delta.Szr) / sum_n w_ni,   floored at nuMin.
 * Updates `e` in place. Returns, per expert, whether the floor was hit (or the expert has no mass:
 * then its parameters are left unchanged and it is flagged).
 */
export function expertMStep(e: GaussianExperts, stats: Float64Array, nuMin: number): boolean[] {
  const { k, d, a, b, nu } = e;
  const m = d + 1;
  const size = expertStatsSize(d);
  const floored: boolean[] = [];
  const A = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  for (let i = 0; i < k; i++) {
    const o = i * size;
    const sw = stats[o + m * m - 1]!;
    if (!(sw > 0)) {
      floored.push(true);
      continue;
    }
    for (let t = 0; t < m * m; t++) A[t] = stats[o + t]!;
    for (let t = 0; t < m; t++) rhs[t] = stats[o + m * m + t]!;
    const delta = solveDamped(A, rhs, m);
    const srr = stats[o + m * m + m]!;
    let fitted = 0;
    for (let t = 0; t < m; t++) fitted += delta[t]! * stats[o + m * m + t]!;
    for (let p = 0; p < d; p++) a[i * d + p] = a[i * d + p]! + delta[p]!;
    b[i] = b[i]! + delta[d]!;
    const v = (srr - fitted) / sw;
    if (v > nuMin) {
      nu[i] = v;
      floored.push(false);
    } else {
      nu[i] = nuMin;
      floored.push(true);
    }
  }
  return floored;
}

/**
 * Add w times the point (x, y) to expert i's centred statistics (layout of expertStatsSize), with
 * r = y - a_i.x - b_i at the current parameters: the lower triangle of Szz and its constant
 * column, Szr and Srr (finishStatistics fills the symmetric halves). The same operations in the
 * same order as the CPU backend's reference E-step, so the generic E-step matches it bit for bit.
 */
function addStatistics(e: GaussianExperts, i: number, X: Float64Array, xo: number, y: number, w: number, stats: Float64Array, so: number): void {
  const { d, a, b } = e;
  const m = d + 1;
  let mean = b[i]!;
  for (let p = 0; p < d; p++) mean += a[i * d + p]! * X[xo + p]!;
  const res = y - mean;
  for (let p = 0; p < d; p++) {
    const wx = w * X[xo + p]!;
    for (let q = 0; q <= p; q++) stats[so + p * m + q] = stats[so + p * m + q]! + wx * X[xo + q]!;
    stats[so + p * m + d] = stats[so + p * m + d]! + wx;
    stats[so + m * m + p] = stats[so + m * m + p]! + wx * res;
  }
  stats[so + d * m + d] = stats[so + d * m + d]! + w;
  stats[so + m * m + d] = stats[so + m * m + d]! + w * res;
  stats[so + m * m + m] = stats[so + m * m + m]! + w * res * res;
}

/** Fill the symmetric halves of every Szz (each off-diagonal entry was added in one triangle). */
function finishStatistics(e: GaussianExperts, stats: Float64Array): void {
  const { k, d } = e;
  const m = d + 1;
  const size = expertStatsSize(d);
  for (let i = 0; i < k; i++) {
    const so = i * size;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const v = stats[so + q * m + p]! + stats[so + p * m + q]!;
        stats[so + p * m + q] = v;
        stats[so + q * m + p] = v;
      }
    }
  }
}

/**
 * The Gaussian linear expert family: f_i(y | x) = N(y | a_i.x + b_i, nu_i).
 *   MLE coordinates (after the gate's): a (k x d, row-major), b (k), log nu (k);
 *   dL/d(a_i, b_i) = sum_n R_ni z_n r_ni / nu_i = Szr_i / nu_i,  z = (x, 1), r = y - a_i.x - b_i;
 *   dL/dlog nu_i = sum_n R_ni (r_ni^2 / (2 nu_i) - 1/2) = Srr_i / (2 nu_i) - Sw_i / 2.
 * @example gaussianLinear.pack([{ beta0: 0, beta1: [0], a: [1], b: 0, nu: 1 }], 1).nu // => Float64Array [1]
 */
export const gaussianLinear: ExpertFamily<GaussianExperts> = {
  name: 'gaussian-linear',
  kernel: 'gaussian-linear',
  fields: ['a', 'b', 'nu'],
  pack: packExperts,
  unpack: (e, i) => ({ a: Array.from(e.a.subarray(i * e.d, i * e.d + e.d)), b: e.b[i]!, nu: e.nu[i]! }),
  copy: copyExperts,
  assign(dst, src) {
    dst.a.set(src.a);
    dst.b.set(src.b);
    dst.nu.set(src.nu);
  },
  logDensities: expertLogDensities,
  statsSize: expertStatsSize,
  addStatistics,
  finishStatistics,
  mStep: expertMStep,
  vectorSize: (k, d) => k * (d + 2),
  toVector(e, v, off) {
    const { k, d } = e;
    for (let t = 0; t < k * d; t++) v[off + t] = e.a[t]!;
    for (let i = 0; i < k; i++) {
      v[off + k * d + i] = e.b[i]!;
      v[off + k * d + k + i] = Math.log(e.nu[i]!);
    }
  },
  fromVector(e, v, off) {
    const { k, d } = e;
    for (let t = 0; t < k * d; t++) e.a[t] = v[off + t]!;
    for (let i = 0; i < k; i++) {
      e.b[i] = v[off + k * d + i]!;
      e.nu[i] = Math.exp(v[off + k * d + k + i]!);
    }
  },
  project(e, floor) {
    for (let i = 0; i < e.k; i++) if (!(e.nu[i]! >= floor)) e.nu[i] = floor;
  },
  onFloor: (e, floor) => Array.from(e.nu).flatMap((nu, i) => (nu <= floor ? [i] : [])),
  gradient(e, stats, grad, off) {
    const { k, d } = e;
    const m = d + 1;
    const size = expertStatsSize(d);
    for (let i = 0; i < k; i++) {
      const o = i * size;
      const nu = e.nu[i]!;
      for (let p = 0; p < d; p++) grad[off + i * d + p] = stats[o + m * m + p]! / nu;
      grad[off + k * d + i] = stats[o + m * m + d]! / nu;
      const sw = stats[o + m * m - 1]!;
      grad[off + k * d + k + i] = stats[o + m * m + m]! / (2 * nu) - sw / 2;
    }
  },
  pointScore(e, X, xo, y, w, s, off) {
    const { k, d, a, b, nu } = e;
    const offB = off + k * d;
    const offNu = offB + k;
    for (let i = 0; i < k; i++) {
      const wi = w[i]!;
      const o = off + i * d;
      if (wi === 0) {
        for (let p = 0; p < d; p++) s[o + p] = 0;
        s[offB + i] = 0;
        s[offNu + i] = 0;
        continue;
      }
      let mean = b[i]!;
      for (let p = 0; p < d; p++) mean += a[i * d + p]! * X[xo + p]!;
      const res = y - mean;
      const c = (wi * res) / nu[i]!;
      for (let p = 0; p < d; p++) s[o + p] = c * X[xo + p]!;
      s[offB + i] = c;
      s[offNu + i] = wi * ((res * res) / (2 * nu[i]!) - 0.5);
    }
  },
  heldByFloor(e, u, score, floor) {
    const i = u - e.k * (e.d + 1);
    return i >= 0 && e.nu[i]! <= floor * (1 + 1e-9) && score < 0;
  },
};
