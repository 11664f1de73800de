/**
 * Normalised sigmoid gate (the sigmoid-gating analyses, e.g. Nguyen, Ho and Rinaldo, NeurIPS 2024,
 * in the normalised form that makes p(y | x) a density):
 *   G_i(x) = sigma(u_i) / sum_j sigma(u_j),   u_i = beta1_i.x + beta0_i,   sigma(u) = 1 / (1 + e^-u).
 * It is the softmax of the logits v_i = log sigma(u_i) = -log(1 + e^-u_i), so weights and the
 * objective come from LogitGate's log-sum-exp; only v and its derivatives are written here:
 *   dv/du = sigma(-u),   d2v/du2 = -sigma(u) sigma(-u).
 * No common shift of beta0 or beta1 leaves G unchanged (sigma is not exponential), so no expert is
 * pinned and the loss aligns no translation. Q is not concave: the M-step damps its Newton steps.
 */
import type { GateDefinition } from './definition.js';
import { LogitGate } from './logit-gate.js';

export interface SigmoidGateSpec {
  type: 'sigmoid';
}

/** log sigma(u), without overflow: -log1p(e^-u) for u >= 0, u - log1p(e^u) below. */
function logSigmoid(u: number): number {
  return u >= 0 ? -Math.log1p(Math.exp(-u)) : u - Math.log1p(Math.exp(u));
}

/** sigma(-u) = 1 / (1 + e^u), without overflow. */
function sigmoidOfMinus(u: number): number {
  if (u <= 0) return 1 / (1 + Math.exp(u));
  const e = Math.exp(-u);
  return e / (1 + e);
}

export class SigmoidGate extends LogitGate {
  readonly type = 'sigmoid' as const;

  constructor(k: number, d: number) {
    super(k, d, false);
  }

  private u(theta: Float64Array, X: Float64Array, r: number, i: number): number {
    const { k, d } = this;
    let v = theta[i]!;
    for (let p = 0; p < d; p++) v += theta[k + i * d + p]! * X[r * d + p]!;
    return v;
  }

  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    const k = this.k;
    for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) U[r * k + i] = logSigmoid(this.u(theta, X, r, i));
  }

  /** dQ/dbeta0_i = sum_n D_ni sigma(-u_ni);  dQ/dbeta1_i = sum_n D_ni sigma(-u_ni) x_n. */
  chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void {
    const { k, d } = this;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) {
        const g = D[r * k + i]!;
        if (g === 0) continue;
        const s = g * sigmoidOfMinus(this.u(theta, X, r, i));
        grad[i] = grad[i]! + s;
        for (let p = 0; p < d; p++) grad[k + i * d + p] = grad[k + i * d + p]! + s * X[r * d + p]!;
      }
    }
  }

  readonly hessian = (theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void =>
    this.logitHessian(theta, X, n, G, H, R);

  /** dv_i/dtheta: sigma(-u) (beta0_i), sigma(-u) x (beta1_i). */
  protected jacobianRow(theta: Float64Array, X: Float64Array, r: number, i: number, idx: Int32Array, val: Float64Array, at: number): number {
    const { k, d } = this;
    const s = sigmoidOfMinus(this.u(theta, X, r, i));
    idx[at] = i;
    val[at] = s;
    for (let p = 0; p < d; p++) {
      idx[at + p + 1] = k + i * d + p;
      val[at + p + 1] = s * X[r * d + p]!;
    }
    return d + 1;
  }

  /** H += D d2v/du2 z z' with z = (1, x) on expert i's block; d2v/du2 = -sigma(u) sigma(-u). */
  protected secondTerm(theta: Float64Array, X: Float64Array, r: number, i: number, D: number, H: Float64Array): void {
    const { k, d, nParams: P } = this;
    const u = this.u(theta, X, r, i);
    const sm = sigmoidOfMinus(u);
    const c = -D * (1 - sm) * sm;
    const at = (p: number) => (p < 0 ? i : k + i * d + p); // p = -1: beta0_i
    for (let p = -1; p < d; p++) {
      const zp = p < 0 ? 1 : X[r * d + p]!;
      for (let q = -1; q < d; q++) {
        const zq = q < 0 ? 1 : X[r * d + q]!;
        H[at(p) * P + at(q)] = H[at(p) * P + at(q)]! + c * zp * zq;
      }
    }
  }

  protected specFrom(): SigmoidGateSpec {
    return { type: 'sigmoid' };
  }
  protected specTau(): number {
    return 1;
  }
}

export const sigmoidGate: GateDefinition<SigmoidGateSpec> = {
  type: 'sigmoid',
  summary: 'normalised sigmoid gate: G_i(x) = sigma(beta1_i.x + beta0_i) / sum_j sigma(beta1_j.x + beta0_j)',
  keys: ['type'],
  // no shift invariance: every expert's (beta0, beta1) is free; exponents: the softmax family as a
  // default (no theorem in gatelab's sources for this normalised form; override in the loss options)
  traits: { temperature: false, reference: { beta0: 'none', beta1: 'none' }, tauRay: false, multiExponents: 'softmax' },
  parse: () => ({ type: 'sigmoid' }),
  create: (_spec, k, d) => new SigmoidGate(k, d),
  describe: () => 'normalised sigmoid',
  translation: () => 'none',
  startScale: () => 1,
  examples: () => [{ spec: { type: 'sigmoid' }, tau: 'known' }],
};
