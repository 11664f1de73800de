/**
 * Solve A x = b for a small symmetric positive (semi-)definite A (m x m, row-major) by Cholesky,
 * adding a relative ridge when A is singular (a free common shift of all experts in a gate Newton
 * step, an expert whose weighted inputs are collinear). Off-diagonals are read from the lower
 * triangle, so an A that is asymmetric by rounding is fine. m is d + 1 or (k-1)(d+1): small enough
 * that hand-written code beats a matrix library (see toolchain.md).
 */
export function solveDamped(A: Float64Array, b: Float64Array, m: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < m; i++) trace += Math.abs(A[i * m + i]!);
  const L = new Float64Array(m * m);
  let ridge = 0;
  for (let attempt = 0; attempt < 30; attempt++) {
    let ok = true;
    for (let j = 0; j < m && ok; j++) {
      let s = A[j * m + j]! + ridge;
      for (let p = 0; p < j; p++) s -= L[j * m + p]! * L[j * m + p]!;
      if (!(s > 1e-14 * (trace / m + ridge))) {
        ok = false;
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
    ridge = ridge === 0 ? 1e-10 * (trace / m + 1e-300) : ridge * 10;
  }
  const x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= L[i * m + p]! * x[p]!;
    x[i] = s / L[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let p = i + 1; p < m; p++) s -= L[p * m + i]! * x[p]!;
    x[i] = s / L[i * m + i]!;
  }
  return x;
}
