/**
 * A tiny WebAssembly assembler: enough of the binary format (core MVP and the fixed-width SIMD
 * proposal, standard since 2021, in Node 16.4+ without flags) to emit the generated kernels of
 * wasm-estep.ts and wasm-math.ts as module bytes straight from TypeScript.
 *
 * Why not a toolchain package (wabt's wat2wasm, binaryen): the kernels are generated per (k, d) at
 * run time, so a text assembler would have to ship with the library (wabt's npm build is a 2 MB
 * Emscripten module, loaded asynchronously), while the subset needed here is a few opcode tables
 * and LEB128. The bytes are a pure function of the generator's input: deterministic, no
 * dependency, and `WebAssembly.validate` checks them.
 *
 * Binary format: https://webassembly.github.io/spec/core/binary/ (SIMD opcodes: prefix 0xfd, then
 * the sub-opcode as an unsigned LEB128).
 */
import { uleb } from '../sampling/wasm-emit.js';

export type ValType = 'i32' | 'i64' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f64: 0x7c, v128: 0x7b };

// unsigned LEB128: the sampler's emitter's (sampling/ sits below backend/, so it owns it)
export { uleb };

/**
 * Signed LEB128 of a 64-bit integer (two's complement, 7 bits a byte, low first; the last byte's
 * bit 6 is the sign).
 * @param value a bigint in [-2^63, 2^63), or a number that is a safe integer
 * @example sleb(-123456) // => [0xc0, 0xbb, 0x78]
 */
export function sleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

const CORE = {
  unreachable: 0x00, nop: 0x01, return: 0x0f, drop: 0x1a, select: 0x1b,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a, 'i32.le_s': 0x4c, 'i32.ge_s': 0x4e,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.shl': 0x74, 'i32.shr_s': 0x75,
  'f64.abs': 0x99, 'f64.neg': 0x9a, 'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3, 'f64.min': 0xa4, 'f64.max': 0xa5,
} as const;
export type CoreOp = keyof typeof CORE;

/** SIMD instructions without immediates (sub-opcodes after the 0xfd prefix). */
const SIMD = {
  'i64x2.splat': 18, 'f64x2.splat': 20,
  'f64x2.eq': 71, 'f64x2.ne': 72, 'f64x2.lt': 73, 'f64x2.gt': 74, 'f64x2.le': 75, 'f64x2.ge': 76,
  'v128.not': 77, 'v128.and': 78, 'v128.andnot': 79, 'v128.or': 80, 'v128.xor': 81, 'v128.bitselect': 82, 'v128.any_true': 83,
  'f64x2.ceil': 116, 'f64x2.floor': 117, 'f64x2.trunc': 122, 'f64x2.nearest': 148,
  'i64x2.all_true': 195, 'i64x2.bitmask': 196, 'i64x2.extend_low_i32x4_s': 199,
  'i64x2.shl': 203, 'i64x2.shr_s': 204, 'i64x2.shr_u': 205, 'i64x2.add': 206, 'i64x2.sub': 209, 'i64x2.eq': 214,
  'f64x2.abs': 236, 'f64x2.neg': 237, 'f64x2.sqrt': 239, 'f64x2.add': 240, 'f64x2.sub': 241, 'f64x2.mul': 242, 'f64x2.div': 243,
  'f64x2.min': 244, 'f64x2.max': 245, 'f64x2.pmin': 246, 'f64x2.pmax': 247,
  'i32x4.trunc_sat_f64x2_s_zero': 252, 'f64x2.convert_low_i32x4_s': 254,
} as const;
export type SimdOp = keyof typeof SIMD;

/** SIMD memory instructions (memarg immediates) and lane instructions (memarg + lane). */
const SIMD_MEM = { 'v128.load': 0, 'v128.load64_splat': 10, 'v128.store': 11, 'v128.load64_zero': 93 } as const;
const SIMD_MEM_LANE = { 'v128.load64_lane': 87, 'v128.store64_lane': 91 } as const;
const SIMD_LANE = { 'i64x2.extract_lane': 29, 'i64x2.replace_lane': 30, 'f64x2.extract_lane': 33, 'f64x2.replace_lane': 34 } as const;

/** The body of one function: typed locals and the instruction bytes, emitted by method calls. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** A new local of the given type (its index, after the parameters). */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  op(o: CoreOp): this {
    return this.emit(CORE[o]);
  }
  simd(o: SimdOp): this {
    return this.emit(0xfd, ...uleb(SIMD[o]));
  }
  get(l: number): this {
    return this.emit(0x20, ...uleb(l));
  }
  set(l: number): this {
    return this.emit(0x21, ...uleb(l));
  }
  tee(l: number): this {
    return this.emit(0x22, ...uleb(l));
  }
  i32(v: number): this {
    return this.emit(0x41, ...sleb(v));
  }
  i64(v: number | bigint): this {
    return this.emit(0x42, ...sleb(v));
  }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.emit(0x44, ...b);
  }
  /** v128.const with both f64 lanes = v */
  f64x2(v: number, w = v): this {
    const b = new Uint8Array(new Float64Array([v, w]).buffer);
    return this.emit(0xfd, ...uleb(12), ...b);
  }
  /** v128.const with both i64 lanes = v */
  i64x2(v: bigint): this {
    const b = new Uint8Array(new BigInt64Array([v, v]).buffer);
    return this.emit(0xfd, ...uleb(12), ...b);
  }
  /** i8x16.shuffle of the two v128 operands by byte indices (0-15 first, 16-31 second) */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new Error('i8x16.shuffle takes 16 lane indices');
    return this.emit(0xfd, ...uleb(13), ...lanes);
  }
  /** f64 lanes (a0, b0) of two v128 operands a, b */
  shuffleF64(first: 0 | 1, second: 0 | 1): this {
    const l = (base: number) => Array.from({ length: 8 }, (_, i) => base + i);
    return this.shuffle([...l(first * 8), ...l(16 + second * 8)]);
  }
  /** memory ops: align is log2 of the alignment hint (3: 8 bytes) */
  load(o: keyof typeof SIMD_MEM, offset = 0, align = 3): this {
    return this.emit(0xfd, ...uleb(SIMD_MEM[o]), ...uleb(align), ...uleb(offset));
  }
  laneMem(o: keyof typeof SIMD_MEM_LANE, lane: number, offset = 0): this {
    return this.emit(0xfd, ...uleb(SIMD_MEM_LANE[o]), ...uleb(3), ...uleb(offset), lane);
  }
  lane(o: keyof typeof SIMD_LANE, lane: number): this {
    return this.emit(0xfd, ...uleb(SIMD_LANE[o]), lane);
  }
  f64Load(offset = 0): this {
    return this.emit(0x2b, ...uleb(3), ...uleb(offset));
  }
  f64Store(offset = 0): this {
    return this.emit(0x39, ...uleb(3), ...uleb(offset));
  }
  call(index: number): this {
    return this.emit(0x10, ...uleb(index));
  }
  block(): this {
    return this.emit(0x02, 0x40);
  }
  loop(): this {
    return this.emit(0x03, 0x40);
  }
  if(): this {
    return this.emit(0x04, 0x40);
  }
  else(): this {
    return this.emit(0x05);
  }
  end(): this {
    return this.emit(0x0b);
  }
  br(depth: number): this {
    return this.emit(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.emit(0x0d, ...uleb(depth));
  }

  /** The function's code entry (locals run-length encoded, then the body and `end`). */
  encode(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([count, t]) => [...uleb(count), VALTYPE[t]]), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

interface FunctionEntry {
  exportName: string | null;
  fn: FunctionBuilder;
}

/**
 * A module: imported memory ("env", "memory") and functions, defined functions (exported by name).
 * Function indices: imports first, in order, then definitions.
 * @example
 *   const m = new ModuleBuilder();
 *   const f = m.define('twice', new FunctionBuilder(['f64'], ['f64']));
 *   f.get(0).get(0).op('f64.add');
 *   const bytes = m.encode(); // WebAssembly.validate(bytes) === true
 */
export class ModuleBuilder {
  private readonly imports: { module: string; field: string; params: ValType[]; results: ValType[] }[] = [];
  private readonly functions: FunctionEntry[] = [];

  /** Import a function; returns its index. Imports must precede definitions. */
  importFunction(module: string, field: string, params: ValType[], results: ValType[]): number {
    if (this.functions.length > 0) throw new Error('ModuleBuilder: import functions before defining any');
    this.imports.push({ module, field, params, results });
    return this.imports.length - 1;
  }

  /** Add a function (exported under `exportName` unless null); returns the builder. */
  define(exportName: string | null, fn: FunctionBuilder): FunctionBuilder {
    this.functions.push({ exportName, fn });
    return fn;
  }

  /** The index the next defined function will get. */
  nextIndex(): number {
    return this.imports.length + this.functions.length;
  }

  encode(): Uint8Array {
    const types: string[] = [];
    const typeIndex = (params: readonly ValType[], results: readonly ValType[]) => {
      const key = `${params.join(',')}->${results.join(',')}`;
      let i = types.indexOf(key);
      if (i < 0) i = types.push(key) - 1;
      return i;
    };
    const importTypes = this.imports.map((im) => typeIndex(im.params, im.results));
    const fnTypes = this.functions.map((f) => typeIndex(f.fn.params, f.fn.results));
    const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
    const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
    const typeSection = vec(
      types.map((key) => {
        const [p, r] = key.split('->') as [string, string];
        const list = (s: string) => (s === '' ? [] : s.split(',').map((t) => VALTYPE[t as ValType]));
        return [0x60, ...uleb(list(p).length), ...list(p), ...uleb(list(r).length), ...list(r)];
      }),
    );
    const importSection = vec([
      [...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)],
      ...this.imports.map((im, i) => [...name(im.module), ...name(im.field), 0x00, ...uleb(importTypes[i]!)]),
    ]);
    const functionSection = vec(fnTypes.map((t) => uleb(t)));
    const exported = this.functions.flatMap((f, i) => (f.exportName === null ? [] : [[...name(f.exportName), 0x00, ...uleb(this.imports.length + i)]]));
    const codeSection = vec(this.functions.map((f) => f.fn.encode()));
    return Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, typeSection),
      ...section(2, importSection),
      ...section(3, functionSection),
      ...section(7, vec(exported)),
      ...section(10, codeSection),
    ]);
  }
}
