/**
 * The few pieces of the WebAssembly binary format that the sampler's Philox kernel
 * (philox-planes.ts) needs: one module importing its memory ("env", "memory"), one exported
 * function of i32 parameters, with typed locals and raw instruction bytes. (The EM kernels have
 * their own, larger assembler in backend/wasm-asm.ts; sampling sits below backend in the layer
 * order, so it cannot import it.)
 *
 * Binary format: https://webassembly.github.io/spec/core/binary/ (SIMD: prefix 0xfd, then the
 * sub-opcode as an unsigned LEB128).
 */

/**
 * Unsigned LEB128 of an integer in [0, 2^32).
 * @example uleb(624485) // => [0xe5, 0x8e, 0x26]
 */
export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/**
 * Signed LEB128 of a 32-bit integer (two's complement).
 * @example sleb32(-123456) // => [0xc0, 0xbb, 0x78]
 */
export function sleb32(value: number): number[] {
  let v = value | 0;
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const I32 = 0x7f;
const V128 = 0x7b;

/** Core opcodes the kernel uses. */
export const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, i32Const: 0x41,
  i32GeS: 0x4e, i32Add: 0x6a, i32Mul: 0x6c, i32Shl: 0x74,
} as const;

/** SIMD sub-opcodes (after the 0xfd prefix) the kernel uses. */
export const SIMD = {
  v128Store: 0x0b, v128Const: 0x0c, i8x16Shuffle: 0x0d, i32x4Splat: 0x11, i32x4ReplaceLane: 0x1c,
  v128Xor: 0x51, i32x4ShrU: 0xad, i32x4Add: 0xae, i64x2ExtmulLowI32x4U: 0xde, i64x2ExtmulHighI32x4U: 0xdf,
  f64x2Add: 0xf0, f64x2Mul: 0xf2, f64x2ConvertLowI32x4U: 0xff,
} as const;

/** One function body: i32 parameters, typed locals, instruction bytes. */
export class KernelFunction {
  readonly code: number[] = [];
  private readonly locals: ('i32' | 'v128')[] = [];
  constructor(readonly paramCount: number) {}

  /** A new local (its index, after the parameters). */
  local(type: 'i32' | 'v128'): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }
  emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  simd(sub: number, ...immediates: number[]): this {
    return this.emit(0xfd, ...uleb(sub), ...immediates);
  }
  get(l: number): this {
    return this.emit(OP.localGet, ...uleb(l));
  }
  set(l: number): this {
    return this.emit(OP.localSet, ...uleb(l));
  }
  i32(v: number): this {
    return this.emit(OP.i32Const, ...sleb32(v));
  }
  /** v128.const with both f64 lanes = v */
  f64x2(v: number): this {
    return this.simd(SIMD.v128Const, ...new Uint8Array(new Float64Array([v, v]).buffer));
  }
  /** i8x16.shuffle of the two operands by byte indices (0-15 first, 16-31 second) */
  shuffle(lanes: readonly number[]): this {
    return this.simd(SIMD.i8x16Shuffle, ...lanes);
  }
  /** v128.store at the address on the stack plus offset (alignment hint 16 bytes) */
  store(offset: number): this {
    return this.simd(SIMD.v128Store, 4, ...uleb(offset));
  }

  encode(): number[] {
    const groups: [number, number][] = [];
    for (const t of this.locals) {
      const code = t === 'i32' ? I32 : V128;
      const last = groups[groups.length - 1];
      if (last && last[1] === code) last[0]++;
      else groups.push([1, code]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([count, t]) => [...uleb(count), t]), ...this.code, OP.end];
    return [...uleb(body.length), ...body];
  }
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

/**
 * The bytes of a module that imports memory ("env", "memory", at least one page) and exports one
 * function `exportName` of `fn.paramCount` i32 parameters and no result.
 */
export function kernelModule(exportName: string, fn: KernelFunction): Uint8Array {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const type = [0x60, ...uleb(fn.paramCount), ...new Array<number>(fn.paramCount).fill(I32), 0];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([uleb(0)])),
    ...section(7, vec([[...name(exportName), 0x00, ...uleb(0)]])),
    ...section(10, vec([fn.encode()])),
  ]);
}

/** f64x2, i64x2 and v128 sub-opcodes of the vector kernels (after the 0xfd prefix). */
export const V = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  f64Eq: 0x47,
  f64Ne: 0x48,
  f64Lt: 0x49,
  f64Gt: 0x4a,
  f64Le: 0x4b,
  f64Ge: 0x4c,
  f64Trunc: 0x7a,
  i64ExtendLowI32x4S: 0xc7,
  i64Shl: 0xcb,
  i64ShrS: 0xcc,
  i64ShrU: 0xcd,
  i64Add: 0xce,
  i64Sub: 0xd1,
  i64Eq: 0xd6,
  i64LtS: 0xd8,
  i64GtS: 0xd9,
  f64Abs: 0xec,
  f64Neg: 0xed,
  f64Sqrt: 0xef,
  f64Add: 0xf0,
  f64Sub: 0xf1,
  f64Mul: 0xf2,
  f64Div: 0xf3,
  i32x4TruncSatF64x2SZero: 0xfc,
  convertLowI32x4S: 0xfe,
} as const;

/**
 * A small expression builder over v128 locals for straight-line vector code: every operation
 * pops its operands' locals and keeps its result in a new local (V8 allocates registers over
 * them); constants are hoisted into a prologue that `finish` puts before the body.
 */
export function vectorDsl(f: KernelFunction) {
  const body: number[] = [];
  const prologue: number[] = [];
  let into = body;
  const e = (...bytes: number[]) => {
    for (const b of bytes) into.push(b);
  };
  const v = (op: number) => e(0xfd, ...uleb(op));
  const get = (l: number) => e(OP.localGet, ...uleb(l));
  const set = (l: number) => e(OP.localSet, ...uleb(l));
  const consts = new Map<string, number>();
  /** a v128 local holding both lanes = the given 8 bytes (set once, in the prologue) */
  const constant = (bytes: Uint8Array): number => {
    const key = Array.from(bytes).join(',');
    let l = consts.get(key);
    if (l === undefined) {
      l = f.local('v128');
      consts.set(key, l);
      const saved = into;
      into = prologue;
      e(0xfd, ...uleb(V.const), ...bytes, ...bytes);
      set(l);
      into = saved;
    }
    return l;
  };
  const dbl = (x: number) => constant(new Uint8Array(new Float64Array([x]).buffer));
  const int = (x: bigint) => constant(new Uint8Array(new BigInt64Array([x]).buffer));
  /** a new local set from the value on the stack */
  const keep = (): number => {
    const l = f.local('v128');
    set(l);
    return l;
  };
  const op1 = (op: number, a: number): number => {
    get(a);
    v(op);
    return keep();
  };
  const op2 = (op: number, a: number, b: number): number => {
    get(a);
    get(b);
    v(op);
    return keep();
  };
  const add = (a: number, b: number) => op2(V.f64Add, a, b);
  const sub = (a: number, b: number) => op2(V.f64Sub, a, b);
  const mul = (a: number, b: number) => op2(V.f64Mul, a, b);
  const div = (a: number, b: number) => op2(V.f64Div, a, b);
  const and = (a: number, b: number) => op2(V.and, a, b);
  const or = (a: number, b: number) => op2(V.or, a, b);
  const neg = (a: number) => op1(V.f64Neg, a);
  /** mask ? a : b, lane by lane */
  const select = (mask: number, a: number, b: number) => {
    get(a);
    get(b);
    get(mask);
    v(V.bitselect);
    return keep();
  };
  const shiftI64 = (op: number, a: number, bits: number) => {
    get(a);
    e(OP.i32Const, ...sleb32(bits));
    v(op);
    return keep();
  };
  /** Horner: c0 + z (c1 + z (c2 + ...)), as fdlibm writes its polynomials */
  const horner = (z: number, cs: readonly number[]): number => {
    let acc = dbl(cs[cs.length - 1]!);
    for (let i = cs.length - 2; i >= 0; i--) acc = add(dbl(cs[i]!), mul(z, acc));
    return acc;
  };
  /** the prologue, then the body, into the function */
  const finish = () => f.emit(...prologue, ...body);
  return { e, v, get, set, keep, constant, dbl, int, op1, op2, add, sub, mul, div, and, or, neg, select, shiftI64, horner, finish };
}
