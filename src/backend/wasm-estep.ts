/**
 * The E-step kernel in WebAssembly SIMD128, generated per (k, d): the arithmetic of the JS kernel
 * (estep-kernel.ts, the reference) on two points at once, one per f64x2 lane, with the vector
 * exp of wasm-math.ts in place of Math.exp. Same formulas and, per point and expert, the same
 * order of operations; what differs:
 *   - exp(t) is the polynomial one (<= 1.5 ulp against Math.exp's < 1 ulp; 0 below -745.2
 *     without running it, as the JS kernel's test has it: an underflowing exp costs x64 a
 *     microcode assist);
 *   - R_i = g_i (exp(t_i) / s) is 0 where it would be subnormal (< 2^-1022, so it differs from
 *     the reference by less than that there): a subnormal R would cost an assist in each of its
 *     statistics (a k = 3 fit of 1e5 points near its MLE had 2558 of them);
 *   - the sums over points (statistics, log-likelihood) are accumulated in two lanes, even and odd
 *     points, added at the end;
 *   - k - 1 exponentials a point for k = 2 and 3 (VecMath.expAllButMax), all k above (the
 *     largest kept expert's is exp(0) = 1 exactly, as the JS kernel's `g` shortcut gives), and a
 *     point's terms are added even where its weight is 0
 *     (exact zeros: every factor is finite for data checked by checkFitMagnitude).
 * Rows whose sum would underflow (s < 1e-280, or NaN) call the same `fallback` as the JS kernel,
 * through an import; a log-product about to underflow is flushed with the vector log.
 *
 * The memory, the copies and the odd last point: wasm-workspace.ts.
 */
import { PRODUCT_FLUSH } from './estep-kernel.js';
import { FunctionBuilder, ModuleBuilder, type ValType } from './wasm-asm.js';
import { NewtonEmitter, wasmGateSupported } from './wasm-gate.js';
import { VecMath } from './wasm-math.js';

const SMALL = 1e-280;
/** 2^-1022, the smallest normal float64 */
const MIN_NORMAL = 2 ** -1022;

/** Above this many v128 locals the generated module is not built (the JS kernel runs instead). */
export const MAX_WASM_LOCALS = 2000;

/**
 * The v128 locals the generated E-step declares: per expert the parameters (b, c, h, a: 3 + d),
 * the accumulators (Szz lower triangle, Szr, Srr) and 4 per-point values; per point x, wz; a few more.
 * @param k experts, >= 1; @param d input dimension, >= 1
 * @example wasmEStepLocals(2, 1) // => 47
 */
export function wasmEStepLocals(k: number, d: number): number {
  const m = d + 1;
  return k * (3 + d) + k * ((m * (m + 1)) / 2 + m + 1) + k * 4 + d + m + 16;
}

/**
 * Whether (k, d) gets a generated WASM E-step: wasmEStepLocals(k, d) <= MAX_WASM_LOCALS (2000).
 * @example wasmEStepSupported(3, 2) // => true
 */
export function wasmEStepSupported(k: number, d: number): boolean {
  return wasmEStepLocals(k, d) <= MAX_WASM_LOCALS;
}

const moduleCache = new Map<string, WebAssembly.Module>();

/**
 * The module bytes for k experts in dimension d (a pure function of k and d). Export `estep(pairs, xp, yp, gp, rp, parp,
 * statsp, resp) -> L` over 2 * pairs points; import `env.fallback(row) -> log p`, which must fill
 * R's row in this memory.
 */
export function wasmEStepBytes(k: number, d: number): Uint8Array {
  const mod = new ModuleBuilder();
  const fallback = mod.importFunction('env', 'fallback', ['i32'], ['f64']);
  emitEStep(mod, fallback, k, d, false);
  if (wasmGateSupported(k, d)) emitEStep(mod, fallback, k, d, true);
  return mod.encode();
}

/**
 * The E-step function 'estep', or with `withGate` 'estepGate': the same, plus the gate's Newton
 * sums at theta from the new R and the given G (the 'fromWeights' pass of wasm-gate.ts, fused:
 * no second pass over the points), params (..., thp, outp, scale), results at outp as the gate
 * module writes them (linear, -, grad, H).
 */
function emitEStep(mod: ModuleBuilder, fallback: number, k: number, d: number, withGate: boolean): void {
  const m = d + 1;
  const size = m * m + m + 1;
  const params: ValType[] = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'];
  if (withGate) params.push('i32', 'i32', 'f64');
  const f = mod.define(withGate ? 'estepGate' : 'estep', new FunctionBuilder(params, ['f64']));
  const [pairs, xp, yp, gp, rp, parp, statsp, resp, thp, outp, scaleArg] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const newton = withGate ? new NewtonEmitter(f, k, d, thp, scaleArg, true) : null;
  const V = () => f.local('v128');
  const K = Array.from({ length: k }, (_, i) => i);
  const D = Array.from({ length: d }, (_, p) => p);
  const M = Array.from({ length: m }, (_, p) => p);
  const row = f.local('i32');
  const fbSum = f.local('f64');
  // parameters, splat into both lanes
  const b = K.map(() => V());
  const c = K.map(() => V());
  const h = K.map(() => V());
  const a = K.map(() => D.map(() => V()));
  const per = 3 + d;
  for (const i of K) {
    f.get(parp).load('v128.load64_splat', 8 * (i * per)).set(b[i]!);
    f.get(parp).load('v128.load64_splat', 8 * (i * per + 1)).set(c[i]!);
    f.get(parp).load('v128.load64_splat', 8 * (i * per + 2)).set(h[i]!);
    for (const p of D) f.get(parp).load('v128.load64_splat', 8 * (i * per + 3 + p)).set(a[i]![p]!);
  }
  // accumulators (zero-initialised locals): Szz lower triangle, Szr, Srr; the log-likelihood parts
  const z = K.map(() => M.map((p) => Array.from({ length: p + 1 }, () => V())));
  const zr = K.map(() => M.map(() => V()));
  const rr = K.map(() => V());
  const maxSum = V();
  const logSum = V();
  const product = V();
  f.f64x2(1).set(product);
  // per-pair values
  const x = D.map(() => V());
  const y = V();
  const e = K.map(() => V());
  const l = K.map(() => V());
  const g = K.map(() => V());
  const pv = K.map(() => V());
  const Mx = V();
  const s = V();
  const mask = V();
  const t = V();
  const wz = M.map(() => V());
  const math = new VecMath(f);

  f.block().loop();
  f.get(pairs).op('i32.eqz').brIf(1);
  // inputs of points row and row + 1
  if (d === 1) f.get(xp).load('v128.load').set(x[0]!);
  else for (const p of D) f.get(xp).get(xp).load('v128.load64_zero', 8 * p).laneMem('v128.load64_lane', 1, 8 * (d + p)).set(x[p]!);
  f.get(yp).load('v128.load').set(y);
  f.f64x2(-Infinity).set(Mx);
  for (const i of K) {
    // e = y - b - a.x ; l = c - e e h ; g ; M = max over g > 0 of l
    f.get(y).get(b[i]!).simd('f64x2.sub');
    for (const p of D) f.get(a[i]![p]!).get(x[p]!).simd('f64x2.mul').simd('f64x2.sub');
    f.set(e[i]!);
    f.get(c[i]!).get(e[i]!).get(e[i]!).simd('f64x2.mul').get(h[i]!).simd('f64x2.mul').simd('f64x2.sub').set(l[i]!);
    f.get(gp).get(gp).load('v128.load64_zero', 8 * i).laneMem('v128.load64_lane', 1, 8 * (k + i)).set(g[i]!);
    f.get(Mx).get(l[i]!).f64x2(-Infinity).get(g[i]!).f64x2(0).simd('f64x2.gt').simd('v128.bitselect').simd('f64x2.pmax').set(Mx);
  }
  // p_i = g_i exp(l_i - M) where g_i > 0, else 0: t_i = l_i - M is -Infinity where g_i = 0 and 0
  // for the largest kept expert (exp(0) = 1, as the JS kernel's shortcut p = g gives)
  for (const i of K) f.get(l[i]!).get(Mx).simd('f64x2.sub').f64x2(-Infinity).get(g[i]!).f64x2(0).simd('f64x2.gt').simd('v128.bitselect').set(pv[i]!);
  // exp(t), its zeros below -745.2 without the polynomial; s = sum g_i exp(t_i)
  math.expAllButMax(pv, [t, s, mask]);
  f.get(g[0]!).get(pv[0]!).simd('f64x2.mul');
  for (const i of K.slice(1)) f.get(g[i]!).get(pv[i]!).simd('f64x2.mul').simd('f64x2.add');
  f.set(s);
  // mask: rows for the fallback (!(s >= SMALL)); their M and s do not enter the sums
  f.get(s).f64x2(SMALL).simd('f64x2.ge').simd('v128.not').set(mask);
  f.get(maxSum).get(Mx).get(mask).simd('v128.andnot').simd('f64x2.add').set(maxSum);
  f.get(product).f64x2(1).get(s).get(mask).simd('v128.bitselect').simd('f64x2.mul').set(product);
  f.get(product).f64x2(PRODUCT_FLUSH).simd('f64x2.lt').simd('v128.any_true').if();
  math.log(product, t);
  f.get(logSum).get(t).simd('f64x2.add').set(logSum);
  f.f64x2(1).set(product);
  f.end();
  // R_i = g_i (exp(t_i) / s), and 0 where that is below 2^-1022 (subnormal; Mx is free here)
  f.f64x2(1).get(s).simd('f64x2.div').set(t);
  for (const i of K) {
    f.get(g[i]!).get(pv[i]!).get(t).simd('f64x2.mul').simd('f64x2.mul').tee(pv[i]!).f64x2(MIN_NORMAL).simd('f64x2.lt').set(Mx);
    f.get(pv[i]!).get(Mx).simd('v128.andnot').set(pv[i]!);
  }
  // the fallback rows (rare): residuals out, log p and R's row back
  f.get(mask).simd('v128.any_true').if();
  for (const lane of [0, 1]) {
    f.get(s).lane('f64x2.extract_lane', lane).f64(SMALL).op('f64.ge').op('i32.eqz').if();
    for (const i of K) f.get(resp).get(e[i]!).lane('f64x2.extract_lane', lane).f64Store(8 * i);
    f.get(fbSum).get(row).i32(lane).op('i32.add').call(fallback).op('f64.add').set(fbSum);
    for (const i of K) f.get(pv[i]!).get(rp).f64Load(8 * (lane * k + i)).lane('f64x2.replace_lane', lane).set(pv[i]!);
    f.end();
  }
  f.end();
  // R and the statistics
  for (const i of K) {
    f.get(rp).get(pv[i]!).laneMem('v128.store64_lane', 0, 8 * i);
    f.get(rp).get(pv[i]!).laneMem('v128.store64_lane', 1, 8 * (k + i));
    const w = pv[i]!;
    for (const p of D) f.get(w).get(x[p]!).simd('f64x2.mul').set(wz[p]!);
    // the JS kernel's products, each computed once: w * x_q (row p = d) is wz_q, w * e is shared
    // by Szr's last entry and Srr = sum (w e) e
    for (const p of M) {
      for (let q = 0; q <= p; q++) {
        const acc = z[i]![p]![q]!;
        f.get(acc);
        if (p < d) f.get(wz[p]!).get(x[q]!).simd('f64x2.mul');
        else f.get(q < d ? wz[q]! : w);
        f.simd('f64x2.add').set(acc);
      }
    }
    for (const p of D) f.get(zr[i]![p]!).get(wz[p]!).get(e[i]!).simd('f64x2.mul').simd('f64x2.add').set(zr[i]![p]!);
    f.get(w).get(e[i]!).simd('f64x2.mul').set(t);
    f.get(zr[i]![d]!).get(t).simd('f64x2.add').set(zr[i]![d]!);
    f.get(rr[i]!).get(t).get(e[i]!).simd('f64x2.mul').simd('f64x2.add').set(rr[i]!);
  }
  if (newton) {
    // the gate's Newton sums from this pair's R (pv) and G (g): logits into l, scratch t and s
    newton.logits(x, l, t);
    newton.accumulate(x, l, g, (i) => pv[i]!, t, s);
  }
  const advance = (ptr: number, bytes: number) => f.get(ptr).i32(bytes).op('i32.add').set(ptr);
  advance(xp, 16 * d);
  advance(yp, 16);
  advance(gp, 16 * k);
  advance(rp, 16 * k);
  advance(row, 2);
  f.get(pairs).i32(1).op('i32.sub').set(pairs);
  f.br(0).end().end();
  // statistics out (lane sums; full symmetric Szz)
  const hsum = (v: number) => f.get(v).lane('f64x2.extract_lane', 0).get(v).lane('f64x2.extract_lane', 1).op('f64.add');
  for (const i of K) {
    const o = i * size;
    for (const p of M) for (const q of M) f.get(statsp), hsum(z[i]![Math.max(p, q)]![Math.min(p, q)]!), f.f64Store(8 * (o + p * m + q));
    for (const p of M) f.get(statsp), hsum(zr[i]![p]!), f.f64Store(8 * (o + m * m + p));
    f.get(statsp), hsum(rr[i]!), f.f64Store(8 * (o + m * m + m));
  }
  math.log(product, t);
  hsum(maxSum);
  hsum(logSum);
  f.op('f64.add');
  hsum(t);
  f.op('f64.add').get(fbSum).op('f64.add');
  if (newton) newton.write(outp, true);
}

/**
 * The compiled E-step module for (k, d), compiled once per process and cached.
 * @example new WebAssembly.Instance(wasmEStepModule(2, 1), { env: { memory, fallback } })
 */
export function wasmEStepModule(k: number, d: number): WebAssembly.Module {
  const key = `${k}x${d}`;
  let module = moduleCache.get(key);
  if (!module) {
    module = new WebAssembly.Module(wasmEStepBytes(k, d));
    moduleCache.set(key, module);
  }
  return module;
}
