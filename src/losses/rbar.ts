/**
 * rbar: the exponent of a multi-atom Voronoi cell in the over-specified loss D2
 * (spec: losses.md, "Over-specified loss D2"; [DEMYS], [HO16]).
 */
import { NumericalError, show } from '../errors.js';

/** rbar(m) for the cell sizes where it is known ([HO16] Prop. 2.1, [DEMYS]). */
export const KNOWN_RBAR: Readonly<Record<number, number>> = Object.freeze({ 1: 1, 2: 4, 3: 6 });

/**
 * rbar(m): the least r such that the [HO16] system
 *
 *     sum_{i=1..m} sum_{m1 + 2 m2 = s, 1 <= m1 + m2 <= r} q3_i^2 q1_i^m1 q2_i^m2 / (m1! m2!) = 0,  s = 1..r
 *
 * has no non-trivial real solution (every q3_i != 0, some q1_i != 0). Known values:
 * rbar(1) = 1 (a singleton cell), rbar(2) = 4, rbar(3) = 6. For m >= 4 it is unknown, and the loss
 * refuses rather than guesses (losses.md). A numerical check of these values is
 * `checkRbar` in `ho-system.ts`.
 *
 * @param m the number of fitted atoms in one Voronoi cell (integer >= 1)
 * @returns 1, 4 or 6 for m = 1, 2, 3
 * @throws {NumericalError} for m >= 4 (rbar is unknown: D2 is undefined for such a cell);
 *   for m not an integer >= 1
 * @example
 *   rbar(2) // => 4
 */
export function rbar(m: number): number {
  if (!Number.isInteger(m) || m < 1) {
    throw new NumericalError(`rbar: cell size is not an integer >= 1 (got ${show(m)}); a Voronoi cell holds 1, 2 or 3 fitted atoms`);
  }
  const r = KNOWN_RBAR[m];
  if (r === undefined) {
    throw new NumericalError(
      `rbar(${m}) is unknown: a Voronoi cell of ${m} fitted atoms; D2 is undefined for it (got cell size ${m}); ` +
        `rbar is known for cells of 1, 2 or 3 atoms: fit fewer atoms, or give numeric exponents for multi-atom cells`,
    );
  }
  return r;
}
