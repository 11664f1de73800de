/**
 * Top-K sparse softmax gate [TOPK] (spec: models.md, gate 2):
 *   S(x) = the K experts with the largest ranking score r_i(x) (ties: the lower index wins),
 *   G_i(x) = exp(s_i) / sum_{j in S(x)} exp(s_j) for i in S(x), exactly 0 otherwise,
 * with s_i = beta1_i.x + beta0_i and r_i = beta1_i.x (rankBy 'slope', the default) or s_i ('logit').
 * On a fixed selection the objective is that of softmax (concave), so Newton applies; a step that
 * changes the selection where an expert has positive responsibility makes Q = -Infinity and is
 * refused by the M-step's step halving.
 */
import { ModelError, show } from '../errors.js';
import type { GateDefinition } from './definition.js';
import { LinearLogitGate } from './linear-gate.js';
import { linearGpuCode } from './linear-gpu.js';

export interface TopKGateSpec {
  type: 'topk';
  /** number of experts kept at each x, 1..k */
  K: number;
  /** ranking score: 'slope' ranks by beta1.x (default), 'logit' by beta1.x + beta0 */
  rankBy: 'slope' | 'logit';
}

export class TopKGate extends LinearLogitGate {
  readonly type = 'topk' as const;
  readonly selective: boolean;
  constructor(k: number, d: number, K: number, rankBy: TopKGateSpec['rankBy']) {
    // the spec default ('slope'), also for specs that did not go through parseGate: the generated
    // kernels and the plain loops must rank alike
    super(k, d, K, rankBy ?? 'slope', 1, false);
    this.selective = K < k;
  }
  protected specFrom(): TopKGateSpec {
    return { type: 'topk', K: this.K, rankBy: this.rankBy };
  }
  protected specTau(): number {
    return 1;
  }
}

export const topkGate: GateDefinition<TopKGateSpec> = {
  type: 'topk',
  summary: 'top-K sparse softmax [TOPK]: softmax of beta1_i.x + beta0_i over the K experts with the largest rankBy score, 0 elsewhere',
  keys: ['type', 'K', 'rankBy'],
  traits: { temperature: false, reference: { beta0: 'shift', beta1: 'shift' }, tauRay: false, multiExponents: 'softmax' },
  parse: (o, k, path) => {
    const K = o.K;
    if (typeof K !== 'number' || !Number.isInteger(K) || K < 1) {
      throw new ModelError(`${path}.K: ${show(K)} is not a valid K; must be an integer in 1..${k}`);
    }
    if (K > k) throw new ModelError(`${path}.K: ${K} exceeds the number of experts (${k}); must be an integer in 1..${k}`);
    const rankBy = o.rankBy ?? 'slope';
    if (rankBy !== 'slope' && rankBy !== 'logit') {
      throw new ModelError(`${path}.rankBy: ${show(rankBy)} is not a ranking score; must be "slope" or "logit"`);
    }
    return { type: 'topk', K, rankBy };
  },
  create: (spec, k, d) => new TopKGate(k, d, spec.K, spec.rankBy),
  describe: (spec) => `top-${spec.K}, ranked by ${spec.rankBy}`,
  translation: () => 'full',
  startScale: () => 1,
  examples: (k) => [
    { spec: { type: 'topk', K: Math.max(1, k - 1), rankBy: 'slope' }, tau: 'known' },
    { spec: { type: 'topk', K: 1, rankBy: 'logit' }, tau: 'known' },
  ],
  // softmax logits on the top K; rankBy defaults as in TopKGate, for specs not from parse
  gpu: (spec, shape) => linearGpuCode(shape, spec.K, spec.rankBy ?? 'slope'),
};
