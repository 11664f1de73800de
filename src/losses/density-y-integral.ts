/**
 * The inner integral over y of the density distances (spec: losses.md, "Density distances"): for
 * two Gaussian mixtures p, q in y at one x,
 *
 *     h^2(x) = 1/2 int ( sqrt p(y) - sqrt q(y) )^2 dy,     TV(x) = 1/2 int | p(y) - q(y) | dy
 *
 * ## Fixed composite Gauss–Legendre
 *
 * Domain: the union of [m - 10 sd, m + 10 sd] over every component with a non-zero gate weight
 * of both models (merged intervals; outside, each component is below exp(-50) of its peak).
 * Panels: every component contributes breakpoints m + t sd, t = -10, -8, ..., 10 (step 2 sd);
 * the panels are the gaps between consecutive breakpoints that lie in the union. So each panel is
 * at most 2 sd wide for every component that is not negligible on it (a narrow component adds its
 * own breakpoints where it lives). On each panel a 12-point Gauss–Legendre rule: for a Gaussian of
 * sd s on a panel of width 2 s the rule's error is about 2^(-24) (2n)!^(-1/2) ~ 1e-13 of the
 * panel's mass, far below the 1e-8 asked; the test against the closed forms (see
 * densityDistance) measures agreement to about 1e-12. With k + k* components that is at most 10 (k + k*) panels, 120 (k + k*)
 * density evaluations per x.
 * - Hellinger: the integrand (sqrt p - sqrt q)^2 is smooth and non-negative and is integrated
 *   as such (not as 1 - int sqrt(p q), which cancels catastrophically for close models).
 * - TV: |p - q| has kinks where p = q. On a panel where p - q changes sign between consecutive
 *   sample points the crossing is located (Illinois regula falsi on log p - log q, to 1e-14
 *   relative width) and the panel is split there, so every piece is smooth. A tangential crossing
 *   with no sign change is missed, but |p - q| is then quadratically small around it.
 * Densities are evaluated as log-sum-exp of log G_i(x) + log N(y | ...), so a gate weight of
 * exactly 0 (top-K) contributes nothing and nothing underflows to a spurious 0 - 0.
 */
import type { Model } from '../models/types.js';
import { gaussLegendre } from './quadrature.js';

/** Panels per component: breakpoints at m + t sd for t = -HALF_WIDTH..HALF_WIDTH step PANEL_SD. */
const HALF_WIDTH = 10;
const PANEL_SD = 2;
/** Breakpoints closer than MIN_GAP sd to the previous one are dropped (panels stay <= 2.5 sd). */
const MIN_GAP = 0.5;
/** Gauss–Legendre nodes per y panel (see the file's documentation for the error estimate). */
const Y_NODES = 12;

/** Components of one model at one x: log(weight) + log normal constant, mean, 1/(2 nu), sd. */
export interface Mixture {
  n: number;
  logc: Float64Array;
  mean: Float64Array;
  inv2v: Float64Array;
  sd: Float64Array;
}

/**
 * The components of `model` with a non-zero gate weight at row `row` of X (n x d), from the
 * gate log-weights logW (n x k) of that model.
 */
export function mixtureAt(model: Model, x: Float64Array, row: number, d: number, logW: Float64Array): Mixture {
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

/**
 * h^2(x) and TV(x) for the two mixtures at one x:
 *
 *     h^2(x) = 1/2 int (sqrt p(y) - sqrt q(y))^2 dy,   TV(x) = 1/2 int |p(y) - q(y)| dy
 *
 * by the composite rule of the file's documentation.
 * @param p the fit's mixture at x (see {@link mixtureAt})
 * @param q the truth's mixture at x
 * @returns `{h2, tv}` (rounding may put them a hair outside [0, 1])
 */
export function innerDistances(p: Mixture, q: Mixture): { h2: number; tv: number } {
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
