/**
 * A sample of n points (X_n, Y_n) with X in R^d: row-major X (n x d), Y (n); optionally the
 * 0-based index Z_n of the expert that generated each row (simulated data only).
 */
import { DataError, show } from '../errors.js';

export interface Dataset {
  n: number;
  d: number;
  /** row-major, n x d */
  X: Float64Array;
  /** length n */
  Y: Float64Array;
  /** 0-based generating expert, length n (simulated data only) */
  Z?: Int32Array;
}

/** Largest |y| a fit accepts: its square (a residual's) must stay far from float64 overflow. */
export const MAX_DATA_MAGNITUDE = 1e150;

/**
 * For fitting: every |x| and |y| at most MAX_DATA_MAGNITUDE (a squared residual of a larger y, or
 * the x x' of a larger x in the least-squares and Newton systems, overflows, so no variance, no
 * likelihood and no certificate can be computed). DataError naming the row and column otherwise.
 */
export function checkFitMagnitude(data: Dataset): void {
  for (let r = 0; r < data.n; r++) {
    for (let p = 0; p < data.d; p++) {
      const v = data.X[r * data.d + p]!;
      if (Math.abs(v) > MAX_DATA_MAGNITUDE) {
        throw new DataError(`row ${r + 1}, column x${p + 1}: ${show(v)} is too large to fit; |x| must be at most ${MAX_DATA_MAGNITUDE} (rescale the data)`);
      }
    }
    if (Math.abs(data.Y[r]!) > MAX_DATA_MAGNITUDE) {
      throw new DataError(`row ${r + 1}, column y: ${show(data.Y[r])} is too large to fit; |y| must be at most ${MAX_DATA_MAGNITUDE} (rescale the data)`);
    }
  }
}

/** Check shapes and that every value is finite; DataError naming the row (1-based) and column. */
export function validateDataset(data: Dataset): Dataset {
  const { n, d, X, Y } = data;
  if (!Number.isInteger(n) || n < 1) throw new DataError(`data.n: ${show(n)} is not a sample size; must be an integer >= 1`);
  if (!Number.isInteger(d) || d < 1) throw new DataError(`data.d: ${show(d)} is not a dimension; must be an integer >= 1`);
  if (X.length !== n * d) throw new DataError(`data.X: has length ${X.length}; must have n*d = ${n * d} values`);
  if (Y.length !== n) throw new DataError(`data.Y: has length ${Y.length}; must have n = ${n} values`);
  for (let r = 0; r < n; r++) {
    for (let p = 0; p < d; p++) {
      const v = X[r * d + p]!;
      if (!Number.isFinite(v)) throw new DataError(`row ${r + 1}, column x${p + 1}: ${show(v)} is not a finite number`);
    }
    if (!Number.isFinite(Y[r]!)) throw new DataError(`row ${r + 1}, column y: ${show(Y[r])} is not a finite number`);

  }
  return data;
}
