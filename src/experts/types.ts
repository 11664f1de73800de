/**
 * The Expert contract: what the EM engine, direct MLE, the score certificate, the polish and the
 * likelihood need to know about the experts' family f_i(y | x; phi_i), and nothing else.
 *
 * A family owns its packed parameters (flat arrays for k experts in dimension d), their
 * log-density, the weighted sufficient statistics of its M-step and the closed-form M-step, and
 * its part of the MLE vector v = (free gate coordinates, expert coordinates) with the gradient
 * and the per-point score there. The packed parameters carry their family (`family`), so every
 * caller that holds parameters can reach the family without a switch on a type name.
 *
 * Backends may run faster kernels for a family they know (the CPU's generated JavaScript and
 * WASM E-steps, the GPU source: the Gaussian linear expert, `kernel: 'gaussian-linear'`); for any
 * other family the CPU backend runs the generic E-step below the contract (backend/cpu.ts
 * `eStepGeneric`), and the GPU refuses with a typed error.
 */
import type { Expert } from '../models/types.js';

/** Packed parameters of k experts in dimension d, with the family that reads them. */
export interface ExpertParameters {
  readonly k: number;
  readonly d: number;
  readonly family: ExpertFamily;
}

/**
 * One family of experts. Layouts (the statistics block of one expert, the expert part of the MLE
 * vector) are the family's own; callers size buffers with statsSize and vectorSize.
 */
export interface ExpertFamily<P extends ExpertParameters = ExpertParameters> {
  /** the family's name, in messages */
  readonly name: string;
  /** the backends' fast-kernel key: 'gaussian-linear', or null (generic kernels only) */
  readonly kernel: 'gaussian-linear' | null;
  /** the plain model fields one expert of this family has (after its gating fields) */
  readonly fields: readonly (keyof Expert)[];
  /** pack the model's experts (validated upstream) */
  pack(experts: readonly Expert[], d: number): P;
  /** expert i's fields of the plain model */
  unpack(p: P, i: number): Pick<Expert, 'a' | 'b' | 'nu'>;
  /** a deep copy */
  copy(p: P): P;
  /** copy src's values into dst (same k and d) */
  assign(dst: P, src: P): void;
  /** log f_i(Y_r | X_r) for every point r and expert i, into out (n x k, row-major) */
  logDensities(p: P, X: Float64Array, Y: Float64Array, n: number, out: Float64Array): void;
  /** entries of one expert's statistics block */
  statsSize(d: number): number;
  /**
   * Add the point (x, y) with weight w > 0 to expert i's statistics block (which starts at
   * stats[offset]); statistics are accumulated at the CURRENT parameters.
   */
  addStatistics(p: P, i: number, x: Float64Array, xOffset: number, y: number, w: number, stats: Float64Array, offset: number): void;
  /** finish a block accumulated by addStatistics (e.g. fill symmetric halves); called once per E-step */
  finishStatistics(p: P, stats: Float64Array): void;
  /**
   * The closed-form weighted M-step from the statistics, in place; per expert whether its scale
   * hit the floor (or it has no mass, then it is left unchanged and flagged).
   */
  mStep(p: P, stats: Float64Array, floor: number): boolean[];
  /** length of the expert part of the MLE vector for k experts */
  vectorSize(k: number, d: number): number;
  /** write the expert coordinates into v[offset ..) */
  toVector(p: P, v: Float64Array, offset: number): void;
  /** read the expert coordinates from v[offset ..) */
  fromVector(p: P, v: Float64Array, offset: number): void;
  /** project the parameters onto the feasible set (scales >= floor) */
  project(p: P, floor: number): void;
  /** the expert indices whose scale is at or below the floor */
  onFloor(p: P, floor: number): number[];
  /** dL/d(expert coordinates) from the E-step's statistics (Fisher's identity), into grad[offset ..) */
  gradient(p: P, stats: Float64Array, grad: Float64Array, offset: number): void;
  /**
   * The point's score in the expert coordinates, sum_i w_i d log f_i(y | x) / d phi_i, into
   * s[offset ..) (w = the point's responsibilities, x at X[xOffset ..)).
   */
  pointScore(p: P, x: Float64Array, xOffset: number, y: number, w: Float64Array, s: Float64Array, offset: number): void;
  /**
   * Whether expert coordinate u (0-based within the expert part) is held by a constraint in the
   * direction of its score (a scale on its floor with a score pushing it lower): the certificate
   * leaves it out (Karush-Kuhn-Tucker).
   */
  heldByFloor(p: P, u: number, score: number, floor: number): boolean;
}
