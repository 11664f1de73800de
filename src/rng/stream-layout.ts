/**
 * The layout of the sampling stream (spec: models.md, "Sampling"), in one place for the CPU
 * sampler (sampling/sample.ts) and the GPU sampler's kernel sources (gpu/source.ts, which
 * interpolates these numbers): what a GPU sampler must reproduce word for word.
 *
 * The sample of `sample(model, n, rng)` uses the stream s = rng.derive(SAMPLE_TAG). Point r
 * (0-based) reads the Philox blocks at counters (r, 0, s), (r, 1, s), ... as one sequence of
 * uint32 words (WORDS_PER_BLOCK per block), in this order:
 *
 *     inputs   uniform: WORDS_PER_UNIFORM per coordinate; normal: WORDS_PER_NORMAL per coordinate;
 *              grid: none                                        words [0, inputWords)
 *     Z        one uniform (LABEL_WORDS)                          words [labelWord, labelWord + 2)
 *     Y        one normal (RESPONSE_WORDS)                        words [responseWord, responseWord + 4)
 *
 * A uniform is 2 words (a 53-bit uniform, rng/philox.ts uniformFromWords); a normal is one
 * Box–Muller cosine variate of two uniforms, so 4 words. So point r depends only on
 * (seed, stream, r), and any range of points can be drawn independently.
 */

/** Tag of the sampling stream derived from the caller's Rng. */
export const SAMPLE_TAG = 0x5a4d504c; // "SMPL"

/** uint32 words per Philox4x32 block. */
export const WORDS_PER_BLOCK = 4;
/** Words of one uniform (53 bits from two words). */
export const WORDS_PER_UNIFORM = 2;
/** Words of one normal (Box–Muller, cosine branch only: two uniforms). */
export const WORDS_PER_NORMAL = 2 * WORDS_PER_UNIFORM;
/** Words of the label Z of a point (one uniform). */
export const LABEL_WORDS = WORDS_PER_UNIFORM;
/** Words of the response noise of a point (one normal). */
export const RESPONSE_WORDS = WORDS_PER_NORMAL;

/**
 * Words the inputs of one point use:
 *
 *     uniform: 2 d,   normal: 4 d,   grid: 0
 *
 * @param type the input design's type
 * @param dim its dimension d
 * @example
 *   inputWords('normal', 3) // => 12
 */
export function inputWords(type: 'uniform' | 'normal' | 'grid', dim: number): number {
  return type === 'uniform' ? WORDS_PER_UNIFORM * dim : type === 'normal' ? WORDS_PER_NORMAL * dim : 0;
}

/** Index, in a point's word sequence, of the first word of its label's uniform. */
export function labelWord(wordsOfInputs: number): number {
  return wordsOfInputs;
}

/** Index, in a point's word sequence, of the first word of its response's normal. */
export function responseWord(wordsOfInputs: number): number {
  return wordsOfInputs + LABEL_WORDS;
}

/**
 * Philox blocks one point reads: ceil((inputWords + LABEL_WORDS + RESPONSE_WORDS) / 4).
 * @example
 *   pointBlocks(inputWords('uniform', 1)) // => 2 (2 + 2 + 4 = 8 words)
 */
export function pointBlocks(wordsOfInputs: number): number {
  return Math.ceil((wordsOfInputs + LABEL_WORDS + RESPONSE_WORDS) / WORDS_PER_BLOCK);
}

/** Block of word w (as a Philox counter's second word) and the uniform pair within it (0 or 1). */
export function wordBlock(w: number): number {
  return Math.floor(w / WORDS_PER_BLOCK);
}
export function wordPair(w: number): number {
  return Math.floor((w % WORDS_PER_BLOCK) / WORDS_PER_UNIFORM);
}
