/**
 * Dense LU solve (Gaussian elimination with partial pivoting) for small general systems, e.g. the
 * damped normal equations of {@link levenbergMarquardt} (numerics/levenberg-marquardt.ts).
 */

/**
 * Solve the small dense system A x = b (A n x n, rows as arrays) by Gaussian elimination with
 * partial pivoting (row swaps; the pivot of column c is the largest |M_rc|, r >= c):
 *
 *     P A = L U,   x = U^-1 L^-1 P b
 *
 * @param A the matrix, n rows of length n (not modified)
 * @param b the right-hand side, length n (not modified)
 * @returns x, or undefined when a pivot is exactly 0 (A singular to working precision)
 * @example
 *   solveDense([[0, 1], [2, 0]], [3, 4]) // => [2, 3]
 *   solveDense([[1, 2], [2, 4]], [1, 2]) // => undefined
 */
export function solveDense(A: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (!(Math.abs(M[p]![c]!) > 0)) return undefined;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const piv = M[c]!;
    for (let r = c + 1; r < n; r++) {
      const row = M[r]!;
      const f = row[c]! / piv[c]!;
      for (let cc = c; cc <= n; cc++) row[cc] = row[cc]! - f * piv[cc]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    const row = M[r]!;
    let s = row[n]!;
    for (let c = r + 1; c < n; c++) s -= row[c]! * x[c]!;
    x[r] = s / row[r]!;
  }
  return x;
}
