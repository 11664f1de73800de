/**
 * Top-K sparse softmax gate [TOPK] (spec: models.md, gate 2):
 *   S(x) = the K experts with the largest ranking score r_i(x) (ties: the lower index wins),
 *   G_i(x) = exp(s_i) / sum_{j in S(x)} exp(s_j) for i in S(x), exactly 0 otherwise,
 * with s_i = beta1_i.x + beta0_i and r_i = beta1_i.x (rankBy 'slope', the default) or s_i ('logit').
 * On a fixed selection the objective is that of softmax (concave), so Newton applies; a step that
 * changes the selection where an expert has positive responsibility makes Q = -Infinity and is
 * refused by the M-step's step halving.
 */
import type { GateSpec, TopKGateSpec } from '../models/types.js';
import { linearChain, linearHessian, linearLogits } from './linear-logits.js';
import { newtonKernel } from './linear-kernel.js';
import { LogitGate } from './logit-gate.js';

export class TopKGate extends LogitGate {
  readonly type = 'topk' as const;
  constructor(
    k: number,
    d: number,
    readonly K: number,
    readonly rankBy: TopKGateSpec['rankBy'],
  ) {
    super(k, d, false);
    this.score = new Float64Array(k);
  }
  private readonly score: Float64Array;
  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    const { k, d, K } = this;
    linearLogits(theta, X, n, k, d, 1, U);
    if (K >= k) return;
    const byLogit = this.rankBy === 'logit';
    const score = this.score;
    for (let r = 0; r < n; r++) {
      const o = r * k;
      // rank score of expert i: u_i, minus beta0_i when ranking by slope
      for (let i = 0; i < k; i++) score[i] = byLogit ? U[o + i]! : U[o + i]! - theta[i]!;
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
  chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void {
    linearChain(theta, X, n, this.k, this.d, 1, D, grad, -1);
  }
  newtonPass(
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    G: Float64Array,
    grad: Float64Array,
    H: Float64Array,
    variant: 'evaluate' | 'fromWeights',
  ) {
    return newtonKernel(this.k, this.d, this.K, this.rankBy, variant)(theta, X, n, R, G, grad, H, 1);
  }
  hessian(_theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array): void {
    linearHessian(X, n, this.k, this.d, 1, G, H, this.nParams);
  }
  protected specFrom(): GateSpec {
    return { type: 'topk', K: this.K, rankBy: this.rankBy };
  }
  protected specTau(): number {
    return 1;
  }
}
