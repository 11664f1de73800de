/**
 * The outer expectation over X of the density distances (spec: losses.md, "Density distances"):
 *
 *     E_X h(X) ~ sum_r w_r h(x_r),   E_X TV(X) ~ sum_r w_r TV(x_r)
 *
 * over a design of x points with weights w_r (sum 1), with h and TV at each x from the inner
 * integral over y (density-y-integral.ts).
 *
 * - `method: 'mc'` (default): Monte Carlo over `nx` points drawn from `truth.input` with a local
 *   seeded generator (`seed` required): uniform on the box [low, high]^d; normal as
 *   mean + L z with L the Cholesky factor of cov; for a `grid` input the fixed design
 *   linspace(low, high, nx) (no randomness; SE 0: the average over the design is exact for a
 *   design of nx points). SE = sample sd (n - 1 denominator) / sqrt(nx).
 * - `method: 'quadrature'` (d = 1, uniform or grid input): composite 8-point Gauss–Legendre on
 *   [low, high] with ceil(nx / 8) panels (nx rounded up to a multiple of 8), weight
 *   1 / (high - low); SE 0. Kinks of h(x) (where the models cross) and jumps of a top-K gate
 *   make this only algebraically accurate in the x panel width.
 *
 * The Monte Carlo points and the grid design come from the sampling module's input sampler
 * (sampling/input.ts, the one x sampler); this file only weights and averages.
 */
import type { Model } from '../models/types.js';
import { NumericalError, show } from '../errors.js';
import { innerDistances, mixtureAt } from './density-y-integral.js';
import { gaussLegendre } from './quadrature.js';

/** Gate log-weights of a model for a batch of inputs (the signature of `modelLogWeights`). */
export type LogWeightsFn = (model: Model, x: Float64Array, n: number, out: Float64Array) => void;

/** Gauss–Legendre nodes per x panel (quadrature over x). */
const X_NODES = 8;

/** E_X h and E_X TV over a design, with their Monte Carlo standard errors (0 for a fixed design). */
export interface AveragedDistances {
  hellinger: number;
  tv: number;
  hellingerSE: number;
  tvSE: number;
}

/**
 * The x nodes and weights of composite Gauss–Legendre over [low, high]: ceil(nx / 8) panels of
 * 8 nodes, node weight (w_r / 2) / P, so the weights sum to 1 (the average over [low, high]).
 *
 * @param low lower end of the interval
 * @param high upper end (> low)
 * @param nx nodes asked; rounded up to a multiple of 8
 * @returns `{xs, xw, nx}` with the rounded nx
 * @example
 *   quadratureDesign(0, 1, 5).nx // => 8
 */
export function quadratureDesign(low: number, high: number, nx: number): { xs: Float64Array; xw: Float64Array; nx: number } {
  const P = Math.ceil(nx / X_NODES);
  nx = P * X_NODES;
  const { nodes, weights } = gaussLegendre(X_NODES);
  const xs = new Float64Array(nx);
  const xw = new Float64Array(nx);
  const h = (high - low) / P;
  for (let p = 0; p < P; p++) {
    for (let r = 0; r < X_NODES; r++) {
      xs[p * X_NODES + r] = low + h * (p + 0.5 + 0.5 * nodes[r]!);
      xw[p * X_NODES + r] = (0.5 * weights[r]!) / P;
    }
  }
  return { xs, xw, nx };
}

/**
 * Average h(x) and TV(x) over the design X (nx x d): weights xw (quadrature) or 1/nx; with
 * `random`, the Monte Carlo standard errors sd / sqrt(nx) (n - 1 denominator), else 0.
 * @throws {NumericalError} if a gate log-weight or a distance is NaN, or a gate drops every expert
 */
export function averageDistances(
  fn: string,
  fit: Model,
  truth: Model,
  X: Float64Array,
  nx: number,
  d: number,
  xw: Float64Array | undefined,
  logWeights: LogWeightsFn,
  random: boolean,
): AveragedDistances {
  const k = fit.experts.length;
  const kStar = truth.experts.length;
  const lwF = new Float64Array(nx * k);
  const lwT = new Float64Array(nx * kStar);
  logWeights(fit, X, nx, lwF);
  logWeights(truth, X, nx, lwT);
  for (const [name, arr] of [['fit', lwF], ['truth', lwT]] as const) {
    for (let i = 0; i < arr.length; i++) {
      if (Number.isNaN(arr[i]!)) {
        throw new NumericalError(`${fn}: ${name} gate log-weight is NaN (got NaN at x row ${Math.floor(i / (name === 'fit' ? k : kStar))}); check the gate parameters`);
      }
    }
  }
  let sh = 0;
  let st = 0;
  const hs = new Float64Array(nx);
  const ts = new Float64Array(nx);
  for (let r = 0; r < nx; r++) {
    const p = mixtureAt(fit, X, r, d, lwF);
    const q = mixtureAt(truth, X, r, d, lwT);
    if (p.n === 0 || q.n === 0) {
      throw new NumericalError(`${fn}: every gate weight is 0 at x row ${r} (got ${p.n === 0 ? 'fit' : 'truth'}); a gate must keep at least one expert`);
    }
    const { h2, tv: tvx } = innerDistances(p, q);
    // rounding can push the quadrature a hair outside [0, 1]
    const h = Math.sqrt(Math.min(1, Math.max(0, h2)));
    const t = Math.min(1, Math.max(0, tvx));
    if (Number.isNaN(h) || Number.isNaN(t)) {
      throw new NumericalError(`${fn}: distance is NaN at x row ${r} (got h^2 = ${show(h2)}, TV = ${show(tvx)}); check the expert parameters`);
    }
    const w = xw ? xw[r]! : 1 / nx;
    sh += w * h;
    st += w * t;
    hs[r] = h;
    ts[r] = t;
  }
  let hellingerSE = 0;
  let tvSE = 0;
  if (random) {
    // two-pass sample variance (n - 1 denominator): no cancellation when the values barely vary
    let vh = 0;
    let vt = 0;
    for (let r = 0; r < nx; r++) {
      vh += (hs[r]! - sh) ** 2;
      vt += (ts[r]! - st) ** 2;
    }
    hellingerSE = Math.sqrt(vh / (nx - 1) / nx);
    tvSE = Math.sqrt(vt / (nx - 1) / nx);
  }
  return { hellinger: sh, tv: st, hellingerSE, tvSE };
}
