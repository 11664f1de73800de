/**
 * Gaussian gate (CRPE-GMoE, AISTATS 2024): the weights of a Gaussian mixture in x,
 *   G_i(x) = pi_i N(x | c_i, Gamma_i) / sum_j pi_j N(x | c_j, Gamma_j),
 * i.e. the softmax of the logits (the common -d/2 log 2 pi dropped)
 *   u_i(x) = beta0_i - 1/2 log det Gamma_i - 1/2 (x - c_i)' Gamma_i^{-1} (x - c_i),
 * beta0_i = log pi_i up to a common shift. Fitted by the conditional likelihood like the other
 * gates (the M-step maximises Q = sum R log G in theta; Q is not concave: the steps are damped).
 *
 * Packed theta (m = d(d+1)/2):
 *   theta[i]                   = beta0_i                       i = 0..k-1
 *   theta[k + i d + p]         = (c_i)_p                       p = 0..d-1
 *   theta[k + k d + i m + t]   = L_i[p][q] (p > q), log L_i[p][p] (p = q),   t = p(p+1)/2 + q
 * with Gamma_i = L_i L_i' (L_i lower triangular with positive diagonal).
 *
 * With r = x - c, w = L^-1 r, s = L^-T w = Gamma^-1 r and A = L^-1, P = Gamma^-1:
 *   u = beta0 - sum_p l_pp - |w|^2 / 2,
 *   du/dc = s,  du/dL_pq = s_p w_q - [p = q] / L_pp  (du/dl_pp = L_pp du/dL_pp),
 *   d2u/dc dc' = -P,  d2u/dc_p dL_ab = -s_a A_bp - w_b P_pa,
 *   d2u/dL_ab dL_ef = -(s_e A_fa + w_f P_ae) w_b - s_a w_f A_be + [a = b = e = f] / L_aa^2,
 * and for a log-diagonal coordinate the chain rule L_aa (first) and L_aa L_ee (second) plus the
 * first derivative on the diagonal of the Hessian.
 *
 * Identifiability: u_i(x) = kappa_i + h_i' x - x' P_i x / 2 is a concave quadratic in x, with
 * natural coordinates P_i = Gamma_i^-1, h_i = P_i c_i, kappa_i = beta0_i - 1/2 log det Gamma_i
 * - 1/2 c_i' P_i c_i, a bijection of (beta0_i, c_i, Gamma_i). G is a softmax of these logits, so
 * adding one quadratic t + s'x - x'Sx/2 to every logit (every P_i + S staying positive definite)
 * leaves G unchanged: under the conditional likelihood p(y|x) only the differences between the
 * experts' quadratics are identified, a (d+1)(d+2)/2-dimensional invariance (3 for d = 1), not
 * only the common shift of beta0. (In the joint model of CRPE-GMoE, where x is itself drawn from
 * the mixture, c and Gamma are identified; gatelab fits p(y|x) with x from the input design.)
 * The reference start pins only the last expert's beta0 at 0; the Voronoi losses compare the
 * natural coordinates, aligned by a common translation like the softmax gate's (gating atom).
 *
 * A model file's expert: {"beta0", "c": [d], "Gamma": [[d x d]], "a", "b", "nu"}. The softmax form
 * {"beta0", "beta1"} is also read, exactly: a softmax gate is the gaussian gate with Gamma_i = I,
 * c_i = beta1_i, beta0_i + |beta1_i|^2 / 2 (the -|x|^2 / 2 is common to all experts).
 */
import { finite, vector, type JsonObject } from '../checks.js';
import { ModelError } from '../errors.js';
import { cholesky } from '../numerics/cholesky.js';
import type { GateDefinition, GatingAtom, GatingDescription } from './definition.js';
import type { GateGpuCode, GpuNames, GpuSecondEntry, GpuShape } from './gpu-code.js';
import { spdMatrix } from './gating.js';
import { LogitGate } from './logit-gate.js';
import type { GatingParameters } from './types.js';

export interface GaussianGateSpec {
  type: 'gaussian';
}

/** log L_pp is clamped to +-LOG_DIAG_CLAMP inside the quadratic form only, so that absurd parameters give a huge negative logit, never NaN. */
const LOG_DIAG_CLAMP = 700;

/** Index of L[p][q] (p >= q) in the packed lower triangle (row-major). */
function tri(p: number, q: number): number {
  return (p * (p + 1)) / 2 + q;
}

/** The lower Cholesky factor of a d x d matrix (row-major), or a ModelError naming `path`. */
/**
 * The gating atom of the Voronoi losses in natural coordinates: intercept kappa = beta0 - 1/2 log
 * det Gamma - 1/2 c' P c and location (P c, vech P) with P = Gamma^-1 (vech: the lower triangle
 * row by row, P_pq for q <= p), so that u(x) = kappa + (P c)' x - x' P x / 2.
 * @example
 *   naturalAtom(0, [1], [[0.5]]) // => { intercept: 0.5 log 2 - 1 = -0.6534, location: [2, 2] }
 */
export function naturalAtom(beta0: number, c: readonly number[], Gamma: readonly (readonly number[])[]): GatingAtom {
  const d = c.length;
  const L = choleskyOf(Gamma, d, 'Gamma');
  // P = Gamma^-1 = A' A with A = L^-1 (forward substitution, column by column)
  const A = new Float64Array(d * d);
  for (let q = 0; q < d; q++) {
    for (let p = q; p < d; p++) {
      let v = p === q ? 1 : 0;
      for (let t = q; t < p; t++) v -= L[p * d + t]! * A[t * d + q]!;
      A[p * d + q] = v / L[p * d + p]!;
    }
  }
  const P = (p: number, q: number): number => {
    let v = 0;
    for (let t = Math.max(p, q); t < d; t++) v += A[t * d + p]! * A[t * d + q]!;
    return v;
  };
  let logdet = 0;
  for (let p = 0; p < d; p++) logdet += 2 * Math.log(L[p * d + p]!);
  const h: number[] = [];
  for (let p = 0; p < d; p++) {
    let v = 0;
    for (let q = 0; q < d; q++) v += P(p, q) * c[q]!;
    h.push(v);
  }
  let cPc = 0;
  for (let p = 0; p < d; p++) cPc += c[p]! * h[p]!;
  const vech: number[] = [];
  for (let p = 0; p < d; p++) for (let q = 0; q <= p; q++) vech.push(P(p, q));
  return { intercept: beta0 - 0.5 * logdet - 0.5 * cPc, location: [...h, ...vech] };
}

function choleskyOf(Gamma: readonly (readonly number[])[], d: number, path: string): Float64Array {
  const f = cholesky(Gamma.flat(), d);
  if (!f.ok) throw new ModelError(`${path}: is not positive definite (pivot ${f.failedPivot} is ${f.failedValue}); must be symmetric positive definite`);
  return f.L;
}

/** Gamma = L L' from a row-major lower factor (exactly symmetric: the same products in the same order). */
function fromFactor(L: ArrayLike<number>, d: number): number[][] {
  const G: number[][] = [];
  for (let p = 0; p < d; p++) {
    const row: number[] = [];
    for (let q = 0; q < d; q++) {
      let v = 0;
      for (let t = 0; t <= Math.min(p, q); t++) v += L[p * d + t]! * L[q * d + t]!;
      row.push(v);
    }
    G.push(row);
  }
  return G;
}

export class GaussianGate extends LogitGate {
  readonly type = 'gaussian' as const;
  /** entries of one Cholesky factor, d(d+1)/2 */
  readonly m: number;
  /** per expert: L (d x d), A = L^-1 (d x d), P = A'A (d x d), from `prepare` */
  private readonly Lf: Float64Array;
  private readonly Af: Float64Array;
  private readonly Pf: Float64Array;
  private readonly w: Float64Array;
  private readonly s: Float64Array;
  private readonly rr: Float64Array;
  /** one expert's first derivatives (1 + d + m) */
  private readonly row: Float64Array;

  constructor(k: number, d: number) {
    const m = (d * (d + 1)) / 2;
    super(k, d, false, d + m);
    this.m = m;
    this.Lf = new Float64Array(k * d * d);
    this.Af = new Float64Array(k * d * d);
    this.Pf = new Float64Array(k * d * d);
    this.w = new Float64Array(d);
    this.s = new Float64Array(d);
    this.rr = new Float64Array(d);
    this.row = new Float64Array(1 + d + m);
  }

  private lIndex(i: number, p: number, q: number): number {
    return this.k + this.k * this.d + i * this.m + tri(p, q);
  }

  /** L_i, its inverse and Gamma_i^-1 for every expert at theta. */
  private prepare(theta: Float64Array): void {
    const { k, d } = this;
    const dd = d * d;
    for (let i = 0; i < k; i++) {
      const L = this.Lf.subarray(i * dd, i * dd + dd);
      const A = this.Af.subarray(i * dd, i * dd + dd);
      const P = this.Pf.subarray(i * dd, i * dd + dd);
      L.fill(0);
      A.fill(0);
      for (let p = 0; p < d; p++) {
        for (let q = 0; q < p; q++) L[p * d + q] = theta[this.lIndex(i, p, q)]!;
        const l = theta[this.lIndex(i, p, p)]!;
        L[p * d + p] = Math.exp(Math.min(Math.max(l, -LOG_DIAG_CLAMP), LOG_DIAG_CLAMP));
      }
      // A = L^-1 (lower triangular), column by column by forward substitution
      for (let q = 0; q < d; q++) {
        for (let p = q; p < d; p++) {
          let v = p === q ? 1 : 0;
          for (let t = q; t < p; t++) v -= L[p * d + t]! * A[t * d + q]!;
          A[p * d + q] = v / L[p * d + p]!;
        }
      }
      for (let p = 0; p < d; p++) {
        for (let q = 0; q < d; q++) {
          let v = 0;
          for (let t = Math.max(p, q); t < d; t++) v += A[t * d + p]! * A[t * d + q]!;
          P[p * d + q] = v;
        }
      }
    }
  }

  /** w = A (x_r - c_i), s = A' w into this.w, this.s; returns the logit u_ri (prepare first). */
  private local(theta: Float64Array, X: Float64Array, r: number, i: number): number {
    const { k, d, w, s, rr } = this;
    const A = this.Af.subarray(i * d * d, (i + 1) * d * d);
    for (let p = 0; p < d; p++) rr[p] = X[r * d + p]! - theta[k + i * d + p]!;
    let q2 = 0;
    for (let p = 0; p < d; p++) {
      let v = 0;
      for (let t = 0; t <= p; t++) v += A[p * d + t]! * rr[t]!;
      w[p] = v;
      q2 += v * v;
    }
    for (let p = 0; p < d; p++) {
      let v = 0;
      for (let t = p; t < d; t++) v += A[t * d + p]! * w[t]!;
      s[p] = v;
    }
    let u = theta[i]! - 0.5 * q2;
    for (let p = 0; p < d; p++) u -= theta[this.lIndex(i, p, p)]!;
    // a quadratic form that overflows is a weight of 0 relative to any finite logit; -MAX_VALUE
    // keeps a row whose every expert overflows finite (NaN from a NaN input stays NaN)
    return u === -Infinity ? -Number.MAX_VALUE : u;
  }

  logits(theta: Float64Array, X: Float64Array, n: number, U: Float64Array): void {
    const k = this.k;
    this.prepare(theta);
    for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) U[r * k + i] = this.local(theta, X, r, i);
  }

  /** First derivatives of u_ri in expert i's block: dU[0] beta0, dU[1..d] c, dU[1+d..] L (log-diagonal). */
  private firstInto(i: number, out: Float64Array): void {
    const { d, w, s } = this;
    out[0] = 1;
    for (let p = 0; p < d; p++) out[1 + p] = s[p]!;
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < p; q++) out[1 + d + tri(p, q)] = s[p]! * w[q]!;
      out[1 + d + tri(p, p)] = s[p]! * w[p]! * this.Lf[i * d * d + p * d + p]! - 1;
    }
  }

  private firstBuffer(): Float64Array {
    return this.row;
  }

  chain(theta: Float64Array, X: Float64Array, n: number, D: Float64Array, grad: Float64Array): void {
    const { k } = this;
    this.prepare(theta);
    const f = this.firstBuffer();
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) {
        const g = D[r * k + i]!;
        if (g === 0) continue;
        this.local(theta, X, r, i);
        this.firstInto(i, f);
        for (let a = 0; a < f.length; a++) grad[this.blockIndex(i, a)] = grad[this.blockIndex(i, a)]! + g * f[a]!;
      }
    }
  }

  /** theta index of position a of expert i's block (0: beta0, 1..d: c, then L). */
  private blockIndex(i: number, a: number): number {
    const { k, d } = this;
    if (a === 0) return i;
    if (a <= d) return k + i * d + a - 1;
    return k + k * d + i * this.m + (a - 1 - d);
  }

  readonly hessian = (theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void => {
    this.prepare(theta);
    this.logitHessian(theta, X, n, G, H, R);
  };

  override pointScores(theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array, S: Float64Array): void {
    this.prepare(theta);
    super.pointScores(theta, X, n, R, G, S);
  }

  /** du_ri/dtheta (prepare first): every coordinate of expert i's block. */
  protected jacobianRow(theta: Float64Array, X: Float64Array, r: number, i: number, idx: Int32Array, val: Float64Array, at: number): number {
    this.local(theta, X, r, i);
    const f = this.firstBuffer();
    this.firstInto(i, f);
    for (let a = 0; a < f.length; a++) {
      idx[at + a] = this.blockIndex(i, a);
      val[at + a] = f[a]!;
    }
    return f.length;
  }

  /** H += D d2u_ri/dtheta2 on expert i's (c, L) block (prepare first; formulas in the header). */
  protected secondTerm(theta: Float64Array, X: Float64Array, r: number, i: number, D: number, H: Float64Array): void {
    const { d, nParams: P } = this;
    this.local(theta, X, r, i);
    const { w, s } = this;
    const o = i * d * d;
    const A = (p: number, q: number) => this.Af[o + p * d + q]!;
    const Pm = (p: number, q: number) => this.Pf[o + p * d + q]!;
    const Ld = (p: number) => this.Lf[o + p * d + p]!;
    const add = (a: number, b: number, v: number) => {
      H[a * P + b] = H[a * P + b]! + D * v;
    };
    const pairs: [number, number][] = [];
    for (let p = 0; p < d; p++) for (let q = 0; q <= p; q++) pairs.push([p, q]);
    const cIndex = (p: number) => this.blockIndex(i, 1 + p);
    const lIdx = (a: number, b: number) => this.lIndex(i, a, b);
    // c-c
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) add(cIndex(p), cIndex(q), -Pm(p, q));
    // c-L (both orders)
    for (let p = 0; p < d; p++) {
      for (const [a, b] of pairs) {
        const g = a === b ? Ld(a) : 1;
        const v = g * (-s[a]! * A(b, p) - w[b]! * Pm(p, a));
        add(cIndex(p), lIdx(a, b), v);
        add(lIdx(a, b), cIndex(p), v);
      }
    }
    // L-L
    for (const [a, b] of pairs) {
      const ga = a === b ? Ld(a) : 1;
      for (const [e, f] of pairs) {
        const ge = e === f ? Ld(e) : 1;
        let v = -(s[e]! * A(f, a) + w[f]! * Pm(a, e)) * w[b]! - s[a]! * w[f]! * A(b, e);
        if (a === b && e === f && a === e) v += 1 / (Ld(a) * Ld(a));
        v *= ga * ge;
        // the log-diagonal's own first derivative (d/dl of L du/dL = L du/dL + L^2 d2u/dL2)
        if (a === b && e === f && a === e) v += s[a]! * w[a]! * Ld(a) - 1;
        add(lIdx(a, b), lIdx(e, f), v);
      }
    }
  }

  override pack(experts: readonly GatingParameters[]): Float64Array {
    const { k, d } = this;
    const theta = new Float64Array(this.nParams);
    for (let i = 0; i < k; i++) {
      const e = experts[i]!;
      if (!Array.isArray(e.c) || !Array.isArray(e.Gamma)) {
        throw new ModelError(`experts[${i}].${Array.isArray(e.c) ? 'Gamma' : 'c'}: absent; every expert of a gaussian gate needs c (length ${d}) and Gamma (${d} x ${d})`);
      }
      theta[i] = e.beta0;
      for (let p = 0; p < d; p++) theta[k + i * d + p] = e.c[p]!;
      const L = choleskyOf(e.Gamma, d, `experts[${i}].Gamma`);
      for (let p = 0; p < d; p++) {
        for (let q = 0; q < p; q++) theta[this.lIndex(i, p, q)] = L[p * d + q]!;
        theta[this.lIndex(i, p, p)] = Math.log(L[p * d + p]!);
      }
    }
    return theta;
  }

  override unpack(theta: Float64Array): { beta0: number[]; beta1: number[][]; spec: GaussianGateSpec; gating: GatingParameters[] } {
    const { k, d } = this;
    const beta0: number[] = [];
    const gating: GatingParameters[] = [];
    for (let i = 0; i < k; i++) {
      beta0.push(theta[i]!);
      const L = new Float64Array(d * d);
      for (let p = 0; p < d; p++) {
        for (let q = 0; q < p; q++) L[p * d + q] = theta[this.lIndex(i, p, q)]!;
        L[p * d + p] = Math.exp(theta[this.lIndex(i, p, p)]!);
      }
      // beta1 is absent (gates/types.ts GatingParameters): the gaussian expert is (beta0, c, Gamma)
      gating.push({ beta0: theta[i]!, c: Array.from(theta.subarray(k + i * d, k + i * d + d)), Gamma: fromFactor(L, d) } as GatingParameters);
    }
    return { beta0, beta1: [], spec: { type: 'gaussian' }, gating };
  }

  protected specFrom(): GaussianGateSpec {
    return { type: 'gaussian' };
  }
  protected specTau(): number {
    return 1;
  }
}

/** The gaussian expert of the softmax form (beta0, beta1): Gamma = I, c = beta1, beta0 + |beta1|^2 / 2 (the same G). */
function fromSoftmaxForm(beta0: number, beta1: readonly number[], d: number): GatingParameters {
  const half = 0.5 * beta1.reduce((t, v) => t + v * v, 0);
  const Gamma = Array.from({ length: d }, (_, p) => Array.from({ length: d }, (_, q) => (p === q ? 1 : 0)));
  return { beta0: beta0 + half, c: beta1.slice(), Gamma } as GatingParameters;
}

/** Weighted means and covariances of X under the memberships (ridge 1e-6 of the pooled variance, more until positive definite). */
function fromMemberships(X: Float64Array, n: number, d: number, R: Float64Array, k: number): GatingParameters[] {
  // pooled variance (for the ridge's scale)
  let pooled = 0;
  for (let p = 0; p < d; p++) {
    let s = 0;
    let ss = 0;
    for (let r = 0; r < n; r++) {
      s += X[r * d + p]!;
      ss += X[r * d + p]! ** 2;
    }
    pooled += Math.max(ss / n - (s / n) ** 2, 0) / d;
  }
  const scale = pooled > 0 ? pooled : 1;
  const out: GatingParameters[] = [];
  for (let j = 0; j < k; j++) {
    let sw = 0;
    const c = new Array<number>(d).fill(0);
    for (let r = 0; r < n; r++) {
      const w = R[r * k + j]!;
      sw += w;
      for (let p = 0; p < d; p++) c[p] = c[p]! + w * X[r * d + p]!;
    }
    for (let p = 0; p < d; p++) c[p] = sw > 0 ? c[p]! / sw : 0;
    const Gamma = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let r = 0; r < n; r++) {
      const w = R[r * k + j]!;
      for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) Gamma[p]![q] = Gamma[p]![q]! + w * (X[r * d + p]! - c[p]!) * (X[r * d + q]! - c[q]!);
    }
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) Gamma[p]![q] = sw > 0 ? Gamma[p]![q]! / sw : p === q ? scale : 0;
    for (let ridge = 1e-6 * scale; ; ridge *= 10) {
      const trial = Gamma.map((row, p) => row.map((v, q) => (p === q ? v + ridge : v)));
      if (cholesky(trial.flat(), d).ok) {
        out.push({ beta0: Math.log(Math.max(sw, 1e-300) / n), c, Gamma: trial } as GatingParameters);
        break;
      }
    }
  }
  return out;
}

const GAUSSIAN_GATING: GatingDescription = {
  fields: [
    { name: 'beta0', shape: 'scalar' },
    { name: 'c', shape: 'vector' },
    { name: 'Gamma', shape: 'spd' },
  ],
  linear: false,
  alternativeKeys: ['beta1'],
  parse(o: JsonObject, path: string, d: number): GatingParameters {
    const beta0 = finite(o.beta0, `${path}.beta0`);
    if ('beta1' in o) {
      if ('c' in o || 'Gamma' in o) {
        throw new ModelError(`${path}.beta1: given with ${'c' in o ? 'c' : 'Gamma'}; an expert of the gaussian gate has either c and Gamma, or the softmax form beta1 (read as c = beta1, Gamma = I)`);
      }
      return fromSoftmaxForm(beta0, vector(o.beta1, `${path}.beta1`, d), d);
    }
    const c = vector(o.c, `${path}.c`, d);
    const Gamma = spdMatrix(o.Gamma, `${path}.Gamma`, d);
    return { beta0, c, Gamma } as GatingParameters;
  },
  adopt(e: GatingParameters, path: string, d: number): GatingParameters {
    if (Array.isArray(e.c) && Array.isArray(e.Gamma)) return { beta0: e.beta0, c: e.c, Gamma: e.Gamma } as GatingParameters;
    if (Array.isArray(e.beta1)) return fromSoftmaxForm(e.beta0, e.beta1, d);
    throw new ModelError(`${path}.c: absent; an expert of the gaussian gate needs c and Gamma (or the softmax form beta1)`);
  },
  // draws: beta0, each c_p, then each entry of the Cholesky factor (log-diagonal), row by row
  perturb(e: GatingParameters, s: number, normal: () => number): GatingParameters {
    const d = e.c!.length;
    const beta0 = e.beta0 + s * normal();
    const c = e.c!.map((v) => v + s * normal());
    const L = choleskyOf(e.Gamma!, d, 'Gamma');
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < p; q++) L[p * d + q] = L[p * d + q]! + s * normal();
      L[p * d + p] = Math.exp(Math.log(L[p * d + p]!) + s * normal());
    }
    return { beta0, c, Gamma: fromFactor(L, d) } as GatingParameters;
  },
  atom(e: GatingParameters): GatingAtom {
    return naturalAtom(e.beta0, e.c!, e.Gamma!);
  },
  fromMemberships,
};

/**
 * The f32 code of the gaussian gate (gpu-code.ts), the float64 formulas above unrolled for the
 * shape's d: L (diagonal exp of the log entry, clamped at +-700 as on the CPU; in f32 exp
 * overflows beyond 88, so the kernels are for covariances within e^+-88), A = L^-1 by forward
 * substitution, P = A'A, w = A (x - c), s = A' w. Locals end in `x{i}` with the prefix `gu` (logit)
 * or `gd` (derivatives).
 */
export function gaussianGpuCode(shape: GpuShape): GateGpuCode {
  const { k, d } = shape;
  const m = (d * (d + 1)) / 2;
  const cIdx = (i: number, p: number) => k + i * d + p;
  const lIdx = (i: number, p: number, q: number) => k + k * d + i * m + tri(p, q);
  const ps = Array.from({ length: d }, (_, p) => p);
  const name = (pre: string, what: string, i: number) => `${pre}${what}x${i}`;
  /** statements defining L, A, w (and, with `full`, P and s) of expert i, and the logit `${pre}ux{i}` */
  const prelude = (pre: string, i: number, at: GpuNames, full: boolean): string => {
    const L = (p: number, q: number) => name(pre, `L${p}_${q}`, i);
    const A = (p: number, q: number) => name(pre, `A${p}_${q}`, i);
    const out: string[] = [];
    for (const p of ps) {
      for (let q = 0; q < p; q++) out.push(`let ${L(p, q)} = ${at.theta(lIdx(i, p, q))};`);
      out.push(`let ${L(p, p)} = Math.exp(Math.min(Math.max(${at.theta(lIdx(i, p, p))}, -700.0), 700.0));`);
    }
    for (const q of ps) {
      for (let p = q; p < d; p++) {
        const terms = [p === q ? '1.0' : '0.0'];
        for (let t = q; t < p; t++) terms.push(`- ${L(p, t)} * ${A(t, q)}`);
        out.push(`let ${A(p, q)} = (${terms.join(' ')}) / ${L(p, p)};`);
      }
    }
    for (const p of ps) out.push(`let ${name(pre, `r${p}`, i)} = ${at.x(p)} - ${at.theta(cIdx(i, p))};`);
    for (const p of ps) {
      const terms = Array.from({ length: p + 1 }, (_, t) => `${A(p, t)} * ${name(pre, `r${t}`, i)}`);
      out.push(`let ${name(pre, `w${p}`, i)} = ${terms.join(' + ')};`);
    }
    if (full) {
      for (const p of ps) {
        const terms = Array.from({ length: d - p }, (_, j) => `${A(p + j, p)} * ${name(pre, `w${p + j}`, i)}`);
        out.push(`let ${name(pre, `s${p}`, i)} = ${terms.join(' + ')};`);
      }
      for (const p of ps) {
        for (const q of ps) {
          const terms: string[] = [];
          for (let t = Math.max(p, q); t < d; t++) terms.push(`${A(t, p)} * ${A(t, q)}`);
          out.push(`let ${name(pre, `P${p}_${q}`, i)} = ${terms.join(' + ')};`);
        }
      }
    }
    const q2 = ps.map((p) => `${name(pre, `w${p}`, i)} * ${name(pre, `w${p}`, i)}`).join(' + ');
    const logdet = ps.map((p) => ` - ${at.theta(lIdx(i, p, p))}`).join('');
    out.push(`let ${name(pre, 'u', i)} = ${at.theta(i)}${logdet} - 0.5 * (${q2});`);
    return out.join(' ');
  };
  const pairs: [number, number][] = [];
  for (const p of ps) for (let q = 0; q <= p; q++) pairs.push([p, q]);
  return {
    K: k,
    nParams: k + k * d + k * m,
    functions: [],
    logit: (i, at) => `${prelude('gu', i, at, false)} let u${i} = ${name('gu', 'u', i)};`,
    derivatives: (i, at) => prelude('gd', i, at, true),
    jacobian: (i) => {
      const v = (what: string) => name('gd', what, i);
      return [
        { index: i, value: '1.0' },
        ...ps.map((p) => ({ index: cIdx(i, p), value: v(`s${p}`) })),
        ...pairs.map(([p, q]) => ({ index: lIdx(i, p, q), value: p === q ? `(${v(`s${p}`)} * ${v(`w${p}`)} * ${v(`L${p}_${p}`)} - 1.0)` : `${v(`s${p}`)} * ${v(`w${q}`)}` })),
      ];
    },
    second: (i) => {
      const v = (what: string) => name('gd', what, i);
      const A = (p: number, q: number) => (p >= q ? v(`A${p}_${q}`) : '0.0');
      const P = (p: number, q: number) => v(`P${p}_${q}`);
      const scale = (a: number, b: number) => (a === b ? ` * ${v(`L${a}_${a}`)}` : '');
      const entries: GpuSecondEntry[] = [];
      for (const p of ps) for (let q = p; q < d; q++) entries.push({ a: cIdx(i, p), b: cIdx(i, q), value: `(-${P(p, q)})` });
      for (const p of ps) {
        for (const [a, b] of pairs) entries.push({ a: cIdx(i, p), b: lIdx(i, a, b), value: `((-${v(`s${a}`)} * ${A(b, p)} - ${v(`w${b}`)} * ${P(p, a)})${scale(a, b)})` });
      }
      pairs.forEach(([a, b], t) => {
        pairs.forEach(([e, f], t2) => {
          if (t2 < t) return;
          let value = `((-(${v(`s${e}`)} * ${A(f, a)} + ${v(`w${f}`)} * ${P(a, e)}) * ${v(`w${b}`)} - ${v(`s${a}`)} * ${v(`w${f}`)} * ${A(b, e)}`;
          const diag = a === b && e === f && a === e;
          if (diag) value += ` + 1.0 / (${v(`L${a}_${a}`)} * ${v(`L${a}_${a}`)})`;
          value += `)${scale(a, b)}${scale(e, f)}`;
          if (diag) value += ` + ${v(`s${a}`)} * ${v(`w${a}`)} * ${v(`L${a}_${a}`)} - 1.0`;
          value += ')'; // the generator multiplies the entry: one parenthesised expression
          entries.push({ a: lIdx(i, a, b), b: lIdx(i, e, f), value });
        });
      });
      return entries;
    },
  };
}

export const gaussianGate: GateDefinition<GaussianGateSpec> = {
  type: 'gaussian',
  summary: 'gaussian gate (CRPE-GMoE): G_i(x) = exp(beta0_i) N(x | c_i, Gamma_i) / sum_j exp(beta0_j) N(x | c_j, Gamma_j)',
  keys: ['type'],
  // a common shift of beta0 leaves G unchanged (pinned in starts; 'none' in the beta1 slot: nothing
  // of c and Gamma is pinned); the common quadratic of the logits is aligned by the losses
  // (translation 'full' of the natural gating atom) and counted out of the free parameters by
  // `invariances` below. multiExponents 'none': exact-specified and singleton cells take exponent 1
  // (parametric rates); the over-specified exponents of a Gaussian-gated MoE are not encoded here
  traits: { temperature: false, reference: { beta0: 'shift', beta1: 'none' }, tauRay: false, multiExponents: 'none' },
  gating: GAUSSIAN_GATING,
  parse: () => ({ type: 'gaussian' }),
  create: (_spec, k, d) => new GaussianGate(k, d),
  describe: () => 'gaussian',
  translation: () => 'full',
  startScale: () => 1,
  examples: () => [{ spec: { type: 'gaussian' }, tau: 'known' }],
  gpu: (_spec, shape) => gaussianGpuCode(shape),
  // log(exp(beta0_i) N(x | c_i, Gamma_i)) is a quadratic in x with 1 + d + d (d + 1) / 2
  // coefficients, a smooth bijection of (beta0_i, c_i, Gamma_i): adding one quadratic to every
  // logit (small enough to keep each Gamma_i positive definite) leaves G unchanged. The beta0 part
  // is the reference shift; the rest is a local invariance of c and Gamma counted out here.
  invariances: (_spec, d) => [{ count: d + (d * (d + 1)) / 2, why: `a common quadratic in x added to every logit (a joint change of the c_i and Gamma_i)` }],
};
