/**
 * Seeded sampling from a Gaussian MoE (spec: models.md, "Sampling"):
 *   X ~ input design,  Z ~ Categorical(G(X)),  Y ~ N(a_Z.X + b_Z, nu_Z).
 *
 * Reproducibility contract (what a GPU sampler must reproduce): the sample of `sample(model, n, rng)`
 * uses the stream s = rng.derive(SAMPLE_TAG), and point r reads its Philox blocks (r, 0..) in the
 * order of rng/stream-layout.ts (the one statement of the layout): its inputs (drawn by the input
 * sampler, input.ts), then a uniform u for Z (Z = the first i with G_1 + ... + G_i > u, skipping
 * zero weights), then a normal eps for Y = a_Z.x + b_Z + sqrt(nu_Z) eps. So point r depends only
 * on (seed, stream, r): the same seed gives the same bytes, and any range of points can be drawn
 * independently.
 */
import type { Dataset } from '../data/dataset.js';
import { ConfigError, NumericalError, show } from '../errors.js';
import { modelGate } from '../models/model-gate.js';
import type { Model } from '../models/types.js';
import type { Rng } from '../rng/rng.js';
import { inputWords, labelWord, pointBlocks, responseWord, SAMPLE_TAG, WORDS_PER_UNIFORM } from '../rng/stream-layout.js';
import { drawInput, inputSampler } from './input.js';
import { boxMullerPlane, philoxPlaneView } from './philox-planes.js';

export { SAMPLE_TAG } from '../rng/stream-layout.js';

/** Points drawn per call of the Philox kernel: its planes stay in the L1/L2 cache. */
const CHUNK = 2048;

/**
 * Variates of one point read in order from its uniform planes (philox-planes.ts): uniform j of the
 * point is U[j * stride + r]; a normal is the Box–Muller cosine variate of the next two uniforms.
 */
class PlaneSource {
  U: Float64Array = new Float64Array(0);
  stride = 0;
  private at = 0;
  private next = 0;
  reset(U: Float64Array, stride: number, r: number): void {
    this.U = U;
    this.stride = stride;
    this.at = r;
    this.next = 0;
  }
  uniform(): number {
    return this.U[this.next++ * this.stride + this.at]!;
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

/**
 * A drawn value that overflows float64 (a model valid on its own whose a.x + b, or whose normal
 * input, exceeds 1.8e308 somewhere) is refused: it could not be written and read back as data.
 */
function checkFinite(X: Float64Array, Y: Float64Array, n: number, d: number, first: number): void {
  for (let r = 0; r < n; r++) {
    for (let p = 0; p < d; p++) {
      if (!Number.isFinite(X[r * d + p]!)) {
        throw new NumericalError(`sample: point ${first + r + 1} has x${p + 1} = ${show(X[r * d + p])} (float64 overflow); the model's input design is too wide: narrow input`);
      }
    }
    if (!Number.isFinite(Y[r]!)) {
      throw new NumericalError(`sample: point ${first + r + 1} has y = ${show(Y[r])} (float64 overflow of a.x + b + sqrt(nu) eps); the model's experts (a, b, nu) are too large for its input range: rescale them`);
    }
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
  return sampleRange(model, n, rng, 0, n);
}

/**
 * Points first, ..., first + count - 1 (0-based) of the sample `sample(model, n, rng)`, exactly:
 * each point depends only on (seed, n, its index), so a sample can be drawn in pieces of bounded
 * memory (see sampleChunks) and the pieces, concatenated, are the sample.
 */
export function sampleRange(model: Model, n: number, rng: Rng, first: number, count: number): Dataset {
  validateN(n);
  if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > n) {
    throw new ConfigError(`sampleRange: points ${show(first)}..${show(first + count - 1)} are not allowed; must lie in 0..${n - 1}`);
  }
  const d = model.input.dim;
  const k = model.experts.length;
  const stream = rng.derive(SAMPLE_TAG);
  const input = model.input;
  const wordsOfInputs = inputWords(input.type, d);
  const blocks = pointBlocks(wordsOfInputs);
  const X = new Float64Array(count * d);
  const Y = new Float64Array(count);
  const Z = new Int32Array(count);
  const design = inputSampler(input);
  const { gate, theta } = modelGate(model);
  const A = Float64Array.from(model.experts.flatMap((e) => e.a));
  const B = Float64Array.from(model.experts, (e) => e.b);
  const SD = Float64Array.from(model.experts, (e) => Math.sqrt(e.nu));
  const zPlane = labelWord(wordsOfInputs) / WORDS_PER_UNIFORM;
  const yPlane = responseWord(wordsOfInputs) / WORDS_PER_UNIFORM;
  const source = new PlaneSource();
  const noise = new Float64Array(Math.min(CHUNK, count));
  const G = new Float64Array(Math.min(CHUNK, count) * k);
  // a chunk of points at a time: each point's uniforms in bulk (its whole word sequence: inputs,
  // then the uniform of Z, then the two of Y's normal); the inputs drawn from them; the normals;
  // the chunk's gate weights; then labels and responses. r is the index within the chunk, from + r
  // within this range, first + from + r the point's index in the sample
  for (let from = 0; from < count; from += CHUNK) {
    const m = Math.min(CHUNK, count - from);
    const { U, stride } = philoxPlaneView(stream, first + from, m, blocks);
    if (design.type === 'uniform') {
      const { low, width } = design;
      for (let p = 0; p < d; p++) {
        const o = p * stride;
        for (let r = 0; r < m; r++) X[(from + r) * d + p] = low + width * U[o + r]!;
      }
    } else {
      for (let r = 0; r < m; r++) {
        source.reset(U, stride, r);
        drawInput(design, source, X, (from + r) * d, first + from + r, n);
      }
    }
    const o1 = yPlane * stride;
    const o2 = o1 + stride;
    const N = boxMullerPlane({ U, stride }, yPlane, yPlane + 1);
    if (N === null) {
      for (let r = 0; r < m; r++) noise[r] = Math.sqrt(-2 * Math.log(U[o1 + r]!)) * Math.cos(2 * Math.PI * U[o2 + r]!);
    } else {
      // the kernel's doubles are Math's; NaN marks a point on one of fdlibm's rare paths
      for (let r = 0; r < m; r++) {
        const z = N[r]!;
        noise[r] = z === z ? z : Math.sqrt(-2 * Math.log(U[o1 + r]!)) * Math.cos(2 * Math.PI * U[o2 + r]!);
      }
    }
    gate.weights(theta, X.subarray(from * d, (from + m) * d), m, G);
    // labels: Z = the first i with G_1 + ... + G_i > u (zero weights skipped), and responses
    const oz = zPlane * stride;
    for (let r = 0; r < m; r++) {
      const u = U[oz + r]!;
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
      const at = from + r;
      Z[at] = label;
      let mean = B[label]!;
      for (let p = 0; p < d; p++) mean += A[label * d + p]! * X[at * d + p]!;
      Y[at] = mean + SD[label]! * noise[r]!;
    }
  }
  checkFinite(X, Y, count, d, first);
  return { n: count, d, X, Y, Z };
}

/** The points of `sample(model, n, rng)` in pieces of at most `chunk` points (see sampleRange). */
export function* sampleChunks(model: Model, n: number, rng: Rng, chunk = 65536): Generator<Dataset> {
  validateN(n);
  for (let first = 0; first < n; first += chunk) yield sampleRange(model, n, rng, first, Math.min(chunk, n - first));
}
