/**
 * Expected Hellinger and total-variation distances between the conditional densities of a fit
 * and of the truth (spec: losses.md, "Density distances"; models.md, "Conditional density").
 *
 *     p_G(y | x) = sum_i G_i(x) N(y | a_i.x + b_i, nu_i)      (nu a variance)
 *
 *     h^2(x)  = 1/2 int ( sqrt p_fit(y|x) - sqrt p_truth(y|x) )^2 dy     (the 1/2 convention: h in [0, 1])
 *     TV(x)   = 1/2 int | p_fit(y|x) - p_truth(y|x) | dy                  (in [0, 1])
 *     result  = E_X h(X), E_X TV(X) with X ~ truth.input
 *
 * ## Inner integral over y: fixed composite Gauss–Legendre
 *
 * Domain: the union of [m - 10 sd, m + 10 sd] over every component with a non-zero gate weight
 * of both models (merged intervals; outside, each component is below exp(-50) of its peak).
 * Panels: every component contributes breakpoints m + t sd, t = -10, -8, ..., 10 (step 2 sd);
 * the panels are the gaps between consecutive breakpoints that lie in the union. So each panel is
 * at most 2 sd wide for every component that is not negligible on it (a narrow component adds its
 * own breakpoints where it lives). On each panel a 12-point Gauss–Legendre rule: for a Gaussian of
 * sd s on a panel of width 2 s the rule's error is about 2^(-24) (2n)!^(-1/2) ~ 1e-13 of the
 * panel's mass, far below the 1e-8 asked; the test against the closed forms below measures
 * agreement to about 1e-12. With k + k* components that is at most 10 (k + k*) panels, 120 (k + k*)
 * density evaluations per x.
 * - Hellinger: the integrand (sqrt p - sqrt q)^2 is smooth and non-negative and is integrated
 *   as such (not as 1 - int sqrt(p q), which cancels catastrophically for close models).
 * - TV: |p - q| has kinks where p = q. On a panel where p - q changes sign between consecutive
 *   sample points the crossing is located (Illinois regula falsi on log p - log q, to 1e-14
 *   relative width) and the panel is split there, so every piece is smooth. A tangential crossing
 *   with no sign change is missed, but |p - q| is then quadratically small around it.
 * Densities are evaluated as log-sum-exp of log G_i(x) + log N(y | ...), so a gate weight of
 * exactly 0 (top-K) contributes nothing and nothing underflows to a spurious 0 - 0.
 *
 * ## Outer expectation over X
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
 */
import { modelLogWeights } from '../gates/index.js';
import type { Model } from '../models/types.js';
import { ConfigError, ModelError, NumericalError, show } from '../errors.js';
import { Rng, validateSeed } from '../rng/rng.js';
import { gaussLegendre } from './quadrature.js';
import { checkChoice, checkInteger, checkModels, checkOptionKeys } from './validate.js';

/** Gate log-weights of a model for a batch of inputs (the signature of `modelLogWeights`). */
export type LogWeightsFn = (model: Model, x: Float64Array, n: number, out: Float64Array) => void;

/** Options of {@link densityDistance}. */
export interface DensityDistanceOptions {
  /** `'mc'` (defaults) or `'quadrature'` (d = 1 with a uniform or grid input only) */
  method?: 'mc' | 'quadrature';
  /** number of x points (mc) or x nodes (quadrature, rounded up to a multiple of 8); defaults to 2000 (mc), 512 (quadrature) */
  nx?: number;
  /** seed of the Monte Carlo points; required for method 'mc' with a uniform or normal input */
  seed?: number;
  /** gate log-weights; defaults to `modelLogWeights` of `src/gates` (a backend may pass its kernel) */
  logWeights?: LogWeightsFn;
}

/** Result of {@link densityDistance}. */
export interface DensityDistanceResult {
  /** E_X h(p_fit(.|X), p_truth(.|X)), Hellinger distance with the 1/2 convention, in [0, 1] */
  hellinger: number;
  /** E_X TV(p_fit(.|X), p_truth(.|X)) = E_X 1/2 int |p_fit - p_truth| dy, in [0, 1] */
  tv: number;
  /** Monte Carlo standard error of `hellinger` (sd / sqrt(nx)); 0 for quadrature and grid designs */
  hellingerSE: number;
  /** Monte Carlo standard error of `tv`; 0 for quadrature and grid designs */
  tvSE: number;
  /** number of x points (or nodes) used */
  nx: number;
  method: 'mc' | 'quadrature';
}

/** Panels per component: breakpoints at m + t sd for t = -HALF_WIDTH..HALF_WIDTH step PANEL_SD. */
const HALF_WIDTH = 10;
const PANEL_SD = 2;
/** Breakpoints closer than MIN_GAP sd to the previous one are dropped (panels stay <= 2.5 sd). */
const MIN_GAP = 0.5;
/** Gauss–Legendre nodes per y panel (see the file's documentation for the error estimate). */
const Y_NODES = 12;
/** Gauss–Legendre nodes per x panel (quadrature over x). */
const X_NODES = 8;

/** Components of one model at one x: log(weight) + log normal constant, mean, 1/(2 nu), sd. */
interface Mixture {
  n: number;
  logc: Float64Array;
  mean: Float64Array;
  inv2v: Float64Array;
  sd: Float64Array;
}

function mixtureAt(model: Model, x: Float64Array, row: number, d: number, logW: Float64Array): Mixture {
  const k = model.experts.length;
  const logc = new Float64Array(k);
  const mean = new Float64Array(k);
  const inv2v = new Float64Array(k);
  const sd = new Float64Array(k);
  let n = 0;
  for (let i = 0; i < k; i++) {
    const lw = logW[row * k + i]!;
    if (lw === -Infinity) continue;
    const e = model.experts[i]!;
    let m = e.b;
    for (let c = 0; c < d; c++) m += e.a[c]! * x[row * d + c]!;
    logc[n] = lw - 0.5 * Math.log(2 * Math.PI * e.nu);
    mean[n] = m;
    inv2v[n] = 1 / (2 * e.nu);
    sd[n] = Math.sqrt(e.nu);
    n++;
  }
  return { n, logc, mean, inv2v, sd };
}

/** log p(y) by log-sum-exp over the mixture's components. */
function logDensity(mx: Mixture, y: number): number {
  let max = -Infinity;
  for (let i = 0; i < mx.n; i++) {
    const dy = y - mx.mean[i]!;
    const l = mx.logc[i]! - dy * dy * mx.inv2v[i]!;
    if (l > max) max = l;
  }
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < mx.n; i++) {
    const dy = y - mx.mean[i]!;
    s += Math.exp(mx.logc[i]! - dy * dy * mx.inv2v[i]! - max);
  }
  return max + Math.log(s);
}

/** Panels [lo, hi] covering the union of [m - 10 sd, m + 10 sd] of both mixtures. */
function panels(p: Mixture, q: Mixture): number[] {
  const iv: [number, number][] = [];
  const bps: [number, number][] = []; // (position, sd of the component that placed it)
  for (const mx of [p, q]) {
    for (let i = 0; i < mx.n; i++) {
      const m = mx.mean[i]!;
      const s = mx.sd[i]!;
      iv.push([m - HALF_WIDTH * s, m + HALF_WIDTH * s]);
      for (let t = -HALF_WIDTH; t <= HALF_WIDTH; t += PANEL_SD) bps.push([m + t * s, s]);
    }
  }
  iv.sort((u, v) => u[0] - v[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of iv) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  bps.sort((u, v) => u[0] - v[0]);
  // thin: a breakpoint closer than MIN_GAP sd (of either placer) to the last kept one adds a
  // sliver panel and no accuracy (close components of a good fit place near-duplicate points);
  // interval ends (+-10 sd) are always kept so that the union is covered exactly
  const kept: [number, number][] = [];
  for (const b of bps) {
    const last = kept[kept.length - 1];
    if (last && b[0] - last[0] < MIN_GAP * Math.min(b[1], last[1])) {
      continue;
    }
    kept.push(b);
  }
  const out: number[] = [];
  const ends = merged.flat();
  const all = [...kept.map((b) => b[0]), ...ends].sort((u, v) => u - v);
  let mi = 0;
  for (let b = 0; b + 1 < all.length; b++) {
    const lo = all[b]!;
    const hi = all[b + 1]!;
    if (!(hi > lo)) continue;
    const mid = 0.5 * (lo + hi);
    while (mi < merged.length && merged[mi]![1] < mid) mi++;
    const cur = merged[mi];
    if (cur && cur[0] <= mid && mid <= cur[1]) out.push(lo, hi);
  }
  return out;
}

/** Locate a crossing of log p - log q in (a, b), where g(a) and g(b) have opposite signs. */
function crossing(p: Mixture, q: Mixture, a: number, b: number, ga: number, gb: number): number {
  let side = 0;
  for (let it = 0; it < 200 && b - a > 1e-14 * (1 + Math.abs(a) + Math.abs(b)); it++) {
    let c = (a * gb - b * ga) / (gb - ga);
    if (!(c > a && c < b)) c = 0.5 * (a + b);
    const gc = logDensity(p, c) - logDensity(q, c);
    if (gc === 0 || !Number.isFinite(gc)) return c;
    if (gc > 0 === ga > 0) {
      a = c;
      ga = gc;
      if (side === -1) gb /= 2;
      side = -1;
    } else {
      b = c;
      gb = gc;
      if (side === 1) ga /= 2;
      side = 1;
    }
  }
  return 0.5 * (a + b);
}

/** h^2(x) and TV(x) for the two mixtures at one x. */
function innerDistances(p: Mixture, q: Mixture): { h2: number; tv: number } {
  const { nodes, weights } = gaussLegendre(Y_NODES);
  const pan = panels(p, q);
  let h2 = 0;
  let tv = 0;
  const ys: number[] = new Array(Y_NODES + 2);
  const gs: number[] = new Array(Y_NODES + 2);
  const tvPanel = (lo: number, hi: number): number => {
    const half = 0.5 * (hi - lo);
    const mid = 0.5 * (hi + lo);
    let s = 0;
    for (let r = 0; r < Y_NODES; r++) {
      const y = mid + half * nodes[r]!;
      s += weights[r]! * Math.abs(Math.exp(logDensity(p, y)) - Math.exp(logDensity(q, y)));
    }
    return s * half;
  };
  for (let b = 0; b < pan.length; b += 2) {
    const lo = pan[b]!;
    const hi = pan[b + 1]!;
    const half = 0.5 * (hi - lo);
    const mid = 0.5 * (hi + lo);
    let sh = 0;
    let st = 0;
    ys[0] = lo;
    gs[0] = logDensity(p, lo) - logDensity(q, lo);
    for (let r = 0; r < Y_NODES; r++) {
      const y = mid + half * nodes[r]!;
      const lp = logDensity(p, y);
      const lq = logDensity(q, y);
      const diff = Math.exp(0.5 * lp) - Math.exp(0.5 * lq);
      sh += weights[r]! * diff * diff;
      st += weights[r]! * Math.abs(Math.exp(lp) - Math.exp(lq));
      ys[r + 1] = y;
      gs[r + 1] = lp - lq;
    }
    ys[Y_NODES + 1] = hi;
    gs[Y_NODES + 1] = logDensity(p, hi) - logDensity(q, hi);
    h2 += sh * half;
    // split the panel at every sign change of log p - log q
    const cuts: number[] = [];
    for (let r = 0; r + 1 < Y_NODES + 2; r++) {
      const g0 = gs[r]!;
      const g1 = gs[r + 1]!;
      if (Number.isFinite(g0) && Number.isFinite(g1) && g0 !== 0 && g1 !== 0 && g0 > 0 !== g1 > 0) {
        cuts.push(crossing(p, q, ys[r]!, ys[r + 1]!, g0, g1));
      }
    }
    if (cuts.length === 0) {
      tv += st * half;
    } else {
      let a = lo;
      for (const c of cuts) {
        tv += tvPanel(a, c);
        a = c;
      }
      tv += tvPanel(a, hi);
    }
  }
  return { h2: 0.5 * h2, tv: 0.5 * tv };
}

/** Cholesky factor (lower) of a symmetric positive definite matrix, row-major d x d. */
function cholesky(cov: number[][], d: number, fn: string): Float64Array {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = cov[i]?.[j];
      if (typeof s !== 'number' || !Number.isFinite(s)) {
        throw new ModelError(`${fn}: truth.input.cov[${i}][${j}]: not a finite number (got ${show(s)}); cov must be ${d} x ${d}`);
      }
      for (let c = 0; c < j; c++) s -= L[i * d + c]! * L[j * d + c]!;
      if (i === j) {
        if (!(s > 0)) {
          throw new ModelError(`${fn}: truth.input.cov: not positive definite (got pivot ${show(s)} at ${i}); must be symmetric positive definite`);
        }
        L[i * d + i] = Math.sqrt(s);
      } else {
        L[i * d + j] = s / L[j * d + j]!;
      }
    }
  }
  return L;
}

/**
 * E_X Hellinger and E_X total-variation distances between p_fit(.|x) and p_truth(.|x)
 * (losses.md, "Density distances"), X ~ truth.input:
 *
 *     hellinger = E_X sqrt( 1/2 int (sqrt p_fit(y|X) - sqrt p_truth(y|X))^2 dy )
 *     tv        = E_X 1/2 int |p_fit(y|X) - p_truth(y|X)| dy
 *
 * Hellinger uses the 1/2 convention (h^2 = 1 - Bhattacharyya coefficient, h in [0, 1]). For two
 * normals with common sd s and means delta apart: h^2 = 1 - exp(-delta^2 / (8 s^2)) and
 * TV = 2 Phi(delta / (2 s)) - 1. The inner integral is a fixed composite Gauss–Legendre rule and
 * the outer expectation Monte Carlo or quadrature (see the file's documentation for both).
 *
 * @param fit fitted model; its gate gives the weights
 * @param truth true model; its input design gives the law of X; same input.dim as fit
 * @param opts `method` (defaults to `'mc'`), `nx` (defaults to 2000 for mc, 512 for
 *   quadrature), `seed` (required for mc with uniform or normal inputs), `logWeights`
 *   (defaults to `modelLogWeights`)
 * @returns `{hellinger, tv, hellingerSE, tvSE, nx, method}`
 * @throws {ConfigError} on an unknown option, a missing seed, or quadrature for d > 1 or a
 *   normal input
 * @throws {ModelError} on a dimension mismatch (names the field) or a bad input design
 * @throws {NumericalError} if a gate log-weight or a distance comes out NaN
 * @example
 *   // single-expert models, b = 0 and b = 1, nu = 1, same gate: delta = 1, s = 1
 *   densityDistance(fit, truth, { seed: 1 }).tv        // => 0.38292492254802624 (= 2 Phi(1/2) - 1; Python math.erf)
 *   densityDistance(fit, truth, { seed: 1 }).hellinger // => 0.34278724803499416 (= sqrt(1 - exp(-1/8)); Python math.expm1)
 */
export function densityDistance(fit: Model, truth: Model, opts: DensityDistanceOptions = {}): DensityDistanceResult {
  const fn = 'densityDistance';
  checkOptionKeys(fn, opts, ['method', 'nx', 'seed', 'logWeights']);
  const d = checkModels(fn, fit, truth);
  const method = checkChoice(fn, 'method', opts.method, ['mc', 'quadrature'] as const, 'mc');
  let nx = checkInteger(fn, 'nx', opts.nx, 2, 10_000_000, method === 'mc' ? 2000 : 512);
  const logWeights = opts.logWeights ?? modelLogWeights;
  if (typeof logWeights !== 'function') {
    throw new ConfigError(`${fn}: logWeights: not a function (got ${show(logWeights)}); pass (model, x, n, out) => void`);
  }
  const input = truth.input;
  const X = new Float64Array(nx * d);
  let xw: Float64Array | undefined; // quadrature weights (sum 1)
  if (method === 'quadrature') {
    if (d !== 1 || (input.type !== 'uniform' && input.type !== 'grid')) {
      throw new ConfigError(
        `${fn}: method: quadrature needs d = 1 and a uniform or grid input (got d = ${d}, input ${show(input.type)}); use method "mc"`,
      );
    }
    checkBox(fn, input.low, input.high);
    const P = Math.ceil(nx / X_NODES);
    nx = P * X_NODES;
    const { nodes, weights } = gaussLegendre(X_NODES);
    const xs = new Float64Array(nx);
    xw = new Float64Array(nx);
    const h = (input.high - input.low) / P;
    for (let p = 0; p < P; p++) {
      for (let r = 0; r < X_NODES; r++) {
        xs[p * X_NODES + r] = input.low + h * (p + 0.5 + 0.5 * nodes[r]!);
        xw[p * X_NODES + r] = (0.5 * weights[r]!) / P;
      }
    }
    return finish(fn, fit, truth, xs, nx, d, xw, method, logWeights, false);
  }
  if (input.type === 'grid') {
    checkBox(fn, input.low, input.high);
    if (d !== 1) {
      throw new ModelError(`${fn}: truth.input.dim: a grid design is 1-dimensional (got ${d}); use a uniform or normal input for d > 1`);
    }
    for (let i = 0; i < nx; i++) X[i] = input.low + ((input.high - input.low) * i) / (nx - 1);
    return finish(fn, fit, truth, X, nx, d, undefined, method, logWeights, false);
  }
  const seed = opts.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new ConfigError(`${fn}: seed: required for method "mc" with a ${input.type} input (got ${show(seed)}); pass an integer seed`);
  }
  const rng = new Rng(validateSeed(seed, `${fn}: seed`));
  if (input.type === 'uniform') {
    checkBox(fn, input.low, input.high);
    for (let i = 0; i < nx * d; i++) X[i] = input.low + (input.high - input.low) * rng.uniform();
  } else if (input.type === 'normal') {
    if (!Array.isArray(input.mean) || input.mean.length !== d || !input.mean.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ModelError(`${fn}: truth.input.mean: not ${d} finite numbers (got ${show(input.mean)}); must have input.dim = ${d} entries`);
    }
    const L = cholesky(input.cov, d, fn);
    const z = new Float64Array(d);
    for (let i = 0; i < nx; i++) {
      for (let c = 0; c < d; c++) z[c] = rng.normal();
      for (let c = 0; c < d; c++) {
        let v = input.mean[c]!;
        for (let l = 0; l <= c; l++) v += L[c * d + l]! * z[l]!;
        X[i * d + c] = v;
      }
    }
  } else {
    throw new ModelError(`${fn}: truth.input.type: unknown design (got ${show((input as { type: unknown }).type)}); must be uniform, grid or normal`);
  }
  return finish(fn, fit, truth, X, nx, d, undefined, method, logWeights, true);
}

function checkBox(fn: string, low: number, high: number): void {
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(high > low)) {
    throw new ModelError(`${fn}: truth.input.low, high: not an interval (got ${show(low)}, ${show(high)}); must be finite with low < high`);
  }
}

function finish(
  fn: string,
  fit: Model,
  truth: Model,
  X: Float64Array,
  nx: number,
  d: number,
  xw: Float64Array | undefined,
  method: 'mc' | 'quadrature',
  logWeights: LogWeightsFn,
  random: boolean,
): DensityDistanceResult {
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
  return { hellinger: sh, tv: st, hellingerSE, tvSE, nx, method };
}
