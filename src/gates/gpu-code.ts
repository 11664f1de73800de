/**
 * The contract between a gate and the generated GPU kernels (gpu/source.ts): a gate definition's
 * optional `gpu` member returns, for one spec and shape, f32 code emitters (plain functions
 * returning gpu.js kernel source text). The generator owns everything a softmax over logits has in
 * common (selection of the top K, log-sum-exp, the E-step, Q and the sums of the gradient and
 * Hessian formulas of logit-gate.ts); a gate writes only its logits u_i and their first and second
 * derivatives in theta, as the float64 LogitGate subclasses do (logits, jacobianRow, secondTerm).
 * Defined here, below gpu/, so that gates never import the GPU engine.
 *
 * Naming: emitted statements are pasted into each kernel's body, unrolled per expert, so their
 * locals share its scope. The generator names the logit of expert i `u{i}`; its own locals are
 * names without a digit (f, o, r, a, b, iv, mx, ...), x0.. for the point, s2, and per expert kp,
 * q, bt, lg, rs, nu, t, lw, g, rr, ja, jb, sd followed by the index. An emitter's locals end in
 * the expert index and use other prefixes (e.g. s{i}, v{i}, lin{i}); kernels are plain
 * JavaScript for gpu.js (Math.* maps to WGSL builtins; every number is f32).
 */

/** A helper function added to the gpu.js instance once (gpu.addFunction source and settings). */
export interface GpuFunction {
  source: string;
  /** gpu.addFunction settings (argument and return types); {} for all-float functions */
  settings: Record<string, unknown>;
}

/** How emitted code refers to the kernel's inputs (the generator's layout, not the gate's). */
export interface GpuNames {
  /** theta_j of the current fit, an f32 expression */
  theta(j: number): string;
  /** coordinate p of the current point, an f32 expression */
  x(p: number): string;
  /** 1/tau of the current fit (1 for gates without a temperature) */
  readonly invTau: string;
}

/** One nonzero entry du_i/dtheta_index = value (an f32 expression). */
export interface GpuJacobianEntry {
  index: number;
  value: string;
}

/** One nonzero entry d2u_i/dtheta_a dtheta_b = value of the unordered pair {a, b} (listed once). */
export interface GpuSecondEntry {
  a: number;
  b: number;
  value: string;
}

/** The shape a gate's code is generated for. */
export interface GpuShape {
  /** number of experts */
  k: number;
  /** input dimension */
  d: number;
  /** theta has log tau at index k + k d */
  tauFree: boolean;
}

/** A gate's f32 code for one spec and shape (see the module comment for the names it may use). */
export interface GateGpuCode {
  /** experts kept at each x: k (dense), or fewer, the K largest `rank` scores (ties: lower index) */
  readonly K: number;
  /**
   * Optional: the length of theta where it is not k + k d (+ 1 with tau free), the linear gates'
   * (beta0, beta1, log tau); the gaussian gate has k + k d + k d(d+1)/2
   */
  readonly nParams?: number;
  /** helper functions the emitted code calls */
  readonly functions: readonly GpuFunction[];
  /** Statements defining `u{i}`, the logit of expert i at the point (G = softmax of the u's). */
  logit(i: number, at: GpuNames): string;
  /** The ranking score of expert i (only called when K < k), after every logit(j). */
  rank?(i: number, at: GpuNames): string;
  /** Statements defining the locals `jacobian(i)` and `second(i)` read, at theta (the gate pass). */
  derivatives(i: number, at: GpuNames): string;
  /** The nonzero entries of du_i/dtheta, in the locals of `derivatives(i)` and `at`. */
  jacobian(i: number, at: GpuNames): readonly GpuJacobianEntry[];
  /** The nonzero entries of d2u_i/dtheta dtheta' (each unordered pair once); [] for logits linear in theta. */
  second(i: number, at: GpuNames): readonly GpuSecondEntry[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Index of (beta1_i)_p in theta (gates/types.ts packing). */
export function slopeIndex(shape: GpuShape, i: number, p: number): number {
  return shape.k + i * shape.d + p;
}

/** Index of log tau in theta, or -1 when tau is not fitted. */
export function logTauIndex(shape: GpuShape): number {
  return shape.tauFree ? shape.k + shape.k * shape.d : -1;
}

/**
 * The f32 expression beta1_i.x = sum_p theta[k + i d + p] x_p.
 * @param shape k and d of the gate
 * @param i the expert
 * @param at the kernel's names of theta and x
 */
export function slopeCode(shape: GpuShape, i: number, at: GpuNames): string {
  return range(shape.d)
    .map((p) => `${at.theta(slopeIndex(shape, i, p))} * ${at.x(p)}`)
    .join(' + ');
}
