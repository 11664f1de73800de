/**
 * The gate weights, labels and responses of the sampler for gates with linear logits that keep
 * every expert (softmax, temperature with tau known: gates/linear-gate.ts with K = k), two points
 * per f64x2 instruction. The weights are the same doubles, bit for bit, as the gate's generated
 * kernel (gates/linear-kernel.ts, variant 'weights'):
 *
 *     v_i = s_i1 x_1 + ... + s_id x_d,   u_i = scale (t_i + v_i),   mx = max_i u_i,
 *     g_i = exp(u_i - mx),   S = g_1 + ... + g_k,   G_i = g_i (1 / S)
 *
 * (that kernel writes g_best = 1 = exp(0) and takes the first maximum; the values are the same),
 * and the label and response follow sample.ts's plain code operation for operation.
 * exp is fdlibm's __ieee754_exp, V8's Math.exp, for arguments x <= 0: x = k ln2 + r by
 * k = trunc(x / ln2 - 1/2), hi = x - k ln2_hi, lo = k ln2_lo; the rational approximation on r; the
 * result scaled by 2^k through its exponent bits; 1 + x for |x| < 2^-28. A point with an argument
 * x < -708 (a subnormal or zero weight, where fdlibm scales differently) or a NaN gets Y = NaN, and
 * the caller recomputes it with the gate itself. sample.ts checks the kernel against the plain code
 * on the first points of every sample; test/sampling/reference.test.ts compares whole samples
 * with the sampler before the kernels (logits that underflow, tie, and span [-800, 0]).
 */
import { KernelFunction, kernelModule, OP, sleb32, uleb, V, vectorDsl } from './wasm-emit.js';

const INVLN2 = 1.442695040888963387;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const P = [1.66666666666666019037e-1, -2.77777777770155933842e-3, 6.61375632143793436117e-5, -1.65339022054652515390e-6, 4.13813679705723846039e-8];

function fromWords(high: number, low: number): number {
  const u = new Uint32Array([low >>> 0, high >>> 0]);
  return new Float64Array(u.buffer)[0]!;
}

/**
 * The module bytes of the fused point kernel for k experts in dimension d: one function
 *   points(params, u, x, noise, out, stride, pairs)
 * with byte addresses of doubles:
 *   params  t_1..t_k, s_11..s_kd, scale (the gate's theta and 1/tau), then A (k x d), B (k),
 *           SD (k: sqrt nu), then low (d) and width (d) of a uniform input design;
 *   u       the uniform planes (philox-planes.ts): for a uniform design, inputs from planes
 *           0..d-1, x_p = low_p + width_p u_p, written to the x planes; the label's uniform at
 *           plane `zPlane`;
 *   x       d planes of the inputs (read when `uniformInputs` is false);
 *   noise   one plane of the response normals (NaN on a Box–Muller rare lane);
 *   out     two planes: Y, then the label Z as a double;
 * points r < 2 pairs, plane stride `stride` doubles. Per point: the gate's weights G (see the file's
 * head), Z = the first i with G_1 + ... + G_i > u (zero weights skipped; the last positive weight's
 * index if u is beyond every sum), and Y = (b_Z + a_Z1 x_1 + ... + a_Zd x_d) + sd_Z eps, in the
 * operation order of sample.ts. A point whose weights need fdlibm's rare exp path (a weight below
 * e^-708) or whose normal was rare gets Y = NaN: the caller recomputes it.
 */
export function pointKernelBytes(k: number, d: number, uniformInputs: boolean, zPlane: number): Uint8Array {
  const f = new KernelFunction(7);
  const [PARAMS, UB, XB, NB, OUT, STRIDE, PAIRS] = [0, 1, 2, 3, 4, 5, 6] as const;
  const j = f.local('i32');
  const { e, v, get, set, keep, dbl, int, op1, op2, add, sub, mul, div, and, or, select, horner, finish } = vectorDsl(f);
  const splat = (index: number): number => {
    get(PARAMS);
    e(0xfd, ...uleb(10), 3, ...uleb(8 * index)); // v128.load64_splat, align 8, offset
    return keep();
  };
  const t = Array.from({ length: k }, (_, i) => splat(i));
  const s = Array.from({ length: k }, (_, i) => Array.from({ length: d }, (_, p) => splat(k + i * d + p)));
  const scale = splat(k + k * d);
  const base = k + k * d + 1;
  const A = Array.from({ length: k }, (_, i) => Array.from({ length: d }, (_, p) => splat(base + i * d + p)));
  const B = Array.from({ length: k }, (_, i) => splat(base + k * d + i));
  const SD = Array.from({ length: k }, (_, i) => splat(base + k * d + k + i));
  const low = uniformInputs ? Array.from({ length: d }, (_, p) => splat(base + k * d + 2 * k + p)) : [];
  const width = uniformInputs ? Array.from({ length: d }, (_, p) => splat(base + k * d + 2 * k + d + p)) : [];
  e(OP.i32Const, 0);
  set(j);
  e(OP.block, 0x40, OP.loop, 0x40);
  get(j);
  get(PAIRS);
  e(OP.i32GeS, OP.brIf, 1);
  /** push the address base + 8 plane stride + 16 j */
  const address = (at: number, plane: number) => {
    get(at);
    get(j);
    e(OP.i32Const, 4, OP.i32Shl, OP.i32Add);
    if (plane > 0) {
      get(STRIDE);
      e(OP.i32Const, ...sleb32(8 * plane), OP.i32Mul, OP.i32Add);
    }
  };
  const load = (at: number, plane: number) => {
    address(at, plane);
    e(0xfd, ...uleb(V.load), 4, 0);
    return keep();
  };
  const store = (at: number, plane: number, value: number) => {
    address(at, plane);
    get(value);
    e(0xfd, ...uleb(V.store), 4, 0);
  };
  const x = Array.from({ length: d }, (_, p) => {
    if (!uniformInputs) return load(XB, p);
    const xp = add(low[p]!, mul(width[p]!, load(UB, p)));
    store(XB, p, xp);
    return xp;
  });
  const uz = load(UB, zPlane);
  const eps = load(NB, 0);
  // the gate's weights
  const u = Array.from({ length: k }, (_, i) => {
    let acc = mul(s[i]![0]!, x[0]!);
    for (let p = 1; p < d; p++) acc = add(acc, mul(s[i]![p]!, x[p]!));
    return mul(scale, add(t[i]!, acc));
  });
  let mx = dbl(-Infinity);
  for (const ui of u) mx = select(op2(V.f64Gt, ui, mx), ui, mx);
  let rare = int(0n);
  const g = u.map((ui) => {
    const r0 = expNonPositive(sub(ui, mx));
    rare = or(rare, r0.rare);
    return r0.value;
  });
  let S = g[0]!;
  for (let i = 1; i < k; i++) S = add(S, g[i]!);
  const inv = div(dbl(1), S);
  const G = g.map((gi) => mul(gi, inv));
  // the label
  let cumulative = dbl(0);
  let found = int(0n);
  let label = dbl(0);
  let lastPositive = dbl(0);
  for (let i = 0; i < k; i++) {
    const positive = op2(V.f64Gt, G[i]!, dbl(0));
    lastPositive = select(positive, dbl(i), lastPositive);
    cumulative = select(positive, add(cumulative, G[i]!), cumulative);
    const hit = and(and(positive, op2(V.f64Lt, uz, cumulative)), op2(V.andnot, int(-1n), found));
    label = select(hit, dbl(i), label);
    found = or(found, hit);
  }
  label = select(found, label, lastPositive);
  // the response: (b_Z + a_Z1 x_1 + ...) + sd_Z eps
  const pick = (values: number[]) => {
    let out = values[0]!;
    for (let i = 1; i < k; i++) out = select(op2(V.f64Eq, label, dbl(i)), values[i]!, out);
    return out;
  };
  let mean = pick(B);
  for (let p = 0; p < d; p++) mean = add(mean, mul(pick(A.map((row) => row[p]!)), x[p]!));
  const y = select(rare, dbl(NaN), add(mean, mul(pick(SD), eps)));
  store(OUT, 0, y);
  store(OUT, 1, label);
  get(j);
  e(OP.i32Const, 1, OP.i32Add);
  set(j);
  e(OP.br, 0, OP.end, OP.end);
  finish();
  return kernelModule('points', f);

  /** fdlibm exp of x <= 0 (see the file's head), and the lanes it leaves to the caller */
  function expNonPositive(xv: number): { value: number; rare: number } {
    const ax = op1(V.f64Abs, xv);
    const isRare = or(op2(V.f64Lt, xv, dbl(-708)), op2(V.f64Ne, xv, xv));
    const big = op2(V.f64Gt, ax, dbl(fromWords(0x3fd62e42, 0xffffffff))); // |x| > ln2 / 2
    const tiny = op2(V.f64Lt, ax, dbl(fromWords(0x3e300000, 0))); // |x| < 2^-28
    const kf = op1(V.f64Trunc, add(mul(dbl(INVLN2), xv), dbl(-0.5)));
    const hi = sub(xv, mul(kf, dbl(LN2_HI)));
    const lo = mul(kf, dbl(LN2_LO));
    const r = select(big, sub(hi, lo), xv);
    const tt = mul(r, r);
    const c = sub(r, mul(tt, horner(tt, P)));
    // q = (r c) / (2 - c); fdlibm's k = 0 form divides by (c - 2): exactly -q
    const q = div(mul(r, c), sub(dbl(2), c));
    const small = sub(dbl(1), sub(op1(V.f64Neg, q), r));
    const yv = sub(dbl(1), sub(sub(lo, q), hi));
    // y 2^k: k (an integer in [-1021, 0]) added to the exponent bits
    get(kf);
    v(V.i32x4TruncSatF64x2SZero);
    v(V.i64ExtendLowI32x4S);
    e(OP.i32Const, 52);
    v(V.i64Shl);
    const kBits = keep();
    const scaled = op2(V.i64Add, yv, kBits);
    return { value: select(tiny, add(dbl(1), xv), select(big, scaled, small)), rare: isRare };
  }
}
