/**
 * Dense-to-sparse temperature gate [TEMP] (spec: models.md, gate 3):
 *   G_i(x) = softmax_i( (beta1.x + beta0) / tau ),  tau > 0.
 * (beta0, beta1, tau) -> c (beta0, beta1, tau) leaves G unchanged for every c > 0, so with tau free
 * the likelihood is exactly constant along that ray (tested); only beta/tau is identifiable.
 * With tau known the objective is concave and Newton is used; with tau free, L-BFGS.
 */
import type { GateSpec } from '../models/types.js';
import { LinearLogitGate } from './linear-gate.js';

export class TemperatureGate extends LinearLogitGate {
  readonly type = 'temperature' as const;
  constructor(k: number, d: number, knownTau: number, tauFree: boolean) {
    super(k, d, k, 'slope', knownTau, tauFree);
  }
  protected specFrom(theta: Float64Array): GateSpec {
    return { type: 'temperature', tau: this.tau(theta) };
  }
  protected specTau(spec: GateSpec): number {
    return spec.type === 'temperature' ? spec.tau : this.knownTau;
  }
}
