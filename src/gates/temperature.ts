/**
 * Dense-to-sparse temperature gate [TEMP] (spec: models.md, gate 3):
 *   G_i(x) = softmax_i( (beta1.x + beta0) / tau ),  tau > 0.
 * (beta0, beta1, tau) -> c (beta0, beta1, tau) leaves G unchanged for every c > 0, so with tau free
 * the likelihood is exactly constant along that ray (tested); only beta/tau is identifiable.
 * With tau known the objective is concave and Newton is used; with tau free, L-BFGS.
 */
import type { GateSpec } from '../models/types.js';
import { linearChain, linearHessian, linearLogits } from './linear-logits.js';
import { newtonKernel } from './linear-kernel.js';
import { LogitGate } from './logit-gate.js';
import type { Gate } from './types.js';

export class TemperatureGate extends LogitGate {
  readonly type = 'temperature' as const;
  readonly hessian?: (theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array) => void;
  readonly newtonPass?: Gate['newtonPass'];

  constructor(
    k: number,
    d: number,
    private readonly knownTau: number,
    tauFree: boolean,
  ) {
    super(k, d, tauFree);
    if (!tauFree) {
      this.hessian = (_theta, X, n, G, H) => linearHessian(X, n, k, d, 1 / knownTau, G, H, this.nParams);
      this.newtonPass = (theta, X, n, R, G, grad, H, variant) =>
        newtonKernel(k, d, k, 'slope', variant)(theta, X, n, R, G, grad, H, 1 / knownTau);
    }
  }
  private tau(theta: Float64Array): number {
    return this.logTauIndex >= 0 ? Math.exp(theta[this.logTauIndex]!) : this.knownTau;
  }
  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    linearLogits(theta, X, n, this.k, this.d, 1 / this.tau(theta), U);
  }
  chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void {
    linearChain(theta, X, n, this.k, this.d, 1 / this.tau(theta), D, grad, this.logTauIndex);
  }
  protected specFrom(theta: Float64Array): GateSpec {
    return { type: 'temperature', tau: this.tau(theta) };
  }
  protected specTau(spec: GateSpec): number {
    return spec.type === 'temperature' ? spec.tau : this.knownTau;
  }
}
