/**
 * The translation alignment of the Voronoi loss (spec: losses.md, "Translation"): which common
 * gating shift (t0, t1) the aligned loss is taken at, and the search for it.
 *
 * Softmax weights do not change under a common shift of every (beta0_i, beta1_i), so the loss of
 * a fit is compared with the truth at an aligning shift: t0 from the {@link AlignmentRule} (the
 * mass-normalising t0, or the exact minimum over t0 for fixed cells), t1 by a Nelder–Mead search
 * (numerics/nelder-mead.ts) in the shift set of the gate ({@link ShiftMode},
 * {@link resolveShiftMode}). The loss itself (cells, masses, parameter terms) stays in
 * voronoi-loss.ts and is passed in as {@link StructureAt}, so this file knows the loss only through
 * its piecewise-linear form in s = exp(t0) ({@link Structure}, {@link valueAt}).
 */
import type { Model } from '../models/types.js';
import type { AtomExpert } from './validate.js';
import { NumericalError } from '../errors.js';
import { definitionOf } from '../gates/registry.js';
import { nelderMead } from '../numerics/nelder-mead.js';
import type { GateShift } from './parameter-errors.js';

/**
 * The set of common gating shifts the aligned loss minimises over.
 * - `'full'`: (t0, t1) in R x R^d: beta0_i + t0 and beta1_i + t1 for every fitted atom.
 * - `'intercept'`: t0 only (t1 = 0).
 * - `'none'`: no shift (aligned = raw).
 * - `'auto'`: the largest set that leaves the fit's gate unchanged: `'full'` for softmax, topk
 *   and temperature gates (softmax((beta1.x + beta0 + t1.x + t0) / tau) is the same function;
 *   top-K selections keep their order) and for the activation gate with the identity activation;
 *   `'intercept'` for the activation gate with tanh, sigmoid, gelu or relu, where
 *   sigma((beta1 + t1).x) != sigma(beta1.x) + const, so shifting beta1 changes the model.
 */
export type ShiftMode = 'auto' | 'full' | 'intercept' | 'none';

/**
 * How the aligned loss treats the intercept shift t0 (losses.md, "Translation", revised).
 * - `'massNormalised'` (default): t0 is fixed by normalising the fitted masses to the true total,
 *
 *       sum_i exp(beta0_i + t0) = sum_j exp(beta0*_j),
 *       t0 = log sum_j exp(beta0*_j) - log sum_i exp(beta0_i),
 *
 *   and the loss is minimised over t1 only (d variables; shift mode `'full'`). In mode
 *   `'intercept'` only t0 exists, so the aligned loss is the loss at that t0. The aligned loss of
 *   a shifted copy of the truth is 0 and it grows without bound as the fit moves away. It can
 *   exceed `raw` (the normalised t0 is not chosen to minimise the loss, and t0 = 0 is not a
 *   candidate).
 * - `'unconstrained'`: the former rule, the minimum over (t0, t1) jointly (over t0 alone in mode
 *   `'intercept'`). Always <= raw, but degenerate: t0 -> -Infinity empties every fitted mass, so
 *   the aligned loss never exceeds sum_j exp(beta0*_j) (1.000335 for the [DEMYS] truth) however
 *   poor the fit. Kept for comparison with earlier results only.
 *
 * Mode `'none'` ignores the rule (no shift at all: aligned = raw).
 */
export type AlignmentRule = 'massNormalised' | 'unconstrained';

export const SHIFT_MODES: readonly ShiftMode[] = ['auto', 'full', 'intercept', 'none'];
export const ALIGNMENT_RULES: readonly AlignmentRule[] = ['massNormalised', 'unconstrained'];

/**
 * The loss as a function of s = exp(t0) for a fixed t1:
 *     L(s) = sum_j | s M_j - M*_j | + s C
 * with M_j = sum_{i in A_j} exp(beta0_i) and C = sum_j sum_{i in A_j} exp(beta0_i) term_ij, both
 * held in units of exp(logScale) ({@link AlignmentProblem}): the loss at t0 is L(exp(t0 + logScale)).
 */
export interface Structure {
  cells: number[][];
  M: number[];
  C: number;
}

/** What the alignment search reads of a loss problem (voronoi-loss.ts's Problem has these). */
export interface AlignmentProblem {
  fit: readonly AtomExpert[];
  truth: readonly AtomExpert[];
  /** input dimension (the length of t1) */
  d: number;
  /** exp(beta0*_j) of every true atom */
  massTrue: readonly number[];
  /** the structures' fitted masses are in units of exp(logScale): the loss at t0 is L(exp(t0 + logScale)) */
  logScale: number;
}

/**
 * The loss's {@link Structure} with every fitted beta1 shifted by t1 (undefined = 0); `withCells`
 * false skips listing the cells (the search's objective needs only M and C). Throws a
 * NumericalError for a shift that makes a cell whose rbar is unknown.
 */
export type StructureAt = (t1: readonly number[] | undefined, withCells: boolean) => Structure;

/**
 * L(s) of the structure S at s = exp(t0 + logScale), in the structure's mass units (the loss of
 * the fit shifted by t0; s = exp(logScale) is the unshifted loss, s = 1 when logScale = 0).
 */
export function valueAt(S: Structure, massTrue: readonly number[], s: number): number {
  let v = s * S.C;
  for (let j = 0; j < massTrue.length; j++) v += Math.abs(s * S.M[j]! - massTrue[j]!);
  return v;
}

/**
 * Exact minimum over t0 for fixed cells: L(s) is convex and piecewise linear in
 * s = exp(t0 + logScale) > 0, so its infimum is at a breakpoint s = M*_j / M_j or in the limit
 * s -> 0 (value sum_j M*_j, t0 = -Infinity). t0 = 0 (s = exp(logScale)) is also tried where that
 * s is finite, so the result never exceeds the unshifted loss even by rounding.
 * @param logScale the structure's mass unit, log (see {@link AlignmentProblem}); default 0
 */
export function minOverT0(S: Structure, massTrue: readonly number[], logScale = 0): { t0: number; value: number } {
  // s is in the structure's units: t0 = log s - logScale (s = exp(logScale) is t0 = 0)
  let bestS = Math.exp(logScale);
  let best = Number.isFinite(bestS) ? valueAt(S, massTrue, bestS) : Infinity;
  for (let j = 0; j < massTrue.length; j++) {
    const Mj = S.M[j]!;
    if (!(Mj > 0)) continue;
    const s = massTrue[j]! / Mj;
    if (!(s > 0) || !Number.isFinite(s)) continue;
    const v = valueAt(S, massTrue, s);
    if (v < best) {
      best = v;
      bestS = s;
    }
  }
  const limit = massTrue.reduce((a, b) => a + b, 0);
  if (limit < best * (1 - 1e-12)) return { t0: -Infinity, value: limit };
  return { t0: Math.log(bestS) - logScale, value: best };
}

/**
 * The shift set of a fit's gate (what `'auto'` means, see {@link ShiftMode}), its definition's
 * `translation` trait: `'intercept'` for an activation gate with a non-homogeneous activation
 * (tanh, sigmoid, gelu, relu: shifting beta1 changes the model), `'none'` for the sigmoid gate (no
 * shift leaves it unchanged), `'full'` for the others. An explicit mode is returned as given.
 *
 * @param fit the fitted model (only its gate is read)
 * @param mode the requested shift set
 * @returns the shift set used
 * @example
 *   resolveShiftMode({ ...fit, gate: { type: 'activation', activation: 'tanh', tau: 1 } }, 'auto') // => 'intercept'
 *   resolveShiftMode({ ...fit, gate: { type: 'softmax' } }, 'auto')                               // => 'full'
 */
export function resolveShiftMode(fit: Model, mode: ShiftMode): Exclude<ShiftMode, 'auto'> {
  if (mode !== 'auto') return mode;
  // the gate's translation trait (gates/definition.ts): the shifts that leave its weights unchanged
  return definitionOf(fit.gate).translation(fit.gate);
}

/** log sum_i exp(x_i), stable for large |x_i|. */
function logSumExp(xs: readonly number[]): number {
  const top = Math.max(...xs);
  if (!Number.isFinite(top)) return top;
  let s = 0;
  for (const x of xs) s += Math.exp(x - top);
  return top + Math.log(s);
}

/**
 * The mass-normalising intercept shift: sum_i exp(beta0_i + t0) = sum_j exp(beta0*_j), i.e.
 * t0 = log sum_j exp(beta0*_j) - log sum_i exp(beta0_i) (internal). A t0 within a few ulps of 0
 * (masses that already sum to the true total, up to the rounding of the two sums) is taken as 0,
 * so such a fit is not moved by rounding (an exact split of a true atom keeps aligned = 0).
 */
function normalisingT0(P: AlignmentProblem): number {
  const t0 = logSumExp(P.truth.map((e) => e.beta0)) - logSumExp(P.fit.map((e) => e.beta0));
  return Math.abs(t0) <= 8 * Number.EPSILON ? 0 : t0;
}

/**
 * Align the fit (internal): the t0 rule for fixed cells (`inner`), then a search over t1.
 * `'massNormalised'`: t0 fixed (see {@link normalisingT0}); the total fitted mass does not depend
 * on t1 or on the cells, so t0 is the same for every t1. `'unconstrained'`: t0 minimised exactly
 * for each t1 (see {@link minOverT0}).
 */
export function align(
  P: AlignmentProblem,
  structureAt: StructureAt,
  mode: Exclude<ShiftMode, 'auto'>,
  rule: AlignmentRule,
  raw: Structure,
): { value: number; shift: GateShift; S: Structure } {
  const zero = new Array<number>(P.d).fill(0);
  if (mode === 'none') return { value: valueAt(raw, P.massTrue, Math.exp(P.logScale)), shift: { t0: 0, t1: zero }, S: raw };
  let inner: (S: Structure) => { t0: number; value: number };
  if (rule === 'unconstrained') {
    inner = (S) => minOverT0(S, P.massTrue, P.logScale);
  } else {
    const t0 = normalisingT0(P);
    const s0 = Math.exp(t0 + P.logScale);
    inner = (S) => ({ t0, value: valueAt(S, P.massTrue, s0) });
  }
  const inner0 = inner(raw);
  let best = { value: inner0.value, shift: { t0: inner0.t0, t1: zero }, S: raw };
  if (mode === 'intercept') return best;
  const f = (t1: readonly number[]): number => {
    try {
      return inner(structureAt(t1, false)).value;
    } catch (e) {
      if (e instanceof NumericalError) return Infinity; // a shift that makes a cell of >= 4 atoms: not a candidate
      throw e;
    }
  };
  // starts: 0, and every shift that puts a fitted slope onto a true slope
  const starts: number[][] = [zero];
  for (const t of P.truth) {
    for (const fi of P.fit) {
      const s = t.beta1.map((v, c) => v - fi.beta1[c]!);
      if (!starts.some((q) => q.every((v, c) => Math.abs(v - s[c]!) <= 1e-12 * (1 + Math.abs(v))))) starts.push(s);
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  let maxAbs = 0;
  for (const e of [...P.fit, ...P.truth]) {
    for (const v of e.beta1) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
  }
  const step0 = Math.max(0.1 * (hi - lo), 1e-2 * (1 + maxAbs));
  // phase 1: a coarse search from every start ranks the basins; phase 2: the best two are
  // refined to a tight tolerance with restarts from shrinking simplices
  const coarse: { x: number[]; f: number }[] = [{ x: zero, f: inner0.value }];
  for (const s of starts) {
    const r = nelderMead(f, s, { step: step0, xTol: 1e-5, fTol: 1e-9, maxEval: 80 * (P.d + 1) });
    coarse.push({ x: r.x, f: r.f });
  }
  coarse.sort((p, q) => p.f - q.f);
  let bx: number[] = zero;
  let bf = inner0.value;
  for (const c of coarse.slice(0, 2)) {
    let x = c.x;
    let fx = c.f;
    for (const scale of [1e-1, 1e-3, 1e-5]) {
      const r = nelderMead(f, x, { step: step0 * scale, xTol: 1e-13, fTol: 1e-16, maxEval: 200 * (P.d + 1) });
      if (r.f < fx) {
        fx = r.f;
        x = r.x;
      }
    }
    if (fx < bf) {
      bf = fx;
      bx = x;
    }
  }
  if (bf < best.value) {
    const S = structureAt(bx, true);
    const at = inner(S);
    best = { value: at.value, shift: { t0: at.t0, t1: bx }, S };
  }
  return best;
}

/**
 * The shift at which per-parameter errors are measured: the loss's t0 (which normalises the fitted
 * masses) with the mass-weighted least-squares t1 over the aligned cells,
 *   t1 = sum_i w_i (beta1*_{j(i)} - beta1_i) / sum_i w_i,   w_i = exp(beta0_i),  j(i) = i's cell,
 * (t1 = 0 where the shift mode has no slope shift). The loss's own t1 minimises a weighted sum of
 * |dbeta1_i + t1|, whose minimiser sits at a vertex where one atom's beta1 error is exactly 0: fine
 * for the loss, degenerate for a per-atom rate (that atom's error would read 0 in every fit). A
 * documented choice (docs/losses.md).
 */
export function errorShift(fit: readonly AtomExpert[], truth: readonly AtomExpert[], cells: readonly (readonly number[])[], shift: GateShift, mode: Exclude<ShiftMode, 'auto'>): GateShift {
  const d = shift.t1.length;
  const t1 = new Array<number>(d).fill(0);
  if (mode === 'full') {
    let top = -Infinity;
    for (const e of fit) top = Math.max(top, e.beta0);
    let total = 0;
    cells.forEach((cell, j) => {
      for (const i of cell) {
        const w = Math.exp(fit[i]!.beta0 - top);
        total += w;
        for (let p = 0; p < d; p++) t1[p] = t1[p]! + w * (truth[j]!.beta1[p]! - fit[i]!.beta1[p]!);
      }
    });
    if (total > 0) for (let p = 0; p < d; p++) t1[p] = t1[p]! / total;
  }
  return { t0: shift.t0, t1 };
}
