/**
 * Gaussian linear experts (spec: models.md):  f_i(y | x) = N(y | a_i.x + b_i, nu_i), nu_i a variance.
 * Parameters of all k experts as flat arrays: a (k x d, row-major), b (k), nu (k).
 */
import { solveDamped } from '../numerics/cholesky.js';
import type { Expert } from '../models/types.js';

export interface GaussianExperts {
  k: number;
  d: number;
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
  return { k, d, a, b, nu };
}

export function copyExperts(e: GaussianExperts): GaussianExperts {
  return { k: e.k, d: e.d, a: e.a.slice(), b: e.b.slice(), nu: e.nu.slice() };
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
