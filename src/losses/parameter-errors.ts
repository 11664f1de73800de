/**
 * Per-parameter errors of a fit, one row per true atom (spec: losses.md, "Per-parameter errors").
 */
import type { Model } from '../models/types.js';
import { ConfigError, NumericalError, show } from '../errors.js';
import { numericExponents, resolveExponents, type LossExponents, type NumericExponents, type ResolvedExponents } from './exponents.js';
import { assignCells, blockDifferences, VORONOI_METRICS, type VoronoiMetric } from './voronoi.js';
import { checkBoolean, checkChoice, checkModels, checkOptionKeys, lossExperts, tauDifference, type AtomExpert } from './validate.js';

/** One value per parameter block (`tau` only where tau was fitted); null for an empty cell. */
export interface BlockErrors {
  beta1: number | null;
  a: number | null;
  b: number | null;
  nu: number | null;
  tau?: number | null;
}

/**
 * Errors of the fitted atoms around one true atom j (a Voronoi cell A_j), losses.md
 * "Per-parameter errors". With w_i = exp(beta0_i + t0) the fitted masses at the shift and r the
 * block's exponent in the loss for a cell of this size (see {@link AtomErrors.exponents}):
 *
 *     mass      = | sum_{i in A_j} w_i - exp(beta0*_j) |
 *     block     = ( sum_{i in A_j} w_i ||dblock_ij||^r / sum_{i in A_j} w_i )^(1/r)   (mass-weighted)
 *     max.block = max_{i in A_j} ||dblock_ij||                                        (diagnostic)
 *
 * The mass-weighted error is the rate quantity: the loss bounds sum_i w_i ||d||^r, the cell mass
 * tends to exp(beta0*_j) > 0, so it falls with slope -1/(2r). The unweighted max is dominated by
 * atoms whose mass dies (nothing identifies their parameters): a diagnostic only, never a rate.
 * It does not depend on t0 (the weights' common factor cancels), only on t1 and the cells.
 *
 * For an **empty cell** (the true atom is missed): `mass` = exp(beta0*_j) (the sum over an empty
 * cell is 0), and every parameter error, weighted and max, is `null` (as is `exponents`): an
 * average or maximum over no atoms is undefined, and `null` survives JSON (Infinity and NaN do
 * not) and cannot be averaged or log-fitted by accident. Rate studies count the nulls
 * (`size === 0`) instead.
 */
export interface AtomErrors extends BlockErrors {
  /** index j of the true atom (0-based) */
  atom: number;
  /** |A_j|, the number of fitted atoms in the cell */
  size: number;
  /** 0-based indices of the fitted atoms in A_j */
  cell: number[];
  /** |sum_{i in A_j} exp(beta0_i + t0) - exp(beta0*_j)| */
  mass: number;
  /** mass-weighted ||beta1_i + t1 - beta1*_j|| (Euclidean), null for an empty cell */
  beta1: number | null;
  /** mass-weighted ||a_i - a*_j||, null for an empty cell */
  a: number | null;
  /** mass-weighted |b_i - b*_j|, null for an empty cell */
  b: number | null;
  /** mass-weighted |nu_i - nu*_j| (variances), null for an empty cell */
  nu: number | null;
  /** |tau - tau*| (shared by all atoms, so weighting changes nothing), present only when tau was fitted; null for an empty cell */
  tau?: number | null;
  /** diagnostic: the unweighted max over the cell of each block error (same blocks, same nulls) */
  max: BlockErrors;
  /**
   * the exponent r of each block used for the weighting: the block's exponent in the loss for a
   * cell of this size (D1: `exponents.exact`; D2: `exponents.singleton` for |A_j| = 1, else
   * `exponents.multi`, 'rbar' -> rbar(|A_j|)); null for an empty cell
   */
  exponents: NumericExponents | null;
}

/** A common shift of the gating parameters: beta0_i + t0, beta1_i + t1 for every fitted atom. */
export interface GateShift {
  /** intercept shift; -Infinity is allowed (every fitted weight exp(beta0_i + t0) is then 0) */
  t0: number;
  /** slope shift, the length of the gating atom's location: d for the linear gates (beta1), d + d(d+1)/2 for the gaussian gate */
  t1: number[];
}

/** Options of {@link parameterErrors}. */
export interface ParameterErrorOptions {
  /** distance of the Voronoi cells; defaults to `'euclidean'` */
  metric?: VoronoiMetric;
  /** report |dtau| (the gates must have tau); defaults to false */
  tauFitted?: boolean;
  /** common shift applied to the fit first (cells are recomputed); defaults to no shift */
  shift?: GateShift;
  /** exponents of the loss, which set the weighting exponent r per block; defaults to `defaultExponents(fit.gate.type)` */
  exponents?: LossExponents;
}

/**
 * Weighting exponents of a cell of m >= 1 atoms: the loss's exponents for that cell (internal).
 * `exact` selects the D1 set (k = k*), otherwise D2's singleton / multi sets.
 * @throws {NumericalError} for 'rbar' or 'rbar/2' and m >= 4
 */
export function cellExponents(exps: ResolvedExponents, exact: boolean, m: number): NumericExponents {
  return numericExponents(exact ? exps.exact : m === 1 ? exps.singleton : exps.multi, m);
}

/** (sum_i w_i d_i^r / sum_i w_i)^(1/r), scaled by max d so that tiny errors do not underflow. */
function weightedMean(w: readonly number[], d: readonly number[], r: number): number {
  let dmax = 0;
  for (const v of d) dmax = Math.max(dmax, v);
  if (!(dmax > 0)) return dmax;
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    num += w[i]! * (d[i]! / dmax) ** r;
    den += w[i]!;
  }
  return dmax * (num / den) ** (1 / r);
}

/**
 * Errors for already-validated atoms and cells (internal; used by `voronoiLoss` for the raw and
 * the aligned fit). `exps(m)` gives the weighting exponents of a cell of m >= 1 atoms.
 */
export function atomErrors(
  fit: readonly AtomExpert[],
  truth: readonly AtomExpert[],
  cells: readonly (readonly number[])[],
  shift: GateShift | undefined,
  dtau: number | undefined,
  exps: (m: number) => NumericExponents,
): AtomErrors[] {
  const t0 = shift?.t0 ?? 0;
  const t1 = shift?.t1;
  return truth.map((t, j) => {
    const cell = [...cells[j]!];
    let mass = 0;
    // relative weights exp(beta0_i - max beta0): the common factor (and t0) cancels, and t0 =
    // -Infinity or a very negative beta0 cannot turn the ratio into 0/0
    let top = -Infinity;
    for (const i of cell) top = Math.max(top, fit[i]!.beta0);
    const w: number[] = [];
    const d = { beta1: [] as number[], a: [] as number[], b: [] as number[], nu: [] as number[] };
    for (const i of cell) {
      const f = fit[i]!;
      mass += Math.exp(f.beta0 + t0);
      w.push(Math.exp(f.beta0 - top));
      const diff = blockDifferences(f, t, t1);
      d.beta1.push(Math.sqrt(diff.sb));
      d.a.push(Math.sqrt(diff.sa));
      d.b.push(Math.abs(diff.db));
      d.nu.push(Math.abs(diff.dn));
    }
    const empty = cell.length === 0;
    const r = empty ? null : exps(cell.length);
    const maxOf = (v: number[]): number | null => (empty ? null : Math.max(...v));
    const weighted = (v: number[], e: number): number | null => (empty ? null : weightedMean(w, v, e));
    const max: BlockErrors = { beta1: maxOf(d.beta1), a: maxOf(d.a), b: maxOf(d.b), nu: maxOf(d.nu) };
    const row: AtomErrors = {
      atom: j,
      size: cell.length,
      cell,
      mass: Math.abs(mass - Math.exp(t.beta0)),
      beta1: weighted(d.beta1, r?.beta1 ?? 1),
      a: weighted(d.a, r?.a ?? 1),
      b: weighted(d.b, r?.b ?? 1),
      nu: weighted(d.nu, r?.nu ?? 1),
      max,
      exponents: r,
    };
    if (dtau !== undefined) {
      row.tau = empty ? null : dtau;
      max.tau = row.tau;
    }
    return row;
  });
}

/**
 * Per-parameter errors (losses.md, "Per-parameter errors"): for each true atom j, with A_j the
 * Voronoi cell of the (optionally shifted) fit, w_i = exp(beta0_i + t0) and r the block's
 * exponent in the loss for a cell of |A_j| atoms (1 for singletons; D2 multi-atom cells under
 * softmax: rbar(m) for beta1 and b, rbar(m)/2 for a and nu),
 *
 *     mass_j  = | sum_{i in A_j} w_i - exp(beta0*_j) |
 *     beta1_j = ( sum_{i in A_j} w_i ||beta1_i + t1 - beta1*_j||^r / sum_{i in A_j} w_i )^(1/r)
 *     a_j, b_j, nu_j likewise (each with its own r),   tau_j = |tau - tau*| (if fitted)
 *     max.beta1_j = max_{i in A_j} ||beta1_i + t1 - beta1*_j||, ... (unweighted diagnostic)
 *
 * The exponent sets are those of the loss `voronoiLoss` would compute: D1's `exact` when
 * k = k*, D2's `singleton` / `multi` otherwise. Rate studies fit a log-log slope to each
 * mass-weighted column (slope -1/(2r) predicted); the max columns are diagnostics. An empty cell
 * has mass_j = exp(beta0*_j) and null parameter errors (see {@link AtomErrors}).
 *
 * @param fit fitted model (k atoms)
 * @param truth true model (k* atoms), same input.dim
 * @param opts `metric` (defaults to `'euclidean'`), `tauFitted` (defaults to false), `shift`
 *   (defaults to none; `voronoiLoss` reports the aligned errors at its aligning shift),
 *   `exponents` (defaults to `defaultExponents(fit.gate.type)`)
 * @returns one {@link AtomErrors} per true atom, in the truth's order
 * @throws {ModelError} on a dimension mismatch (names the field) or a non-finite parameter
 * @throws {ConfigError} on an unknown option, a bad shift or exponent, or tauFitted with a gate without tau
 * @throws {NumericalError} for a cell of 4 or more atoms whose exponent is 'rbar' or 'rbar/2'
 * @example
 *   parameterErrors(truth, truth)[0]
 *   // => { atom: 0, size: 1, cell: [0], mass: 0, beta1: 0, a: 0, b: 0, nu: 0,
 *   //      max: { beta1: 0, a: 0, b: 0, nu: 0 }, exponents: { beta1: 1, a: 1, b: 1, nu: 1, tau: 1 } }
 *   // a softmax fit splitting true atom j into masses 0.25 and 0.75 with beta1 errors 2 and 0
 *   // (a D2 cell of 2 atoms: r = rbar(2) = 4 for beta1):
 *   // errors[j].beta1 = (0.25 * 2^4 / 1)^(1/4) = sqrt(2), errors[j].max.beta1 = 2
 */
export function parameterErrors(fit: Model, truth: Model, opts?: ParameterErrorOptions): AtomErrors[] {
  const fn = 'parameterErrors';
  checkOptionKeys(fn, opts, ['metric', 'tauFitted', 'shift', 'exponents']);
  checkModels(fn, fit, truth);
  const metric = checkChoice(fn, 'metric', opts?.metric, VORONOI_METRICS, 'euclidean');
  const tauFitted = checkBoolean(fn, 'tauFitted', opts?.tauFitted, false);
  const dtau = tauDifference(fn, fit, truth, tauFitted);
  const exps = resolveExponents(fn, fit.gate.type, opts?.exponents);
  const shift = opts?.shift;
  const fitAtoms = lossExperts(fit);
  const trueAtoms = lossExperts(truth);
  if (shift !== undefined) checkShift(fn, shift, trueAtoms[0]!.beta1.length);
  const cells = assignCells(fitAtoms, trueAtoms, metric, shift?.t1);
  const exact = fit.experts.length === truth.experts.length;
  return atomErrors(fitAtoms, trueAtoms, cells, shift, dtau, (m) => {
    try {
      return cellExponents(exps, exact, m);
    } catch (e) {
      if (!(e instanceof NumericalError)) throw e;
      const j = cells.findIndex((c) => c.length === m);
      throw new NumericalError(`${fn}: the Voronoi cell of true atom ${j} holds fitted atoms ${JSON.stringify(cells[j])}: ${e.message}`);
    }
  });
}

/** Validate a {@link GateShift} whose t1 has d entries (internal). */
export function checkShift(fn: string, shift: GateShift, d: number): void {
  checkOptionKeys(`${fn}: shift`, shift, ['t0', 't1']);
  if (typeof shift.t0 !== 'number' || Number.isNaN(shift.t0) || shift.t0 === Infinity) {
    throw new ConfigError(`${fn}: shift.t0: not a number < Infinity (got ${show(shift.t0)}); must be finite or -Infinity`);
  }
  if (!Array.isArray(shift.t1) || shift.t1.length !== d || !shift.t1.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ConfigError(`${fn}: shift.t1: not ${d} finite numbers (got ${show(shift.t1)}); must have ${d} entries (the gating atom's location: input.dim for the linear gates)`);
  }
}
