/**
 * The sampler's uniforms in bulk: for a run of consecutive points, every uniform of every point's
 * Philox blocks (rng/stream-layout.ts), written as planes of a Float64Array:
 *
 *     U[j * stride + r] = uniform j of point first + r,   j = 0 .. 2 blocks - 1,  r = 0 .. count - 1
 *
 * where uniform 2b + h of a point is uniformFromWords(w[2h], w[2h + 1]) of its block
 * w = philox4x32((point, b, s0, s1), (k0, k1)). The same numbers, bit for bit, as drawing the blocks
 * one by one (rng/philox.ts): the WebAssembly kernel does the same 32-bit integer arithmetic and the
 * same three float64 operations per uniform, in the same order (tested against philox4x32 in
 * test/sampling/philox-planes.test.ts).
 *
 * Two implementations: a WebAssembly SIMD128 kernel (four blocks per instruction: the 32 x 32 -> 64
 * bit products by i64x2.extmul of i32x4 lanes; module bytes from wasm-emit.ts), the default where
 * the engine has SIMD128 and a start-up check finds it agreeing with the reference (Node 20 has
 * SIMD128 without flags), and a plain JavaScript one, the reference and the fallback.
 */
import { boxMullerBytes, boxMullerEdgeCases } from './wasm-normal.js';
import { pointKernelBytes } from './wasm-softmax.js';
import { KernelFunction, kernelModule, OP, SIMD } from './wasm-emit.js';
import { philox4x32, uniformFromWords } from '../rng/philox.js';

/** Philox4x32 multipliers and Weyl key increments (Salmon et al.; as in rng/philox.ts). */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** Key and stream words of a derived stream (an Rng's k0, k1, s0, s1). */
export interface StreamWords {
  readonly k0: number;
  readonly k1: number;
  readonly s0: number;
  readonly s1: number;
}

/**
 * The uniform planes by the JavaScript block function (the reference): U[j * stride + r] for
 * j < 2 blocks, r < count.
 * @param s the stream's key and id words
 * @param first index of the first point (the counter's first word)
 * @param count points (U must hold (2 blocks - 1) * stride + count doubles, stride >= count)
 * @param blocks Philox blocks per point
 * @example
 *   const U = new Float64Array(4 * 8);
 *   philoxPlanesJs({ k0: 1, k1: 0, s0: 2, s1: 3 }, 0, 8, 2, U, 8); // U[8 + 5]: uniform 1 of point 5
 */
export function philoxPlanesJs(s: StreamWords, first: number, count: number, blocks: number, U: Float64Array, stride: number): void {
  const w = new Uint32Array(4);
  for (let b = 0; b < blocks; b++) {
    const o0 = 2 * b * stride;
    const o1 = o0 + stride;
    for (let r = 0; r < count; r++) {
      philox4x32(first + r, b, s.s0, s.s1, s.k0, s.k1, w);
      U[o0 + r] = uniformFromWords(w[0]!, w[1]!);
      U[o1 + r] = uniformFromWords(w[2]!, w[3]!);
    }
  }
}

/** bytes of the i8x16.shuffle that takes the high (low) 32-bit halves of two i64x2 products */
const HIGH_HALVES = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
const LOW_HALVES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
/** i32 lanes 2, 3 moved to lanes 0, 1 */
const UPPER_PAIR = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * The module bytes: one function
 *   planes(first, groups, blocks, k0, k1, s0, s1, stride)
 * writing U[j * stride + r] (doubles, from byte 0 of the memory) for r < 4 groups: points
 * first + r in groups of four, one i32x4 lane a point, the ten rounds unrolled. A round is
 * (hi, lo) = M0 x0 and M1 x2 as 64-bit products (i64x2.extmul of lanes 0, 1 and of lanes 2, 3, the
 * halves gathered by shuffles), then x = (hi1 ^ x1 ^ key0, lo1, hi0 ^ x3 ^ key1, lo0).
 */
export function philoxPlanesBytes(): Uint8Array {
  const f = new KernelFunction(8);
  const [FIRST, GROUPS, BLOCKS, K0, K1, S0, S1, STRIDE] = [0, 1, 2, 3, 4, 5, 6, 7] as const;
  const b = f.local('i32');
  const g = f.local('i32');
  const out0 = f.local('i32'); // byte offset of plane 2b at point 4g
  const out1 = f.local('i32'); // of plane 2b + 1
  const x = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')] as const;
  const pLow = f.local('v128');
  const pHigh = f.local('v128');
  const hi0 = f.local('v128');
  const lo0 = f.local('v128');
  const hi1 = f.local('v128');
  const lo1 = f.local('v128');
  const start = f.local('v128'); // (first, first + 1, first + 2, first + 3)
  const counter = f.local('v128');
  const a = f.local('v128');
  const c = f.local('v128');
  const mul0 = f.local('v128');
  const mul1 = f.local('v128');
  const roundKeys = Array.from({ length: 20 }, () => f.local('v128')); // (key0, key1) of rounds 0..9
  const splat = () => f.simd(SIMD.i32x4Splat);
  const splatConst = (v: number) => f.i32(v | 0).simd(SIMD.i32x4Splat);
  /** the f64x2 of uniforms of lanes 0, 1 (upper: 2, 3) of a = w0 >>> 5 and c = w1 >>> 6 */
  const uniforms = (upper: boolean) => {
    f.get(a);
    if (upper) f.get(a).shuffle(UPPER_PAIR);
    f.simd(SIMD.f64x2ConvertLowI32x4U).f64x2(TWO_POW_26).simd(SIMD.f64x2Mul);
    f.get(c);
    if (upper) f.get(c).shuffle(UPPER_PAIR);
    f.simd(SIMD.f64x2ConvertLowI32x4U).simd(SIMD.f64x2Add);
    f.f64x2(0.5).simd(SIMD.f64x2Add).f64x2(1 / TWO_POW_53).simd(SIMD.f64x2Mul);
  };
  /** the uniforms of words (x_p, x_q) of the four lanes into the plane at byte `out` */
  const store = (p: number, q: number, out: number) => {
    f.get(x[p]!).i32(5).simd(SIMD.i32x4ShrU).set(a);
    f.get(x[q]!).i32(6).simd(SIMD.i32x4ShrU).set(c);
    f.get(out);
    uniforms(false);
    f.store(0);
    f.get(out);
    uniforms(true);
    f.store(16);
  };
  f.get(FIRST);
  splat();
  f.set(start);
  for (let lane = 1; lane < 4; lane++) f.get(start).get(FIRST).i32(lane).emit(OP.i32Add).simd(SIMD.i32x4ReplaceLane, lane).set(start);
  // constants: the multipliers and the round keys (the same for every block of the stream)
  splatConst(M0).set(mul0);
  splatConst(M1).set(mul1);
  f.get(K0);
  splat();
  f.set(roundKeys[0]!);
  f.get(K1);
  splat();
  f.set(roundKeys[1]!);
  for (let round = 1; round < 10; round++) {
    f.get(roundKeys[2 * round - 2]!);
    splatConst(W0).simd(SIMD.i32x4Add).set(roundKeys[2 * round]!);
    f.get(roundKeys[2 * round - 1]!);
    splatConst(W1).simd(SIMD.i32x4Add).set(roundKeys[2 * round + 1]!);
  }
  f.i32(0).set(b);
  f.emit(OP.block, 0x40, OP.loop, 0x40); // blocks b
  f.get(b).get(BLOCKS).emit(OP.i32GeS, OP.brIf, 1);
  // out0 = 8 (2b stride), out1 = out0 + 8 stride
  f.get(b).i32(1).emit(OP.i32Shl).get(STRIDE).emit(OP.i32Mul).i32(3).emit(OP.i32Shl).set(out0);
  f.get(out0).get(STRIDE).i32(3).emit(OP.i32Shl, OP.i32Add).set(out1);
  f.get(start).set(counter);
  f.i32(0).set(g);
  f.emit(OP.block, 0x40, OP.loop, 0x40); // groups g of four points
  f.get(g).get(GROUPS).emit(OP.i32GeS, OP.brIf, 1);
  f.get(counter).set(x[0]);
  f.get(b);
  splat();
  f.set(x[1]);
  f.get(S0);
  splat();
  f.set(x[2]);
  f.get(S1);
  splat();
  f.set(x[3]);
  for (let round = 0; round < 10; round++) {
    const key0 = roundKeys[2 * round]!;
    const key1 = roundKeys[2 * round + 1]!;
    for (const [src, mul, hi, lo] of [[x[0], mul0, hi0, lo0], [x[2], mul1, hi1, lo1]] as const) {
      f.get(src).get(mul).simd(SIMD.i64x2ExtmulLowI32x4U).set(pLow);
      f.get(src).get(mul).simd(SIMD.i64x2ExtmulHighI32x4U).set(pHigh);
      f.get(pLow).get(pHigh).shuffle(HIGH_HALVES).set(hi);
      f.get(pLow).get(pHigh).shuffle(LOW_HALVES).set(lo);
    }
    f.get(hi1).get(x[1]).simd(SIMD.v128Xor).get(key0).simd(SIMD.v128Xor).set(x[0]);
    f.get(lo1).set(x[1]);
    f.get(hi0).get(x[3]).simd(SIMD.v128Xor).get(key1).simd(SIMD.v128Xor).set(x[2]);
    f.get(lo0).set(x[3]);
  }
  store(0, 1, out0);
  store(2, 3, out1);
  f.get(counter);
  splatConst(4).simd(SIMD.i32x4Add).set(counter);
  f.get(out0).i32(32).emit(OP.i32Add).set(out0);
  f.get(out1).i32(32).emit(OP.i32Add).set(out1);
  f.get(g).i32(1).emit(OP.i32Add).set(g);
  f.emit(OP.br, 0, OP.end, OP.end);
  f.get(b).i32(1).emit(OP.i32Add).set(b);
  f.emit(OP.br, 0, OP.end, OP.end);
  return kernelModule('planes', f);
}

/** The kernels (Philox planes, Box–Muller) sharing one memory, or null without SIMD128. */
interface PlanesKernel {
  readonly memory: WebAssembly.Memory;
  readonly planes: (first: number, groups: number, blocks: number, k0: number, k1: number, s0: number, s1: number, stride: number) => void;
  /** normals(src1, src2, dst, pairs), or null where its start-up check failed (wasm-normal.ts) */
  readonly normals: ((src1: number, src2: number, dst: number, pairs: number) => void) | null;
}
let kernel: PlanesKernel | null | undefined;

/** Whether the Box–Muller kernel agrees with Math.log and Math.cos, bit for bit, on its check set. */
function normalsAgree(memory: WebAssembly.Memory, normals: NonNullable<PlanesKernel['normals']>): boolean {
  const { u1, u2 } = boxMullerEdgeCases();
  // and a spread of ordinary arguments from a fixed Philox stream
  const extra = 4096;
  const U = new Float64Array(4 * extra);
  philoxPlanesJs({ k0: 1, k1: 2, s0: 3, s1: 4 }, 0, extra, 2, U, extra);
  const a = [...u1, ...U.subarray(0, extra)];
  const b = [...u2, ...U.subarray(extra, 2 * extra)];
  const pairs = Math.ceil(a.length / 2);
  const bytes = 3 * 16 * pairs;
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  const view = new Float64Array(memory.buffer, 0, 6 * pairs);
  view.fill(0.5);
  view.set(a, 0);
  view.set(b, 2 * pairs);
  normals(0, 16 * pairs, 32 * pairs, pairs);
  let known = 0;
  for (let i = 0; i < a.length; i++) {
    const got = view[4 * pairs + i]!;
    if (Number.isNaN(got)) continue; // a rare path: the caller recomputes it with Math
    known++;
    if (!Object.is(got, Math.sqrt(-2 * Math.log(a[i]!)) * Math.cos(2 * Math.PI * b[i]!))) return false;
  }
  return known > extra / 2;
}

function planesKernel(): PlanesKernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(philoxPlanesBytes()), { env: { memory } });
    const planes = instance.exports.planes as PlanesKernel['planes'];
    // start-up check against the reference: 8 points, 2 blocks, a key and stream with high bits
    const s: StreamWords = { k0: 0xdeadbeef, k1: 0x9abcdef0, s0: 0xfedcba98, s1: 0x80000001 };
    const ref = new Float64Array(4 * 8);
    philoxPlanesJs(s, 0x7ffffffc, 8, 2, ref, 8);
    planes(0x7ffffffc, 2, 2, s.k0 | 0, s.k1 | 0, s.s0 | 0, s.s1 | 0, 8);
    const got = new Float64Array(memory.buffer, 0, 4 * 8);
    if (!got.every((v, i) => Object.is(v, ref[i]))) {
      kernel = null;
      return kernel;
    }
    let normals: PlanesKernel['normals'] = null;
    try {
      const bm = new WebAssembly.Instance(new WebAssembly.Module(boxMullerBytes()), { env: { memory } });
      const fn = bm.exports.normals as NonNullable<PlanesKernel['normals']>;
      if (normalsAgree(memory, fn)) normals = fn;
    } catch {
      normals = null;
    }
    kernel = { memory, planes, normals };
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Whether the WebAssembly kernel runs here (SIMD128 and a start-up check against the reference). */
export function philoxPlanesWasmAvailable(): boolean {
  return planesKernel() !== null;
}

/** Whether the Box–Muller kernel runs here (and agreed with Math.log and Math.cos at start-up). */
export function boxMullerWasmAvailable(): boolean {
  return planesKernel()?.normals != null;
}

/** Uniform planes as written by {@link philoxPlaneView}: U[j * stride + r]. */
export interface UniformPlanes {
  readonly U: Float64Array;
  readonly stride: number;
}

let scratch = new Float64Array(0);

/**
 * The uniform planes of points first .. first + count - 1 (see the file's head), by the
 * WebAssembly kernel where it runs, else by the JavaScript reference, without a copy: the
 * returned array is a view of the kernel's memory (or of a scratch array), valid until the next
 * call.
 * @param s the stream's key and id words
 * @param first index of the first point, in [0, 2^31)
 * @param count points (at least 1)
 * @param blocks Philox blocks per point (rng/stream-layout.ts pointBlocks)
 * @param impl 'auto' (the kernel where it runs), or 'js' to force the reference
 * @param extraDoubles room to reserve after the planes and the normals' plane for the gate
 *   kernel's inputs and outputs (gateWeightsPlanes), so that no later call grows the memory
 * @returns U and its stride (>= count): uniform j of point first + r is U[j * stride + r]
 */
export function philoxPlaneView(s: StreamWords, first: number, count: number, blocks: number, impl: 'auto' | 'js' = 'auto', extraDoubles = 0): UniformPlanes {
  const k = impl === 'auto' ? planesKernel() : null;
  // whole groups of four points (the kernel's lanes): the stride rounded up to 4
  const groups = Math.ceil(count / 4);
  const stride = 4 * groups;
  const doubles = 2 * blocks * stride;
  if (k === null) {
    if (scratch.length < doubles) scratch = new Float64Array(doubles);
    philoxPlanesJs(s, first, count, blocks, scratch, stride);
    return { U: scratch, stride };
  }
  // room for the planes and one plane of normals after them (boxMullerPlane)
  const need = 8 * (doubles + stride + extraDoubles);
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  k.planes(first, groups, blocks, s.k0 | 0, s.k1 | 0, s.s0 | 0, s.s1 | 0, stride);
  return { U: new Float64Array(k.memory.buffer, 0, doubles), stride };
}

/**
 * The Box–Muller variates sqrt(-2 log U[p1 stride + r]) cos(2 pi U[p2 stride + r]) of the planes
 * p1, p2 of the last {@link philoxPlaneView} (made with impl 'auto'), r < stride, by the WebAssembly
 * kernel (wasm-normal.ts): the same doubles as the Math expression, NaN where fdlibm takes a rare
 * path (the caller recomputes those with Math). Null where the kernel does not run.
 * @param planes the view returned by philoxPlaneView
 * @param p1 plane of u1 (the radius' uniform)
 * @param p2 plane of u2 (the angle's uniform)
 * @returns a view of stride doubles, valid until the next call
 */
export function boxMullerPlane(planes: UniformPlanes, p1: number, p2: number): Float64Array | null {
  const k = planesKernel();
  if (k === null || k.normals === null || planes.U.buffer !== k.memory.buffer) return null;
  const stride = planes.stride;
  const dst = 8 * planes.U.length;
  k.normals(8 * p1 * stride, 8 * p2 * stride, dst, stride / 2);
  return new Float64Array(k.memory.buffer, dst, stride);
}

/**
 * The uniform planes of points first .. first + count - 1 copied into U (see the file's head):
 * U[j * stride + r], by the kernel where it runs (impl 'auto') or the JavaScript reference ('js').
 * @param U holds (2 blocks - 1) * stride + count doubles, stride >= count
 */
export function philoxPlanes(s: StreamWords, first: number, count: number, blocks: number, U: Float64Array, stride: number, impl: 'auto' | 'js' = 'auto'): void {
  const v = philoxPlaneView(s, first, count, blocks, impl);
  for (let j = 0; j < 2 * blocks; j++) U.set(v.U.subarray(j * v.stride, j * v.stride + count), j * stride);
}

const pointKernels = new Map<string, ((params: number, u: number, x: number, noise: number, out: number, stride: number, pairs: number) => void) | null>();

/** The planes of a {@link pointsPlanes} run: inputs (d planes), Y and the label Z (as doubles). */
export interface PointPlanes {
  readonly X: Float64Array;
  readonly Y: Float64Array;
  readonly Z: Float64Array;
}

/**
 * Labels and responses of points r < stride of the last {@link philoxPlaneView} and
 * {@link boxMullerPlane} (the view reserved (d + 2) stride + params.length extra doubles), for a
 * linear-logit gate keeping every expert, by the fused kernel of wasm-softmax.ts. A uniform design
 * draws its inputs in the kernel (uniformInputs); otherwise X (the chunk's rows, m x d) is copied in.
 * Y is NaN for a point the caller must recompute. Null where the kernels do not run.
 * @param params t, s, scale, A, B, SD, then low and width of a uniform design (wasm-softmax.ts)
 */
export function pointsPlanes(
  planes: UniformPlanes,
  k: number,
  d: number,
  uniformInputs: boolean,
  zPlane: number,
  params: Float64Array,
  X: Float64Array | null,
  m: number,
): PointPlanes | null {
  const kk = planesKernel();
  if (kk === null || kk.normals === null || planes.U.buffer !== kk.memory.buffer) return null;
  const key = `${k}x${d}:${uniformInputs}:${zPlane}`;
  let fn = pointKernels.get(key);
  if (fn === undefined) {
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(pointKernelBytes(k, d, uniformInputs, zPlane)), { env: { memory: kk.memory } });
      fn = instance.exports.points as NonNullable<typeof fn>;
    } catch {
      fn = null;
    }
    pointKernels.set(key, fn);
  }
  if (fn === null) return null;
  const stride = planes.stride;
  const nAt = planes.U.length; // doubles: the normals' plane (boxMullerPlane)
  const xAt = nAt + stride;
  const outAt = xAt + d * stride;
  const pAt = outAt + 2 * stride;
  const mem = new Float64Array(kk.memory.buffer, 0, pAt + params.length);
  if (!uniformInputs) {
    for (let p = 0; p < d; p++) {
      const o = xAt + p * stride;
      for (let r = 0; r < m; r++) mem[o + r] = X![r * d + p]!;
      for (let r = m; r < stride; r++) mem[o + r] = 0;
    }
  }
  mem.set(params, pAt);
  fn(8 * pAt, 0, 8 * xAt, 8 * nAt, 8 * outAt, stride, stride / 2);
  return { X: mem.subarray(xAt, xAt + d * stride), Y: mem.subarray(outAt, outAt + stride), Z: mem.subarray(outAt + stride, outAt + 2 * stride) };
}
