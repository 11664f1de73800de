/**
 * Dense softmax gate [DEMYS] (spec: models.md, gate 1):
 *   G_i(x) = exp(beta1_i.x + beta0_i) / sum_j exp(beta1_j.x + beta0_j).
 */
import type { GateSpec } from '../models/types.js';
import { LinearLogitGate } from './linear-gate.js';

export class SoftmaxGate extends LinearLogitGate {
  readonly type = 'softmax' as const;
  constructor(k: number, d: number) {
    super(k, d, k, 'slope', 1, false);
  }
  protected specFrom(): GateSpec {
    return { type: 'softmax' };
  }
  protected specTau(): number {
    return 1;
  }
}
