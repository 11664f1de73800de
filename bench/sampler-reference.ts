/**
 * The sampler as it was before issue 14's speed work (one point at a time: its Philox blocks by
 * the JavaScript block function, Box–Muller by Math.log and Math.cos, then the whole range's gate
 * weights and labels): the "before" of `npm run bench`'s sampler ratio, and an independent oracle
 * for test/sampling/reference.test.ts (the fast sampler must give the same bytes). Not library code.
 */
import type { Dataset } from '../src/data/dataset.js';
import { modelGate } from '../src/models/model-gate.js';
import type { Model } from '../src/models/types.js';
import { philox4x32, uniformFromWords } from '../src/rng/philox.js';
import type { Rng } from '../src/rng/rng.js';
import { inputWords, pointBlocks, SAMPLE_TAG, WORDS_PER_BLOCK, WORDS_PER_UNIFORM } from '../src/rng/stream-layout.js';
import { drawInput, inputSampler } from '../src/sampling/input.js';

/** The uint32 words of one point: its Philox blocks (r, 0..blocks-1), drawn at once, read in order. */
class PointWords {
  private readonly words: Uint32Array;
  private readonly block = new Uint32Array(WORDS_PER_BLOCK);
  private next = 0;
  constructor(
    private readonly blocks: number,
    private readonly k0: number,
    private readonly k1: number,
    private readonly s0: number,
    private readonly s1: number,
  ) {
    this.words = new Uint32Array(WORDS_PER_BLOCK * blocks);
  }
  reset(point: number): void {
    for (let b = 0; b < this.blocks; b++) {
      philox4x32(point, b, this.s0, this.s1, this.k0, this.k1, this.block);
      this.words.set(this.block, WORDS_PER_BLOCK * b);
    }
    this.next = 0;
  }
  uniform(): number {
    const w = this.words;
    const u = uniformFromWords(w[this.next]!, w[this.next + 1]!);
    this.next += WORDS_PER_UNIFORM;
    return u;
  }
  normal(): number {
    const u1 = this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/**
 * Points first, ..., first + count - 1 (0-based) of the sample `sample(model, n, rng)`, drawn the old way:
 * each point depends only on (seed, n, its index), so a sample can be drawn in pieces of bounded
 * memory (see sampleChunks) and the pieces, concatenated, are the sample.
 */
export function sampleRangeReference(model: Model, n: number, rng: Rng, first: number, count: number): Dataset {
  const d = model.input.dim;
  const k = model.experts.length;
  const stream = rng.derive(SAMPLE_TAG);
  const input = model.input;
  const words = new PointWords(pointBlocks(inputWords(input.type, d)), stream.k0, stream.k1, stream.s0, stream.s1);
  const X = new Float64Array(count * d);
  const Y = new Float64Array(count);
  const Z = new Int32Array(count);
  const design = inputSampler(input);
  // pass 1: each point's whole word sequence (inputs, then the uniform of Z, then the normal of Y),
  // keeping the Z-uniform and the normal for pass 2, which needs the batch's gate weights.
  // r is the index within this range, first + r the point's index in the sample
  const uniformZ = new Float64Array(count);
  const noise = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const point = first + r;
    words.reset(point);
    drawInput(design, words, X, r * d, point, n);
    uniformZ[r] = words.uniform();
    noise[r] = words.normal();
  }
  const { gate, theta } = modelGate(model);
  const G = new Float64Array(count * k);
  gate.weights(theta, X, count, G);
  const A = Float64Array.from(model.experts.flatMap((e) => e.a));
  const B = Float64Array.from(model.experts, (e) => e.b);
  const SD = Float64Array.from(model.experts, (e) => Math.sqrt(e.nu));
  // pass 2: labels and responses
  for (let r = 0; r < count; r++) {
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
    let mean = B[label]!;
    for (let p = 0; p < d; p++) mean += A[label * d + p]! * X[r * d + p]!;
    Y[r] = mean + SD[label]! * noise[r]!;
  }
  return { n: count, d, X, Y, Z };
}


/** The whole sample of size n, drawn the old way (no validation: a bench and test helper). */
export function sampleReference(model: Model, n: number, rng: Rng): Dataset {
  return sampleRangeReference(model, n, rng, 0, n);
}
