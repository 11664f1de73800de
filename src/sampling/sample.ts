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
import { boxMullerPlane, philoxPlaneView, pointsPlanes } from './philox-planes.js';
import { LinearLogitGate } from '../gates/linear-gate.js';

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

/** Running totals of the points drawn by each path (see {@link samplerPaths}). */
const paths = { kernel: 0, recomputed: 0, plain: 0, mismatches: 0 };

/**
 * How the points drawn so far in this process were computed: `kernel`, by the fused WebAssembly
 * kernel of wasm-softmax.ts; `recomputed`, left by it to the plain code (a weight below e^-708 or
 * a rare normal); `plain`, by the plain code (other gates, no SIMD128, or after a mismatch);
 * `mismatches`, samples whose first points' check found the kernel differing from the plain code
 * (then the rest of that sample is drawn the plain way). For tests and benchmarks.
 * @example
 *   const before = samplerPaths().kernel; sample(DEMYS, 1000, new Rng(1)); samplerPaths().kernel - before // => 1000
 */
export function samplerPaths(): { kernel: number; recomputed: number; plain: number; mismatches: number } {
  return { ...paths };
}

/** Experts and dimensions up to which the gate kernel of wasm-softmax.ts is used. */
const MAX_KERNEL_K = 16;
const MAX_KERNEL_D = 8;

/**
 * The label of a point: the first i with G_1 + ... + G_i > u, skipping zero weights (the last
 * positive one if u is beyond a cumulative sum that rounded below 1). G_i is G[o + i step].
 */
function labelOf(u: number, G: Float64Array, o: number, step: number, k: number): number {
  let cumulative = 0;
  let lastPositive = 0;
  for (let i = 0; i < k; i++) {
    const g = G[o + i * step]!;
    if (g <= 0) continue;
    lastPositive = i;
    cumulative += g;
    if (u < cumulative) return i;
  }
  return lastPositive;
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
  const chunk = Math.min(CHUNK, count);
  const noise = new Float64Array(chunk);
  const G = new Float64Array(chunk * k);
  const G1 = new Float64Array(k);
  // gates with linear logits keeping every expert: weights, labels and responses by the fused
  // WebAssembly kernel (wasm-softmax.ts), checked against this file's own computation on the
  // first points of each range
  // (a subclass that overrides weights, e.g. a plugin gate, computes something else: plain path)
  const linear =
    gate instanceof LinearLogitGate && gate.weights === LinearLogitGate.prototype.weights && gate.K >= k && k <= MAX_KERNEL_K && d <= MAX_KERNEL_D ? gate : null;
  let fast = linear !== null;
  const uniform = design.type === 'uniform';
  const params = new Float64Array(k + k * d + 1 + k * d + 2 * k + 2 * d);
  if (linear !== null) {
    params.set(theta.subarray(0, k + k * d));
    params[k + k * d] = linear.logitScale(theta);
    const at = k + k * d + 1;
    params.set(A, at);
    params.set(B, at + k * d);
    params.set(SD, at + k * d + k);
    if (design.type === 'uniform') {
      params.fill(design.low, at + k * d + 2 * k, at + k * d + 2 * k + d);
      params.fill(design.width, at + k * d + 2 * k + d);
    }
  }
  const extra = fast ? (d + 2) * 4 * Math.ceil(chunk / 4) + params.length : 0;
  let probe = 0; // NaN once any response is infinite (not captured by the closures: a register)
  /** noise of point r of the chunk by Math (the kernel's NaN: one of fdlibm's rare paths) */
  const mathNoise = (U: Float64Array, o1: number, o2: number, r: number) => Math.sqrt(-2 * Math.log(U[o1 + r]!)) * Math.cos(2 * Math.PI * U[o2 + r]!);
  /** label and response of point `at` of the range from its weights G[o + i step], its uniform u and noise */
  const finishPoint = (at: number, u: number, Gs: Float64Array, o: number, step: number, eps: number) => {
    const label = labelOf(u, Gs, o, step, k);
    Z[at] = label;
    let mean = B[label]!;
    for (let p = 0; p < d; p++) mean += A[label * d + p]! * X[at * d + p]!;
    const y = mean + SD[label]! * eps;
    Y[at] = y;
    return y;
  };
  /** inputs of points from .. from + m - 1 of the range from the chunk's planes */
  function drawInputs(U: Float64Array, stride: number, from: number, m: number): void {
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
  }
  // a chunk of points at a time: each point's uniforms in bulk (its whole word sequence: inputs,
  // then the uniform of Z, then the two of Y's normal); the inputs drawn from them; the normals;
  // the chunk's gate weights; then labels and responses. r is the index within the chunk, from + r
  // within this range, first + from + r the point's index in the sample
  for (let from = 0; from < count; from += CHUNK) {
    const m = Math.min(CHUNK, count - from);
    const { U, stride } = philoxPlaneView(stream, first + from, m, blocks, 'auto', extra);
    const Xc = X.subarray(from * d, (from + m) * d);
    if (!(fast && uniform)) drawInputs(U, stride, from, m);
    const o1 = yPlane * stride;
    const o2 = o1 + stride;
    const oz = zPlane * stride;
    const N = boxMullerPlane({ U, stride }, yPlane, yPlane + 1);
    const P = fast && N !== null ? pointsPlanes({ U, stride }, k, d, uniform, zPlane, params, uniform ? null : Xc, m) : null;
    if (P !== null) {
      if (uniform) {
        if (d === 1) Xc.set(P.X.subarray(0, m));
        else for (let p = 0; p < d; p++) for (let r = 0; r < m; r++) Xc[r * d + p] = P.X[p * stride + r]!;
      }
      const PY = P.Y;
      const PZ = P.Z;
      let recomputed = 0;
      for (let r = 0; r < m; r++) {
        const y = PY[r]!;
        const at = from + r;
        if (y === y) {
          Y[at] = y;
          Z[at] = PZ[r]!;
          probe += y * 0; // NaN once any y is infinite
        } else {
          // a point the kernel left to this code: a weight below e^-708, or a rare normal
          recomputed++;
          const z = N![r]!;
          gate.weights(theta, X.subarray(at * d, at * d + d), 1, G1);
          probe += finishPoint(at, U[oz + r]!, G1, 0, 1, z === z ? z : mathNoise(U, o1, o2, r)) * 0;
        }
      }
      if (from === 0) {
        // the kernel against the plain computation on the first points, every bit
        const c = Math.min(m, 64);
        const y0 = Y.slice(0, c);
        const z0 = Z.slice(0, c);
        gate.weights(theta, Xc, c, G);
        let same = true;
        for (let r = 0; r < c; r++) {
          const z = N![r]!;
          finishPoint(r, U[oz + r]!, G, r * k, 1, z === z ? z : mathNoise(U, o1, o2, r));
          if (!Object.is(Y[r], y0[r]) || Z[r] !== z0[r]) same = false;
        }
        if (!same) {
          fast = false;
          paths.mismatches++;
        } else {
          paths.kernel += m - recomputed;
          paths.recomputed += recomputed;
          continue;
        }
      } else {
        paths.kernel += m - recomputed;
        paths.recomputed += recomputed;
        continue;
      }
      // the kernel disagreed: this chunk again on the plain path
      if (uniform) drawInputs(U, stride, from, m);
    }
    if (N === null) for (let r = 0; r < m; r++) noise[r] = mathNoise(U, o1, o2, r);
    else {
      for (let r = 0; r < m; r++) {
        const z = N[r]!;
        noise[r] = z === z ? z : mathNoise(U, o1, o2, r);
      }
    }
    gate.weights(theta, Xc, m, G);
    paths.plain += m;
    for (let r = 0; r < m; r++) probe += finishPoint(from + r, U[oz + r]!, G, r * k, 1, noise[r]!) * 0;
  }
  // the finiteness check (and its message) where a value may be infinite: a uniform design with a
  // finite box draws finite inputs; every response went into the probe
  const finiteInputs = design.type === 'uniform' && Number.isFinite(design.low) && Number.isFinite(design.width);
  if (!finiteInputs || probe !== 0) checkFinite(X, Y, count, d, first);
  return { n: count, d, X, Y, Z };
}

/** The points of `sample(model, n, rng)` in pieces of at most `chunk` points (see sampleRange). */
export function* sampleChunks(model: Model, n: number, rng: Rng, chunk = 65536): Generator<Dataset> {
  validateN(n);
  for (let first = 0; first < n; first += chunk) yield sampleRange(model, n, rng, first, Math.min(chunk, n - first));
}
