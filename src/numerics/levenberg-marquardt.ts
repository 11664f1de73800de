/**
 * Levenberg–Marquardt least squares with an exact Jacobian (used by the [HO16] system search,
 * losses/ho-system.ts).
 */
import { solveDense } from './lu.js';

/** The residual vector F (length r) and its Jacobian dF/dz (r rows of length dim z) at z. */
export type ResidualAndJacobian = (z: readonly number[]) => { F: number[]; J: number[][] };

/** Euclidean norm of a vector. */
export const norm2 = (v: readonly number[]): number => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

/**
 * Minimise ||F(z)||_2 from z0 by Levenberg–Marquardt: each iteration solves the damped normal
 * equations (Marquardt's scaling of the diagonal)
 *
 *     (J'J + lambda (I + diag J'J)) step = -J'F
 *
 * and accepts z + step if it lowers ||F|| (then lambda /= 10, at least 1e-15), else retries with
 * lambda *= 10 (at most 30 tries per iteration, lambda <= 1e15). Starts at lambda = 1e-3; stops
 * after `maxIter` iterations, when ||F|| <= 1e-15, when no try improves, or when an accepted step
 * is below 1e-14 (1 + ||z||).
 *
 * @param evaluate F and its Jacobian at z
 * @param z0 the start (not modified)
 * @param maxIter iteration cap
 * @returns the best z found and its ||F||_2
 * @example
 *   // F(z) = (z0 - 1, 10 (z1 - z0^2)): the Rosenbrock residuals, minimum 0 at (1, 1)
 *   levenbergMarquardt((z) => ({ F: [z[0]! - 1, 10 * (z[1]! - z[0]! ** 2)], J: [[1, 0], [-20 * z[0]!, 10]] }), [-1.2, 1], 100).z // => [1, 1]
 */
export function levenbergMarquardt(evaluate: ResidualAndJacobian, z0: readonly number[], maxIter: number): { z: number[]; res: number } {
  let z = z0.slice();
  let { F, J } = evaluate(z);
  let res = norm2(F);
  let lambda = 1e-3;
  const nz = z.length;
  for (let it = 0; it < maxIter && res > 1e-15; it++) {
    const JtJ: number[][] = [];
    const g: number[] = [];
    for (let a = 0; a < nz; a++) {
      const row: number[] = [];
      for (let b = 0; b < nz; b++) {
        let s = 0;
        for (let q = 0; q < F.length; q++) s += J[q]![a]! * J[q]![b]!;
        row.push(s);
      }
      JtJ.push(row);
      let s = 0;
      for (let q = 0; q < F.length; q++) s += J[q]![a]! * F[q]!;
      g.push(-s);
    }
    let improved = false;
    for (let tries = 0; tries < 30; tries++) {
      const A = JtJ.map((row, a) => row.map((v, b) => (a === b ? v + lambda * (1 + v) : v)));
      const step = solveDense(A, g);
      if (step) {
        const zn = z.map((v, a) => v + step[a]!);
        const next = evaluate(zn);
        const rn = norm2(next.F);
        if (Number.isFinite(rn) && rn < res) {
          const small = norm2(step) < 1e-14 * (1 + norm2(z));
          z = zn;
          F = next.F;
          J = next.J;
          res = rn;
          lambda = Math.max(lambda / 10, 1e-15);
          improved = !small;
          break;
        }
      }
      lambda *= 10;
      if (lambda > 1e15) break;
    }
    if (!improved) break;
  }
  return { z, res };
}
