/**
 * Vectorised float64 exp and log for WebAssembly SIMD128 (two lanes, f64x2), emitted inline into
 * generated kernels (wasm-estep.ts). u = 2^-53 is the unit roundoff; "ulp" is the spacing of
 * float64 numbers at the result. Every operation below is a correctly rounded IEEE-754 operation
 * (wasm has no fused or reassociated float arithmetic), which the bounds rely on. Measured against
 * Math.exp and Math.log over the test's samples: at most 1 ulp apart.
 *
 * exp(x), error at most 1.5 ulp for normal results, 2.0 ulp for subnormal ones:
 *   1. x is clamped to [-800, 800] (min/max propagate NaN; exp(-800) = 0 and exp(800) = Infinity
 *      in float64 just as for any larger |x|).
 *   2. k = nearest(x log2 e), r = (x - k C1) - k C2, with C1 + C2 = ln 2 (fdlibm's split: C1 has
 *      32 significant bits, so k C1 is exact for |k| <= 1154, and x - k C1 is exact by Sterbenz's
 *      lemma, x and k C1 being within a factor 2). |r| <= rho = ln(2)/2 + 1e-12. The one rounding
 *      is (x - k C1) - k C2: at most u |r| absolute, i.e. a relative error u rho = 0.35 u in e^r;
 *      k C2 (|k C2| < 2.2e-7) and |ln 2 - C1 - C2| < 2^-86 (times |k| <= 1154) add < 1e-20.
 *   3. e^r = 1 + (r + r^2 q(r)), q the Taylor polynomial sum_{j=2..13} r^(j-2)/j!, evaluated by
 *      Estrin's scheme, q = P_0 + r^2 (P_2 + r^2 (B_4 + r^4 B_8)) with pairs P_j = c_j + c_(j+1) r
 *      (shorter dependency chains than Horner's rule). Truncation: rho^14/14! e^rho < 0.04 u.
 *      q in [0.45, 0.57]: its leading pair 1/2 + r/6 rounds twice (<= 0.06 u + 0.56 u), the final
 *      sum once more (<= 0.57 u), the higher terms (|r^2 (...)| < 0.006) and the coefficient roundings
 *      (sum_j u rho^j/j! < 0.07 u) add < 0.1 u: q is computed to 1.3 u absolute. Then r^2 q
 *      (|r^2 q| < 0.068) carries 0.12 * 1.3 u + 2 * 0.068 u < 0.3 u absolute; r + r^2 q rounds
 *      once (<= u |e^r - 1|: 0.41 u for r > 0, 0.29 u for r < 0); the final 1 + (...) rounds to
 *      <= 0.5 ulp. In ulps of the result (ulp = 2u on [1, 2), u on [1/2, 1)): r > 0: 0.5 +
 *      (0.3 + 0.41 + 0.35 * 1.42 + 0.1)/2 < 1.16; r < 0: 0.5 + 0.3 + 0.29 + 0.35 + 0.1 < 1.55,
 *      and on r < 0 the rounding of r itself counts 0.35 u e^r <= 0.35 u: < 1.5 ulp.
 *   4. 2^k = 2^k1 2^k2, k1 = floor(k/2), k2 = k - k1 (exact in float64), both factors normal for
 *      |k| <= 1154; their bits are built exactly from k1 + 1.5 2^52, which holds k1 in its low
 *      mantissa bits ((bits + 1023) << 52 keeps the low 12). Multiplying by them is exact unless
 *      the result is subnormal, where one more rounding adds <= 0.5 ulp (the earlier relative
 *      error counts no more ulps there), or overflows, which gives Infinity as it should. Hence
 *      exp(+-0) = 1 exactly, exp(NaN) = NaN, exp(-Infinity) = 0, exp(Infinity) = Infinity,
 *      subnormal results near 2^-1074 and 0 below.
 *
 * log(x), error at most 1.5 ulp:
 *   1. Subnormal x is scaled by 2^54 (exact) and 54 subtracted from the exponent. The bits of x
 *      give x = 2^k z with z in [sqrt(2)/2, sqrt(2)) (musl's offset trick), f = z - 1 is exact
 *      (Sterbenz), f in [-0.293, 0.415).
 *   2. log(1 + f) = f - hfsq + s (hfsq + R), hfsq = f^2/2, s = f/(2 + f), R = sum_{j=1..10}
 *      2 s^(2j)/(2j + 1) (the series of 2 atanh(s) = 2s + s R; 2s = f - hfsq + s hfsq exactly in
 *      real arithmetic). |s| <= 0.1716, s^2 <= 0.0295, so the truncated tail is below 2.2e-19
 *      absolute (< 0.01 u relative to |log z| where it matters).
 *   3. Returned as k C1 + (f - (hfsq - (s (hfsq + R) + k C2))), k C1 exact. The correction
 *      c = hfsq - (s (hfsq + R) + k C2) is at most 0.086 and carries at most 0.22 u absolute (s has
 *      2 roundings, relative 2u, multiplied by |hfsq + R| <= 0.11; hfsq and c one each); f - c
 *      rounds once (<= ulp/2 of a number below 0.35, i.e. u/4) and the final sum once (0.5 ulp).
 *      With k = 0 the result is f - c itself: 0.5 ulp + 0.22 u / ulp(result); for |result| in
 *      [0.25, 0.35) that is <= 0.5 + 0.88, and for smaller |f| the absolute error of c shrinks
 *      like f^2 while the ulp shrinks like f: below 1.4 ulp. With k != 0, |result| >= ln 2 - 0.347
 *      = 0.346, so ulp(result) >= 2^-54 = u/2: 0.5 + (0.22 + 0.25) u / (u/2) < 1.44 ulp. Hence
 *      <= 1.5 ulp.
 *   4. Special values by masks: log(+-0) = -Infinity, log(x < 0) = log(NaN) = NaN,
 *      log(Infinity) = Infinity.
 *
 * The test (test/backend/wasm-math.test.ts) compares with Math.exp / Math.log (V8's fdlibm ports,
 * < 1 ulp each) over the whole range, subnormal and overflow edges included.
 */
import { FunctionBuilder, ModuleBuilder } from './wasm-asm.js';

/** fdlibm's split of ln 2: C1 has 32 significant bits, C1 + C2 = ln 2 to 2^-86. */
export const LN2_HI = 6.93147180369123816490e-1;
export const LN2_LO = 1.90821492927058770002e-10;
const LOG2E = 1.4426950408889634;
const EXP_CLAMP = 800;
/**
 * Below this exp(x) rounds to 0 in float64 (e^-745.2 < 2^-1075, half the smallest subnormal), as
 * the JS kernels' `t > -745.2` test has it.
 */
export const EXP_ZERO_BELOW = -745.2;
const SHIFTER = 1.5 * 2 ** 52;
/** 1/j! for j = 2..13 (Taylor coefficients of q(r) = (e^r - 1 - r)/r^2) */
const EXP_COEFFICIENTS = Array.from({ length: 12 }, (_, i) => {
  let f = 1;
  for (let j = 2; j <= i + 2; j++) f *= j;
  return 1 / f;
});
/** 2/(2j + 1), j = 1..10 (the series of 2 atanh(s) = 2s + s R(s^2)) */
const LOG_COEFFICIENTS = Array.from({ length: 10 }, (_, i) => 2 / (2 * (i + 1) + 1));
const LOG_OFFSET = 0x3fe6a09e667f3bcdn;

/**
 * Emitters of vector exp and log into one function: each call writes `out = f(in)` for v128 locals
 * holding two f64 lanes (in and out may be the same local). Scratch locals are allocated once per
 * function and shared by all calls.
 * @example
 *   const math = new VecMath(fn);
 *   math.exp(t, t); // t = (e^t0, e^t1)
 */
export class VecMath {
  private scratch: number[] | null = null;
  constructor(private readonly f: FunctionBuilder) {}

  private s(i: number): number {
    this.scratch ??= Array.from({ length: 8 }, () => this.f.local('v128'));
    return this.scratch[i]!;
  }

  /** out = exp(x) lane-wise (see the module comment for the error bound). */
  exp(x: number, out: number): void {
    const f = this.f;
    const [xc, kf, r, r2, k1] = [this.s(0), this.s(1), this.s(2), this.s(3), this.s(4)];
    // pmax(x, -800) = x < -800 ? -800 : x and pmin(., 800) = 800 < . ? 800 : . keep a NaN x (one
    // maxpd/minpd each on x64, where min/max with NaN propagation take several instructions)
    f.get(x).f64x2(-EXP_CLAMP).simd('f64x2.pmax').f64x2(EXP_CLAMP).simd('f64x2.pmin').set(xc);
    f.get(xc).f64x2(LOG2E).simd('f64x2.mul').simd('f64x2.nearest').set(kf);
    f.get(xc).get(kf).f64x2(LN2_HI).simd('f64x2.mul').simd('f64x2.sub').get(kf).f64x2(LN2_LO).simd('f64x2.mul').simd('f64x2.sub').set(r);
    const c = EXP_COEFFICIENTS;
    // Estrin: q = sum_j c_j r^j as pairs P_j = c_j + c_(j+1) r combined with r^2 and r^4:
    // q = P_0 + r^2 (P_2 + r^2 (B_4 + r^4 B_8)), B_j = P_j + r^2 P_(j+2)
    f.get(r).get(r).simd('f64x2.mul').set(r2);
    const pair = (j: number) => f.f64x2(c[j + 1]!).get(r).simd('f64x2.mul').f64x2(c[j]!).simd('f64x2.add');
    const quad = (j: number) => {
      pair(j);
      pair(j + 2);
      f.get(r2).simd('f64x2.mul').simd('f64x2.add');
    };
    pair(0);
    pair(2);
    quad(4);
    quad(8);
    f.get(r2).get(r2).simd('f64x2.mul').simd('f64x2.mul').simd('f64x2.add'); // B_4 + r^4 B_8
    f.get(r2).simd('f64x2.mul').simd('f64x2.add'); // P_2 + r^2 (...)
    f.get(r2).simd('f64x2.mul').simd('f64x2.add'); // q
    // p = 1 + (r + r^2 q)
    f.get(r).get(r).simd('f64x2.mul').simd('f64x2.mul').get(r).simd('f64x2.add').f64x2(1).simd('f64x2.add').set(xc);
    // 2^k = 2^k1 2^k2, k1 = floor(k/2), k2 = k - k1: their exponent bits via the shifter 1.5 2^52
    // (k + shifter holds k in its low mantissa bits; + 1023, << 52 keeps the low 12 bits)
    f.get(kf).f64x2(0.5).simd('f64x2.mul').simd('f64x2.floor').tee(k1).get(kf).get(k1).simd('f64x2.sub').set(kf);
    f.get(xc).get(k1).f64x2(SHIFTER).simd('f64x2.add').i64x2(1023n).simd('i64x2.add').i32(52).simd('i64x2.shl').simd('f64x2.mul');
    f.get(kf).f64x2(SHIFTER).simd('f64x2.add').i64x2(1023n).simd('i64x2.add').i32(52).simd('i64x2.shl').simd('f64x2.mul').set(out);
  }

  /**
   * In place, t_i = exp(t_i) lane-wise for vectors t_0..t_(k-1) whose largest entry in each lane
   * is exactly 0 (t_i = u_i - max_j u_j; -Infinity allowed): exp(0) = 1 needs no polynomial, so
   * k = 2 takes one exponential (of min t) and k = 3 two (of the smallest and the median; a
   * median-of-3 by min/max is exact), mapped back by equality (ties give equal values); other k
   * take k. The values are those of exp itself, bit for bit. A NaN t may give another entry's
   * value (pmin/pmax, one instruction each, do not propagate NaN), as the JS kernels drop a NaN
   * term (their `t > -745.2` test is false for NaN).
   * Entries below EXP_ZERO_BELOW (-745.2, -Infinity included) give their 0 without the polynomial
   * (expZeroFast): the same values, but exp's scaling by 2^k underflows there, and an
   * underflowing result costs x64 a microcode assist (with wasm-estep.ts's zero for a subnormal
   * R: the fused E-step at the parameters of a k = 3 fit of the [DEMYS] data, where many experts
   * are far from many points, 24.3 against 22.5 ns a point in `npm run bench:kernels`).
   * @param t the k v128 locals
   * @param scratch three v128 locals of the caller's
   */
  expAllButMax(t: readonly number[], scratch: readonly [number, number, number]): void {
    const f = this.f;
    const k = t.length;
    if (k !== 2 && k !== 3) {
      for (const ti of t) this.expZeroFast(ti);
      return;
    }
    const [lo, mid, tmp] = scratch;
    if (k === 2) {
      f.get(t[0]!).get(t[1]!).simd('f64x2.pmin').set(lo);
      this.expZeroFast(lo);
    } else {
      f.get(t[0]!).get(t[1]!).simd('f64x2.pmin').tee(tmp).get(t[2]!).simd('f64x2.pmin').set(lo);
      f.get(tmp).get(t[0]!).get(t[1]!).simd('f64x2.pmax').get(t[2]!).simd('f64x2.pmin').simd('f64x2.pmax').set(mid);
      f.get(lo).set(tmp); // the smallest itself, for the mapping below
      this.expZeroFast(lo);
      this.expZeroFast(mid);
    }
    for (const ti of t) {
      // t == 0: 1; else t == min: exp(min); else exp(median)
      f.f64x2(1);
      if (k === 2) f.get(lo);
      else f.get(lo).get(mid).get(ti).get(tmp).simd('f64x2.eq').simd('v128.bitselect');
      f.get(ti).f64x2(0).simd('f64x2.eq').simd('v128.bitselect').set(ti);
    }
  }

  /** In place, x = exp(x) lane-wise, the polynomial run at 0 where x < EXP_ZERO_BELOW and the result 0 there (the same values). */
  expZeroFast(x: number): void {
    const f = this.f;
    const below = this.s(5);
    f.get(x).f64x2(EXP_ZERO_BELOW).simd('f64x2.lt').tee(below).simd('v128.not').get(x).simd('v128.and').set(x);
    this.exp(x, x);
    f.get(x).get(below).simd('v128.andnot').set(x);
  }

  /** out = log(x) lane-wise (see the module comment for the error bound). */
  log(x: number, out: number): void {
    const f = this.f;
    const [m, xs, ix, fr, kd, s, hfsq, z2] = Array.from({ length: 8 }, (_, i) => this.s(i)) as [number, number, number, number, number, number, number, number];
    // subnormal (and <= 0, fixed below) x: scale by 2^54
    f.get(x).f64x2(2 ** -1022).simd('f64x2.lt').set(m);
    f.get(x).f64x2(2 ** 54).simd('f64x2.mul').get(x).get(m).simd('v128.bitselect').set(xs);
    f.get(xs).i64x2(LOG_OFFSET).simd('i64x2.sub').set(ix);
    // z = x / 2^k; f = z - 1
    f.get(xs).get(ix).i64x2(-(1n << 52n)).simd('v128.and').simd('i64x2.sub').f64x2(1).simd('f64x2.sub').set(fr);
    // k: the high 12 bits of ix (arithmetic shift), narrowed to i32 lanes and converted, less 54 where scaled
    f.get(ix).i32(52).simd('i64x2.shr_s').tee(kd).get(kd).shuffle([0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]);
    f.simd('f64x2.convert_low_i32x4_s').f64x2(54).get(m).simd('v128.and').simd('f64x2.sub').set(kd);
    f.get(fr).get(fr).f64x2(2).simd('f64x2.add').simd('f64x2.div').set(s);
    f.get(fr).get(fr).simd('f64x2.mul').f64x2(0.5).simd('f64x2.mul').set(hfsq);
    f.get(s).get(s).simd('f64x2.mul').set(z2);
    // R = z2 (c1 + z2 (c2 + ...)) by Horner
    const c = LOG_COEFFICIENTS;
    f.f64x2(c[c.length - 1]!);
    for (let j = c.length - 2; j >= 0; j--) f.get(z2).simd('f64x2.mul').f64x2(c[j]!).simd('f64x2.add');
    f.get(z2).simd('f64x2.mul');
    // t = s (hfsq + R) + k C2 (into z2)
    f.get(hfsq).simd('f64x2.add').get(s).simd('f64x2.mul').get(kd).f64x2(LN2_LO).simd('f64x2.mul').simd('f64x2.add').set(z2);
    // (f - (hfsq - t)) + k C1
    f.get(fr).get(hfsq).get(z2).simd('f64x2.sub').simd('f64x2.sub').get(kd).f64x2(LN2_HI).simd('f64x2.mul').simd('f64x2.add').set(s);
    // special values
    f.f64x2(-Infinity).get(s).get(x).f64x2(0).simd('f64x2.eq').simd('v128.bitselect').set(s);
    f.f64x2(NaN).get(s).get(x).f64x2(0).simd('f64x2.ge').simd('v128.not').simd('v128.bitselect').set(s);
    f.f64x2(Infinity).get(s).get(x).f64x2(Infinity).simd('f64x2.eq').simd('v128.bitselect').set(out);
  }
}

/**
 * Whether this engine runs WebAssembly SIMD128: a one-instruction module (f64x2.add of
 * (1, 2) + (3, 4), lane 1) validates, instantiates and returns 6.
 * @example wasmSimdAvailable() // => true on Node >= 16.4
 */
export function wasmSimdAvailable(): boolean {
  try {
    const m = new ModuleBuilder();
    const f = m.define('probe', new FunctionBuilder([], ['f64']));
    f.f64x2(1, 2).f64x2(3, 4).simd('f64x2.add').lane('f64x2.extract_lane', 1);
    const bytes = m.encode();
    if (!WebAssembly.validate(bytes)) return false;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
    return (instance.exports.probe as () => number)() === 6;
  } catch {
    return false;
  }
}

/**
 * exp and log of a whole array by the vector routines (for tests and for measuring them):
 * out_j = f(x_j). Allocates a memory of the array's size per call.
 * @param fn 'exp', 'expZeroFast' (VecMath.expZeroFast: exp's values, its zeros without the
 *   polynomial) or 'log'
 * @example wasmMathArray('exp', Float64Array.of(0, 1))  // => Float64Array [1, 2.718281828459045]
 */
export function wasmMathArray(fn: 'exp' | 'expZeroFast' | 'log', x: Float64Array): Float64Array {
  const instance = mathInstance(2 * x.length + 2);
  const view = new Float64Array(instance.memory.buffer, 0, 2 * x.length + 2);
  const pairs = Math.ceil(x.length / 2);
  view.set(x);
  (instance.exports[fn] as (src: number, dst: number, pairs: number) => void)(0, pairs * 16, pairs);
  return view.slice(pairs * 2, pairs * 2 + x.length);
}

let mathModule: WebAssembly.Module | null = null;

function mathInstance(doubles: number): { exports: WebAssembly.Exports; memory: WebAssembly.Memory } {
  if (!mathModule) {
    const m = new ModuleBuilder();
    for (const fn of ['exp', 'expZeroFast', 'log'] as const) {
      // fn(src, dst, pairs): dst[j] = fn(src[j]) for 2 * pairs doubles
      const f = m.define(fn, new FunctionBuilder(['i32', 'i32', 'i32'], []));
      const v = f.local('v128');
      const math = new VecMath(f);
      f.block().loop();
      f.get(2).op('i32.eqz').brIf(1);
      f.get(0).load('v128.load').set(v);
      if (fn === 'exp') math.exp(v, v);
      else if (fn === 'expZeroFast') math.expZeroFast(v);
      else math.log(v, v);
      f.get(1).get(v).load('v128.store');
      f.get(0).i32(16).op('i32.add').set(0);
      f.get(1).i32(16).op('i32.add').set(1);
      f.get(2).i32(1).op('i32.sub').set(2);
      f.br(0).end().end();
    }
    mathModule = new WebAssembly.Module(m.encode());
  }
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((doubles * 8) / 65536)) });
  const instance = new WebAssembly.Instance(mathModule, { env: { memory } });
  return { exports: instance.exports, memory };
}
