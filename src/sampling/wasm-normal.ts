/**
 * The Box–Muller cosine variate of the sampler, z = sqrt(-2 log u1) cos(2 pi u2), two points per
 * f64x2 instruction, giving the same double, bit for bit, as the JavaScript expression
 * `Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)` on this engine.
 *
 * Why that is possible: V8 (Node 20) computes Math.log and Math.cos with fdlibm's algorithms
 * (`__ieee754_log`; `cos` = `__ieee754_rem_pio2` then `__kernel_cos` / `__kernel_sin`), which use
 * only IEEE-754 double additions, multiplications, divisions and bit operations. The kernel below
 * performs the same operations in the same order on each lane, so it rounds the same way. It
 * covers the paths that the sampler's arguments take, u1 in (0, 1) (a normal double >= 2^-53)
 * and x = 2 pi u2 in (0, 2 pi):
 *
 *   log:  x = 2^k (1 + f), s = f / (2 + f), R = polynomial in s^2 (Lg1..Lg7), the four fdlibm
 *         result forms (i > 0 or not, k = 0 or not) computed and selected per lane;
 *   cos:  |x| <= pi/4: y = (x, 0), n = 0; else n = trunc(x 2/pi + 1/2) (1..4), y0 = r - w,
 *         y1 = (r - y0) - w with r = x - n pio2_1, w = n pio2_1t (fdlibm's n = 1 case and its
 *         medium case agree there); then by n mod 4: kcos(y), -ksin(y), -kcos(y), ksin(y).
 *
 * Lanes on fdlibm's rare paths (log: |f| < 2^-20, u1 within about 1e-6 of 1; cos: |y0| < 2^-27,
 * or x with the high word of n pi/2, where fdlibm refines the reduction) get NaN, and the caller
 * recomputes those few points with Math.log and Math.cos. A start-up check (and
 * test/sampling/wasm-normal.test.ts, over millions of arguments and the branch edges) compares the
 * kernel with Math; where they differ in any bit the sampler does not use the kernel.
 */
import { KernelFunction, kernelModule, OP, uleb, V, vectorDsl } from './wasm-emit.js';

// fdlibm's constants (the well-known published values)
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LG = [6.666666666666735130e-1, 3.999999999940941908e-1, 2.857142874366239149e-1, 2.222219843214978396e-1, 1.818357216161805012e-1, 1.531383769920937332e-1, 1.479819860511658591e-1];
const C = [4.16666666666666019037e-2, -1.38888888888741095749e-3, 2.48015872894767294178e-5, -2.75573143513906633035e-7, 2.08757232129817482790e-9, -1.13596475577881948265e-11];
const S = [-1.66666666666666324348e-1, 8.33333333332248946124e-3, -1.98412698298579493134e-4, 2.75573137070700676789e-6, -2.50507602534068634195e-8, 1.58969099521155010221e-10];
const INVPIO2 = 6.36619772367581382433e-1;
const PIO2_1 = 1.57079632673412561417;
const PIO2_1T = 6.07710050650619224932e-11;
/** high words of n pi / 2, n = 1..4 (fdlibm's npio2_hw) */
const NPIO2_HW = [0x3ff921fb, 0x400921fb, 0x4012d97c, 0x401921fb];

/** A double from its high and low 32-bit words. */
function fromWords(high: number, low: number): number {
  const u = new Uint32Array([low >>> 0, high >>> 0]);
  return new Float64Array(u.buffer)[0]!;
}

/**
 * The module bytes: one function normals(src1, src2, dst, pairs) writing, for j < 2 pairs,
 * dst[j] = sqrt(-2 log src1[j]) cos(2 pi src2[j]) (or NaN on a rare path), byte addresses of
 * doubles in the memory.
 */
export function boxMullerBytes(): Uint8Array {
  const f = new KernelFunction(4);
  const [SRC1, SRC2, DST, PAIRS] = [0, 1, 2, 3] as const;
  const j = f.local('i32');
  const { e, v, get, set, keep, dbl, int, op2, add, sub, mul, div, and, or, neg, select, shiftI64, horner, finish } = vectorDsl(f);
  // ---- the loop over pairs
  e(OP.i32Const, 0);
  set(j);
  e(OP.block, 0x40, OP.loop, 0x40);
  get(j);
  get(PAIRS);
  e(OP.i32GeS, OP.brIf, 1);
  const address = (base: number) => {
    get(base);
    get(j);
    e(OP.i32Const, 4, OP.i32Shl, OP.i32Add);
  };
  address(SRC1);
  e(0xfd, ...uleb(V.load), 4, 0);
  const u1 = keep();
  address(SRC2);
  e(0xfd, ...uleb(V.load), 4, 0);
  const u2 = keep();

  // ---- log(u1), fdlibm __ieee754_log for a positive normal double
  const HIGH = int(0xffffffff00000000n);
  const LOW = int(0xffffffffn);
  const hx0 = shiftI64(V.i64ShrU, u1, 32); // high word (positive)
  const k0 = op2(V.i64Sub, shiftI64(V.i64ShrS, hx0, 20), int(1023n));
  const hx = and(hx0, int(0xfffffn));
  const i0 = and(op2(V.i64Add, hx, int(0x95f64n)), int(0x100000n));
  const newHigh = or(hx, op2(V.xor, i0, int(0x3ff00000n)));
  const xn = or(shiftI64(V.i64Shl, newHigh, 32), and(u1, LOW)); // x normalised to [sqrt(2)/2, sqrt(2))
  const k = op2(V.i64Add, k0, shiftI64(V.i64ShrS, i0, 20));
  const fl = sub(xn, dbl(1));
  // rare: (0x000fffff & (2 + hx)) < 3  (|f| < 2^-20)
  const rareLog = op2(V.i64LtS, and(op2(V.i64Add, hx, int(2n)), int(0xfffffn)), int(3n));
  const s = div(fl, add(dbl(2), fl));
  // dk = (double) k: k is small, so its low 32 bits (lanes 0 and 2 of i32x4) converted
  get(k);
  get(k);
  e(0xfd, ...uleb(V.shuffle), 0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11);
  v(V.convertLowI32x4S);
  const dk = keep();
  const z = mul(s, s);
  const iA = op2(V.i64Sub, hx, int(0x6147an));
  const w = mul(z, z);
  const jB = op2(V.i64Sub, int(0x6b851n), hx);
  const t1 = mul(w, add(dbl(LG[1]!), mul(w, add(dbl(LG[3]!), mul(w, dbl(LG[5]!))))));
  const t2 = mul(z, add(dbl(LG[0]!), mul(w, add(dbl(LG[2]!), mul(w, add(dbl(LG[4]!), mul(w, dbl(LG[6]!))))))));
  const iOr = or(iA, jB);
  const R = add(t2, t1);
  const hfsq = mul(mul(dbl(0.5), fl), fl);
  // i > 0: k == 0 ? f - (hfsq - s (hfsq + R)) : dk ln2_hi - ((hfsq - (s (hfsq + R) + dk ln2_lo)) - f)
  const sHR = mul(s, add(hfsq, R));
  const aK0 = sub(fl, sub(hfsq, sHR));
  const aK = sub(mul(dk, dbl(LN2_HI)), sub(sub(hfsq, add(sHR, mul(dk, dbl(LN2_LO)))), fl));
  // else:  k == 0 ? f - s (f - R) : dk ln2_hi - ((s (f - R) - dk ln2_lo) - f)
  const sFR = mul(s, sub(fl, R));
  const bK0 = sub(fl, sFR);
  const bK = sub(mul(dk, dbl(LN2_HI)), sub(sub(sFR, mul(dk, dbl(LN2_LO))), fl));
  const kIsZero = op2(V.i64Eq, k, int(0n));
  const positive = op2(V.i64GtS, iOr, int(0n));
  const logU = select(positive, select(kIsZero, aK0, aK), select(kIsZero, bK0, bK));
  const radius = (() => {
    get(mul(dbl(-2), logU));
    v(V.f64Sqrt);
    return keep();
  })();

  // ---- cos(2 pi u2), fdlibm cos for x in (0, 2 pi)
  const x = mul(dbl(2 * Math.PI), u2);
  const small = op2(V.f64Le, x, dbl(fromWords(0x3fe921fb, 0xffffffff))); // |x| <= pi/4: no reduction
  const fnRaw = (() => {
    get(add(mul(x, dbl(INVPIO2)), dbl(0.5)));
    v(V.f64Trunc);
    return keep();
  })();
  const r = sub(x, mul(fnRaw, dbl(PIO2_1)));
  const wr = mul(fnRaw, dbl(PIO2_1T));
  const y0r = sub(r, wr);
  const y1r = sub(sub(r, y0r), wr);
  const y0 = select(small, x, y0r);
  const y1 = select(small, dbl(0), y1r);
  const n = select(small, dbl(0), fnRaw);
  // rare: the high word of x equals that of n pi / 2 (fdlibm refines the reduction there)
  const xHigh = shiftI64(V.i64ShrU, x, 32);
  let hwOfN = int(0n);
  for (let m = 1; m <= 4; m++) hwOfN = select(op2(V.f64Eq, n, dbl(m)), int(BigInt(NPIO2_HW[m - 1]!)), hwOfN);
  const rareReduce = op2(V.i64Eq, xHigh, hwOfN);
  // kernels at (y0, y1); rare: |y0| < 2^-27
  const ay = (() => {
    get(y0);
    v(V.f64Abs);
    return keep();
  })();
  const rareTiny = op2(V.f64Lt, ay, dbl(2 ** -27));
  const zz = mul(y0, y0);
  // __kernel_cos(x, y): r = z (C1 + z (C2 + ... z C6)); |x| < 0.3: 1 - (0.5 z - (z r - x y));
  // else qx = |x| > 0.78125 ? 0.28125 : (|x| / 4 with the low word cleared): (1 - qx) - ((0.5 z - qx) - (z r - x y))
  const rc = mul(zz, horner(zz, C));
  const zrxy = sub(mul(zz, rc), mul(y0, y1));
  const half = mul(dbl(0.5), zz);
  const cosSmall = sub(dbl(1), sub(half, zrxy));
  const below03 = op2(V.f64Lt, ay, dbl(fromWords(0x3fd33333, 0)));
  const above = op2(V.f64Ge, ay, dbl(fromWords(0x3fe90001, 0)));
  const qxBits = op2(V.i64Sub, and(ay, HIGH), int(0x0020000000000000n));
  const qx = select(above, dbl(0.28125), qxBits);
  const cosLarge = sub(sub(dbl(1), qx), sub(sub(half, qx), zrxy));
  const kc = select(below03, cosSmall, cosLarge);
  // __kernel_sin(x, y, 1): x - ((z (0.5 y - v r) - y) - v S1), v = z x, r = S2 + z (S3 + ... z S6)
  const vv = mul(zz, y0);
  const rs = horner(zz, S.slice(1));
  const ks = sub(y0, sub(sub(mul(zz, sub(mul(dbl(0.5), y1), mul(vv, rs))), y1), mul(vv, dbl(S[0]!))));
  // n mod 4: 0 kc, 1 -ks, 2 -kc, 3 ks (n = 4 is 0)
  const nIs = (m: number) => op2(V.f64Eq, n, dbl(m));
  const nk = neg(kc);
  const nks = neg(ks);
  const cosX = select(nIs(1), nks, select(nIs(2), nk, select(nIs(3), ks, kc)));
  // the variate, NaN on a rare lane
  const zOut = mul(radius, cosX);
  const rare = or(or(rareLog, rareReduce), rareTiny);
  const result = select(rare, dbl(NaN), zOut);
  address(DST);
  get(result);
  e(0xfd, ...uleb(V.store), 4, 0);
  get(j);
  e(OP.i32Const, 1, OP.i32Add);
  set(j);
  e(OP.br, 0, OP.end, OP.end);
  finish();
  return kernelModule('normals', f);
}

/** The kernel and its memory: normals(src1, src2, dst, pairs) on byte addresses. */
export interface BoxMullerKernel {
  readonly memory: WebAssembly.Memory;
  readonly normals: (src1: number, src2: number, dst: number, pairs: number) => void;
}

/** Edge arguments of the start-up check: branch boundaries of fdlibm's log and cos. */
export function boxMullerEdgeCases(): { u1: number[]; u2: number[] } {
  const u1: number[] = [2 ** -53, 0.5, Math.SQRT1_2, Math.SQRT1_2 * (1 + 2 ** -52), 1 - 2 ** -53, 1 - 2 ** -21, 1 - 2 ** -19, 0.25, 0.999, 1e-10, 0.7071, 0.70711];
  const u2: number[] = [2 ** -53, 0.125, 0.125 * (1 + 2 ** -52), 0.125 * (1 - 2 ** -52), 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1 - 2 ** -53, 0.3, 0.0477, 0.0478, 0.12];
  const a: number[] = [];
  const b: number[] = [];
  for (const p of u1) for (const q of u2) a.push(p), b.push(q);
  return { u1: a, u2: b };
}
