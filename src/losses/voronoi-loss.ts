/**
 * Voronoi losses D1 (exact-specified) and D2 (over-specified), raw and aligned
 * (spec: losses.md, "Exact-specified loss D1", "Over-specified loss D2", "Translation").
 * This file holds the loss (cells, masses, parameter terms); the choice of the aligning shift and
 * its search are in alignment.ts.
 */
import type { GateType, Model } from '../models/types.js';
import { ModelError, NumericalError } from '../errors.js';
import { resolveExponents, type LossExponents, type NumericExponents, type ResolvedExponents } from './exponents.js';
import {
  align,
  ALIGNMENT_RULES,
  errorShift,
  resolveShiftMode,
  SHIFT_MODES,
  valueAt,
  type AlignmentRule,
  type ShiftMode,
  type Structure,
} from './alignment.js';
import { atomErrors, cellExponents, type AtomErrors, type GateShift } from './parameter-errors.js';
import { assignCells, blockDifferences, nearestAtom, restDistance, VORONOI_METRICS, withLocation, type VoronoiMetric } from './voronoi.js';
import { checkBoolean, checkChoice, checkModels, checkOptionKeys, lossExperts, tauDifference, type AtomExpert } from './validate.js';

/** Which Voronoi loss: D1 for k = k*, D2 for k > k*. */
export type LossKind = 'D1' | 'D2';

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
  /** how t0 is set in the aligned loss; defaults to `'massNormalised'` (see {@link AlignmentRule}) */
  alignment?: AlignmentRule;
}

/** Result of {@link voronoiLoss}. */
export interface VoronoiLossResult {
  kind: LossKind;
  /** the loss of the fit as given */
  raw: number;
  /**
   * the loss of the fit at the aligning shift (see {@link AlignmentRule}): with the default
   * `'massNormalised'` rule, the minimum over t1 at the mass-normalising t0, which may exceed
   * `raw`; with `'unconstrained'`, the minimum over (t0, t1), always <= raw
   */
  aligned: number;
  /** Voronoi cells of the fit as given (for each true atom j, fitted indices in A_j) */
  cells: number[][];
  /** Voronoi cells of the aligned (shifted) fit */
  alignedCells: number[][];
  /**
   * the aligning shift: t0 the mass-normalising intercept shift (`'massNormalised'`) and t1 the
   * minimiser over slopes; with `'unconstrained'`, t0 = -Infinity when the infimum is reached only
   * as every weight -> 0
   */
  shift: GateShift;
  /**
   * per-parameter errors (mass-weighted, with the unweighted max as diagnostic; see
   * {@link AtomErrors}), raw (no shift) and at the aligning shift `shift`, t1 included
   */
  errors: { raw: AtomErrors[]; aligned: AtomErrors[] };
  /** the options used, defaults filled in */
  options: {
    metric: VoronoiMetric;
    tauFitted: boolean;
    shift: Exclude<ShiftMode, 'auto'>;
    alignment: AlignmentRule;
    exponents: ResolvedExponents;
  };
}

interface Problem {
  kind: LossKind;
  fit: readonly AtomExpert[];
  truth: readonly AtomExpert[];
  d: number;
  metric: VoronoiMetric;
  dtau: number | undefined;
  exps: ResolvedExponents;
  /** the fitted masses in units of exp(logScale): exp(beta0_i - logScale) */
  wFit: number[];
  massTrue: number[];
  /** see {@link massLogScale}: 0 unless the fit's largest beta0 exceeds MASS_SCALE_FROM */
  logScale: number;
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
  /** scratch: distances and ||dbeta1||^2 of one fitted atom to each true atom */
  dist: Float64Array;
  location: Float64Array;
}

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
  const fitAtoms = lossExperts(fit);
  const trueAtoms = lossExperts(truth);
  const da = new Float64Array(k * kStar);
  const db = new Float64Array(k * kStar);
  const dnu = new Float64Array(k * kStar);
  const base = new Float64Array(k * kStar);
  fitAtoms.forEach((f, i) => {
    trueAtoms.forEach((t, j) => {
      const { sa, db: bDiff, dn } = blockDifferences(f, t);
      const q = i * kStar + j;
      da[q] = Math.sqrt(sa);
      db[q] = Math.abs(bDiff);
      dnu[q] = Math.abs(dn);
      base[q] = restDistance(sa, bDiff, dn, metric);
    });
  });
  const logScale = massLogScale(fitAtoms);
  return {
    da,
    db,
    dnu,
    base,
    assign: new Int32Array(k),
    b1: new Float64Array(k),
    sizes: new Int32Array(kStar),
    dist: new Float64Array(kStar),
    location: new Float64Array(kStar),
    kind,
    fit: fitAtoms,
    truth: trueAtoms,
    // the length of t1: the gating atom's location (d for the linear gates)
    d: trueAtoms[0]!.beta1.length,
    metric,
    dtau,
    exps,
    wFit: fitAtoms.map((e) => Math.exp(e.beta0 - logScale)),
    massTrue: trueAtoms.map((e) => Math.exp(e.beta0)),
    logScale,
    cache: new Array(k + 1).fill(undefined),
  };
}

/** Above this largest fitted beta0 the fitted masses are held relative to exp(max beta0). */
const MASS_SCALE_FROM = 300;

/**
 * The log of the unit in which the fitted masses are held: 0 (plain exp(beta0), as always) unless
 * the fit's largest beta0 exceeds 300, then that beta0. A softmax gate is unchanged by a common
 * shift of every beta0, and a fit near the gate box's face can have beta0 of several hundred
 * (EM's t0 is not identified): exp(beta0) is then finite but the loss's sums exp(beta0) x term
 * overflow, though the aligned loss (at the normalising shift t0 ~ -beta0) is an ordinary number.
 * In these units the aligned loss stays finite; the raw loss is exp(logScale) times a finite number
 * and may still be Infinity (it is then not representable in float64).
 */
function massLogScale(fit: readonly AtomExpert[]): number {
  const top = Math.max(...fit.map((e) => e.beta0));
  return top > MASS_SCALE_FROM ? top : 0;
}

function exponentsFor(P: Problem, m: number): NumericExponents {
  let e = P.cache[m];
  if (e === undefined) {
    try {
      e = cellExponents(P.exps, P.kind === 'D1', m);
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
 * Cells, masses and parameter term for a slope shift t1 (undefined = 0). The distance of each
 * pair is that of `voronoi.ts` (same metric, same tie rule), computed from the precomputed
 * beta1-free parts; `assignCells` and this function must agree (a test checks it).
 */
function structure(P: Problem, t1: readonly number[] | undefined, withCells = true): Structure {
  const k = P.fit.length;
  const kStar = P.truth.length;
  const { assign, b1, sizes, dist, location } = P;
  sizes.fill(0);
  for (let i = 0; i < k; i++) {
    const f = P.fit[i]!.beta1;
    for (let j = 0; j < kStar; j++) {
      // ||dbeta1||^2 to true atom j: the gating atom's location (lossExperts), beta1 for the linear gates
      const t = P.truth[j]!.beta1;
      let sb = 0;
      for (let c = 0; c < t.length; c++) {
        const v = f[c]! + (t1 ? t1[c]! : 0) - t[c]!;
        sb += v * v;
      }
      location[j] = sb;
      dist[j] = withLocation(sb, P.base[i * kStar + j]!, P.metric);
    }
    const best = nearestAtom(dist, kStar);
    assign[i] = best;
    b1[i] = Math.sqrt(location[best]!);
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
  return checkFinite('lossD1', valueAt(rawStructure('lossD1', P), P.massTrue, Math.exp(P.logScale)), 'the loss');
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
  return checkFinite('lossD2', valueAt(rawStructure('lossD2', P), P.massTrue, Math.exp(P.logScale)), 'the loss');
}

/**
 * Voronoi loss of a fit against the truth, raw and aligned (losses.md): D1 when k = k*, D2 when
 * k > k* (see {@link lossD1}, {@link lossD2} for the formulas).
 *
 *     raw     = D(G, G*)
 *     aligned = min_{t1} D(G_{t0,t1}, G*),   t0 = log sum_j exp(beta0*_j) - log sum_i exp(beta0_i)
 *     G_{t0,t1}: (beta0_i + t0, beta1_i + t1) for every fitted atom
 *
 * Softmax weights do not change under a common shift, so a fit can be perfect as a density and
 * still have a large raw loss (reference-expert pinning); `aligned` removes that (rates use it).
 * t0 is fixed by normalising the fitted masses to the true total (`alignment: 'massNormalised'`,
 * the default): minimising over t0 as well would let t0 -> -Infinity empty every fitted mass and
 * cap the aligned loss at sum_j exp(beta0*_j) whatever the fit. So the aligned loss of a shifted
 * copy of the truth is 0, it grows without bound as the fit moves away, and it **can exceed raw**
 * (t0 = 0 is not a candidate). `alignment: 'unconstrained'` gives the former minimum over
 * (t0, t1), always <= raw and capped (see {@link AlignmentRule}). The Voronoi cells are
 * recomputed for each shift (beta1 is part of theta). For top-K gates the shift keeps every
 * selection (the ranking scores move by a common amount).
 *
 * Minimisation over t1 (d dimensions): a coarse Nelder–Mead from t1 = 0 and from every
 * t1 = beta1*_j - beta1_i (which puts a fitted slope onto a true one), then the two best results
 * refined to a relative tolerance of 1e-13 with three restarts from shrinking simplices;
 * deterministic. Under `'unconstrained'` the loss is, for fixed t1, convex piecewise linear in
 * s = exp(t0) and minimised exactly over its breakpoints s = M*_j / M_j (t0 = -Infinity when the
 * infimum is reached only as every weight -> 0). Shifts that would create a cell whose rbar is
 * unknown are not candidates. The shift set depends on the gate (`opts.shift`, see
 * {@link ShiftMode}): for the activation gate with a non-homogeneous sigma only t0 exists, and
 * the aligned loss is the loss at the normalising t0. About 5 ms for k = 4, k* = 3, d = 2.
 *
 * `errors.aligned` are the per-parameter errors (mass-weighted, see `parameterErrors`) at the
 * aligning t0 and the least-squares t1 of `errorShift` (the loss's own t1 would zero one atom's
 * beta1 error).
 *
 * @param fit fitted model, k >= k* atoms
 * @param truth true model, k* atoms, same input.dim
 * @param opts `metric` (defaults to `'euclidean'`), `tauFitted` (defaults to false),
 *   `exponents` (defaults to the fit's gate defaults), `shift` (`'auto'` | `'full'` |
 *   `'intercept'` | `'none'`, defaults to `'auto'`), `alignment` (`'massNormalised'` |
 *   `'unconstrained'`, defaults to `'massNormalised'`)
 * @returns `{kind, raw, aligned, cells, alignedCells, shift, errors: {raw, aligned}, options}`
 * @throws {ModelError} if k < k* or on a dimension mismatch (names the field)
 * @throws {NumericalError} if the fit as given has a cell whose rbar is unknown (D2)
 * @throws {ConfigError} on an unknown option or bad exponent
 * @example
 *   // the [DEMYS] truth with every (beta0, beta1) shifted by (1.5, -4)
 *   const r = voronoiLoss(shifted, truth)
 *   // => r.raw > 1, r.aligned < 1e-12, r.shift = { t0: -1.5, t1: [4] } (to 1e-9)
 *   // the reference expert split into two half-mass atoms with beta1 = -10 and +10:
 *   voronoiLoss(split, truth).aligned // => 1e4 (= 2 * 0.5 * 10^4); 'unconstrained' gives 1.000335
 */
export function voronoiLoss(fit: Model, truth: Model, opts?: VoronoiLossOptions): VoronoiLossResult {
  const fn = 'voronoiLoss';
  const P = prepare(fn, 'auto', fit, truth, opts, ['metric', 'tauFitted', 'exponents', 'shift', 'alignment']);
  const kind = P.kind;
  const mode = resolveShiftMode(fit, checkChoice(fn, 'shift', opts?.shift, SHIFT_MODES, 'auto'));
  const alignment = checkChoice(fn, 'alignment', opts?.alignment, ALIGNMENT_RULES, 'massNormalised');
  const rawS = rawStructure(fn, P);
  const raw = checkFinite(fn, valueAt(rawS, P.massTrue, Math.exp(P.logScale)), 'the raw loss');
  const al = align(P, (t1, withCells) => structure(P, t1, withCells), mode, alignment, rawS);
  // unconstrained: shift 0 is a candidate, so aligned <= raw (min guards against rounding)
  const alignedValue = alignment === 'unconstrained' ? Math.min(al.value, raw) : al.value;
  const aligned = checkFinite(fn, alignedValue, 'the aligned loss');
  const exps = (m: number): NumericExponents => exponentsFor(P, m);
  return {
    kind,
    raw,
    aligned,
    cells: rawS.cells,
    alignedCells: al.S.cells,
    shift: al.shift,
    errors: {
      raw: atomErrors(P.fit, P.truth, rawS.cells, undefined, P.dtau, exps),
      aligned: atomErrors(P.fit, P.truth, al.S.cells, errorShift(P.fit, P.truth, al.S.cells, al.shift, mode), P.dtau, exps),
    },
    options: { metric: P.metric, tauFitted: P.dtau !== undefined, shift: mode, alignment, exponents: P.exps },
  };
}
