/**
 * A tiny seeded pseudo-random generator, local to the losses module (internal: not re-exported).
 *
 * The losses need randomness in two places only: the starts of the [HO16] polynomial-system search
 * (`ho-system.ts`) and the Monte Carlo points of the density distances (`density-distance.ts`).
 * Both take the seed as an argument; there is no unseeded default and no `Math.random`.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128-bit state), seeded by
 * splitmix32 from one integer; doubles in [0, 1) take 53 bits from two 32-bit outputs.
 */

/** A seeded stream of uniforms and standard normals. */
export interface LossRng {
  /** uniform double in [0, 1) with 53 random bits */
  uniform(): number;
  /** standard normal N(0, 1) (Box–Muller, both values used) */
  normal(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Create a seeded generator. `seed` is any finite number; it is reduced to 32 bits
 * (two seeds that agree modulo 2^32 give the same stream).
 */
export function createLossRng(seed: number): LossRng {
  const init = splitmix32(Math.floor(seed) >>> 0);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  const uniform = (): number => {
    const hi = next() >>> 5; // 27 bits
    const lo = next() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    let u = uniform();
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { uniform, normal };
}
