/**
 * Activations of the activation dense-to-sparse gate [TEMP] (spec: models.md, gate 4), each with
 * sigma, sigma' and sigma'' (for gradients and Newton-type steps).
 * tanh, sigmoid and gelu are the papers' "allowed" kind; identity and relu are homogeneous and
 * violate [TEMP]'s linear-independence condition (they should behave like the temperature gate).
 * gelu(v) = v Phi(v) with the exact normal CDF (not the tanh approximation).
 */
import type { GpuFunction } from './gpu-code.js';

export type Activation = 'tanh' | 'sigmoid' | 'gelu' | 'identity' | 'relu';
export const ACTIVATIONS: readonly Activation[] = ['tanh', 'sigmoid', 'gelu', 'identity', 'relu'];

export interface ActivationFunction {
  readonly name: Activation;
  /** sigma(v) */
  value(v: number): number;
  /** sigma'(v) */
  derivative(v: number): number;
  /** sigma''(v) */
  second(v: number): number;
}

const INV_SQRT_2PI = 0.3989422804014327;

/**
 * erfc(x) for x >= 0 with relative error ~1e-15: the series
 *   erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))   (positive terms)
 * for x < 3, and the continued fraction (modified Lentz) for x >= 3.
 */
function erfcNonNegative(x: number): number {
  if (x < 3) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let dd = 0;
  for (let j = 1; j < 300; j++) {
    const aj = j / 2;
    dd = x + aj * dd;
    dd = dd === 0 ? tiny : dd;
    c = x + aj / c;
    c = c === 0 ? tiny : c;
    dd = 1 / dd;
    const delta = c * dd;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Standard normal CDF Phi(v), accurate in both tails. */
export function normalCdf(v: number): number {
  const x = Math.abs(v) / Math.SQRT2;
  const tail = 0.5 * erfcNonNegative(x);
  return v < 0 ? tail : 1 - tail;
}

/** Standard normal density phi(v). */
export function normalPdf(v: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * v * v);
}

/**
 * The logistic sigma(v) = 1 / (1 + e^-v), without overflow (e^v / (1 + e^v) below 0).
 * @param v any number (NaN gives NaN)
 * @example sigmoid(0) // => 0.5
 */
export function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

export const ACTIVATION_FUNCTIONS: Readonly<Record<Activation, ActivationFunction>> = {
  tanh: {
    name: 'tanh',
    value: Math.tanh,
    derivative: (v) => {
      const t = Math.tanh(v);
      return 1 - t * t;
    },
    second: (v) => {
      const t = Math.tanh(v);
      return -2 * t * (1 - t * t);
    },
  },
  sigmoid: {
    name: 'sigmoid',
    value: sigmoid,
    derivative: (v) => {
      const s = sigmoid(v);
      return s * (1 - s);
    },
    second: (v) => {
      const s = sigmoid(v);
      return s * (1 - s) * (1 - 2 * s);
    },
  },
  gelu: {
    name: 'gelu',
    value: (v) => v * normalCdf(v),
    derivative: (v) => normalCdf(v) + v * normalPdf(v),
    second: (v) => normalPdf(v) * (2 - v * v),
  },
  identity: {
    name: 'identity',
    value: (v) => v,
    derivative: () => 1,
    second: () => 0,
  },
  relu: {
    name: 'relu',
    // written so that NaN stays NaN (v > 0 ? v : 0 would turn a NaN input into a weight)
    value: (v) => (v < 0 ? 0 : v + 0),
    // sigma'(0) := 0 (a subgradient); relu is not differentiable there
    derivative: (v) => (v > 0 ? 1 : v <= 0 ? 0 : NaN),
    second: (v) => (v === v ? 0 : NaN),
  },
};

// ---------------------------------------------------------------------------------------------
// The same activations in f32, for the generated GPU kernels (gpu-code.ts): the forms above, so
// that the GPU and the CPU differ only by f32 rounding

/** The f32 code of an activation: sigma, sigma', sigma'' as kernel statements. */
export interface ActivationGpuCode {
  /**
   * Statements defining the locals out.s = sigma(v), out.ds = sigma'(v), out.dds = sigma''(v), and
   * helper locals named out.s + a suffix.
   * @param v the argument, a local name (read several times)
   * @param out the names to define
   */
  code(v: string, out: { s: string; ds: string; dds: string }): string;
  /** helper functions the statements call */
  readonly functions: readonly GpuFunction[];
}

/**
 * The numbers of Numerical Recipes' erfcc (Press et al., 2nd ed., 6.2): for z >= 0,
 *   erfc(z) = t exp(-z^2 + P(t)),  t = 1 / (1 + z/2),  P(t) = c0 + c1 t + ... + c9 t^9,
 * a Chebyshev fit with relative error below 1.2e-7 for every z >= 0, so that the tails of Phi are
 * relatively accurate (the Abramowitz-Stegun erf the GPU used before, |error| < 1.5e-7 absolute,
 * is 2% off in the tail at v = -10).
 */
const ERFCC = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/**
 * Phi(v) in f32, the GPU twin of normalCdf: T = Phi(-|v|) = erfc(|v|/sqrt 2) / 2 by ERFCC, Phi = T
 * for v < 0 and 1 - T otherwise. exp(-v^2/2) is split as exp(-h^2/2) exp(-(a - h)(a + h)/2 + P)
 * with a = |v|, h = a rounded down to a multiple of 1/256 (h^2/2 is exact in f32 for a < 16):
 * the large exponent is then not rounded, only the f32 exp's own error remains.
 * Error (test/gpu/activations.test.ts, against normalCdf on [-10, 10]): relative error of the tail
 * min(Phi, 1 - Phi) at most (16 + v^2) 2^-24, i.e. 1e-6 at |v| = 1 and 6.9e-6 at |v| = 10, plus
 * 2^-24 absolute for v > 0 (the rounding of 1 - T). The v^2 term is WGSL's allowance for exp,
 * (3 + 2|x|) ulp at x ~ -v^2/2 (measured on lavapipe: 5.0e-6 at v = -9.66; the approximation
 * itself contributes 1.2e-7).
 */
const PHI_F32 = `function gatelabPhi(v) {
  let a = Math.abs(v);
  let t = 1.0 / (1.0 + 0.5 * (a * 0.7071067811865476));
  let p = ${ERFCC.slice(0, -1)
    .map((c) => `${c} + t * (`)
    .join('')}${ERFCC[ERFCC.length - 1]}${')'.repeat(ERFCC.length - 1)};
  let h = Math.floor(a * 256.0) / 256.0;
  let tail = 0.5 * t * Math.exp(-0.5 * h * h) * Math.exp(p - 0.5 * (a - h) * (a + h));
  let out = 1.0 - tail;
  if (v < 0.0) { out = tail; }
  return out;
}`;

export const ACTIVATION_GPU: Readonly<Record<Activation, ActivationGpuCode>> = {
  tanh: {
    code: (v, { s, ds, dds }) => `let ${s} = Math.tanh(${v}); let ${ds} = 1.0 - ${s} * ${s}; let ${dds} = -2.0 * ${s} * ${ds};`,
    functions: [],
  },
  sigmoid: {
    // the CPU's two branches, 1/(1 + e^-v) for v >= 0 and e^v/(1 + e^v) below, from e = e^-|v|
    // (never overflows); sigma(-v) from the other branch, so that sigma' = sigma(v) sigma(-v) and
    // sigma'' = sigma' (sigma(-v) - sigma(v)) do not lose digits to 1 - sigma where sigma ~ 1
    code: (v, { s, ds, dds }) =>
      `let ${s}e = Math.exp(-Math.abs(${v})); let ${s} = ${s}e / (1.0 + ${s}e); let ${s}c = 1.0 / (1.0 + ${s}e);` +
      ` if (${v} >= 0.0) { ${s} = 1.0 / (1.0 + ${s}e); ${s}c = ${s}e / (1.0 + ${s}e); }` +
      ` let ${ds} = ${s} * ${s}c; let ${dds} = ${ds} * (${s}c - ${s});`,
    functions: [],
  },
  gelu: {
    code: (v, { s, ds, dds }) =>
      `let ${s}cdf = gatelabPhi(${v}); let ${s}pdf = 0.3989422804014327 * Math.exp(-0.5 * ${v} * ${v});` +
      `let ${s} = ${v} * ${s}cdf; let ${ds} = ${s}cdf + ${v} * ${s}pdf; let ${dds} = ${s}pdf * (2.0 - ${v} * ${v});`,
    functions: [{ source: PHI_F32, settings: {} }],
  },
  identity: {
    code: (v, { s, ds, dds }) => `let ${s} = ${v}; let ${ds} = 1.0; let ${dds} = 0.0;`,
    functions: [],
  },
  relu: {
    // as the CPU: a branch, not max(v, 0), which WGSL lets turn a NaN into 0
    code: (v, { s, ds, dds }) => `let ${s} = ${v}; if (${v} < 0.0) { ${s} = 0.0; } let ${ds} = 0.0; if (${v} > 0.0) { ${ds} = 1.0; } let ${dds} = 0.0;`,
    functions: [],
  },
};
