/**
 * Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Random123").
 *
 * A counter-based generator maps (counter, key) to random words with a pure function, so any
 * position of any stream can be computed directly, in any order, on the CPU or in a GPU kernel,
 * and give the same bits. gatelab uses one type, {@link Rng}, built on this block function.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

const M0H = M0 >>> 16;
const M0L = M0 & 0xffff;
const M1H = M1 >>> 16;
const M1L = M1 & 0xffff;

/**
 * One Philox4x32-10 block: out = philox(counter (c0,c1,c2,c3), key (k0,k1)), four uint32 words.
 * Verified against the Random123 known-answer vectors (test/rng.test.ts).
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    // high words of M0*x0 and M1*x2 from 16-bit halves: every partial product is < 2^32, so the
    // arithmetic is exact (and faster in V8 than float division tricks); checked against the
    // Random123 known answers in test/rng.test.ts
    const a0 = x0 & 0xffff;
    const b0 = x0 >>> 16;
    const mid0 = ((a0 * M0L) >>> 16) + ((a0 * M0H) & 0xffff) + ((b0 * M0L) & 0xffff);
    const hi0 = (b0 * M0H + ((a0 * M0H) >>> 16) + ((b0 * M0L) >>> 16) + (mid0 >>> 16)) >>> 0;
    const a2 = x2 & 0xffff;
    const b2 = x2 >>> 16;
    const mid2 = ((a2 * M1L) >>> 16) + ((a2 * M1H) & 0xffff) + ((b2 * M1L) & 0xffff);
    const hi1 = (b2 * M1H + ((a2 * M1H) >>> 16) + ((b2 * M1L) >>> 16) + (mid2 >>> 16)) >>> 0;
    const lo0 = Math.imul(M0, x0) >>> 0;
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * A double uniform on the open interval (0, 1) from two uint32 words, with 53 random bits:
 *   u = ((w0 >>> 5) * 2^26 + (w1 >>> 6) + 0.5) / 2^53.
 * Never exactly 0 or 1, so log(u) and log(1 - u) are finite.
 */
export function uniformFromWords(w0: number, w1: number): number {
  return ((w0 >>> 5) * TWO_POW_26 + (w1 >>> 6) + 0.5) / TWO_POW_53;
}
