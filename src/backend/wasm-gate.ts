/**
 * The Newton pass of gates with linear logits keeping every expert (softmax, temperature with tau
 * known; top-K with K = k) in WebAssembly SIMD128, generated per (k, d): the arithmetic of the JS
 * kernel gates/linear-kernel.ts (newtonSource with K = k, the reference) on two points at once,
 * with the vector exp and log of wasm-math.ts. One pass gives, with u_i = scale (beta0_i +
 * beta1_i.x) and R's rows summing to 1,
 *   G_ni   = exp(u_ni - max_j u_nj) / sum_j exp(u_nj - max_j u_nj)
 *   linear = sum_n sum_i R_ni u_ni,   lseSum = sum_n log sum_j exp(u_nj)   (Q = linear - lseSum)
 *   grad   = scale sum_n (R_ni - G_ni) z_n,   H = -scale^2 sum_n (G_ni delta_ij - G_ni G_nj) z_n z_n'
 * Variants as in linear-kernel.ts: 'evaluate' (computes and writes G), 'fromWeights' (reads G; no
 * exponential, lseSum NaN), 'weights' (only G and lseSum), 'trial' (G, linear and lseSum).
 * What differs from the JS kernel: exp is the polynomial one, sums over points are accumulated in
 * two lanes (even and odd points), and the flushed log-product uses the vector log.
 *
 * The memory, the copies and the odd last point: wasm-workspace.ts.
 */
import { newtonDerivatives, type NewtonKernel, type NewtonVariant } from '../gates/linear-kernel.js';
import { FunctionBuilder, ModuleBuilder } from './wasm-asm.js';
import { VecMath } from './wasm-math.js';

export type GateVariant = NewtonVariant;
export const GATE_VARIANTS: readonly GateVariant[] = ['evaluate', 'fromWeights', 'weights', 'trial'];

/**
 * The v128 locals of one generated gate function: Hessian accumulators k(k+1)/2 (d+1)(d+2)/2,
 * gradient k (d + 1), theta k (d + 1), per-point values 4k + d, a few more.
 * @param k experts, >= 1; @param d input dimension, >= 1
 * @example wasmGateLocals(3, 1) // => 67
 */
export function wasmGateLocals(k: number, d: number): number {
  const m = d + 1;
  return ((k * (k + 1)) / 2) * ((m * (m + 1)) / 2) + k * m + k * (d + 1) + 4 * k + d + 24;
}

/**
 * Whether (k, d) gets generated WASM gate kernels: wasmGateLocals(k, d) <= 2000.
 * @example wasmGateSupported(4, 2) // => true
 */
export function wasmGateSupported(k: number, d: number): boolean {
  return wasmGateLocals(k, d) <= 2000;
}

/**
 * The Newton pass's pieces inside one generated function, for reuse by the fused E-step
 * (wasm-estep.ts): theta's splat locals, the per-pair logits u = scale (t + s.x), and the sums
 * linear = sum R u (R > 0), gb = sum (R - G) z, h = sum G_i (delta_ij - G_j) z z', written out as
 * (linear, grad = scale gb, H = -scale^2 h, both halves).
 */
export class NewtonEmitter {
  private readonly t: number[];
  private readonly sl: number[][];
  private readonly scale: number;
  private readonly gb: number[][];
  private readonly h = new Map<string, number>();
  private readonly linear: number;

  /** Declares the locals and loads theta (from the i32 parameter thp) and scale (f64 parameter). */
  constructor(
    private readonly f: FunctionBuilder,
    private readonly k: number,
    private readonly d: number,
    thp: number,
    private readonly scaleArg: number,
    accumulate: boolean,
  ) {
    const V = () => f.local('v128');
    const K = Array.from({ length: k }, (_, i) => i);
    const D = Array.from({ length: d }, (_, p) => p);
    const M = Array.from({ length: d + 1 }, (_, a) => a);
    this.scale = V();
    f.get(scaleArg).simd('f64x2.splat').set(this.scale);
    this.t = K.map(() => V());
    this.sl = K.map(() => D.map(() => V()));
    for (const i of K) {
      f.get(thp).load('v128.load64_splat', 8 * i).set(this.t[i]!);
      for (const p of D) f.get(thp).load('v128.load64_splat', 8 * (k + i * d + p)).set(this.sl[i]![p]!);
    }
    this.gb = K.map(() => M.map(() => V()));
    // off-diagonal blocks only: the diagonal ones follow from them (see write)
    if (accumulate) for (const i of K) for (const j of K.filter((j) => j > i)) for (const a of M) for (const b of M.filter((b) => b >= a)) this.h.set(`${i}_${j}_${a}_${b}`, V());
    this.linear = V();
  }

  /** u_i = scale (t_i + (s_i0 x_0 + s_i1 x_1 + ...)) into the locals u (tmp: scratch). */
  logits(x: readonly number[], u: readonly number[], tmp: number): void {
    const { f, k, d } = this;
    for (let i = 0; i < k; i++) {
      f.get(this.sl[i]![0]!).get(x[0]!).simd('f64x2.mul');
      for (let p = 1; p < d; p++) f.get(this.sl[i]![p]!).get(x[p]!).simd('f64x2.mul').simd('f64x2.add');
      f.set(tmp);
      f.get(this.scale).get(this.t[i]!).get(tmp).simd('f64x2.add').simd('f64x2.mul').set(u[i]!);
    }
  }

  /** One pair's linear = sum R u (R > 0) only, for the 'trial' variant: `w(i)` as in accumulate. */
  accumulateLinear(u: readonly number[], w: (i: number) => number): void {
    const { f, k } = this;
    for (let i = 0; i < k; i++) {
      const wi = w(i);
      f.get(this.linear).get(wi).get(u[i]!).simd('f64x2.mul').get(wi).f64x2(0).simd('f64x2.gt').simd('v128.and').simd('f64x2.add').set(this.linear);
    }
  }

  /**
   * One pair's terms: `w(i)` emits whatever puts R_i in a local and returns that local; g, u the
   * weights and logits; tmp and c scratch locals (c may be what w returns).
   */
  accumulate(x: readonly number[], u: readonly number[], g: readonly number[], w: (i: number) => number, tmp: number, c: number): void {
    const { f, k, d, gb, h } = this;
    for (let i = 0; i < k; i++) {
      // linear += w u where w > 0; D = w - g; gb_0 += D; gb_(p+1) += D x_p
      const wi = w(i);
      f.get(this.linear).get(wi).get(u[i]!).simd('f64x2.mul').get(wi).f64x2(0).simd('f64x2.gt').simd('v128.and').simd('f64x2.add').set(this.linear);
      f.get(wi).get(g[i]!).simd('f64x2.sub').set(tmp);
      f.get(gb[i]![0]!).get(tmp).simd('f64x2.add').set(gb[i]![0]!);
      for (let p = 0; p < d; p++) f.get(gb[i]![p + 1]!).get(tmp).get(x[p]!).simd('f64x2.mul').simd('f64x2.add').set(gb[i]![p + 1]!);
    }
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        f.get(g[i]!).simd('f64x2.neg').get(g[j]!).simd('f64x2.mul').set(c);
        for (let a = 0; a <= d; a++) {
          for (let b = a; b <= d; b++) {
            const acc = h.get(`${i}_${j}_${a}_${b}`)!;
            f.get(acc).get(c);
            for (const zi of [a, b]) if (zi > 0) f.get(x[zi - 1]!).simd('f64x2.mul');
            f.simd('f64x2.add').set(acc);
          }
        }
      }
    }
  }

  /** After the loop: out[0] = linear (lane sum), grad at out[2..2+P), H at out[2+P..) (both halves). */
  write(outp: number, withGradient: boolean): void {
    const { f, k, d, gb, h, scaleArg } = this;
    const P = k + k * d;
    const hsum = (v: number) => f.get(v).lane('f64x2.extract_lane', 0).get(v).lane('f64x2.extract_lane', 1).op('f64.add');
    f.get(outp);
    hsum(this.linear);
    f.f64Store(0);
    if (!withGradient) return;
    const idx = (i: number, a: number) => (a === 0 ? i : k + i * d + (a - 1));
    for (let i = 0; i < k; i++) {
      for (let a = 0; a <= d; a++) {
        f.get(outp).get(scaleArg);
        hsum(gb[i]![a]!);
        f.op('f64.mul').f64Store(8 * (2 + idx(i, a)));
      }
    }
    // the sum over points of c_ij z z' with c_ij = -G_i G_j (i != j) and c_ii = G_i - G_i^2 =
    // sum_(j != i) G_i G_j (G's rows sum to 1): the diagonal blocks are minus the sums of the
    // off-diagonal blocks of their row, which halves the accumulators the loop keeps live (register
    // pressure: 16 xmm registers) and is no less accurate (G_i - G_i^2 cancels for G_i near 1)
    // the accumulator of the off-diagonal block (i, j), entry (a, b), in either order
    const offDiagonal = (i: number, j: number, a: number, b: number) => h.get(`${Math.min(i, j)}_${Math.max(i, j)}_${Math.min(a, b)}_${Math.max(a, b)}`)!;
    const block = (i: number, j: number, a: number, b: number) => {
      if (i !== j) {
        hsum(offDiagonal(i, j, a, b));
        return;
      }
      f.f64(0);
      for (let l = 0; l < k; l++) if (l !== i) hsum(offDiagonal(i, l, a, b)), f.op('f64.sub');
    };
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) {
        for (let a = 0; a <= d; a++) {
          for (let b = 0; b <= d; b++) {
            for (const at of [idx(i, a) * P + idx(j, b), idx(j, b) * P + idx(i, a)]) {
              f.get(outp).get(scaleArg).get(scaleArg).op('f64.mul').op('f64.neg');
              block(i, j, a, b);
              f.op('f64.mul').f64Store(8 * (2 + P + at));
            }
          }
        }
      }
    }
  }
}

function emitVariant(mod: ModuleBuilder, k: number, d: number, variant: GateVariant): void {
  // fn(pairs, xp, rp, gp, outp, thp, scale)
  const f = mod.define(variant, new FunctionBuilder(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f64'], []));
  const [pairs, xp, rp, gp, outp, thp, scaleArg] = [0, 1, 2, 3, 4, 5, 6];
  const V = () => f.local('v128');
  const K = Array.from({ length: k }, (_, i) => i);
  const D = Array.from({ length: d }, (_, p) => p);
  const derivatives = newtonDerivatives(variant);
  const newton = new NewtonEmitter(f, k, d, thp, scaleArg, derivatives);
  const maxSum = V();
  const logSum = V();
  const product = V();
  f.f64x2(1).set(product);
  const x = D.map(() => V());
  const u = K.map(() => V());
  const g = K.map(() => V());
  const mx = V();
  const tmp = V();
  const c = V();
  const scratch3 = V();
  const math = new VecMath(f);

  f.block().loop();
  f.get(pairs).op('i32.eqz').brIf(1);
  if (d === 1) f.get(xp).load('v128.load').set(x[0]!);
  else for (const p of D) f.get(xp).get(xp).load('v128.load64_zero', 8 * p).laneMem('v128.load64_lane', 1, 8 * (d + p)).set(x[p]!);
  newton.logits(x, u, tmp);
  if (variant !== 'fromWeights') {
    f.f64x2(-Infinity).set(mx);
    for (const i of K) f.get(mx).get(u[i]!).simd('f64x2.pmax').set(mx);
    // g_i = exp(u_i - max): k - 1 exponentials for k = 2 and 3 (exp(0) = 1 for the largest)
    for (const i of K) f.get(u[i]!).get(mx).simd('f64x2.sub').set(g[i]!);
    math.expAllButMax(g, [c, tmp, scratch3]);
    f.get(g[0]!);
    for (const i of K.slice(1)) f.get(g[i]!).simd('f64x2.add');
    f.set(tmp); // S
    f.get(maxSum).get(mx).simd('f64x2.add').set(maxSum);
    f.get(product).get(tmp).simd('f64x2.mul').set(product);
    f.get(product).f64x2(1e280).simd('f64x2.gt').simd('v128.any_true').if();
    math.log(product, c);
    f.get(logSum).get(c).simd('f64x2.add').set(logSum);
    f.f64x2(1).set(product);
    f.end();
    f.f64x2(1).get(tmp).simd('f64x2.div').set(tmp);
    for (const i of K) {
      f.get(g[i]!).get(tmp).simd('f64x2.mul').set(g[i]!);
      f.get(gp).get(g[i]!).laneMem('v128.store64_lane', 0, 8 * i);
      f.get(gp).get(g[i]!).laneMem('v128.store64_lane', 1, 8 * (k + i));
    }
  } else {
    for (const i of K) f.get(gp).get(gp).load('v128.load64_zero', 8 * i).laneMem('v128.load64_lane', 1, 8 * (k + i)).set(g[i]!);
  }
  if (variant !== 'weights') {
    const loadR = (i: number) => {
      f.get(rp).get(rp).load('v128.load64_zero', 8 * i).laneMem('v128.load64_lane', 1, 8 * (k + i)).set(c);
      return c;
    };
    if (derivatives) newton.accumulate(x, u, g, loadR, tmp, c);
    else newton.accumulateLinear(u, loadR);
  }
  const advance = (ptr: number, bytes: number) => f.get(ptr).i32(bytes).op('i32.add').set(ptr);
  advance(xp, 16 * d);
  advance(rp, 16 * k);
  advance(gp, 16 * k);
  f.get(pairs).i32(1).op('i32.sub').set(pairs);
  f.br(0).end().end();
  const hsum = (v: number) => f.get(v).lane('f64x2.extract_lane', 0).get(v).lane('f64x2.extract_lane', 1).op('f64.add');
  // out[0] = linear, out[1] = lseSum (lane sums), grad, H
  newton.write(outp, derivatives);
  f.get(outp);
  if (variant === 'fromWeights') f.f64(NaN);
  else {
    math.log(product, tmp);
    hsum(maxSum);
    hsum(logSum);
    f.op('f64.add');
    hsum(tmp);
    f.op('f64.add');
  }
  f.f64Store(8);
}

/**
 * The module bytes for (k, d) (a pure function of k and d): exports 'evaluate', 'fromWeights',
 * 'weights' and 'trial', each fn(pairs, xp, rp, gp, outp, thp, scale) over 2 pairs points, writing
 * (linear, lseSum, grad, H) at outp.
 * @example WebAssembly.validate(wasmGateBytes(3, 1)) // => true
 */
export function wasmGateBytes(k: number, d: number): Uint8Array {
  const mod = new ModuleBuilder();
  for (const v of GATE_VARIANTS) emitVariant(mod, k, d, v);
  return mod.encode();
}

const moduleCache = new Map<string, WebAssembly.Module>();

/**
 * The compiled gate module for (k, d), compiled once per process and cached.
 * @example new WebAssembly.Instance(wasmGateModule(3, 1), { env: { memory } })
 */
export function wasmGateModule(k: number, d: number): WebAssembly.Module {
  const key = `${k}x${d}`;
  let module = moduleCache.get(key);
  if (!module) {
    module = new WebAssembly.Module(wasmGateBytes(k, d));
    moduleCache.set(key, module);
  }
  return module;
}

/** A gate pass: the NewtonKernel contract of gates/linear-kernel.ts with the variant as an argument. */
export type WasmGatePass = (variant: GateVariant, ...args: Parameters<NewtonKernel>) => ReturnType<NewtonKernel>;
