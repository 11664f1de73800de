/**
 * Numerical check of rbar: search the [HO16] polynomial system for real non-trivial solutions
 * (spec: losses.md, "Over-specified loss D2").
 *
 * The system, for a cell of m atoms and an order r:
 *
 *     F_s = sum_{i=1..m} q3_i^2 T_s(q1_i, q2_i) = 0,   s = 1..r,
 *     T_s(q1, q2) = sum_{m1 + 2 m2 = s} q1^m1 q2^m2 / (m1! m2!)
 *
 * (the side condition 1 <= m1 + m2 <= r of losses.md always holds when s <= r, since
 * m1 + m2 <= m1 + 2 m2 = s). T_s is the coefficient of t^s in exp(q1 t + q2 t^2), hence
 * dT_s/dq1 = T_{s-1} and dT_s/dq2 = T_{s-2} (T_0 = 1, T_{-1} = 0): the Jacobian is exact.
 * Non-trivial means every q3_i != 0 and some q1_i != 0. rbar(m) is the least r with no
 * non-trivial solution. The system of order r contains the one of order r - 1, so solvability is
 * monotone in r.
 *
 * ## Normalisation (what makes "no solution" a positive residual floor)
 *
 * The system has degeneracies that a plain least-squares search would slide into:
 * 1. It is homogeneous in the q3_i^2: only the weights w_i = q3_i^2 / sum_l q3_l^2 matter, so
 *    the search works with w in the simplex.
 * 2. Under q1 -> c q1, q2 -> c^2 q2 equation s scales by c^s, so c -> 0 drives every residual
 *    to 0 (towards the trivial q1 = 0). The scale must be fixed.
 * 3. w_i -> 0 removes atom i. With the scale fixed by max |q1_i| = 1 (the obvious choice), the
 *    infimum is reached along w_1 -> 0 with q1_1 = 1 and the other q1_i -> 0: the residual
 *    shrinks in proportion to the smallest weight and a floor only appears by bounding w_i from
 *    below (we tried it: for m = 2, r = 4 the floor is 1.5e-3 at w = (0.05, 0.95) with w_i >= 0.05,
 *    always at the bound, so it measures the bound, not the system).
 *
 * Chosen normalisation: weights in the simplex and the **weighted** second moment of q1 fixed,
 *
 *     sum_i w_i = 1,   sum_i w_i q1_i^2 = 1,   q2 in R^m free.
 *
 * It fixes the scale of (2) exactly once per orbit and, unlike max |q1| = 1, it also closes (3):
 * an atom with a vanishing weight can carry the scale only with q1_i ~ w_i^(-1/2), and then
 * w_i q1_i^s grows like w_i^(1 - s/2) in the equations s >= 3; a limit with w_i -> 0 and q1
 * bounded would be a solution of a smaller cell, which does not exist for r >= rbar(m - 1) < rbar(m).
 * The minima found are interior and intrinsic: for m = 2, r = 4 the least residual is
 * |F_4| = 1/12 at w = (1/2, 1/2), q1 = (1, -1), q2 = (-1/2, -1/2); for m = 3, r = 6 it is about
 * 7.0e-3. A lower bound `wMin` on the weights is still available (defaults to 0: not needed).
 * Parameterisation, unconstrained: w = wMin + (1 - m wMin) softmax(0, u_2..u_m),
 * q1 = x / sqrt(sum_l w_l x_l^2) with x in R^m, q2 free (the scale of x is a flat direction,
 * which the Levenberg–Marquardt damping handles).
 *
 * ## Search
 *
 * Seeded multi-start Levenberg–Marquardt (numerics/levenberg-marquardt.ts) on the residual vector
 * F (length r) with the exact Jacobian; the reported `residual` is the least ||F||_2 found. A
 * residual at rounding level (< 1e-10) means a solution exists (it is returned, and can be plugged back into
 * {@link hoSystem}); a residual floor well above it over many starts is numerical evidence, not
 * proof, that none exists on the normalised set.
 */
import { ConfigError, NumericalError, show } from '../errors.js';
import { levenbergMarquardt } from '../numerics/levenberg-marquardt.js';
import { Rng, validateSeed } from '../rng/rng.js';
import { KNOWN_RBAR } from './rbar.js';
import { checkInteger, checkOptionKeys } from './validate.js';

/** A point of the [HO16] system: q3sq_i = q3_i^2 (normalised to sum 1 by the search). */
export interface HoPoint {
  q1: number[];
  q2: number[];
  q3sq: number[];
}

/** Options of {@link hoSystemResidual}. */
export interface HoSearchOptions {
  /** number of seeded starts; defaults to 60 */
  starts?: number;
  /** seed of the start generator; defaults to 1 (the check is deterministic) */
  seed?: number;
  /** lower bound of every weight q3_i^2 / sum q3^2, in [0, 1/m); defaults to 0 */
  wMin?: number;
  /** Levenberg–Marquardt iterations per start; defaults to 300 */
  maxIter?: number;
}

/** Result of {@link hoSystemResidual}. */
export interface HoSearchResult {
  m: number;
  r: number;
  /** least ||F||_2 found over the normalised set */
  residual: number;
  /** the point where it was found (q3sq sums to 1, sum q3sq_i q1_i^2 = 1) */
  point: HoPoint;
  /** the equation values F_1..F_r at `point` */
  equations: number[];
  wMin: number;
  starts: number;
  seed: number;
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** T_s(q1, q2) = sum_{m1 + 2 m2 = s} q1^m1 q2^m2 / (m1! m2!), literal definition; T_0 = 1, T_{<0} = 0. */
function hoTerm(s: number, q1: number, q2: number): number {
  if (s < 0) return 0;
  let t = 0;
  for (let m2 = 0; 2 * m2 <= s; m2++) {
    const m1 = s - 2 * m2;
    t += (q1 ** m1 * q2 ** m2) / (factorial(m1) * factorial(m2));
  }
  return t;
}

/**
 * The left-hand sides of the [HO16] system (losses.md):
 *
 *     F_s = sum_{i=1..m} sum_{m1 + 2 m2 = s, 1 <= m1 + m2 <= r} q3_i^2 q1_i^m1 q2_i^m2 / (m1! m2!),  s = 1..r
 *
 * @param point q1, q2, q3sq (= q3_i^2, >= 0), each of length m >= 1
 * @param r order of the system (integer >= 1)
 * @returns [F_1, ..., F_r]
 * @throws {ConfigError} on lengths that differ or r not an integer >= 1
 * @example
 *   hoSystem({ q1: [1, -1], q2: [-0.5, -0.5], q3sq: [0.5, 0.5] }, 3) // => [0, 0, 0]
 */
export function hoSystem(point: HoPoint, r: number): number[] {
  const { q1, q2, q3sq } = point;
  const m = q1.length;
  if (q2.length !== m || q3sq.length !== m || m < 1) {
    throw new ConfigError(
      `hoSystem: point: q1, q2, q3sq differ in length (got ${q1.length}, ${q2.length}, ${q3sq.length}); must have the same length m >= 1`,
    );
  }
  checkInteger('hoSystem', 'r', r, 1, 64);
  const out: number[] = [];
  for (let s = 1; s <= r; s++) {
    let f = 0;
    for (let i = 0; i < m; i++) {
      for (let m2 = 0; 2 * m2 <= s; m2++) {
        const m1 = s - 2 * m2;
        if (m1 + m2 < 1 || m1 + m2 > r) continue;
        f += (q3sq[i]! * q1[i]! ** m1 * q2[i]! ** m2) / (factorial(m1) * factorial(m2));
      }
    }
    out.push(f);
  }
  return out;
}

interface Layout {
  m: number;
  r: number;
  wMin: number;
}

/** Map the unconstrained vector z = (u_2..u_m, x_1..x_m, q2_1..q2_m) to a normalised point. */
function decode(z: readonly number[], L: Layout): { point: HoPoint; p: number[]; x: number[]; S: number } {
  const { m, wMin } = L;
  const u = [0, ...z.slice(0, m - 1)];
  const mx = Math.max(...u);
  const e = u.map((v) => Math.exp(v - mx));
  const se = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / se);
  const q3sq = p.map((pi) => wMin + (1 - m * wMin) * pi);
  const x = z.slice(m - 1, 2 * m - 1);
  let S = 0;
  for (let i = 0; i < m; i++) S += q3sq[i]! * x[i]! * x[i]!;
  const q1 = x.map((xi) => xi / Math.sqrt(S));
  const q2 = z.slice(2 * m - 1, 3 * m - 1);
  return { point: { q1, q2, q3sq }, p, x, S };
}

/** Residual vector F (length r) and its exact Jacobian dF/dz (r x (3m - 1)). */
function residualAndJacobian(z: readonly number[], L: Layout): { F: number[]; J: number[][] } {
  const { m, r, wMin } = L;
  const { point, p, x, S } = decode(z, L);
  const { q1, q2, q3sq: w } = point;
  const nz = 3 * m - 1;
  const sq = Math.sqrt(S);
  const S32 = S * sq;
  const T: number[][] = []; // T[i][s + 2] for s = -2..r
  for (let i = 0; i < m; i++) {
    const row: number[] = [];
    for (let s = -2; s <= r; s++) row.push(hoTerm(s, q1[i]!, q2[i]!));
    T.push(row);
  }
  const F: number[] = [];
  const J: number[][] = [];
  for (let s = 1; s <= r; s++) {
    let f = 0;
    for (let i = 0; i < m; i++) f += w[i]! * T[i]![s + 2]!;
    F.push(f);
    const row = new Array<number>(nz).fill(0);
    // A_i = w_i T_{s-1}(i) = dF_s/dq1_i
    const A = w.map((wi, i) => wi * T[i]![s + 1]!);
    let Ax = 0; // sum_i A_i x_i
    for (let i = 0; i < m; i++) Ax += A[i]! * x[i]!;
    // total dF_s/dw_l = T_s(l) + sum_i A_i dq1_i/dw_l, dq1_i/dw_l = -x_i x_l^2 / (2 S^(3/2))
    const dw = w.map((_, l) => T[l]![s + 2]! - (Ax * x[l]! * x[l]!) / (2 * S32));
    // dw_k/du_l = (1 - m wMin) p_k (delta_kl - p_l), l = 2..m (index l in p)
    for (let l = 1; l < m; l++) {
      let g = 0;
      for (let k = 0; k < m; k++) g += dw[k]! * (1 - m * wMin) * p[k]! * ((k === l ? 1 : 0) - p[l]!);
      row[l - 1] = g;
    }
    // dq1_i/dx_l = delta_il / sqrt(S) - x_i w_l x_l / S^(3/2)
    for (let l = 0; l < m; l++) row[m - 1 + l] = A[l]! / sq - (Ax * w[l]! * x[l]!) / S32;
    // dF_s/dq2_i = w_i T_{s-2}(i)
    for (let i = 0; i < m; i++) row[2 * m - 1 + i] = w[i]! * T[i]![s]!;
    J.push(row);
  }
  return { F, J };
}

function resolveSearch(fn: string, m: number, opts: HoSearchOptions | undefined): Required<HoSearchOptions> {
  checkOptionKeys(fn, opts, ['starts', 'seed', 'wMin', 'maxIter']);
  const starts = checkInteger(fn, 'starts', opts?.starts, 1, 100000, 60);
  const maxIter = checkInteger(fn, 'maxIter', opts?.maxIter, 1, 100000, 300);
  const seed = opts?.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new ConfigError(`${fn}: seed: not a finite number (got ${show(seed)}); must be an integer`);
  }
  const wMin = opts?.wMin ?? 0;
  if (typeof wMin !== 'number' || !(wMin >= 0) || !(wMin < 1 / m)) {
    throw new ConfigError(`${fn}: wMin: outside [0, 1/m) (got ${show(wMin)}); must be in [0, ${1 / m}) for m = ${m}`);
  }
  return { starts, maxIter, seed, wMin };
}

/**
 * Least residual of the [HO16] system of order r for a cell of m atoms, over the normalised set
 * (see the file's documentation): weights w_i = q3_i^2 / sum q3^2 (>= wMin, default 0),
 * sum_i w_i q1_i^2 = 1, q2 free.
 *
 *     residual(m, r) = min ||(F_1, ..., F_r)||_2
 *
 * found by seeded multi-start Levenberg–Marquardt (exact Jacobian). A residual < 1e-10 means a
 * non-trivial real solution exists (returned in `point`); a floor well above 0 is evidence that
 * none exists (so rbar(m) <= r).
 *
 * @param m cell size (integer 1..12)
 * @param r order (integer 1..24)
 * @param opts `starts` (defaults to 60), `seed` (defaults to 1), `wMin` (defaults to 0),
 *   `maxIter` per start (defaults to 300)
 * @throws {ConfigError} on an out-of-range argument or unknown option
 * @example
 *   hoSystemResidual(2, 3).residual // => about 1e-16 (a solution: rbar(2) > 3)
 *   hoSystemResidual(2, 4).residual // => 0.0833... = 1/12 (a floor: rbar(2) <= 4)
 */
export function hoSystemResidual(m: number, r: number, opts?: HoSearchOptions): HoSearchResult {
  const fn = 'hoSystemResidual';
  checkInteger(fn, 'm', m, 1, 12);
  checkInteger(fn, 'r', r, 1, 24);
  const o = resolveSearch(fn, m, opts);
  const L: Layout = { m, r, wMin: o.wMin };
  const rng = new Rng(validateSeed(o.seed, `${fn}: seed`));
  let bestZ: number[] | undefined;
  let best = Infinity;
  for (let st = 0; st < o.starts; st++) {
    const z0: number[] = [];
    for (let l = 1; l < m; l++) z0.push(rng.normal());
    for (let i = 0; i < m; i++) z0.push(rng.normal());
    for (let i = 0; i < m; i++) z0.push(rng.normal());
    const { z, res } = levenbergMarquardt((zz) => residualAndJacobian(zz, L), z0, o.maxIter);
    if (res < best) {
      best = res;
      bestZ = z;
    }
  }
  if (!bestZ || !Number.isFinite(best)) {
    throw new NumericalError(`${fn}: no start gave a finite residual (got ${show(best)}); try other seeds or more starts`);
  }
  const { point } = decode(bestZ, L);
  return { m, r, residual: best, point, equations: hoSystem(point, r), wMin: o.wMin, starts: o.starts, seed: o.seed };
}

/** Options of {@link checkRbar}. */
export interface CheckRbarOptions extends HoSearchOptions {
  /** largest order tried; defaults to 2 m + 2 */
  rMax?: number;
  /** a residual below this counts as a solution; defaults to 1e-10 */
  zeroTol?: number;
  /** a residual above this counts as "no solution"; defaults to 1e-4 */
  floorTol?: number;
}

/** Result of {@link checkRbar}. */
export interface CheckRbarResult {
  m: number;
  /** least r found without a solution; null when inconclusive or not reached by rMax */
  rbar: number | null;
  /** the published value (1, 4, 6 for m = 1, 2, 3), null for m >= 4 */
  known: number | null;
  /** rbar === known, null when either is null */
  agrees: boolean | null;
  /** one row per order tried: least residual and whether it counts as a solution */
  steps: { r: number; residual: number; solved: boolean }[];
  /** a solution at order rbar - 1 (the highest solvable order), when rbar > 1 */
  solution: HoPoint | null;
  /** why rbar is null, if it is */
  reason?: string;
}

/**
 * Numerical check of rbar(m) (losses.md): for r = 1, 2, ... compute
 * {@link hoSystemResidual}(m, r); rbar is the first r whose least residual exceeds `floorTol`,
 * provided every lower order had a residual below `zeroTol` (a solution). A residual between the
 * two tolerances stops the check as inconclusive (rbar = null).
 *
 * This is numerical evidence, not a proof (the search is multi-start local, on the normalised
 * set of the file's documentation). For m >= 4 it estimates a value that the loss still refuses to use.
 *
 * @param m cell size (integer 1..12)
 * @param opts the options of {@link hoSystemResidual}, plus `rMax` (defaults to 2 m + 2),
 *   `zeroTol` (defaults to 1e-10), `floorTol` (defaults to 1e-4)
 * @throws {ConfigError} on an out-of-range argument or unknown option
 * @example
 *   checkRbar(2).rbar // => 4
 */
export function checkRbar(m: number, opts?: CheckRbarOptions): CheckRbarResult {
  const fn = 'checkRbar';
  checkOptionKeys(fn, opts, ['starts', 'seed', 'wMin', 'maxIter', 'rMax', 'zeroTol', 'floorTol']);
  checkInteger(fn, 'm', m, 1, 12);
  const rMax = checkInteger(fn, 'rMax', opts?.rMax, 1, 24, Math.min(24, 2 * m + 2));
  const zeroTol = opts?.zeroTol ?? 1e-10;
  const floorTol = opts?.floorTol ?? 1e-4;
  if (typeof zeroTol !== 'number' || typeof floorTol !== 'number' || !(zeroTol > 0) || !(floorTol >= zeroTol)) {
    throw new ConfigError(
      `${fn}: zeroTol, floorTol: not 0 < zeroTol <= floorTol (got ${show(zeroTol)}, ${show(floorTol)}); e.g. 1e-10 and 1e-4`,
    );
  }
  const search: HoSearchOptions = {};
  if (opts?.starts !== undefined) search.starts = opts.starts;
  if (opts?.seed !== undefined) search.seed = opts.seed;
  if (opts?.wMin !== undefined) search.wMin = opts.wMin;
  if (opts?.maxIter !== undefined) search.maxIter = opts.maxIter;
  const known = KNOWN_RBAR[m] ?? null;
  const steps: CheckRbarResult['steps'] = [];
  let solution: HoPoint | null = null;
  for (let r = 1; r <= rMax; r++) {
    const res = hoSystemResidual(m, r, search);
    const solved = res.residual < zeroTol;
    steps.push({ r, residual: res.residual, solved });
    if (solved) {
      solution = res.point;
      continue;
    }
    if (res.residual > floorTol) {
      return { m, rbar: r, known, agrees: known === null ? null : known === r, steps, solution };
    }
    return {
      m,
      rbar: null,
      known,
      agrees: null,
      steps,
      solution,
      reason: `residual ${res.residual} at r = ${r} is between zeroTol and floorTol: inconclusive (try more starts)`,
    };
  }
  return { m, rbar: null, known, agrees: null, steps, solution, reason: `every order up to rMax = ${rMax} has a solution` };
}
