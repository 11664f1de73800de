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
import { LinearLogitGate } from './linear-gate.js';

export class TopKGate extends LinearLogitGate {
  readonly type = 'topk' as const;
  readonly selective: boolean;
  constructor(k: number, d: number, K: number, rankBy: TopKGateSpec['rankBy']) {
    // the spec default ('slope'), also for specs that did not go through parseGate: the generated
    // kernels and the plain loops must rank alike
    super(k, d, K, rankBy ?? 'slope', 1, false);
    this.selective = K < k;
  }
  protected specFrom(): GateSpec {
    return { type: 'topk', K: this.K, rankBy: this.rankBy };
  }
  protected specTau(): number {
    return 1;
  }
}
