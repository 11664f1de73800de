/**
 * The one seeded generator type of gatelab (library code never uses an unseeded generator).
 *
 * An Rng is a (key, stream) pair over Philox4x32-10:
 *   key    = the user's seed (an integer in [0, 2^53)), split into two 32-bit words;
 *   stream = a 64-bit stream id, derived from tags with {@link Rng.derive}.
 * Word j of a stream is word (j mod 4) of the block at counter (j / 4 as 64 bits, stream).
 * Streams are independent by construction (different counters), so per-(experiment, n, replicate)
 * streams can be derived in any order and reproduced on any backend.
 */
import { ConfigError, show } from '../errors.js';
import { philox4x32, uniformFromWords } from './philox.js';

const TWO_POW_32 = 4294967296;
/** Key of the derivation function; any fixed constant works, this one is pi's digits. */
const DERIVE_K0 = 0x243f6a88;
const DERIVE_K1 = 0x85a308d3;

/** Check that a seed is an integer in [0, 2^53): the one seed format of gatelab. */
export function validateSeed(seed: unknown, name = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(`${name}: ${show(seed)} is not a valid seed; must be an integer in [0, 2^53)`);
  }
  return seed;
}

export class Rng {
  /** key words (from the seed) */
  readonly k0: number;
  readonly k1: number;
  /** stream id words */
  readonly s0: number;
  readonly s1: number;
  private readonly block = new Uint32Array(4);
  private blockIndex = 0; // next block to draw (low 32 bits; 2^32 blocks = 2^34 words per stream)
  private blockHigh = 0;
  private wordInBlock = 4; // 4 = block exhausted
  private spareNormal = NaN;

  /**
   * @param seed integer in [0, 2^53)
   * @param stream0 low word of the stream id (default 0)
   * @param stream1 high word of the stream id (default 0)
   */
  constructor(seed: number, stream0 = 0, stream1 = 0) {
    validateSeed(seed);
    this.k0 = seed % TWO_POW_32 >>> 0;
    this.k1 = Math.floor(seed / TWO_POW_32) >>> 0;
    this.s0 = stream0 >>> 0;
    this.s1 = stream1 >>> 0;
  }

  /**
   * A new, independent stream with the same key: stream' = philox((tag, tagHigh, s0, s1), DERIVE).
   * Deriving the same tags from the same Rng always gives the same stream.
   */
  derive(tag: number, tagHigh = 0): Rng {
    const out = new Uint32Array(4);
    philox4x32(tag >>> 0, tagHigh >>> 0, this.s0, this.s1, DERIVE_K0 ^ this.k0, DERIVE_K1 ^ this.k1, out);
    return new Rng(this.k0 + this.k1 * TWO_POW_32, out[0]!, out[1]!);
  }

  /** The next uint32 of this stream. */
  nextUint32(): number {
    if (this.wordInBlock === 4) {
      philox4x32(this.blockIndex, this.blockHigh, this.s0, this.s1, this.k0, this.k1, this.block);
      this.blockIndex = (this.blockIndex + 1) >>> 0;
      if (this.blockIndex === 0) this.blockHigh = (this.blockHigh + 1) >>> 0;
      this.wordInBlock = 0;
    }
    return this.block[this.wordInBlock++]!;
  }

  /** Uniform on (0, 1) with 53 random bits (two words). */
  uniform(): number {
    const w0 = this.nextUint32();
    return uniformFromWords(w0, this.nextUint32());
  }

  /** Standard normal by Box–Muller (both variates of a pair are used, in order). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = NaN;
      return z;
    }
    const u1 = this.uniform();
    const u2 = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  }

  /** Integer uniform on {0, ..., m-1} (m <= 2^32), by rejection so it is exactly uniform. */
  integer(m: number): number {
    if (!Number.isInteger(m) || m < 1 || m > TWO_POW_32) {
      throw new ConfigError(`Rng.integer: ${show(m)} is not a valid range; must be an integer in [1, 2^32]`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % m);
    for (;;) {
      const w = this.nextUint32();
      if (w < limit) return w % m;
    }
  }
}
