/**
 * Dense-to-sparse temperature gate [TEMP] (spec: models.md, gate 3):
 *   G_i(x) = softmax_i( (beta1.x + beta0) / tau ),  tau > 0.
 * (beta0, beta1, tau) -> c (beta0, beta1, tau) leaves G unchanged for every c > 0, so with tau free
 * the likelihood is exactly constant along that ray (tested); only beta/tau is identifiable.
 * With tau known the objective is concave and Newton is used; with tau free, L-BFGS.
 */
import { positive } from '../checks.js';
import type { GateDefinition } from './definition.js';
import { LinearLogitGate } from './linear-gate.js';
import { linearGpuCode } from './linear-gpu.js';
import type { GateSpec } from './registry.js';

export interface TemperatureGateSpec {
  type: 'temperature';
  /** temperature, > 0: G = softmax((beta1.x + beta0) / tau) */
  tau: number;
}

export class TemperatureGate extends LinearLogitGate {
  readonly type = 'temperature' as const;
  constructor(k: number, d: number, knownTau: number, tauFree: boolean) {
    super(k, d, k, 'slope', knownTau, tauFree);
  }
  protected specFrom(theta: Float64Array): TemperatureGateSpec {
    return { type: 'temperature', tau: this.tau(theta) };
  }
  protected specTau(spec: GateSpec): number {
    return spec.type === 'temperature' ? spec.tau : this.knownTau;
  }
}

export const temperatureGate: GateDefinition<TemperatureGateSpec> = {
  type: 'temperature',
  summary: 'dense-to-sparse temperature gate [TEMP]: G_i(x) = softmax_i((beta1.x + beta0) / tau), tau > 0 (default 1)',
  keys: ['type', 'tau'],
  traits: { temperature: true, reference: { beta0: 'shift', beta1: 'shift' }, tauRay: true, multiExponents: 'temperature' },
  parse: (o, _k, path) => ({ type: 'temperature', tau: o.tau === undefined ? 1 : positive(o.tau, `${path}.tau`, 'a temperature') }),
  create: (spec, k, d, tauFree) => new TemperatureGate(k, d, spec.tau, tauFree),
  tau: (spec) => spec.tau,
  describe: (spec) => `tau = ${spec.tau}`,
  translation: () => 'full',
  // softmax(beta / tau) with beta = tau * beta_softmax reproduces the softmax fit exactly
  startScale: (spec) => spec.tau,
  // masses exp(beta0_i / tau): logits (beta0_i + beta1_i.x) / tau on every expert
  mixingTemperature: (spec) => spec.tau,
  examples: () => [
    { spec: { type: 'temperature', tau: 0.5 }, tau: 'known' },
    { spec: { type: 'temperature', tau: 0.5 }, tau: 'free' },
  ],
  // u_i = (beta0_i + beta1_i.x) / tau on every expert, with the log tau terms when tau is free
  gpu: (_spec, shape) => linearGpuCode(shape, shape.k, 'slope'),
};
