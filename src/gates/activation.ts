/**
 * Activation dense-to-sparse gate [TEMP] (spec: models.md, gate 4):
 *   G_i(x) = softmax_i( sigma(beta1_i.x) / tau + beta0_i ),   one shared tau > 0 (beta0 outside sigma).
 * The objective is not concave in beta1: the M-step takes damped Newton steps with the exact
 * Hessian (sigma'' enters through the second-derivative term).
 */
import { positive } from '../checks.js';
import { ModelError, show } from '../errors.js';
import { ACTIVATION_FUNCTIONS, ACTIVATION_GPU, ACTIVATIONS, normalCdf, normalPdf, sigmoid, type Activation, type ActivationFunction } from './activations.js';
import type { FastGateCode } from './logit-kernel.js';
import type { GateDefinition } from './definition.js';
import { logTauIndex, slopeCode, slopeIndex, type GateGpuCode, type GpuNames, type GpuSecondEntry, type GpuShape } from './gpu-code.js';
import { LogitGate } from './logit-gate.js';
import type { GateSpec } from './registry.js';

/**
 * The activations as float64 statements for the generated kernels, by the formulas of
 * ACTIVATION_FUNCTIONS (the same numbers; each evaluated once instead of once per derivative):
 * `call` defines the locals that need a function call (staged by the Hessian kernel, see
 * logit-kernel.ts; null: none), `rest` then defines s, ds, dds = sigma, sigma', sigma'' at v.
 */
const ACTIVATION_F64: Readonly<Record<Activation, { call: ((v: string, s: string) => { code: string; names: string[] }) | null; rest: (v: string, s: string, ds: string, dds: string) => string }>> = {
  tanh: {
    call: (v, s) => ({ code: `const ${s} = Math.tanh(${v});`, names: [s] }),
    rest: (_v, s, ds, dds) => `const ${ds} = 1 - ${s} * ${s}; const ${dds} = -2 * ${s} * (1 - ${s} * ${s});`,
  },
  sigmoid: {
    call: (v, s) => ({ code: `const ${s} = sigmoidF64(${v});`, names: [s] }),
    rest: (_v, s, ds, dds) => `const ${ds} = ${s} * (1 - ${s}); const ${dds} = ${s} * (1 - ${s}) * (1 - 2 * ${s});`,
  },
  gelu: {
    call: (v, s) => ({ code: `const ${s}c = normalCdf(${v}); const ${s}p = normalPdf(${v});`, names: [v, `${s}c`, `${s}p`] }),
    rest: (v, s, ds, dds) => `const ${s} = ${v} * ${s}c; const ${ds} = ${s}c + ${v} * ${s}p; const ${dds} = ${s}p * (2 - ${v} * ${v});`,
  },
  identity: { call: null, rest: (v, s, ds, dds) => `const ${s} = ${v}; const ${ds} = 1; const ${dds} = 0;` },
  // NaN stays NaN, as ACTIVATION_FUNCTIONS.relu
  relu: { call: null, rest: (v, s, ds, dds) => `const ${s} = ${v} < 0 ? 0 : ${v} + 0; const ${ds} = ${v} > 0 ? 1 : ${v} <= 0 ? 0 : NaN; const ${dds} = ${v} === ${v} ? 0 : NaN;` },
};

export interface ActivationGateSpec {
  type: 'activation';
  activation: Activation;
  /** temperature, > 0: G = softmax(sigma(beta1.x) / tau + beta0) */
  tau: number;
}

export class ActivationGate extends LogitGate {
  readonly type = 'activation' as const;
  private readonly sigma: ActivationFunction;

  constructor(
    k: number,
    d: number,
    readonly activation: Activation,
    private readonly knownTau: number,
    tauFree: boolean,
  ) {
    super(k, d, tauFree);
    this.sigma = ACTIVATION_FUNCTIONS[activation];
  }
  protected tau(theta: Float64Array): number {
    return this.logTauIndex >= 0 ? Math.exp(theta[this.logTauIndex]!) : this.knownTau;
  }
  private slopeDot(theta: Float64Array, X: Float64Array, r: number, i: number): number {
    const { k, d } = this;
    let v = 0;
    for (let p = 0; p < d; p++) v += theta[k + i * d + p]! * X[r * d + p]!;
    return v;
  }
  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    const k = this.k;
    const inv = 1 / this.tau(theta);
    const sigma = this.sigma;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) U[r * k + i] = sigma.value(this.slopeDot(theta, X, r, i)) * inv + theta[i]!;
    }
  }
  /**
   * dQ/dbeta0_i = sum_n D_ni;  dQ/dbeta1_i = sum_n D_ni sigma'(v_ni) x_n / tau;
   * dQ/dlog tau = -sum_n sum_i D_ni sigma(v_ni) / tau,   v_ni = beta1_i.x_n.
   */
  chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void {
    const { k, d } = this;
    const inv = 1 / this.tau(theta);
    const sigma = this.sigma;
    const tauIndex = this.logTauIndex;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) {
        const g = D[r * k + i]!;
        if (g === 0) continue;
        grad[i] = grad[i]! + g;
        const v = this.slopeDot(theta, X, r, i);
        const gs = g * sigma.derivative(v) * inv;
        for (let p = 0; p < d; p++) grad[k + i * d + p] = grad[k + i * d + p]! + gs * X[r * d + p]!;
        if (tauIndex >= 0) grad[tauIndex] = grad[tauIndex]! - g * sigma.value(v) * inv;
      }
    }
  }
  readonly hessian = (theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void =>
    this.logitHessian(theta, X, n, G, H, R);

  /**
   * The statements of the generated kernels (logit-kernel.ts), with v = beta1_i.x computed once
   * and sigma, sigma', sigma'' from one evaluation of the activation, in the forms (so the
   * numbers) of ACTIVATION_FUNCTIONS:
   *   u = sigma(v)/tau + beta0_i;  J = (1, sigma'(v) x/tau, [-sigma(v)/tau]);
   *   D d2u = D sigma''(v) x x'/tau, [-D sigma'(v) x/tau, D sigma(v)/tau]   (as secondTerm).
   */
  protected fastCode(): FastGateCode {
    const { k, d, activation } = this;
    const tauFree = this.logTauIndex >= 0;
    const T = this.logTauIndex;
    const ps = Array.from({ length: d }, (_, p) => p);
    const f = ACTIVATION_F64[activation];
    const slope = (i: number) => [`let v${i} = 0;`, ...ps.map((p) => `v${i} += t${k + i * d + p} * x${p};`)].join('\n');
    return {
      key: `activation:${activation}:${k}:${d}:${tauFree ? 'free' : 'known'}`,
      w: tauFree ? d + 2 : d + 1,
      index: (i, a) => (a === 0 ? i : a <= d ? k + i * d + a - 1 : T),
      // v = 0 + sum: slopeDot's order
      ...(f.call ? { stage: (i: number, _logit: boolean) => { const c = f.call!(`v${i}`, `s${i}`); return { code: `${slope(i)}\n${c.code}`, names: c.names }; } } : {}),
      values: (i, logit) =>
        [
          f.call ? '' : slope(i),
          f.rest(`v${i}`, `s${i}`, `ds${i}`, `dds${i}`),
          logit ? `const u${i} = s${i} * inv + t${i};` : '',
          `const j${i}_0 = 1;`,
          `const dsi${i} = ds${i} * inv;`,
          ...ps.map((p) => `const j${i}_${1 + p} = dsi${i} * x${p};`),
          ...(tauFree ? [`const j${i}_${d + 1} = -s${i} * inv;`] : []),
        ].join('\n'),
      second: (i) => {
        const entries: { a: number; b: number; value: string }[] = [];
        // secondTerm's products: sdd = D sigma'' / tau, then (sdd x_p) x_q; sd = D sigma' / tau
        for (const p of ps) for (const q of ps.slice(p)) entries.push({ a: 1 + p, b: 1 + q, value: `sdd * x${p} * x${q}` });
        if (tauFree) {
          for (const p of ps) entries.push({ a: 1 + p, b: d + 1, value: `-(sd * x${p})` });
          entries.push({ a: d + 1, b: d + 1, value: `D * s${i} * inv` });
        }
        return { code: `const sdd = D * dds${i} * inv; const sd = D * ds${i} * inv;`, entries };
      },
      helpers: { sigmoidF64: sigmoid, normalCdf, normalPdf },
    };
  }

  /** du_i/dtheta: 1 (beta0_i), sigma'(v) x / tau (beta1_i), -sigma(v)/tau (log tau). */
  protected jacobianRow(theta: Float64Array, X: Float64Array, r: number, i: number, idx: Int32Array, val: Float64Array, at: number, inv: number): number {
    const { k, d } = this;
    const v = this.slopeDot(theta, X, r, i);
    const ds = this.sigma.derivative(v) * inv;
    idx[at + 0] = i;
    val[at + 0] = 1;
    for (let p = 0; p < d; p++) {
      idx[at + p + 1] = k + i * d + p;
      val[at + p + 1] = ds * X[r * d + p]!;
    }
    if (this.logTauIndex < 0) return d + 1;
    idx[at + d + 1] = this.logTauIndex;
    val[at + d + 1] = -this.sigma.value(v) * inv;
    return d + 2;
  }

  /** d2u/dbeta1 dbeta1' = sigma'' x x'/tau, d2u/dbeta1 dlog tau = -sigma' x/tau, d2u/dlog tau^2 = sigma/tau. */
  protected secondTerm(theta: Float64Array, X: Float64Array, r: number, i: number, D: number, H: Float64Array, inv: number): void {
    const { k, d, nParams: P } = this;
    const v = this.slopeDot(theta, X, r, i);
    const s2 = D * this.sigma.second(v) * inv;
    const s1 = D * this.sigma.derivative(v) * inv;
    const t = this.logTauIndex;
    for (let p = 0; p < d; p++) {
      const jp = k + i * d + p;
      const xp = X[r * d + p]!;
      for (let q = 0; q < d; q++) H[jp * P + k + i * d + q] = H[jp * P + k + i * d + q]! + s2 * xp * X[r * d + q]!;
      if (t >= 0) {
        H[jp * P + t] = H[jp * P + t]! - s1 * xp;
        H[t * P + jp] = H[t * P + jp]! - s1 * xp;
      }
    }
    if (t >= 0) H[t * P + t] = H[t * P + t]! + D * this.sigma.value(v) * inv;
  }

  protected specFrom(theta: Float64Array): ActivationGateSpec {
    return { type: 'activation', activation: this.activation, tau: this.tau(theta) };
  }
  protected specTau(spec: GateSpec): number {
    return spec.type === 'activation' ? spec.tau : this.knownTau;
  }
}

/**
 * The f32 code of the activation gate (gpu-code.ts), the formulas of ActivationGate with
 * v_i = beta1_i.x and s, s', s'' = sigma(v_i) and its derivatives (activations.ts ACTIVATION_GPU):
 *   u_i = s / tau + beta0_i;  du_i/dbeta0_i = 1, du_i/dbeta1_i = s' x / tau, du_i/dlog tau = -s / tau;
 *   d2u_i/dbeta1_i dbeta1_i' = s'' x x' / tau, d2u_i/dbeta1_i dlog tau = -s' x / tau, d2u_i/dlog tau^2 = s / tau.
 * @param shape k, d and whether log tau is a parameter
 * @param activation sigma
 */
export function activationGpuCode(shape: GpuShape, activation: Activation): GateGpuCode {
  const sigma = ACTIVATION_GPU[activation];
  const T = logTauIndex(shape);
  const ps = Array.from({ length: shape.d }, (_, p) => p);
  // v{i} = beta1_i.x; sv{i}, dv{i}, ddv{i} = sigma, sigma', sigma'' at v{i}
  const values = (i: number, at: GpuNames) =>
    [`let v${i} = ${slopeCode(shape, i, at)};`, sigma.code(`v${i}`, { s: `sv${i}`, ds: `dv${i}`, dds: `ddv${i}` })].join('\n');
  return {
    K: shape.k,
    functions: sigma.functions,
    logit: (i, at) => [values(i, at), `let u${i} = sv${i} * ${at.invTau} + ${at.theta(i)};`].join('\n'),
    derivatives: values,
    jacobian: (i, at) => [
      { index: i, value: '1.0' },
      ...ps.map((p) => ({ index: slopeIndex(shape, i, p), value: `dv${i} * ${at.x(p)} * ${at.invTau}` })),
      ...(T >= 0 ? [{ index: T, value: `-sv${i} * ${at.invTau}` }] : []),
    ],
    second: (i, at) => {
      const entries: GpuSecondEntry[] = [];
      for (const p of ps) {
        const jp = slopeIndex(shape, i, p);
        for (const q of ps.slice(p)) entries.push({ a: jp, b: slopeIndex(shape, i, q), value: `ddv${i} * ${at.x(p)} * ${at.x(q)} * ${at.invTau}` });
        if (T >= 0) entries.push({ a: jp, b: T, value: `-dv${i} * ${at.x(p)} * ${at.invTau}` });
      }
      if (T >= 0) entries.push({ a: T, b: T, value: `sv${i} * ${at.invTau}` });
      return entries;
    },
  };
}

export const activationGate: GateDefinition<ActivationGateSpec> = {
  type: 'activation',
  summary: `activation dense-to-sparse gate [TEMP]: G_i(x) = softmax_i(sigma(beta1_i.x) / tau + beta0_i), sigma one of ${ACTIVATIONS.join(', ')}`,
  keys: ['type', 'activation', 'tau'],
  // beta0 is outside sigma (shift-invariant); beta1 inside it is not: the last slope is 0 by convention
  traits: { temperature: true, reference: { beta0: 'shift', beta1: 'zero' }, tauRay: false, multiExponents: 'temperature' },
  parse: (o, _k, path) => {
    const activation = o.activation;
    if (typeof activation !== 'string' || !ACTIVATIONS.includes(activation as Activation)) {
      throw new ModelError(`${path}.activation: ${show(activation)} is not a known activation; must be one of ${ACTIVATIONS.join(', ')}`);
    }
    return { type: 'activation', activation: activation as Activation, tau: o.tau === undefined ? 1 : positive(o.tau, `${path}.tau`, 'a temperature') };
  },
  create: (spec, k, d, tauFree) => new ActivationGate(k, d, spec.activation, spec.tau, tauFree),
  tau: (spec) => spec.tau,
  describe: (spec) => `${spec.activation}, tau = ${spec.tau}`,
  // a common shift of beta1 changes sigma(beta1.x) unless sigma is the identity
  translation: (spec) => (spec.activation === 'identity' ? 'full' : 'intercept'),
  startScale: () => 1,
  examples: () =>
    ACTIVATIONS.flatMap((activation) => [
      { spec: { type: 'activation', activation, tau: 0.8 }, tau: 'known' as const },
      { spec: { type: 'activation', activation, tau: 0.8 }, tau: 'free' as const },
    ]),
  gpu: (spec, shape) => activationGpuCode(shape, spec.activation),
  // sigma(c v) = c sigma(v) for c > 0 (identity, relu): with tau free, sigma(c beta1.x) / (c tau) is the same gate
  invariances: (spec, _d, tauFree) =>
    tauFree && (spec.activation === 'identity' || spec.activation === 'relu')
      ? [{ count: 1, why: `log tau: ${spec.activation} is homogeneous, so (beta1, tau) -> c (beta1, tau) leaves G unchanged` }]
      : [],
};
