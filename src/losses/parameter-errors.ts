/**
 * Per-parameter errors of a fit, one row per true atom (spec: losses.md, "Per-parameter errors").
 */
import type { Expert, Model } from '../models/types.js';
import { ConfigError, show } from '../errors.js';
import { assignCells, VORONOI_METRICS, type VoronoiMetric } from './voronoi.js';
import { checkBoolean, checkChoice, checkModels, checkOptionKeys, tauDifference } from './validate.js';

/**
 * Errors of the fitted atoms around one true atom j (a Voronoi cell A_j).
 *
 * For an **empty cell** (the true atom is missed): `mass` = exp(beta0*_j) (the sum over an empty
 * cell is 0), and the parameter errors `beta1`, `a`, `b`, `nu` (and `tau`) are `null`: a maximum
 * over no atoms is undefined, and `null` survives JSON (Infinity and NaN do not) and cannot be
 * averaged or log-fitted by accident. Rate studies count the nulls (`size === 0`) instead.
 */
export interface AtomErrors {
  /** index j of the true atom (0-based) */
  atom: number;
  /** |A_j|, the number of fitted atoms in the cell */
  size: number;
  /** 0-based indices of the fitted atoms in A_j */
  cell: number[];
  /** |sum_{i in A_j} exp(beta0_i) - exp(beta0*_j)| */
  mass: number;
  /** max_{i in A_j} ||beta1_i - beta1*_j|| (Euclidean), null for an empty cell */
  beta1: number | null;
  /** max_{i in A_j} ||a_i - a*_j||, null for an empty cell */
  a: number | null;
  /** max_{i in A_j} |b_i - b*_j|, null for an empty cell */
  b: number | null;
  /** max_{i in A_j} |nu_i - nu*_j| (variances), null for an empty cell */
  nu: number | null;
  /** |tau - tau*| (shared by all atoms), present only when tau was fitted; null for an empty cell */
  tau?: number | null;
}

/** A common shift of the gating parameters: beta0_i + t0, beta1_i + t1 for every fitted atom. */
export interface GateShift {
  /** intercept shift; -Infinity is allowed (every fitted weight exp(beta0_i + t0) is then 0) */
  t0: number;
  /** slope shift, length d */
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
}

/**
 * Errors for already-validated atoms and cells (internal; used by `voronoiLoss` for the raw and
 * the aligned fit).
 */
export function atomErrors(
  fit: readonly Expert[],
  truth: readonly Expert[],
  cells: readonly (readonly number[])[],
  shift: GateShift | undefined,
  dtau: number | undefined,
): AtomErrors[] {
  const t0 = shift?.t0 ?? 0;
  const t1 = shift?.t1;
  return truth.map((t, j) => {
    const cell = [...cells[j]!];
    let mass = 0;
    let eb1: number | null = null;
    let ea: number | null = null;
    let eb: number | null = null;
    let enu: number | null = null;
    for (const i of cell) {
      const f = fit[i]!;
      mass += Math.exp(f.beta0 + t0);
      let sb = 0;
      let sa = 0;
      for (let c = 0; c < t.beta1.length; c++) {
        const db = f.beta1[c]! + (t1 ? t1[c]! : 0) - t.beta1[c]!;
        const da = f.a[c]! - t.a[c]!;
        sb += db * db;
        sa += da * da;
      }
      eb1 = Math.max(eb1 ?? 0, Math.sqrt(sb));
      ea = Math.max(ea ?? 0, Math.sqrt(sa));
      eb = Math.max(eb ?? 0, Math.abs(f.b - t.b));
      enu = Math.max(enu ?? 0, Math.abs(f.nu - t.nu));
    }
    const row: AtomErrors = {
      atom: j,
      size: cell.length,
      cell,
      mass: Math.abs(mass - Math.exp(t.beta0)),
      beta1: eb1,
      a: ea,
      b: eb,
      nu: enu,
    };
    if (dtau !== undefined) row.tau = cell.length > 0 ? dtau : null;
    return row;
  });
}

/**
 * Per-parameter errors (losses.md, "Per-parameter errors"): for each true atom j, with A_j the
 * Voronoi cell of the (optionally shifted) fit,
 *
 *     mass_j  = | sum_{i in A_j} exp(beta0_i + t0) - exp(beta0*_j) |
 *     beta1_j = max_{i in A_j} ||beta1_i + t1 - beta1*_j||,   a_j = max ||a_i - a*_j||,
 *     b_j     = max |b_i - b*_j|,   nu_j = max |nu_i - nu*_j|,   tau_j = |tau - tau*| (if fitted)
 *
 * Rate studies fit a log-log slope to each column separately (rates.md). An empty cell has
 * mass_j = exp(beta0*_j) and null parameter errors (see {@link AtomErrors}).
 *
 * @param fit fitted model (k atoms)
 * @param truth true model (k* atoms), same input.dim
 * @param opts `metric` (defaults to `'euclidean'`), `tauFitted` (defaults to false), `shift`
 *   (defaults to none; `voronoiLoss` reports the aligned errors with its minimising shift)
 * @returns one {@link AtomErrors} per true atom, in the truth's order
 * @throws {ModelError} on a dimension mismatch (names the field) or a non-finite parameter
 * @throws {ConfigError} on an unknown option, a bad shift, or tauFitted with a gate without tau
 * @example
 *   parameterErrors(truth, truth)[0] // => { atom: 0, size: 1, cell: [0], mass: 0, beta1: 0, a: 0, b: 0, nu: 0 }
 */
export function parameterErrors(fit: Model, truth: Model, opts?: ParameterErrorOptions): AtomErrors[] {
  const fn = 'parameterErrors';
  checkOptionKeys(fn, opts, ['metric', 'tauFitted', 'shift']);
  const d = checkModels(fn, fit, truth);
  const metric = checkChoice(fn, 'metric', opts?.metric, VORONOI_METRICS, 'euclidean');
  const tauFitted = checkBoolean(fn, 'tauFitted', opts?.tauFitted, false);
  const dtau = tauDifference(fn, fit, truth, tauFitted);
  const shift = opts?.shift;
  if (shift !== undefined) checkShift(fn, shift, d);
  const cells = assignCells(fit.experts, truth.experts, metric, shift?.t1);
  return atomErrors(fit.experts, truth.experts, cells, shift, dtau);
}

/** Validate a {@link GateShift} for dimension d (internal). */
export function checkShift(fn: string, shift: GateShift, d: number): void {
  checkOptionKeys(`${fn}: shift`, shift, ['t0', 't1']);
  if (typeof shift.t0 !== 'number' || Number.isNaN(shift.t0) || shift.t0 === Infinity) {
    throw new ConfigError(`${fn}: shift.t0: not a number < Infinity (got ${show(shift.t0)}); must be finite or -Infinity`);
  }
  if (!Array.isArray(shift.t1) || shift.t1.length !== d || !shift.t1.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ConfigError(`${fn}: shift.t1: not ${d} finite numbers (got ${show(shift.t1)}); must have input.dim = ${d} entries`);
  }
}
