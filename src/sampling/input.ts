/**
 * The input-design sampler (spec: models.md, "Sampling"): X ~ input design, one point at a time
 * from a source of variates. The one implementation of drawing x: `sample` (sample.ts) reads it
 * from each point's Philox words, `densityDistance` (losses/) from a sequential seeded Rng, and the
 * GPU sampler (gpu/sampler.ts) takes the same Cholesky factor for its kernels.
 *
 *   uniform: x_p = low + (high - low) u_p,            p = 1..d  (one uniform per coordinate)
 *   normal:  x = mean + L z, z ~ N(0, I_d), L L' = cov (lower Cholesky factor, numerics/cholesky.ts)
 *   grid:    x_r = low + (high - low) r / (n - 1)      (point r of n; no randomness; low for n = 1)
 */
import { ModelError, show } from '../errors.js';
import type { InputSpec } from '../models/types.js';
import { cholesky } from '../numerics/cholesky.js';

/** A source of variates read in order: uniform on (0, 1) and standard normal (e.g. an Rng). */
export interface VariateSource {
  uniform(): number;
  normal(): number;
}

/** An input design ready to draw from: the normal's Cholesky factor is computed once. */
export type InputSampler =
  | { type: 'uniform'; dim: number; low: number; width: number }
  | { type: 'grid'; dim: 1; low: number; high: number }
  | { type: 'normal'; dim: number; mean: readonly number[]; L: Float64Array; z: Float64Array };

/**
 * Lower Cholesky factor of a normal design's covariance, row-major d x d:
 *
 *     cov = L L',   L_jj = sqrt(cov_jj - sum_{p<j} L_jp^2),   L_ij = (cov_ij - sum_{p<j} L_ip L_jp) / L_jj
 *
 * @param cov d x d, symmetric positive definite (only the lower triangle is read)
 * @param path the field named in the error
 * @returns L (row-major, L[p * d + q])
 * @throws {ModelError} if cov is not positive definite (names the pivot)
 * @example
 *   covarianceFactor([[4, 2], [2, 3]], 'input.cov') // => [2, 0, 1, 1.4142135623730951]
 */
export function covarianceFactor(cov: readonly (readonly number[])[], path: string): Float64Array {
  const d = cov.length;
  const A = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) A[i * d + j] = cov[i]![j]!;
  const { L, ok, failedPivot, failedValue } = cholesky(A, d);
  if (!ok) throw new ModelError(`${path}: is not positive definite (pivot ${failedPivot} is ${show(failedValue)}); must be a covariance matrix`);
  return L;
}

/**
 * Prepare a (validated) input design for drawing: the width of a box, the factor of a covariance.
 * @throws {ModelError} for a normal design whose cov is not positive definite
 */
export function inputSampler(input: InputSpec): InputSampler {
  if (input.type === 'normal') {
    return { type: 'normal', dim: input.dim, mean: input.mean, L: covarianceFactor(input.cov, 'input.cov'), z: new Float64Array(input.dim) };
  }
  if (input.type === 'uniform') return { type: 'uniform', dim: input.dim, low: input.low, width: input.high - input.low };
  return { type: 'grid', dim: 1, low: input.low, high: input.high };
}

/**
 * Draw point `point` of `n` into X[offset .. offset + d): uniform reads d uniforms, normal d
 * normals (then x = mean + L z), grid none. Small on purpose: it is called once per point inside
 * the samplers' loops, where V8 inlines it.
 */
export function drawInput(s: InputSampler, src: VariateSource, X: Float64Array, offset: number, point: number, n: number): void {
  const d = s.dim;
  if (s.type === 'uniform') {
    for (let p = 0; p < d; p++) X[offset + p] = s.low + s.width * src.uniform();
  } else if (s.type === 'normal') {
    const { z, L, mean } = s;
    for (let p = 0; p < d; p++) z[p] = src.normal();
    for (let p = 0; p < d; p++) {
      let v = mean[p]!;
      for (let q = 0; q <= p; q++) v += L[p * d + q]! * z[q]!;
      X[offset + p] = v;
    }
  } else {
    X[offset] = n === 1 ? s.low : s.low + ((s.high - s.low) * point) / (n - 1);
  }
}

/**
 * n points of a (validated) input design, drawn in order from one source: point r takes the
 * source's next variates (uniform: d uniforms; normal: d normals), so a sequential Rng gives
 * X[r d + p] from its (r d + p)-th uniform (uniform design).
 *
 * @param input the design (validated, e.g. by parseInput)
 * @param n number of points (>= 1)
 * @param src the variates; unused (may be null) for a grid design
 * @returns X, n x d row-major
 * @throws {ModelError} for a normal design whose cov is not positive definite
 * @example
 *   sampleInputs({ type: 'grid', low: 0, high: 2, dim: 1 }, 5, null) // => [0, 0.5, 1, 1.5, 2]
 *   sampleInputs({ type: 'uniform', low: -1, high: 3, dim: 2 }, 1000, new Rng(9)) // 2000 values in [-1, 3)
 */
export function sampleInputs(input: InputSpec, n: number, src: VariateSource | null): Float64Array {
  const s = inputSampler(input);
  const d = s.dim;
  if (s.type !== 'grid' && src === null) throw new TypeError(`sampleInputs: a ${s.type} design needs a source of variates`);
  const X = new Float64Array(n * d);
  for (let r = 0; r < n; r++) drawInput(s, src!, X, r * d, r, n);
  return X;
}
