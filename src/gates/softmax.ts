/**
 * Dense softmax gate [DEMYS] (spec: models.md, gate 1):
 *   G_i(x) = exp(beta1_i.x + beta0_i) / sum_j exp(beta1_j.x + beta0_j).
 */
import type { GateDefinition } from './definition.js';
import { LinearLogitGate } from './linear-gate.js';
import { linearGpuCode } from './linear-gpu.js';

export interface SoftmaxGateSpec {
  type: 'softmax';
}

export class SoftmaxGate extends LinearLogitGate {
  readonly type = 'softmax' as const;
  constructor(k: number, d: number) {
    super(k, d, k, 'slope', 1, false);
  }
  protected specFrom(): SoftmaxGateSpec {
    return { type: 'softmax' };
  }
  protected specTau(): number {
    return 1;
  }
}

export const softmaxGate: GateDefinition<SoftmaxGateSpec> = {
  type: 'softmax',
  summary: 'dense softmax [DEMYS]: G_i(x) = exp(beta1_i.x + beta0_i) / sum_j exp(beta1_j.x + beta0_j)',
  keys: ['type'],
  traits: { temperature: false, reference: { beta0: 'shift', beta1: 'shift' }, tauRay: false, multiExponents: 'softmax' },
  parse: () => ({ type: 'softmax' }),
  create: (_spec, k, d) => new SoftmaxGate(k, d),
  describe: () => 'dense',
  translation: () => 'full',
  startScale: () => 1,
  examples: () => [{ spec: { type: 'softmax' }, tau: 'known' }],
  // masses exp(beta0_i): logits beta0_i + beta1_i.x on every expert
  mixingTemperature: () => 1,
  // u_i = beta0_i + beta1_i.x on every expert (1/tau = 1 in the kernels)
  gpu: (_spec, shape) => linearGpuCode(shape, shape.k, 'slope'),
};
