/**
 * A small, fixed string hash for deriving Rng streams from names (not for security).
 */

const encoder = new TextEncoder();

/**
 * 32-bit FNV-1a of the UTF-8 bytes of a string: h = 2166136261; for each byte b,
 * h = (h xor b) * 16777619 mod 2^32. See http://www.isthe.com/chongo/tech/comp/fnv/.
 *
 * @param s any string
 * @returns an unsigned 32-bit integer
 * @example
 *   fnv1a32('') // => 2166136261 (0x811c9dc5, the offset basis)
 *   fnv1a32('foobar') // => 3214735720 (0xbf9cf968, FNV reference test vector)
 *
 * Edge case: different strings can share a hash; a collision only means two streams coincide.
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(s)) {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
