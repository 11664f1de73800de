/**
 * Voronoi losses D1 (exact-specified) and D2 (over-specified), raw and aligned
 * (spec: losses.md, "Exact-specified loss D1", "Over-specified loss D2", "Translation").
 */
import type { Expert, GateType, Model } from '../models/types.js';
import { ModelError, NumericalError } from '../errors.js';
import { numericExponents, resolveExponents, type BlockExponents, type LossExponents, type NumericExponents, type ResolvedExponents } from './exponents.js';
import { nelderMead } from './nelder-mead.js';
import { atomErrors, type AtomErrors, type GateShift } from './parameter-errors.js';
import { assignCells, TIE_RTOL, VORONOI_METRICS, type VoronoiMetric } from './voronoi.js';
import { checkBoolean, checkChoice, checkModels, checkOptionKeys, tauDifference } from './validate.js';

/** Which Voronoi loss: D1 for k = k*, D2 for k > k*. */
export type LossKind = 'D1' | 'D2';

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

/** Options of {@link lossD1} and {@link lossD2}. */
export interface LossOptions {
  /** distance of the Voronoi cells; defaults to `'euclidean'` (see `voronoiCells`) */
  metric?: VoronoiMetric;
  /**
   * whether the gate temperature tau was fitted; then every atom's term gains |tau - tau*|^e_tau.
   * Both gates must have tau. Defaults to false.
   */
  tauFitted?: boolean;
  /** exponents per block and cell kind; defaults to `defaultExponents(fit.gate.type)` */
  exponents?: LossExponents;
}

/** Options of {@link voronoiLoss}. */
export interface VoronoiLossOptions extends LossOptions {
  /** shift set of the aligned loss; defaults to `'auto'` (see {@link ShiftMode}) */
  shift?: ShiftMode;
}

/** Result of {@link voronoiLoss}. */
export interface VoronoiLossResult {
  kind: LossKind;
  /** the loss of the fit as given */
  raw: number;
  /** min over the common shift of the loss of the shifted fit; always <= raw */
  aligned: number;
  /** Voronoi cells of the fit as given (for each true atom j, fitted indices in A_j) */
  cells: number[][];
  /** Voronoi cells of the aligned (shifted) fit */
  alignedCells: number[][];
  /** the minimising shift; t0 = -Infinity when the infimum is reached only as every weight -> 0 */
  shift: GateShift;
  /** per-parameter errors, raw and at the aligning shift */
  errors: { raw: AtomErrors[]; aligned: AtomErrors[] };
  /** the options used, defaults filled in */
  options: { metric: VoronoiMetric; tauFitted: boolean; shift: Exclude<ShiftMode, 'auto'>; exponents: ResolvedExponents };
}

interface Problem {
  kind: LossKind;
  fit: readonly Expert[];
  truth: readonly Expert[];
  d: number;
  metric: VoronoiMetric;
  dtau: number | undefined;
  exps: ResolvedExponents;
  wFit: number[];
  massTrue: number[];
  /** numeric exponents by cell size (index m), or the error rbar(m) threw */
  cache: (NumericExponents | NumericalError | undefined)[];
  /** per pair (i, j), index i * kStar + j: ||da||, |db|, |dnu| and the beta1-free part of the distance */
  da: Float64Array;
  db: Float64Array;
  dnu: Float64Array;
  base: Float64Array;
  /** scratch: assigned cell and ||dbeta1|| of each fitted atom, cell sizes */
  assign: Int32Array;
  b1: Float64Array;
  sizes: Int32Array;
}

const SHIFT_MODES: readonly ShiftMode[] = ['auto', 'full', 'intercept', 'none'];

function prepare(fn: string, want: LossKind | 'auto', fit: Model, truth: Model, opts: LossOptions | undefined, keys: readonly string[]): Problem {
  checkOptionKeys(fn, opts, keys);
  const d = checkModels(fn, fit, truth);
  const k = fit.experts.length;
  const kStar = truth.experts.length;
  const kind: LossKind = want === 'auto' ? (k === kStar ? 'D1' : 'D2') : want;
  if (kind === 'D1' && k !== kStar) {
    throw new ModelError(
      `${fn}: fit.experts: D1 needs as many fitted atoms as true atoms (got k = ${k}, k* = ${kStar}); use lossD2 for k > k*`,
    );
  }
  if (k < kStar) {
    throw new ModelError(
      `${fn}: fit.experts: fewer fitted atoms than true atoms (got k = ${k} < k* = ${kStar}); Voronoi losses need k >= k*`,
    );
  }
  const metric = checkChoice(fn, 'metric', opts?.metric, VORONOI_METRICS, 'euclidean');
  const tauFitted = checkBoolean(fn, 'tauFitted', opts?.tauFitted, false);
  const dtau = tauDifference(fn, fit, truth, tauFitted);
  const gateType: GateType = fit.gate.type;
  const exps = resolveExponents(fn, gateType, opts?.exponents);
  const da = new Float64Array(k * kStar);
  const db = new Float64Array(k * kStar);
  const dnu = new Float64Array(k * kStar);
  const base = new Float64Array(k * kStar);
  fit.experts.forEach((f, i) => {
    truth.experts.forEach((t, j) => {
      let sa = 0;
      for (let c = 0; c < d; c++) sa += (f.a[c]! - t.a[c]!) ** 2;
      const q = i * kStar + j;
      da[q] = Math.sqrt(sa);
      db[q] = Math.abs(f.b - t.b);
      dnu[q] = Math.abs(f.nu - t.nu);
      base[q] = metric === 'blocks' ? da[q]! + db[q]! + dnu[q]! : sa + db[q]! ** 2 + dnu[q]! ** 2;
    });
  });
  return {
    da,
    db,
    dnu,
    base,
    assign: new Int32Array(k),
    b1: new Float64Array(k),
    sizes: new Int32Array(kStar),
    kind,
    fit: fit.experts,
    truth: truth.experts,
    d,
    metric,
    dtau,
    exps,
    wFit: fit.experts.map((e) => Math.exp(e.beta0)),
    massTrue: truth.experts.map((e) => Math.exp(e.beta0)),
    cache: new Array(k + 1).fill(undefined),
  };
}

function exponentsFor(P: Problem, m: number): NumericExponents {
  let e = P.cache[m];
  if (e === undefined) {
    const set: keyof ResolvedExponents = P.kind === 'D1' ? 'exact' : m === 1 ? 'singleton' : 'multi';
    try {
      e = numericExponents(P.exps[set] as BlockExponents, m);
    } catch (err) {
      if (!(err instanceof NumericalError)) throw err;
      e = err;
    }
    P.cache[m] = e;
  }
  if (e instanceof NumericalError) throw e;
  return e;
}

/**
 * The loss as a function of s = exp(t0) for a fixed t1:
 *     L(s) = sum_j | s M_j - M*_j | + s C
 * with M_j = sum_{i in A_j} exp(beta0_i) and C = sum_j sum_{i in A_j} exp(beta0_i) term_ij.
 */
interface Structure {
  cells: number[][];
  M: number[];
  C: number;
}

/**
 * Cells, masses and parameter term for a slope shift t1 (undefined = 0). The distance of each
 * pair is that of `voronoi.ts` (same metric, same tie rule), computed from the precomputed
 * beta1-free parts; `assignCells` and this function must agree (a test checks it).
 */
function structure(P: Problem, t1: readonly number[] | undefined, withCells = true): Structure {
  const k = P.fit.length;
  const kStar = P.truth.length;
  const { assign, b1, sizes } = P;
  sizes.fill(0);
  for (let i = 0; i < k; i++) {
    const f = P.fit[i]!.beta1;
    let best = 0;
    let bestD = Infinity;
    let bestB = 0;
    for (let j = 0; j < kStar; j++) {
      const t = P.truth[j]!.beta1;
      let sb = 0;
      for (let c = 0; c < P.d; c++) {
        const v = f[c]! + (t1 ? t1[c]! : 0) - t[c]!;
        sb += v * v;
      }
      const bn = Math.sqrt(sb);
      const q = i * kStar + j;
      const dist = P.metric === 'blocks' ? bn + P.base[q]! : Math.sqrt(sb + P.base[q]!);
      if (j === 0 || dist < bestD * (1 - TIE_RTOL)) {
        best = j;
        bestD = dist;
        bestB = bn;
      }
    }
    assign[i] = best;
    b1[i] = bestB;
    sizes[best] = sizes[best]! + 1;
  }
  const M = new Array<number>(kStar).fill(0);
  let C = 0;
  for (let i = 0; i < k; i++) {
    const j = assign[i]!;
    const e = exponentsFor(P, sizes[j]!);
    const q = i * kStar + j;
    let term = b1[i]! ** e.beta1 + P.da[q]! ** e.a + P.db[q]! ** e.b + P.dnu[q]! ** e.nu;
    if (P.dtau !== undefined) term += P.dtau ** e.tau;
    const w = P.wFit[i]!;
    M[j] = M[j]! + w;
    C += w * term;
  }
  const cells: number[][] = [];
  if (withCells) {
    for (let j = 0; j < kStar; j++) cells.push([]);
    for (let i = 0; i < k; i++) cells[assign[i]!]!.push(i);
  }
  return { cells, M, C };
}

/** The unshifted structure; an unknown rbar is reported with the cell it concerns. */
function rawStructure(fn: string, P: Problem): Structure {
  try {
    return structure(P, undefined);
  } catch (e) {
    if (!(e instanceof NumericalError)) throw e;
    const cells = assignCells(P.fit, P.truth, P.metric);
    const j = cells.findIndex((c) => c.length > 0 && P.cache[c.length] instanceof NumericalError);
    const where = j >= 0 ? `the Voronoi cell of true atom ${j} holds fitted atoms ${JSON.stringify(cells[j])}: ` : '';
    throw new NumericalError(`${fn}: ${where}${e.message}`);
  }
}

function valueAt(S: Structure, massTrue: readonly number[], s: number): number {
  let v = s * S.C;
  for (let j = 0; j < massTrue.length; j++) v += Math.abs(s * S.M[j]! - massTrue[j]!);
  return v;
}

/**
 * Exact minimum over t0 for fixed cells: L(s) is convex and piecewise linear in s = exp(t0) > 0,
 * so its infimum is at a breakpoint s = M*_j / M_j or in the limit s -> 0 (value sum_j M*_j,
 * t0 = -Infinity). s = 1 (t0 = 0) is also tried, so the result never exceeds the unshifted loss
 * even by rounding.
 */
function minOverT0(S: Structure, massTrue: readonly number[]): { t0: number; value: number } {
  let bestS = 1;
  let best = valueAt(S, massTrue, 1);
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
  return { t0: Math.log(bestS), value: best };
}

function checkFinite(fn: string, v: number, what: string): number {
  if (Number.isNaN(v)) throw new NumericalError(`${fn}: ${what} is NaN (got NaN); check the model parameters for overflow`);
  return v;
}

/**
 * Exact-specified Voronoi loss (losses.md, "Exact-specified loss D1"; [DEMYS] Thm 1), for k = k*:
 *
 *     D1(G, G*) = sum_j | sum_{i in A_j} exp(beta0_i) - exp(beta0*_j) |
 *               + sum_j sum_{i in A_j} exp(beta0_i) ( ||dbeta1_ij||^e1 + ||da_ij||^e2 + |db_ij|^e3 + |dnu_ij|^e4 [+ |dtau|^e5] )
 *
 * with dbeta1_ij = beta1_i - beta1*_j etc., A_j the Voronoi cells, and exponents
 * `exponents.exact` (defaults to all 1, the paper's D1). The fit is taken as given (no alignment:
 * see {@link voronoiLoss}). Every atom of every cell counts, even when a cell holds two atoms.
 *
 * @param fit fitted model, k atoms
 * @param truth true model, k* = k atoms, same input.dim
 * @param opts `metric` (defaults to `'euclidean'`), `tauFitted` (defaults to false), `exponents`
 * @returns D1 >= 0; 0 exactly at the truth
 * @throws {ModelError} if k != k*, on a dimension mismatch (names the field) or a bad parameter
 * @throws {ConfigError} on an unknown option or bad exponent
 * @example
 *   lossD1(truth, truth) // => 0
 */
export function lossD1(fit: Model, truth: Model, opts?: LossOptions): number {
  const P = prepare('lossD1', 'D1', fit, truth, opts, ['metric', 'tauFitted', 'exponents']);
  return checkFinite('lossD1', valueAt(rawStructure('lossD1', P), P.massTrue, 1), 'the loss');
}

/**
 * Over-specified Voronoi loss (losses.md, "Over-specified loss D2"; [DEMYS] Thm 2), for k >= k*:
 *
 *     D2(G, G*) = sum_j | sum_{i in A_j} exp(beta0_i) - exp(beta0*_j) |
 *               + sum_{j: |A_j| = 1} sum_{i in A_j} exp(beta0_i) ( ||dbeta1|| + ||da|| + |db| + |dnu| )
 *               + sum_{j: |A_j| > 1} sum_{i in A_j} exp(beta0_i) ( ||dbeta1||^r + ||da||^(r/2) + |db|^r + |dnu|^(r/2) )
 *
 * with r = rbar(|A_j|) (1, 4, 6 for cells of 1, 2, 3 atoms). Exponents are configurable per
 * block (`exponents.singleton`, `exponents.multi`); the defaults depend on the fit's gate type
 * (see `defaultExponents`: activation and temperature gates use beta1, tau, a: 2; b: rbar;
 * nu: rbar/2 in multi-atom cells). With k = k* it differs from D1 only in multi-atom cells.
 *
 * @param fit fitted model, k >= k* atoms
 * @param truth true model, k* atoms, same input.dim
 * @param opts `metric` (defaults to `'euclidean'`), `tauFitted` (defaults to false), `exponents`
 * @returns D2 >= 0; 0 exactly at the truth
 * @throws {NumericalError} for a cell of 4 or more fitted atoms whose exponent is 'rbar' or
 *   'rbar/2' (rbar unknown; the message names the cell size)
 * @throws {ModelError} if k < k*, on a dimension mismatch (names the field) or a bad parameter
 * @throws {ConfigError} on an unknown option or bad exponent
 * @example
 *   // one true atom, two fitted atoms with weights 1/2 each and |db| = 0.1, all else exact:
 *   // D2 = |1 - 1| + 2 * 0.5 * 0.1^4
 *   lossD2(fit, truth) // => 0.0001
 */
export function lossD2(fit: Model, truth: Model, opts?: LossOptions): number {
  const P = prepare('lossD2', 'D2', fit, truth, opts, ['metric', 'tauFitted', 'exponents']);
  return checkFinite('lossD2', valueAt(rawStructure('lossD2', P), P.massTrue, 1), 'the loss');
}

function resolveShiftMode(fit: Model, mode: ShiftMode): Exclude<ShiftMode, 'auto'> {
  if (mode !== 'auto') return mode;
  const g = fit.gate;
  if (g.type === 'activation' && g.activation !== 'identity') return 'intercept';
  return 'full';
}

/** Minimise the loss over the common shift (internal). */
function align(P: Problem, mode: Exclude<ShiftMode, 'auto'>, raw: Structure): { value: number; shift: GateShift; S: Structure } {
  const zero = new Array<number>(P.d).fill(0);
  if (mode === 'none') return { value: valueAt(raw, P.massTrue, 1), shift: { t0: 0, t1: zero }, S: raw };
  const inner0 = minOverT0(raw, P.massTrue);
  let best = { value: inner0.value, shift: { t0: inner0.t0, t1: zero }, S: raw };
  if (mode === 'intercept') return best;
  const f = (t1: readonly number[]): number => {
    try {
      return minOverT0(structure(P, t1, false), P.massTrue).value;
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
    const S = structure(P, bx);
    const inner = minOverT0(S, P.massTrue);
    best = { value: inner.value, shift: { t0: inner.t0, t1: bx }, S };
  }
  return best;
}

/**
 * Voronoi loss of a fit against the truth, raw and aligned (losses.md): D1 when k = k*, D2 when
 * k > k* (see {@link lossD1}, {@link lossD2} for the formulas).
 *
 *     raw     = D(G, G*)
 *     aligned = min_{t0, t1} D(G_{t0,t1}, G*),  G_{t0,t1}: (beta0_i + t0, beta1_i + t1) for every fitted atom
 *
 * Softmax weights do not change under a common shift, so a fit can be perfect as a density and
 * still have a large raw loss (reference-expert pinning); `aligned` removes that (rates use it).
 * The Voronoi cells are recomputed for each shift (beta1 is part of theta).
 *
 * Minimisation: for fixed t1 the loss is convex piecewise linear in s = exp(t0) and is minimised
 * exactly over its breakpoints s = M*_j / M_j; over t1 (d dimensions) by a coarse Nelder–Mead
 * from t1 = 0 and from every t1 = beta1*_j - beta1_i (which puts a fitted slope onto a true one),
 * then the two best results refined to a relative tolerance of 1e-13 with three restarts from
 * shrinking simplices. Deterministic; aligned <= raw always (shift 0 is a candidate). If the
 * infimum over t0 is reached only as t0 -> -Infinity (all fitted weights vanish: a very poor
 * fit), `aligned` = sum_j exp(beta0*_j) and `shift.t0` = -Infinity: aligned never exceeds that
 * value. Shifts that would create a cell whose rbar is unknown are not candidates. The shift set
 * depends on the gate (`opts.shift`, see {@link ShiftMode}). About 5 ms for k = 4, k* = 3, d = 2.
 *
 * @param fit fitted model, k >= k* atoms
 * @param truth true model, k* atoms, same input.dim
 * @param opts `metric` (defaults to `'euclidean'`), `tauFitted` (defaults to false),
 *   `exponents` (defaults to the fit's gate defaults), `shift` (defaults to `'auto'`)
 * @returns `{kind, raw, aligned, cells, alignedCells, shift, errors: {raw, aligned}, options}`
 * @throws {ModelError} if k < k* or on a dimension mismatch (names the field)
 * @throws {NumericalError} if the fit as given has a cell whose rbar is unknown (D2)
 * @throws {ConfigError} on an unknown option or bad exponent
 * @example
 *   // the [DEMYS] truth with every (beta0, beta1) shifted by (1.5, -4)
 *   const r = voronoiLoss(shifted, truth)
 *   // => r.raw > 1, r.aligned < 1e-12, r.shift = { t0: -1.5, t1: [4] } (to 1e-9)
 */
export function voronoiLoss(fit: Model, truth: Model, opts?: VoronoiLossOptions): VoronoiLossResult {
  const fn = 'voronoiLoss';
  const P = prepare(fn, 'auto', fit, truth, opts, ['metric', 'tauFitted', 'exponents', 'shift']);
  const kind = P.kind;
  const mode = resolveShiftMode(fit, checkChoice(fn, 'shift', opts?.shift, SHIFT_MODES, 'auto'));
  const rawS = rawStructure(fn, P);
  const raw = checkFinite(fn, valueAt(rawS, P.massTrue, 1), 'the raw loss');
  const al = align(P, mode, rawS);
  const aligned = checkFinite(fn, Math.min(al.value, raw), 'the aligned loss');
  return {
    kind,
    raw,
    aligned,
    cells: rawS.cells,
    alignedCells: al.S.cells,
    shift: al.shift,
    errors: {
      raw: atomErrors(P.fit, P.truth, rawS.cells, undefined, P.dtau),
      aligned: atomErrors(P.fit, P.truth, al.S.cells, al.shift, P.dtau),
    },
    options: { metric: P.metric, tauFitted: P.dtau !== undefined, shift: mode, exponents: P.exps },
  };
}

