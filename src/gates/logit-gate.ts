/**
 * Shared machinery of gates of the form G(x) = softmax over a selected set S(x) of logits u(x):
 *   G_i(x) = exp(u_i(x)) / sum_{j in S(x)} exp(u_j(x))  for i in S(x), 0 otherwise.
 * A concrete gate supplies the logits (with -Infinity for experts outside S(x)) and the chain rule
 * from dQ/du to dQ/dtheta. Weights, log-weights and the objective are computed here once, with
 * log-sum-exp, for every such gate.
 * The gate M-step's objective and Hessian have two paths: the reference (referenceObjective,
 * referenceHessian: the generic chain rule, point by point through the subclass's hooks) and, for
 * a subclass that writes its per-expert statements (fastCode), generated kernels
 * (logit-kernel.ts) with the same per-term arithmetic, summed in another order.
 */
import type { GateSpec, GateType } from './registry.js';
import type { Gate, GatingParameters } from './types.js';
import { compileFastHessian, compileFastObjective, MAX_FAST_WIDTH, type FastGateCode, type FastHessianKernel, type FastObjectiveKernel } from './logit-kernel.js';

export abstract class LogitGate implements Gate {
  abstract readonly type: GateType;
  readonly nParams: number;
  readonly logTauIndex: number;
  /**
   * The most nonzeros of one jacobian row du_ri/dtheta (the generic Hessian's and pointScores'
   * buffers): beta0_i, expert i's other gating parameters, log tau.
   */
  protected readonly jacobianWidth: number;
  private scratch = new Float64Array(0);
  /** the compiled fast-path kernels (on first use; null: the reference path) */
  private kernels: { objective: FastObjectiveKernel; hessian: FastHessianKernel } | null | undefined;

  /**
   * @param perExpert the gating parameters of one expert besides beta0 (default d: the slope
   *   beta1; gaussian: d + d(d+1)/2), each expert's block after the k intercepts
   */
  constructor(
    readonly k: number,
    readonly d: number,
    tauFree: boolean,
    perExpert = d,
  ) {
    this.nParams = k + k * perExpert + (tauFree ? 1 : 0);
    this.logTauIndex = tauFree ? k + k * perExpert : -1;
    this.jacobianWidth = perExpert + 2;
  }

  /** Logits u (n x k) at theta; -Infinity marks an expert outside the selected set. */
  abstract logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void;
  /** grad += sum_n sum_i D_ni du_ni/dtheta, where D_ni = dQ/du_ni (0 outside the selection). */
  abstract chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void;
  /**
   * For the generic Hessian: the nonzeros of du_ri/dtheta into idx/val from position `at` (at most
   * `jacobianWidth`: d + 2 for the linear gates), returning their count. Gates without it have no Hessian from this class.
   */
  protected jacobianRow?(theta: Float64Array, X: Float64Array, r: number, i: number, idx: Int32Array, val: Float64Array, at: number, inv: number): number;
  /** H += D * d2u_ri/dtheta2 (the second-derivative term; absent when u is linear in theta). */
  protected secondTerm?(theta: Float64Array, X: Float64Array, r: number, i: number, D: number, H: Float64Array, inv: number): void;
  /** The temperature at theta (1 for gates without one). */
  protected tau(_theta: Float64Array): number {
    return 1;
  }

  /**
   * Fast-path hook (optional): the gate's per-expert statements for the generated kernels of
   * logit-kernel.ts. A gate that has it (and `fastPath` true) gets objective and Hessian from
   * those kernels; the others, and shapes too large to unroll, keep the reference path.
   */
  protected fastCode?(): FastGateCode;
  /** Whether objective and hessian take the fast path (a subclass may keep some modes on the reference). */
  protected get fastPath(): boolean {
    return this.fastCode !== undefined;
  }

  /**
   * Whether objective and hessian run the generated kernels (logit-kernel.ts) rather than the
   * reference path (for tests and benchmarks; compiles them on first use).
   * @example createGate({ type: 'temperature', tau: 0.5 }, 2, 1, { tau: 'free' }).usesFastPath // => true
   */
  get usesFastPath(): boolean {
    return this.fastKernels() !== null;
  }

  private fastKernels(): { objective: FastObjectiveKernel; hessian: FastHessianKernel } | null {
    if (this.kernels !== undefined) return this.kernels;
    const { k, d, nParams } = this;
    const code = this.fastPath ? this.fastCode!() : null;
    this.kernels =
      code && k * code.w <= MAX_FAST_WIDTH
        ? { objective: compileFastObjective(code, k, d, nParams), hessian: compileFastHessian(code, k, d, nParams) }
        : null;
    return this.kernels;
  }

  /**
   * Hessian of Q for R with rows summing to 1, from the chain rule through the logits:
   *   H = sum_n [ -J_n' (diag G_n - G_n G_n') J_n + sum_i (R_ni - G_ni) d2u_ni/dtheta2 ],
   * J_n = du_n/dtheta. Dropped experts (G = 0, R = 0) contribute nothing.
   */
  protected logitHessian(theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void {
    const fast = this.fastKernels();
    if (fast) fast.hessian(theta, X, n, G, H, R, 1 / this.tau(theta));
    else this.referenceHessian(theta, X, n, G, H, R);
  }

  /**
   * The generic (reference) Hessian, kept for tests and benchmarks of the fast path: the chain rule
   * point by point through `jacobianRow` and `secondTerm`,
   *   H = sum_n [ -J_n' (diag G_n - G_n G_n') J_n + sum_i (R_ni - G_ni) d2u_ni/dtheta2 ].
   * @param theta packed parameters (length nParams)
   * @param X inputs, n x d row-major
   * @param n number of points, >= 0
   * @param G the weights at theta (n x k)
   * @param H output, nParams x nParams row-major (overwritten)
   * @param R responsibilities (n x k), rows summing to 1
   * @example gate.referenceHessian(theta, X, n, G, H, R) // H as gate.hessian writes it, up to rounding
   */
  referenceHessian(theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void {
    const { k, nParams: P } = this;
    const width = this.jacobianWidth;
    const idx = new Int32Array(k * width);
    const val = new Float64Array(k * width);
    const count = new Int32Array(k);
    const inv = 1 / this.tau(theta); // hooks take 1/tau, computed once per pass
    H.fill(0);
    for (let r = 0; r < n; r++) {
      const o = r * k;
      for (let i = 0; i < k; i++) {
        count[i] = G[o + i]! > 0 ? this.jacobianRow!(theta, X, r, i, idx, val, i * width, inv) : 0;
      }
      for (let i = 0; i < k; i++) {
        const gi = G[o + i]!;
        if (gi === 0) continue;
        for (let j = 0; j < k; j++) {
          const c = i === j ? gi - gi * gi : -gi * G[o + j]!;
          if (c === 0) continue;
          for (let a = 0; a < count[i]!; a++) {
            const row = idx[i * width + a]! * P;
            const ca = c * val[i * width + a]!;
            for (let b = 0; b < count[j]!; b++) H[row + idx[j * width + b]!] = H[row + idx[j * width + b]!]! - ca * val[j * width + b]!;
          }
        }
        const D = R[o + i]! - gi;
        if (D !== 0 && this.secondTerm) this.secondTerm(theta, X, r, i, D, H, inv);
      }
    }
  }

  /**
   * Per-point gradients of Q (Gate.pointScores), by the chain rule through the logits:
   *   S_n = sum_i (R_ni - G_ni) du_ni/dtheta   (rows of R summing to 1; dropped experts add 0).
   * Without `jacobianRow` (a subclass that has none) it falls back to `objective` point by point.
   */
  pointScores(theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array, S: Float64Array): void {
    const { k, d, nParams: P } = this;
    if (!this.jacobianRow) {
      // a subclass without jacobianRow: one objective call per point (slower, same numbers)
      for (let r = 0; r < n; r++) {
        this.objective(theta, X.subarray(r * d, r * d + d), 1, R.subarray(r * k, r * k + k), S.subarray(r * P, r * P + P), null);
      }
      return;
    }
    const width = this.jacobianWidth;
    const idx = new Int32Array(width);
    const val = new Float64Array(width);
    const inv = 1 / this.tau(theta);
    S.fill(0, 0, n * P);
    for (let r = 0; r < n; r++) {
      const o = r * k;
      const row = r * P;
      for (let i = 0; i < k; i++) {
        const gi = G[o + i]!;
        const D = R[o + i]! - gi;
        if (gi === 0 || D === 0) continue;
        const count = this.jacobianRow(theta, X, r, i, idx, val, 0, inv);
        for (let a = 0; a < count; a++) S[row + idx[a]!] = S[row + idx[a]!]! + D * val[a]!;
      }
    }
  }

  /** The gate spec with the temperature read from theta where it is free. */
  protected abstract specFrom(theta: Float64Array): GateSpec;
  /** Temperature from the spec (gates without one return 1). */
  protected abstract specTau(spec: GateSpec): number;

  protected buffer(size: number): Float64Array {
    if (this.scratch.length < size) this.scratch = new Float64Array(size);
    return this.scratch.length === size ? this.scratch : this.scratch.subarray(0, size);
  }

  pack(experts: readonly GatingParameters[], spec: GateSpec): Float64Array {
    const { k, d } = this;
    const theta = new Float64Array(this.nParams);
    for (let i = 0; i < k; i++) {
      const e = experts[i]!;
      theta[i] = e.beta0;
      for (let p = 0; p < d; p++) theta[k + i * d + p] = e.beta1![p]!; // linear gating (the gaussian gate packs its own)
    }
    if (this.logTauIndex >= 0) theta[this.logTauIndex] = Math.log(this.specTau(spec));
    return theta;
  }

  unpack(theta: Float64Array): { beta0: number[]; beta1: number[][]; spec: GateSpec } {
    const { k, d } = this;
    const beta0: number[] = [];
    const beta1: number[][] = [];
    for (let i = 0; i < k; i++) {
      beta0.push(theta[i]!);
      beta1.push(Array.from(theta.subarray(k + i * d, k + i * d + d)));
    }
    return { beta0, beta1, spec: this.specFrom(theta) };
  }

  weights(theta: Float64Array, X: Float64Array, n: number, G: Float64Array): void {
    this.logits(theta, X, n, G);
    softmaxRowsInPlace(G, n, this.k);
  }

  logWeights(theta: Float64Array, X: Float64Array, n: number, logG: Float64Array): void {
    const k = this.k;
    this.logits(theta, X, n, logG);
    for (let r = 0; r < n; r++) {
      const o = r * k;
      let m = -Infinity;
      for (let i = 0; i < k; i++) if (logG[o + i]! > m) m = logG[o + i]!;
      let s = 0;
      for (let i = 0; i < k; i++) s += Math.exp(logG[o + i]! - m);
      const lse = m + Math.log(s);
      for (let i = 0; i < k; i++) logG[o + i] = logG[o + i]! - lse;
    }
  }

  objective(
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    grad: Float64Array | null,
    G: Float64Array | null,
  ): number {
    const fast = this.fastKernels();
    return fast ? fast.objective(theta, X, n, R, grad, G, 1 / this.tau(theta)) : this.referenceObjective(theta, X, n, R, grad, G);
  }

  /**
   * The generic (reference) objective, kept for tests and benchmarks of the fast path:
   *   Q = sum_n sum_i R_ni (u_ni - log sum_j exp(u_nj)),  grad = chain(dQ/du),  G = softmax(u),
   * through `logits` and `chain`.
   * @param theta packed parameters (length nParams)
   * @param X inputs, n x d row-major
   * @param n number of points, >= 0
   * @param R responsibilities (n x k), rows summing to 1
   * @param grad receives dQ/dtheta when given (length nParams)
   * @param G receives the weights at theta when given (n x k)
   * @example gate.referenceObjective(theta, X, n, R, grad, null) // Q as gate.objective returns it, up to rounding
   */
  referenceObjective(
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    grad: Float64Array | null,
    G: Float64Array | null,
  ): number {
    const k = this.k;
    const U = this.buffer(n * k);
    this.logits(theta, X, n, U);
    let q = 0;
    for (let r = 0; r < n; r++) {
      const o = r * k;
      let m = -Infinity;
      for (let i = 0; i < k; i++) if (U[o + i]! > m) m = U[o + i]!;
      let s = 0;
      let rowR = 0;
      let linear = 0; // sum_i R_ni u_ni; -Infinity if a dropped expert has R_ni > 0
      for (let i = 0; i < k; i++) {
        const u = U[o + i]!;
        const w = R[o + i]!;
        if (w > 0) linear += w * u;
        rowR += w;
        const e = Math.exp(u - m);
        U[o + i] = e;
        s += e;
      }
      // Q_n = sum_i R_ni (u_ni - lse_n)
      q += linear - rowR * (m + Math.log(s));
      const inv = 1 / s;
      for (let i = 0; i < k; i++) {
        const g = U[o + i]! * inv;
        if (G) G[o + i] = g;
        U[o + i] = R[o + i]! - g * rowR; // D_ni = dQ/du_ni
      }
    }
    if (grad) {
      grad.fill(0);
      this.chain(theta, X, n, U, grad);
    }
    return q;
  }
}

/** In place: each row of A (n x k) of logits becomes softmax weights, by log-sum-exp. */
export function softmaxRowsInPlace(A: Float64Array, n: number, k: number): void {
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let m = -Infinity;
    for (let i = 0; i < k; i++) if (A[o + i]! > m) m = A[o + i]!;
    let s = 0;
    for (let i = 0; i < k; i++) {
      const e = Math.exp(A[o + i]! - m);
      A[o + i] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let i = 0; i < k; i++) A[o + i] = A[o + i]! * inv;
  }
}
