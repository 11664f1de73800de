/**
 * The sums of the stopping certificate (fitting/certificate.ts) in WebAssembly SIMD128, for gates
 * with linear logits keeping every expert and tau known, generated per (k, d, free gate
 * coordinates): with z = (1, x) for the gate and the residuals r_ni = y_n - a_i.x_n - b_i at the
 * current parameters, per point n the score over v = (free gate coordinates, a, b, log nu),
 *   gate (i, c):  s = (R_ni - G_ni) scale z_c          (0 where G_ni = 0, as Gate.pointScores)
 *   a_ip:         s = (R_ni r_ni / nu_i) x_p,   b_i: s = R_ni r_ni / nu_i
 *   log nu_i:     s = R_ni (r_ni^2 / (2 nu_i) - 1/2)
 * and g = sum_n s_n, J = sum_n s_n s_n' (upper triangle), two points per instruction. The same
 * formulas and per-point operation order as certificate.ts's loop (the reference); the sums run in
 * two lanes (even and odd points). Memory: wasm-workspace.ts.
 */
import { FunctionBuilder, ModuleBuilder } from './wasm-asm.js';

/**
 * The length P of the score vector: the free gate coordinates, then k (d + 2) expert ones
 * (a: k d, b: k, log nu: k), the MLE packing of fitting/mle.ts.
 * @example scoreLength(3, 1, Int32Array.of(0, 1, 3, 4)) // => 13
 */
export function scoreLength(k: number, d: number, free: ArrayLike<number>): number {
  return free.length + k * (d + 2);
}

/**
 * Whether (k, d, free) gets a generated module: P (P + 3) / 2 + 4k + d + 16 v128 locals (J's upper
 * triangle, g, s, per-point values) at most 2000, P = scoreLength(k, d, free).
 * @example wasmScoreSupported(3, 1, Int32Array.of(0, 1, 3, 4)) // => true
 */
export function wasmScoreSupported(k: number, d: number, free: ArrayLike<number>): boolean {
  const P = scoreLength(k, d, free);
  return (P * (P + 3)) / 2 + 4 * k + d + 16 <= 2000;
}

const cache = new Map<string, WebAssembly.Module>();

/**
 * The module for (k, d, free): export `score(pairs, xp, yp, rp, gp, parp, outp, scale)`; parp
 * holds per expert (b, nu, a_0..a_(d-1)), outp receives g (P) then J (P x P, upper triangle).
 */
export function wasmScoreModule(k: number, d: number, free: ArrayLike<number>): WebAssembly.Module {
  const key = `${k}x${d}:${Array.from(free).join(',')}`;
  let module = cache.get(key);
  if (!module) {
    module = new WebAssembly.Module(wasmScoreBytes(k, d, free));
    cache.set(key, module);
  }
  return module;
}

/**
 * The module bytes for (k, d, free) (a pure function of them): see wasmScoreModule.
 * @param free the free gate coordinates in theta's order (beta0: 0..k-1, beta1 of expert i, input p: k + i d + p)
 * @example WebAssembly.validate(wasmScoreBytes(2, 1, Int32Array.of(0, 2))) // => true
 */
export function wasmScoreBytes(k: number, d: number, free: ArrayLike<number>): Uint8Array {
  const F = free.length;
  const P = scoreLength(k, d, free);
  const mod = new ModuleBuilder();
  const f = mod.define('score', new FunctionBuilder(['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f64'], []));
  const [pairs, xp, yp, rp, gp, parp, outp, scaleArg] = [0, 1, 2, 3, 4, 5, 6, 7];
  const V = () => f.local('v128');
  const K = Array.from({ length: k }, (_, i) => i);
  const D = Array.from({ length: d }, (_, p) => p);
  const per = 2 + d;
  const scale = V();
  f.get(scaleArg).simd('f64x2.splat').set(scale);
  const b = K.map(() => V());
  const nu = K.map(() => V());
  const twoNu = K.map(() => V());
  const a = K.map(() => D.map(() => V()));
  for (const i of K) {
    f.get(parp).load('v128.load64_splat', 8 * (i * per)).set(b[i]!);
    f.get(parp).load('v128.load64_splat', 8 * (i * per + 1)).tee(nu[i]!).f64x2(2).simd('f64x2.mul').set(twoNu[i]!);
    for (const p of D) f.get(parp).load('v128.load64_splat', 8 * (i * per + 2 + p)).set(a[i]![p]!);
  }
  const gAcc = Array.from({ length: P }, () => V());
  const JAcc = Array.from({ length: P }, (_, u) => Array.from({ length: P - u }, () => V()));
  const s = Array.from({ length: P }, () => V());
  const x = D.map(() => V());
  const y = V();
  const w = K.map(() => V());
  const dg = K.map(() => V()); // (R - G) where G != 0, else 0
  const tmp = V();
  const c = V();

  f.block().loop();
  f.get(pairs).op('i32.eqz').brIf(1);
  if (d === 1) f.get(xp).load('v128.load').set(x[0]!);
  else for (const p of D) f.get(xp).get(xp).load('v128.load64_zero', 8 * p).laneMem('v128.load64_lane', 1, 8 * (d + p)).set(x[p]!);
  f.get(yp).load('v128.load').set(y);
  for (const i of K) {
    f.get(rp).get(rp).load('v128.load64_zero', 8 * i).laneMem('v128.load64_lane', 1, 8 * (k + i)).set(w[i]!);
    f.get(gp).get(gp).load('v128.load64_zero', 8 * i).laneMem('v128.load64_lane', 1, 8 * (k + i)).tee(tmp);
    f.get(w[i]!).get(tmp).simd('f64x2.sub').get(tmp).f64x2(0).simd('f64x2.ne').simd('v128.and').set(dg[i]!);
  }
  // gate coordinates: j < k is beta0_j (z = 1), else beta1 of expert (j - k) / d, input (j - k) % d
  for (let t = 0; t < F; t++) {
    const j = free[t]!;
    const i = j < k ? j : Math.floor((j - k) / d);
    f.get(dg[i]!);
    if (j < k) f.get(scale);
    else f.get(x[(j - k) % d]!).get(scale).simd('f64x2.mul');
    f.simd('f64x2.mul').set(s[t]!);
  }
  // experts: c = (w r) / nu; a: c x_p; b: c; log nu: w (r^2 / (2 nu) - 1/2)
  const offB = F + k * d;
  const offNu = offB + k;
  for (const i of K) {
    f.get(b[i]!);
    for (const p of D) f.get(a[i]![p]!).get(x[p]!).simd('f64x2.mul').simd('f64x2.add');
    f.set(tmp); // mean
    f.get(y).get(tmp).simd('f64x2.sub').set(tmp); // r
    f.get(w[i]!).get(tmp).simd('f64x2.mul').get(nu[i]!).simd('f64x2.div').set(c);
    for (const p of D) f.get(c).get(x[p]!).simd('f64x2.mul').set(s[F + i * d + p]!);
    f.get(c).set(s[offB + i]!);
    f.get(w[i]!).get(tmp).get(tmp).simd('f64x2.mul').get(twoNu[i]!).simd('f64x2.div').f64x2(0.5).simd('f64x2.sub').simd('f64x2.mul').set(s[offNu + i]!);
  }
  for (let u = 0; u < P; u++) {
    f.get(gAcc[u]!).get(s[u]!).simd('f64x2.add').set(gAcc[u]!);
    for (let v = u; v < P; v++) {
      const acc = JAcc[u]![v - u]!;
      f.get(acc).get(s[u]!).get(s[v]!).simd('f64x2.mul').simd('f64x2.add').set(acc);
    }
  }
  const advance = (ptr: number, bytes: number) => f.get(ptr).i32(bytes).op('i32.add').set(ptr);
  advance(xp, 16 * d);
  advance(yp, 16);
  advance(rp, 16 * k);
  advance(gp, 16 * k);
  f.get(pairs).i32(1).op('i32.sub').set(pairs);
  f.br(0).end().end();
  const hsum = (v: number) => f.get(v).lane('f64x2.extract_lane', 0).get(v).lane('f64x2.extract_lane', 1).op('f64.add');
  for (let u = 0; u < P; u++) {
    f.get(outp);
    hsum(gAcc[u]!);
    f.f64Store(8 * u);
    for (let v = u; v < P; v++) {
      f.get(outp);
      hsum(JAcc[u]![v - u]!);
      f.f64Store(8 * (P + u * P + v));
    }
  }
  return mod.encode();
}
