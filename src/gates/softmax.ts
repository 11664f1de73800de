/**
 * Dense softmax gate [DEMYS] (spec: models.md, gate 1):
 *   G_i(x) = exp(beta1_i.x + beta0_i) / sum_j exp(beta1_j.x + beta0_j).
 */
import type { GateSpec } from '../models/types.js';
import { linearChain, linearHessian, linearLogits } from './linear-logits.js';
import { newtonKernel } from './linear-kernel.js';
import { LogitGate } from './logit-gate.js';

export class SoftmaxGate extends LogitGate {
  readonly type = 'softmax' as const;
  constructor(k: number, d: number) {
    super(k, d, false);
  }
  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    linearLogits(theta, X, n, this.k, this.d, 1, U);
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
    return newtonKernel(this.k, this.d, this.k, 'slope', variant)(theta, X, n, R, G, grad, H, 1);
  }
  hessian(_theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array): void {
    linearHessian(X, n, this.k, this.d, 1, G, H, this.nParams);
  }
  protected specFrom(): GateSpec {
    return { type: 'softmax' };
  }
  protected specTau(): number {
    return 1;
  }
}
