/**
 * Seeded sampling from a Gaussian MoE (spec: models.md, "Sampling"):
 *   X ~ input design,  Z ~ Categorical(G(X)),  Y ~ N(a_Z.X + b_Z, nu_Z).
 *
 * Reproducibility contract (what a GPU sampler must reproduce): the sample of `sample(model, n, rng)`
 * uses the stream s = rng.derive(SAMPLE_TAG). Point r (0-based) reads the Philox blocks at counters
 * (r, 0, s), (r, 1, s), ... as one sequence of uint32 words, in this order:
 *   - inputs: uniform -> 2 words per coordinate (a 53-bit uniform); normal -> 4 words per coordinate
 *     (one Box–Muller cosine variate from two uniforms); grid -> none (x_r = low + (high-low) r/(n-1));
 *   - Z: 2 words (a uniform u; Z = the first i with G_1 + ... + G_i > u, skipping zero weights);
 *   - Y: 4 words (two uniforms u1, u2; eps = sqrt(-2 log u1) cos(2 pi u2)).
 * So point r depends only on (seed, stream, r): the same seed gives the same bytes, and any range of
 * points can be drawn independently.
 */
import type { Dataset } from '../data/dataset.js';
import { ConfigError, show } from '../errors.js';
import { modelGate } from '../gates/index.js';
import type { InputSpec, Model } from '../models/types.js';
import { choleskyLower } from '../models/validate.js';
import { philox4x32, uniformFromWords } from '../rng/philox.js';
import type { Rng } from '../rng/rng.js';

/** Tag of the sampling stream derived from the caller's Rng. */
export const SAMPLE_TAG = 0x5a4d504c; // "SMPL"

/** Sequential uint32 words of one point's Philox blocks. */
class PointWords {
  private readonly block = new Uint32Array(4);
  private point = 0;
  private blockIndex = 0;
  private word = 4;
  constructor(
    private readonly k0: number,
    private readonly k1: number,
    private readonly s0: number,
    private readonly s1: number,
  ) {}
  reset(point: number): void {
    this.point = point;
    this.blockIndex = 0;
    this.word = 4;
  }
  next(): number {
    if (this.word === 4) {
      philox4x32(this.point, this.blockIndex++, this.s0, this.s1, this.k0, this.k1, this.block);
      this.word = 0;
    }
    return this.block[this.word++]!;
  }
  uniform(): number {
    const w0 = this.next();
    return uniformFromWords(w0, this.next());
  }
  normal(): number {
    const u1 = this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

function validateN(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 2 ** 31) {
    throw new ConfigError(`n: ${show(n)} is not a sample size; must be an integer in 1..2^31`);
  }
  return n;
}

function drawInputs(input: InputSpec, n: number, words: PointWords, X: Float64Array, r: number): void {
  const d = input.dim;
  switch (input.type) {
    case 'uniform': {
      const width = input.high - input.low;
      for (let p = 0; p < d; p++) X[r * d + p] = input.low + width * words.uniform();
      return;
    }
    case 'grid':
      X[r] = n === 1 ? input.low : input.low + ((input.high - input.low) * r) / (n - 1);
      return;
    case 'normal':
      throw new Error('normal inputs are drawn by drawNormalInputs');
  }
}

/**
 * Draw a sample of size n. Returns X (n x d), Y and the 0-based generating expert Z.
 * @param model a validated model (see parseModel)
 * @param n sample size, integer >= 1
 * @param rng the seeded generator; the sample uses its derived stream rng.derive(SAMPLE_TAG)
 */
export function sample(model: Model, n: number, rng: Rng): Dataset {
  validateN(n);
  const d = model.input.dim;
  const k = model.experts.length;
  const stream = rng.derive(SAMPLE_TAG);
  const words = new PointWords(stream.k0, stream.k1, stream.s0, stream.s1);
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n);
  const Z = new Int32Array(n);
  const input = model.input;
  const L = input.type === 'normal' ? choleskyLower(input.cov, 'input.cov') : null;
  const z = new Float64Array(d);
  // pass 1: each point's whole word sequence (inputs, then the uniform of Z, then the normal of Y),
  // keeping the Z-uniform and the normal for pass 2, which needs the batch's gate weights
  const uniformZ = new Float64Array(n);
  const noise = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    words.reset(r);
    if (input.type === 'normal') {
      for (let p = 0; p < d; p++) z[p] = words.normal();
      for (let p = 0; p < d; p++) {
        let v = input.mean[p]!;
        for (let q = 0; q <= p; q++) v += L![p]![q]! * z[q]!;
        X[r * d + p] = v;
      }
    } else drawInputs(input, n, words, X, r);
    uniformZ[r] = words.uniform();
    noise[r] = words.normal();
  }
  const { gate, theta } = modelGate(model);
  const G = new Float64Array(n * k);
  gate.weights(theta, X, n, G);
  const sd = model.experts.map((e) => Math.sqrt(e.nu));
  // pass 2: labels and responses
  for (let r = 0; r < n; r++) {
    const u = uniformZ[r]!;
    let label = -1;
    let cumulative = 0;
    let lastPositive = 0;
    for (let i = 0; i < k; i++) {
      const g = G[r * k + i]!;
      if (g <= 0) continue;
      lastPositive = i;
      cumulative += g;
      if (u < cumulative) {
        label = i;
        break;
      }
    }
    if (label < 0) label = lastPositive; // u beyond a cumulative sum that rounded below 1
    Z[r] = label;
    const e = model.experts[label]!;
    let mean = e.b;
    for (let p = 0; p < d; p++) mean += e.a[p]! * X[r * d + p]!;
    Y[r] = mean + sd[label]! * noise[r]!;
  }
  return { n, d, X, Y, Z };
}
