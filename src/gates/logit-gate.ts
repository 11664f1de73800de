/**
 * Shared machinery of gates of the form G(x) = softmax over a selected set S(x) of logits u(x):
 *   G_i(x) = exp(u_i(x)) / sum_{j in S(x)} exp(u_j(x))  for i in S(x), 0 otherwise.
 * A concrete gate supplies the logits (with -Infinity for experts outside S(x)) and the chain rule
 * from dQ/du to dQ/dtheta. Weights, log-weights and the objective are computed here once, with
 * log-sum-exp, for every such gate.
 */
import type { Expert, GateSpec, GateType } from '../models/types.js';
import type { Gate } from './types.js';

export abstract class LogitGate implements Gate {
  abstract readonly type: GateType;
  readonly nParams: number;
  readonly logTauIndex: number;
  private scratch = new Float64Array(0);

  constructor(
    readonly k: number,
    readonly d: number,
    tauFree: boolean,
  ) {
    this.nParams = k + k * d + (tauFree ? 1 : 0);
    this.logTauIndex = tauFree ? k + k * d : -1;
  }

  /** Logits u (n x k) at theta; -Infinity marks an expert outside the selected set. */
  abstract logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void;
  /** grad += sum_n sum_i D_ni du_ni/dtheta, where D_ni = dQ/du_ni (0 outside the selection). */
  abstract chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void;
  /** The gate spec with the temperature read from theta where it is free. */
  protected abstract specFrom(theta: Float64Array): GateSpec;
  /** Temperature from the spec (gates without one return 1). */
  protected abstract specTau(spec: GateSpec): number;

  protected buffer(size: number): Float64Array {
    if (this.scratch.length < size) this.scratch = new Float64Array(size);
    return this.scratch.length === size ? this.scratch : this.scratch.subarray(0, size);
  }

  pack(experts: readonly Expert[], spec: GateSpec): Float64Array {
    const { k, d } = this;
    const theta = new Float64Array(this.nParams);
    for (let i = 0; i < k; i++) {
      const e = experts[i]!;
      theta[i] = e.beta0;
      for (let p = 0; p < d; p++) theta[k + i * d + p] = e.beta1[p]!;
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
