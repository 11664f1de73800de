/**
 * Dense Cholesky factorisation for the small symmetric matrices of gatelab (m = d + 1 for an
 * expert, (k-1)(d+1) for a gate Newton step, the free parameters of a fit for its certificate,
 * d for a normal input design): hand-written, because at these sizes a matrix library costs more
 * than it saves (see toolchain.md).
 *
 * One factorisation routine, {@link cholesky}, with the pivot rule and the ridge retries as
 * options, so that each caller keeps its own (bit-identical) numerics:
 * - {@link solveDamped} (gate Newton steps, expert M-steps, starts): pivots relative to the mean
 *   |diagonal|, ridge retries from 1e-10 of it;
 * - {@link inverseQuadraticForm} with Jacobi scaling (the score certificate of a fit): unit
 *   diagonal, absolute pivot floor 1e-13, ridge retries from 1e-12;
 * - the plain factor (defaults: no ridge, a pivot must be > 0) of an input covariance.
 *
 * Matrices are row-major m x m Float64Arrays (or any indexable of numbers); only the lower
 * triangle is read, so a matrix that is asymmetric by rounding is fine.
 */

/** Options of {@link cholesky}. The defaults give the plain factorisation (no ridge). */
export interface CholeskyOptions {
  /**
   * `'absolute'` (default): a pivot must exceed `pivotTol`; `'relative'`: it must exceed
   * `pivotTol * (mean |A_ii| + ridge)`, so the rule follows the matrix's scale
   */
  pivotRule?: 'absolute' | 'relative';
  /** pivot floor (see `pivotRule`); defaults to 0 (a pivot must be > 0) */
  pivotTol?: number;
  /**
   * ridge added to the diagonal at the first retry: `firstRidge` (absolute rule) or
   * `firstRidge * (mean |A_ii| + 1e-300)` (relative rule); each further retry multiplies it by 10.
   * Defaults to 0
   */
  firstRidge?: number;
  /** factorisations tried, the first without ridge; defaults to 1 (no retry) */
  maxAttempts?: number;
}

/** Result of {@link cholesky}. */
export interface CholeskyFactor {
  /** lower-triangular factor, row-major m x m: A + ridge I = L L' when `ok` */
  L: Float64Array;
  /** whether the last attempt passed every pivot */
  ok: boolean;
  /** the ridge of the last attempt (0 when the matrix factored as given) */
  ridge: number;
  /** when !ok: index of the first pivot of the last attempt that failed the rule, and its value */
  failedPivot: number;
  failedValue: number;
}

/**
 * Lower Cholesky factor L of a symmetric positive definite A (A = L L'), with optional ridge
 * retries for a semi-definite A:
 *
 *     L_jj = sqrt(A_jj + ridge - sum_{p<j} L_jp^2),   L_ij = (A_ij - sum_{p<j} L_ip L_jp) / L_jj  (i > j)
 *
 * A pivot (the argument of the square root) that fails the rule (see {@link CholeskyOptions})
 * stops the attempt; the next attempt adds a larger ridge. After the last failed attempt the
 * result has `ok: false` and names the failing pivot (L is then incomplete: do not use it).
 *
 * @param A row-major m x m, only the lower triangle is read
 * @param m the order
 * @param options pivot rule and ridge retries; defaults: the plain factorisation (pivot > 0)
 * @returns `{L, ok, ridge, failedPivot, failedValue}`
 * @example
 *   cholesky(Float64Array.from([4, 2, 2, 3]), 2).L      // => [2, 0, 1, 1.4142135623730951]
 *   cholesky(Float64Array.from([1, 2, 2, 1]), 2).ok     // => false (failedPivot 1, failedValue -3)
 */
export function cholesky(A: ArrayLike<number>, m: number, options: CholeskyOptions = {}): CholeskyFactor {
  const relative = options.pivotRule === 'relative';
  const pivotTol = options.pivotTol ?? 0;
  const firstRidge = options.firstRidge ?? 0;
  const maxAttempts = options.maxAttempts ?? 1;
  let trace = 0;
  if (relative) for (let i = 0; i < m; i++) trace += Math.abs(A[i * m + i]!);
  const L = new Float64Array(m * m);
  let ridge = 0;
  let ok = false;
  let failedPivot = -1;
  let failedValue = NaN;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    ok = true;
    for (let j = 0; j < m && ok; j++) {
      let s = A[j * m + j]! + ridge;
      for (let p = 0; p < j; p++) s -= L[j * m + p]! * L[j * m + p]!;
      if (!(s > (relative ? pivotTol * (trace / m + ridge) : pivotTol))) {
        ok = false;
        failedPivot = j;
        failedValue = s;
        break;
      }
      const ljj = Math.sqrt(s);
      L[j * m + j] = ljj;
      for (let i = j + 1; i < m; i++) {
        let t = A[i * m + j]!;
        for (let p = 0; p < j; p++) t -= L[i * m + p]! * L[j * m + p]!;
        L[i * m + j] = t / ljj;
      }
    }
    if (ok) break;
    if (attempt + 1 < maxAttempts) ridge = ridge === 0 ? (relative ? firstRidge * (trace / m + 1e-300) : firstRidge) : ridge * 10;
  }
  if (ok) {
    failedPivot = -1;
    failedValue = NaN;
  }
  return { L, ok, ridge, failedPivot, failedValue };
}

/**
 * Solve L y = b for a lower-triangular L (row-major m x m) by forward substitution.
 * @param out receives y (may be b itself); defaults to a new array
 */
export function forwardSubstitute(L: Float64Array, b: ArrayLike<number>, m: number, out: Float64Array = new Float64Array(m)): Float64Array {
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= L[i * m + p]! * out[p]!;
    out[i] = s / L[i * m + i]!;
  }
  return out;
}

/**
 * Solve L' x = y for a lower-triangular L (row-major m x m) by back substitution, in place
 * (y is overwritten by x and returned).
 */
export function backSubstitute(L: Float64Array, y: Float64Array, m: number): Float64Array {
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let p = i + 1; p < m; p++) s -= L[p * m + i]! * y[p]!;
    y[i] = s / L[i * m + i]!;
  }
  return y;
}

/** The ridge rule of {@link solveDamped}: relative pivots, ridge from 1e-10 of the mean |diagonal|. */
const DAMPED: CholeskyOptions = { pivotRule: 'relative', pivotTol: 1e-14, firstRidge: 1e-10, maxAttempts: 30 };

/**
 * Solve A x = b for a small symmetric positive (semi-)definite A (m x m, row-major) by Cholesky,
 * adding a relative ridge when A is singular (a free common shift of all experts in a gate Newton
 * step, an expert whose weighted inputs are collinear):
 *
 *     (A + ridge I) x = b,   ridge = 0, or 1e-10 (tr A / m) 10^t for the least t that factors
 *
 * (a pivot must exceed 1e-14 (tr|A| / m + ridge); at most 30 tries). Off-diagonals are read from
 * the lower triangle, so an A that is asymmetric by rounding is fine.
 *
 * @param A row-major m x m, symmetric positive semi-definite
 * @param b right-hand side, length m
 * @param m the order
 * @returns x (a new array)
 * @example
 *   solveDamped(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2) // => [0.5, 0]
 */
export function solveDamped(A: Float64Array, b: Float64Array, m: number): Float64Array {
  const { L } = cholesky(A, m, DAMPED);
  return backSubstitute(L, forwardSubstitute(L, b, m), m);
}

/** Options of {@link inverseQuadraticForm}: the factorisation's, plus Jacobi scaling. */
export interface InverseQuadraticOptions extends CholeskyOptions {
  /**
   * scale A to unit diagonal first (A_ij / sqrt(A_ii A_jj), b_i / sqrt(A_ii)): the form is
   * unchanged, and one absolute ridge then suits blocks of any scale. Defaults to false
   */
  jacobi?: boolean;
}

/**
 * The quadratic form b' A^-1 b of a symmetric positive (semi-)definite A, by a Cholesky factor:
 *
 *     b' A^-1 b = || L^-1 b ||^2,   A (+ ridge I) = L L'
 *
 * With `jacobi`, A is first scaled to unit diagonal (D A D, D b with D = diag(A)^(-1/2); the form
 * is invariant), and only the upper triangle of A is read (the scaled lower triangle mirrors it).
 * A direction that the factorisation cannot resolve gets the ridge of `options`.
 *
 * @param A row-major m x m (not modified)
 * @param b length m
 * @param m the order; 0 gives 0
 * @param options the {@link CholeskyOptions} and `jacobi`
 * @returns b' A^-1 b (>= 0)
 * @example
 *   inverseQuadraticForm(Float64Array.from([4, 0, 0, 16]), Float64Array.from([2, 4]), 2) // => 2 (= 4/4 + 16/16)
 */
export function inverseQuadraticForm(A: Float64Array, b: ArrayLike<number>, m: number, options: InverseQuadraticOptions = {}): number {
  return inverseQuadraticSolve(A, b, m, options, false).form;
}

/**
 * The quadratic form b' A^-1 b of {@link inverseQuadraticForm} and, with `wantSolution`, the
 * solution x = A^-1 b of the same factorisation (with `jacobi`: x = D (D A D)^-1 D b, the ridge
 * acting on the scaled system):
 *
 *     A (+ ridge) = L L',   z = L^-1 b,   form = ||z||^2,   x = L^-T z
 *
 * @param A row-major m x m (not modified; with `jacobi` only its upper triangle is read)
 * @param b length m
 * @param m the order; 0 gives form 0 and an empty x
 * @param options the {@link CholeskyOptions} and `jacobi`
 * @param wantSolution whether to compute x (default true)
 * @returns `{ form, x }` (x empty when not asked for)
 * @example
 *   inverseQuadraticSolve(Float64Array.from([4, 0, 0, 16]), Float64Array.from([2, 4]), 2, { jacobi: true })
 *   // => { form: 2, x: [0.5, 0.25] }
 */
export function inverseQuadraticSolve(
  A: Float64Array,
  b: ArrayLike<number>,
  m: number,
  options: InverseQuadraticOptions = {},
  wantSolution = true,
): { form: number; x: Float64Array } {
  if (m === 0) return { form: 0, x: new Float64Array(0) };
  let M: ArrayLike<number> = A;
  let rhs: ArrayLike<number> = b;
  let scale: Float64Array | null = null;
  if (options.jacobi) {
    scale = new Float64Array(m);
    for (let a = 0; a < m; a++) scale[a] = 1 / Math.sqrt(A[a * m + a]!);
    const S = new Float64Array(m * m);
    for (let a = 0; a < m; a++) {
      for (let c = a; c < m; c++) {
        // (A_ac s_a) s_c with a <= c, mirrored: the lower triangle the factor reads
        const v = A[a * m + c]! * scale[a]! * scale[c]!;
        S[a * m + c] = v;
        S[c * m + a] = v;
      }
    }
    M = S;
    const sc = scale;
    rhs = Float64Array.from({ length: m }, (_, a) => b[a]! * sc[a]!);
  }
  const { L } = cholesky(M, m, options);
  const z = forwardSubstitute(L, rhs, m);
  let form = 0;
  for (let i = 0; i < m; i++) form += z[i]! * z[i]!;
  if (!wantSolution) return { form, x: new Float64Array(0) };
  const x = backSubstitute(L, z, m);
  if (scale) for (let a = 0; a < m; a++) x[a] = x[a]! * scale[a]!;
  return { form, x };
}
