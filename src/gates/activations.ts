/**
 * Activations of the activation dense-to-sparse gate [TEMP] (spec: models.md, gate 4), each with
 * sigma, sigma' and sigma'' (for gradients and Newton-type steps).
 * tanh, sigmoid and gelu are the papers' "allowed" kind; identity and relu are homogeneous and
 * violate [TEMP]'s linear-independence condition (they should behave like the temperature gate).
 * gelu(v) = v Phi(v) with the exact normal CDF (not the tanh approximation).
 */
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

function sigmoid(v: number): number {
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
