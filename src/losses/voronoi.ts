/**
 * Voronoi cells of a fitted mixing measure around the true atoms (spec: losses.md, "Voronoi cells").
 */
import type { Model } from '../models/types.js';
import { checkChoice, checkModels, checkOptionKeys, lossExperts, type AtomExpert } from './validate.js';

/**
 * Distance between a fitted atom and a true atom.
 * `'euclidean'`: ||theta_i - theta*_j|| on theta = concat(beta1, a, b, nu) (losses.md default).
 * `'blocks'`: ||dbeta1|| + ||da|| + |db| + |dnu| (the [DEMYS] authors' code).
 */
export type VoronoiMetric = 'euclidean' | 'blocks';

/** Options of {@link voronoiCells}. */
export interface VoronoiOptions {
  /** distance on theta; defaults to `'euclidean'` */
  metric?: VoronoiMetric;
}

export const VORONOI_METRICS: readonly VoronoiMetric[] = ['euclidean', 'blocks'];

/**
 * Relative tolerance under which two distances count as equal (a tie): floating-point rounding in
 * a midpoint (e.g. (x + y) / 2) must not decide a tie. A later true atom l takes a fitted atom
 * from the current best j only if dist_l < dist_j * (1 - TIE_RTOL).
 */
export const TIE_RTOL = 1e-12;

/**
 * The block differences of fitted atom `f` (its beta1 shifted by `t1` when given) from true atom
 * `t`: the squared norms ||dbeta1||^2 (the gating atom's location, its own length: d for the
 * linear gates, see lossExperts) and ||da||^2, and db, dnu. Internal: the one place the
 * distances of the cells, the loss and the per-parameter errors start from.
 */
export function blockDifferences(f: AtomExpert, t: AtomExpert, t1?: readonly number[]): { sb: number; sa: number; db: number; dn: number } {
  let sb = 0;
  let sa = 0;
  for (let c = 0; c < t.beta1.length; c++) {
    const db = f.beta1[c]! + (t1 ? t1[c]! : 0) - t.beta1[c]!;
    sb += db * db;
  }
  for (let c = 0; c < t.a.length; c++) {
    const da = f.a[c]! - t.a[c]!;
    sa += da * da;
  }
  return { sb, sa, db: f.b - t.b, dn: f.nu - t.nu };
}

/**
 * Distance between fitted atom `f` (its beta1 shifted by `t1` when given) and true atom `t`.
 * Internal building block of the cells and of the aligned loss.
 */
export function atomDistance(f: AtomExpert, t: AtomExpert, metric: VoronoiMetric, t1?: readonly number[]): number {
  const { sb, sa, db, dn } = blockDifferences(f, t, t1);
  return withLocation(sb, restDistance(sa, db, dn, metric), metric);
}

/**
 * The part of the distance that does not involve the gating location (so it does not change
 * with a slope shift t1): ||da|| + |db| + |dnu| ('blocks') or ||da||^2 + db^2 + dnu^2 (euclidean).
 * @param sa ||da||^2
 */
export function restDistance(sa: number, db: number, dn: number, metric: VoronoiMetric): number {
  return metric === 'blocks' ? Math.sqrt(sa) + Math.abs(db) + Math.abs(dn) : sa + db * db + dn * dn;
}

/**
 * The distance from its location part sb = ||dbeta1||^2 and its rest (restDistance):
 * sqrt(sb) + rest ('blocks') or sqrt(sb + rest) (euclidean). The loss's alignment search
 * (voronoi-loss.ts) precomputes the rest once and forms every distance here, so its cells are
 * assignCells' bit for bit.
 */
export function withLocation(sb: number, rest: number, metric: VoronoiMetric): number {
  return metric === 'blocks' ? Math.sqrt(sb) + rest : Math.sqrt(sb + rest);
}

/**
 * The cell of one fitted atom from its distances to the kStar true atoms: argmin_j dist[j], where
 * a later j wins only if dist[j] < dist[best] (1 - TIE_RTOL), so a tie goes to the lowest j. The
 * one tie rule of assignCells and of the loss's structure search.
 * @example nearestAtom(Float64Array.of(2, 1, 1), 3) // => 1
 */
export function nearestAtom(dist: ArrayLike<number>, kStar: number): number {
  let best = 0;
  let bestD = dist[0]!;
  for (let l = 1; l < kStar; l++) {
    const dl = dist[l]!;
    if (dl < bestD * (1 - TIE_RTOL)) {
      best = l;
      bestD = dl;
    }
  }
  return best;
}

/**
 * Cells for already-validated atoms (internal; `t1` shifts every fitted beta1).
 * Returns, for each true atom j, the ascending 0-based indices of the fitted atoms in A_j.
 */
export function assignCells(
  fit: readonly AtomExpert[],
  truth: readonly AtomExpert[],
  metric: VoronoiMetric,
  t1?: readonly number[],
): number[][] {
  const cells: number[][] = truth.map(() => []);
  const dist = new Float64Array(truth.length);
  for (let i = 0; i < fit.length; i++) {
    for (let l = 0; l < truth.length; l++) dist[l] = atomDistance(fit[i]!, truth[l]!, metric, t1);
    cells[nearestAtom(dist, truth.length)]!.push(i);
  }
  return cells;
}

/**
 * Voronoi cells of the fitted atoms around the true atoms (losses.md, "Voronoi cells"):
 *
 *     A_j = { i : ||theta_i - theta*_j|| <= ||theta_i - theta*_l|| for all l != j },
 *     theta_i = concat(beta1_i, a_i, b_i, nu_i)
 *
 * For a gate whose experts have no slope beta1, its gating atom takes beta1's place (the gaussian
 * gate: (c_i, vech Gamma_i); `GateDefinition.gating.atom`).
 * The gating intercept beta0 is not part of theta, and neither is a gate temperature tau (tau is
 * shared by all atoms, so it cannot tell atoms apart). Each fitted atom goes to exactly one cell:
 * an atom equidistant to several true atoms goes to the lowest j (losses.md **choice**; distances
 * within a relative 1e-12 count as equal, see {@link TIE_RTOL}). A cell may be empty: its true
 * atom is then missed by the fit.
 *
 * @param fit fitted model (k atoms)
 * @param truth true model (k* atoms); same `input.dim` as `fit`
 * @param opts `metric`: `'euclidean'` (defaults) or `'blocks'` = ||dbeta1|| + ||da|| + |db| + |dnu|
 *   (the [DEMYS] authors' code)
 * @returns an array of length k*: entry j lists the 0-based indices i (ascending) of the fitted
 *   atoms in A_j
 * @throws {ModelError} when dimensions disagree (names the field) or a parameter is not finite
 * @throws {ConfigError} on an unknown option or metric
 * @example
 *   // truth atoms at b = 0 and b = 2 (all else equal); fitted atoms at b = 0.1, 1 (a tie), 1.9
 *   voronoiCells(fit, truth) // => [[0, 1], [2]]
 */
export function voronoiCells(fit: Model, truth: Model, opts?: VoronoiOptions): number[][] {
  const fn = 'voronoiCells';
  checkOptionKeys(fn, opts, ['metric']);
  checkModels(fn, fit, truth);
  const metric = checkChoice(fn, 'metric', opts?.metric, VORONOI_METRICS, 'euclidean');
  return assignCells(lossExperts(fit), lossExperts(truth), metric);
}
