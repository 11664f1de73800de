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
import { slopeCode, slopeIndex, type GateGpuCode, type GpuNames, type GpuSecondEntry, type GpuShape } from './gpu-code.js';
import { LogitGate } from './logit-gate.js';
import type { FastGateCode } from './logit-kernel.js';

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

  /**
   * The statements of the generated kernels (logit-kernel.ts), with lin = beta0_i + beta1_i.x
   * computed once: u = log sigma(lin); J = sigma(-lin) (1, x);
   * D d2u = c z_a z_b with c = -D sigma(lin) sigma(-lin), z = (1, x), as secondTerm.
   */
  protected fastCode(): FastGateCode {
    const { k, d } = this;
    const ps = Array.from({ length: d }, (_, p) => p);
    const z = (a: number) => (a === 0 ? '' : ` * x${a - 1}`);
    const entries: { a: number; b: number; value: string }[] = [];
    for (let a = 0; a <= d; a++) for (let b = a; b <= d; b++) entries.push({ a, b, value: `c${z(a)}${z(b)}` });
    return {
      key: `sigmoid:${k}:${d}`,
      w: d + 1,
      index: (i, a) => (a === 0 ? i : k + i * d + a - 1),
      // the calls (staged by the Hessian kernel): lin, e = exp(-|lin|), then sigma(-lin) and (for
      // the objective) log sigma(lin) from that one exponential: the branches of sigmoidOfMinus and
      // logSigmoid, whose exp(u) (u < 0) and exp(-u) (u >= 0) are both exp(-|u|), the same numbers
      stage: (i, logit) => ({
        code: [
          `let l${i} = t${i};`,
          ...ps.map((p) => `l${i} += t${k + i * d + p} * x${p};`),
          `const ex${i} = Math.exp(-Math.abs(l${i}));`,
          `const sm${i} = l${i} <= 0 ? 1 / (1 + ex${i}) : ex${i} / (1 + ex${i});`,
          logit ? `const u${i} = l${i} >= 0 ? -Math.log1p(ex${i}) : l${i} - Math.log1p(ex${i});` : '',
        ].join('\n'),
        names: [`l${i}`, `sm${i}`],
      }),
      values: (i) =>
        [
          `const j${i}_0 = sm${i};`,
          ...ps.map((p) => `const j${i}_${1 + p} = sm${i} * x${p};`),
        ].join('\n'),
      second: (i) => ({ code: `const c = -D * (1 - sm${i}) * sm${i};`, entries }),
      helpers: {},
    };
  }

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

/**
 * The f32 code of the sigmoid gate (gpu-code.ts), in the float64 forms above: with
 * lin_i = beta0_i + beta1_i.x and e = exp(-|lin_i|) (never overflows),
 *   u_i = log sigma(lin_i) = min(lin_i, 0) - log(1 + e),
 *   du_i/dbeta0_i = sigma(-lin_i) (1/(1 + e) for lin <= 0, e/(1 + e) above), du_i/dbeta1_i = sigma(-lin_i) x,
 *   d2u_i/dz dz' = -sigma(lin_i) sigma(-lin_i) z z' = -e/(1 + e)^2 z z',  z = (1, x) on expert i's block.
 * log(1 + e) has no log1p in WGSL: its absolute error is about 2^-24 (the rounding of 1 + e), which
 * is what a log-weight's f32 error is anyway. -e/(1 + e)^2 keeps its digits where sigma ~ 1.
 * @param shape k and d (the gate has no temperature)
 */
export function sigmoidGpuCode(shape: GpuShape): GateGpuCode {
  const ps = Array.from({ length: shape.d }, (_, p) => p);
  const linear = (i: number, at: GpuNames) => `let lin${i} = ${at.theta(i)} + ${slopeCode(shape, i, at)};`;
  // p = -1: beta0_i (z = 1); p >= 0: (beta1_i)_p (z = x_p)
  const index = (i: number, p: number) => (p < 0 ? i : slopeIndex(shape, i, p));
  return {
    K: shape.k,
    functions: [],
    logit: (i, at) => `${linear(i, at)} let u${i} = Math.min(lin${i}, 0.0) - Math.log(1.0 + Math.exp(-Math.abs(lin${i})));`,
    derivatives: (i, at) =>
      `${linear(i, at)} let sge${i} = Math.exp(-Math.abs(lin${i}));` +
      ` let sgm${i} = 1.0 / (1.0 + sge${i}); if (lin${i} > 0.0) { sgm${i} = sge${i} / (1.0 + sge${i}); }` +
      ` let sgh${i} = -sge${i} / ((1.0 + sge${i}) * (1.0 + sge${i}));`,
    jacobian: (i, at) => [{ index: i, value: `sgm${i}` }, ...ps.map((p) => ({ index: slopeIndex(shape, i, p), value: `sgm${i} * ${at.x(p)}` }))],
    second: (i, at) => {
      const entries: GpuSecondEntry[] = [];
      const z = (p: number) => (p < 0 ? '' : ` * ${at.x(p)}`);
      for (const p of [-1, ...ps]) for (const q of [-1, ...ps].filter((q) => q >= p)) entries.push({ a: index(i, p), b: index(i, q), value: `sgh${i}${z(p)}${z(q)}` });
      return entries;
    },
  };
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
  gpu: (_spec, shape) => sigmoidGpuCode(shape),
};
