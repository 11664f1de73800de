/**
 * Base of the gates with linear logits u_i = (beta0_i + beta1_i.x) / tau kept on the top K
 * (softmax: K = k, tau = 1; top-K: tau = 1; temperature: K = k). With tau fixed the objective is
 * concave on a fixed selection, so these gates offer a Hessian and the fused Newton pass.
 */
import type { TopKGateSpec } from './topk.js';
import { newtonKernel } from './linear-kernel.js';
import { linearChain, linearHessian, linearLogits } from './linear-logits.js';
import { LogitGate } from './logit-gate.js';
import type { FastGateCode } from './logit-kernel.js';
import type { Gate } from './types.js';

export abstract class LinearLogitGate extends LogitGate {
  readonly hessian?: Gate['hessian'];
  readonly newtonPass?: Gate['newtonPass'];
  private readonly score: Float64Array;

  constructor(
    k: number,
    d: number,
    /** experts kept at each x (k: all) */
    readonly K: number,
    readonly rankBy: TopKGateSpec['rankBy'],
    /** tau when it is fixed (1 for softmax and top-K) */
    protected readonly knownTau: number,
    tauFree: boolean,
  ) {
    super(k, d, tauFree);
    this.score = new Float64Array(k);
    if (!tauFree) {
      const scale = 1 / knownTau;
      // logits linear in theta: no second-derivative term, R is not needed
      this.hessian = (_theta, X, n, G, H) => linearHessian(X, n, k, d, scale, G, H, this.nParams);
      this.newtonPass = (theta, X, n, R, G, grad, H, variant) =>
        newtonKernel(k, d, K, rankBy, variant)(theta, X, n, R, G, grad, H, scale);
    } else {
      this.hessian = (theta, X, n, G, H, R) => this.logitHessian(theta, X, n, G, H, R);
    }
  }

  /** G at theta by the generated kernel (the plain-loop version is LogitGate.weights). */
  weights(theta: Float64Array, X: Float64Array, n: number, G: Float64Array): void {
    const noR = G; // the 'weights' variant reads no responsibilities, gradient or Hessian
    newtonKernel(this.k, this.d, this.K, this.rankBy, 'weights')(theta, X, n, noR, G, G, G, 1 / this.tau(theta));
  }

  /**
   * The factor of the logits, 1/tau: u_i = logitScale(theta) (beta0_i + beta1_i.x). With tau free
   * it is exp(-log tau) at theta, else 1/tau known (1 for softmax and top-K).
   * @example createGate({ type: 'temperature', tau: 0.5 }, 2, 1).logitScale(theta) // => 2
   */
  logitScale(theta: Float64Array): number {
    return 1 / this.tau(theta);
  }

  protected tau(theta: Float64Array): number {
    return this.logTauIndex >= 0 ? Math.exp(theta[this.logTauIndex]!) : this.knownTau;
  }

  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    const { k, d, K } = this;
    linearLogits(theta, X, n, k, d, 1 / this.tau(theta), U);
    if (K >= k) return;
    // keep the K largest ranking scores (ties: lower index); the slope score beta1.x is computed
    // directly (not recovered from u), so exact ties stay exact
    const byLogit = this.rankBy === 'logit';
    const score = this.score;
    for (let r = 0; r < n; r++) {
      const o = r * k;
      for (let i = 0; i < k; i++) {
        if (byLogit) score[i] = U[o + i]!;
        else {
          let v = 0;
          for (let p = 0; p < d; p++) v += theta[k + i * d + p]! * X[r * d + p]!;
          score[i] = v;
        }
      }
      for (let i = 0; i < k; i++) {
        const ri = score[i]!;
        let beaten = 0;
        for (let j = 0; j < k && beaten < K; j++) {
          if (j === i) continue;
          const rj = score[j]!;
          if (rj > ri || (rj === ri && j < i)) beaten++;
        }
        if (beaten >= K) U[o + i] = -Infinity;
      }
    }
  }

  /** du_i/dtheta: 1/tau (beta0_i), x/tau (beta1_i), -u_i (log tau). */
  protected jacobianRow(theta: Float64Array, X: Float64Array, r: number, i: number, idx: Int32Array, val: Float64Array, at: number, inv: number): number {
    const { k, d } = this;
    let s = theta[i]!;
    idx[at + 0] = i;
    val[at + 0] = inv;
    for (let p = 0; p < d; p++) {
      const x = X[r * d + p]!;
      s += theta[k + i * d + p]! * x;
      idx[at + p + 1] = k + i * d + p;
      val[at + p + 1] = x * inv;
    }
    if (this.logTauIndex < 0) return d + 1;
    idx[at + d + 1] = this.logTauIndex;
    val[at + d + 1] = -s * inv;
    return d + 2;
  }

  /** d2u/dbeta0 dlog tau = -1/tau, d2u/dbeta1 dlog tau = -x/tau, d2u/dlog tau^2 = u. */
  protected secondTerm(theta: Float64Array, X: Float64Array, r: number, i: number, D: number, H: Float64Array, inv: number): void {
    const t = this.logTauIndex;
    if (t < 0) return;
    const { k, d, nParams: P } = this;
    let s = theta[i]!;
    H[i * P + t] = H[i * P + t]! - D * inv;
    H[t * P + i] = H[t * P + i]! - D * inv;
    for (let p = 0; p < d; p++) {
      const x = X[r * d + p]!;
      s += theta[k + i * d + p]! * x;
      const j = k + i * d + p;
      H[j * P + t] = H[j * P + t]! - D * x * inv;
      H[t * P + j] = H[t * P + j]! - D * x * inv;
    }
    H[t * P + t] = H[t * P + t]! + D * s * inv;
  }

  /** The fast path only with tau free and every expert kept (the temperature gate): softmax, top-K and a known tau keep the fused kernels and linearHessian. */
  protected override get fastPath(): boolean {
    return this.logTauIndex >= 0 && this.K >= this.k;
  }

  /**
   * The statements of the generated kernels (logit-kernel.ts), tau free: with s = beta0_i + beta1_i.x
   * (linearLogits' order), u = s/tau; J = (1/tau, x/tau, -s/tau);
   * D d2u = -D/tau (beta0, log tau), -D x/tau (beta1, log tau), D s/tau (log tau, log tau), as secondTerm.
   */
  protected fastCode(): FastGateCode {
    const { k, d } = this;
    const T = this.logTauIndex;
    const ps = Array.from({ length: d }, (_, p) => p);
    return {
      key: `linear:${k}:${d}:free`,
      w: d + 2,
      index: (i, a) => (a === 0 ? i : a <= d ? k + i * d + a - 1 : T),
      values: (i, logit) =>
        [
          `let s${i} = t${i};`,
          ...ps.map((p) => `s${i} += t${k + i * d + p} * x${p};`),
          logit ? `const u${i} = inv * s${i};` : '',
          `const j${i}_0 = inv;`,
          ...ps.map((p) => `const j${i}_${1 + p} = x${p} * inv;`),
          `const j${i}_${d + 1} = -s${i} * inv;`,
        ].join('\n'),
      second: (i) => ({
        code: '',
        entries: [
          { a: 0, b: d + 1, value: '-(D * inv)' },
          ...ps.map((p) => ({ a: 1 + p, b: d + 1, value: `-(D * x${p} * inv)` })),
          { a: d + 1, b: d + 1, value: `D * s${i} * inv` },
        ],
      }),
      helpers: {},
    };
  }

  chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void {
    linearChain(theta, X, n, this.k, this.d, 1 / this.tau(theta), D, grad, this.logTauIndex);
  }
}
