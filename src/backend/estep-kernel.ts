/**
 * Generated E-step kernels, unrolled over the k experts and d inputs with scalar locals.
 *
 * Why generate code: V8 runs a loop over k = 2..4 experts inside the loop over points several
 * times slower than the same arithmetic written out (measured 6.8 ms against 2.9 ms per 1e5
 * points at k = 2). The generated function computes exactly what CpuBackend's reference loop
 * computes (same formulas, same order of floating-point operations per expert), and the tests
 * compare the two. Kernels are cached per (k, d). Above MAX_GENERATED_LOCALS scalar locals (see
 * eStepLocals; about k = 240 experts in d = 1) the generated function would overflow V8's stack
 * (it did at about k = 8000, d = 1), so larger (k, d) run eStepLoop: the same arithmetic as plain
 * loops over k and d, bit for bit the generated kernel's numbers.
 *
 * Kernel contract (all Float64Array; stats layout of experts/gaussian-linear.ts):
 *   kernel(n, X, Y, G, A, B, C, H, R, stats, fallback) -> L
 *   C_i = -0.5 log(2 pi nu_i), H_i = 0.5 / nu_i; `fallback(r)` returns the row's log p computed
 *   in log space and fills R for that row (rare rows whose sum would underflow).
 */
import { MAX_GENERATED_LOCALS } from '../gates/linear-kernel.js';

export type EStepKernel = (
  n: number,
  X: Float64Array,
  Y: Float64Array,
  G: Float64Array,
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  H: Float64Array,
  R: Float64Array,
  stats: Float64Array,
  fallback: (row: number, residuals: Float64Array) => number,
) => number;

const cache = new Map<string, EStepKernel>();

/**
 * The running product of the row sums s is flushed to a log sum once it falls below this: a
 * product kept >= 1e-20 times a sum s >= 1e-280 (smaller ones take the fallback) stays >= 1e-300,
 * a normal float64, so it never rounds to a subnormal or 0 (with a flush threshold of 1e-280
 * two consecutive rows with s near 1e-280 gave L = -Infinity). A flush costs one log per
 * about 46 / |log s| points.
 */
export const PRODUCT_FLUSH = 1e-20;

/**
 * The most scalar locals a generated E-step kernel may declare: the gate kernels' limit
 * (gates/linear-kernel.ts), far above the small k where unrolling pays off.
 */
export const MAX_ESTEP_LOCALS = MAX_GENERATED_LOCALS;

/**
 * The scalar locals eStepSource(k, d) declares: per expert the parameters (b, c, h, a_p), the
 * accumulators (Szz lower triangle, Szr, Srr), the per-point values (e, l, g, p) and the block
 * locals (t, w, wz_p); per point x_p; a few more.
 */
export function eStepLocals(k: number, d: number): number {
  const m = d + 1;
  return k * (3 + d) + k * ((m * (m + 1)) / 2 + m + 1) + k * (6 + m) + d + 16;
}

/** The E-step kernel for k experts in dimension d (generated once, or the loop kernel for large k and d; then cached). */
export function eStepKernel(k: number, d: number): EStepKernel {
  const key = `${k}x${d}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel =
      eStepLocals(k, d) <= MAX_ESTEP_LOCALS
        ? (new Function('n', 'X', 'Y', 'G', 'A', 'B', 'C', 'H', 'R', 'stats', 'fallback', eStepSource(k, d)) as EStepKernel)
        : eStepLoop(k, d);
    cache.set(key, kernel);
  }
  return kernel;
}

/**
 * The E-step kernel as plain loops over k and d, for any (k, d): exactly the arithmetic of
 * eStepSource (same formulas, same order of floating-point operations), so its numbers are the
 * generated kernel's bit for bit. The scalar locals of the generated code become arrays.
 */
export function eStepLoop(k: number, d: number): EStepKernel {
  const m = d + 1;
  const tri = (m * (m + 1)) / 2; // lower triangle of Szz incl. the constant column, row p: q = 0..p
  const size = m * m + m + 1;
  return (n, X, Y, G, A, B, C, H, R, stats, fallback) => {
    const Z = new Float64Array(k * tri);
    const ZR = new Float64Array(k * m);
    const RR = new Float64Array(k);
    const e = new Float64Array(k);
    const l = new Float64Array(k);
    const g = new Float64Array(k);
    const P = new Float64Array(k);
    const x = new Float64Array(d);
    const wz = new Float64Array(m);
    let maxSum = 0, logSum = 0, product = 1;
    const residuals = new Float64Array(k);
    for (let r = 0; r < n; r++) {
      const o = r * k;
      for (let p = 0; p < d; p++) x[p] = X[r * d + p]!;
      const y = Y[r]!;
      for (let i = 0; i < k; i++) {
        let ei = y - B[i]!;
        for (let p = 0; p < d; p++) ei = ei - A[i * d + p]! * x[p]!;
        e[i] = ei;
        l[i] = C[i]! - ei * ei * H[i]!;
        g[i] = G[o + i]!;
      }
      let M = -Infinity, best = -1;
      for (let i = 0; i < k; i++) {
        if (g[i]! > 0 && l[i]! > M) {
          M = l[i]!;
          best = i;
        }
      }
      for (let i = 0; i < k; i++) {
        let pi = 0;
        const gi = g[i]!;
        if (gi > 0) {
          if (best === i) pi = gi;
          else {
            const t = l[i]! - M;
            if (t > -745.2) pi = gi * Math.exp(t);
          }
        }
        P[i] = pi;
      }
      // s = p0 + p1 + ... (0 + p0 is p0: every p_i is +0 or positive)
      let s = P[0]!;
      for (let i = 1; i < k; i++) s = s + P[i]!;
      if (s >= 1e-280) {
        maxSum += M;
        product *= s;
        if (product < PRODUCT_FLUSH) {
          logSum += Math.log(product);
          product = 1;
        }
        const inv = 1 / s;
        for (let i = 0; i < k; i++) P[i] = P[i]! * inv;
      } else {
        for (let i = 0; i < k; i++) residuals[i] = e[i]!;
        maxSum += fallback(r, residuals);
        for (let i = 0; i < k; i++) P[i] = R[o + i]!;
      }
      for (let i = 0; i < k; i++) {
        const w = P[i]!;
        R[o + i] = w;
        if (w !== 0) {
          const ei = e[i]!;
          for (let p = 0; p < d; p++) wz[p] = w * x[p]!;
          wz[d] = w;
          const zo = i * tri;
          for (let p = 0, t = 0; p < m; p++) {
            // z(q) = x_q for q < d, 1 for q = d (only in row p = d)
            for (let q = 0; q <= p; q++, t++) Z[zo + t] = Z[zo + t]! + (q < d ? wz[p]! * x[q]! : wz[p]!);
          }
          for (let p = 0; p < m; p++) ZR[i * m + p] = ZR[i * m + p]! + wz[p]! * ei;
          RR[i] = RR[i]! + w * ei * ei;
        }
      }
    }
    // write the statistics (full symmetric Szz)
    for (let i = 0; i < k; i++) {
      const o = i * size;
      for (let p = 0; p < m; p++) {
        for (let q = 0; q < m; q++) {
          const hi = Math.max(p, q);
          const lo = Math.min(p, q);
          stats[o + p * m + q] = Z[i * tri + (hi * (hi + 1)) / 2 + lo]!;
        }
      }
      for (let p = 0; p < m; p++) stats[o + m * m + p] = ZR[i * m + p]!;
      stats[o + m * m + m] = RR[i]!;
    }
    return maxSum + logSum + Math.log(product);
  };
}

const range = (m: number) => Array.from({ length: m }, (_, i) => i);

/** Source of the kernel body (exported for inspection in tests). */
export function eStepSource(k: number, d: number): string {
  const m = d + 1;
  const size = m * m + m + 1;
  const K = range(k);
  const D = range(d);
  const lines: string[] = [];
  const add = (s: string) => lines.push(s);
  // parameters into locals
  for (const i of K) {
    add(`const b${i} = B[${i}], c${i} = C[${i}], h${i} = H[${i}];`);
    for (const p of D) add(`const a${i}_${p} = A[${i * d + p}];`);
  }
  // accumulators: Szz lower triangle incl. the constant column, Szr, Srr
  for (const i of K) {
    for (const p of range(m)) for (const q of range(p + 1)) add(`let z${i}_${p}_${q} = 0;`);
    for (const p of range(m)) add(`let zr${i}_${p} = 0;`);
    add(`let rr${i} = 0;`);
  }
  add('let maxSum = 0, logSum = 0, product = 1;');
  add(`const residuals = new Float64Array(${k});`);
  add('for (let r = 0; r < n; r++) {');
  add(`  const o = r * ${k};`);
  for (const p of D) add(`  const x${p} = X[r * ${d} + ${p}];`);
  add('  const y = Y[r];');
  for (const i of K) {
    const dot = D.map((p) => ` - a${i}_${p} * x${p}`).join('');
    add(`  const e${i} = y - b${i}${dot};`);
    add(`  const l${i} = c${i} - e${i} * e${i} * h${i};`);
    add(`  const g${i} = G[o + ${i}];`);
  }
  // M = max over the kept experts (g_i > 0) of l_i; exp only for the others
  add('  let M = -Infinity, best = -1;');
  for (const i of K) add(`  if (g${i} > 0 && l${i} > M) { M = l${i}; best = ${i}; }`);
  for (const i of K) {
    add(`  let p${i} = 0;`);
    add(`  if (g${i} > 0) { if (best === ${i}) p${i} = g${i}; else { const t = l${i} - M; if (t > -745.2) p${i} = g${i} * Math.exp(t); } }`);
  }
  add(`  const s = ${K.map((i) => `p${i}`).join(' + ')};`);
  add(`  if (s >= 1e-280) {`);
  add('    maxSum += M; product *= s;');
  add(`    if (product < ${PRODUCT_FLUSH}) { logSum += Math.log(product); product = 1; }`);
  add('    const inv = 1 / s;');
  for (const i of K) add(`    p${i} *= inv;`);
  add('  } else {');
  for (const i of K) add(`    residuals[${i}] = e${i};`);
  add('    maxSum += fallback(r, residuals);');
  for (const i of K) add(`    p${i} = R[o + ${i}];`);
  add('  }');
  for (const i of K) {
    add(`  R[o + ${i}] = p${i};`);
    add(`  if (p${i} !== 0) {`);
    add(`    const w = p${i};`);
    // z = (x_0..x_{d-1}, 1)
    const z = (p: number) => (p < d ? `x${p}` : '1');
    for (const p of range(m)) {
      add(`    const wz${p} = ${p < d ? `w * x${p}` : 'w'};`);
    }
    for (const p of range(m)) for (const q of range(p + 1)) add(`    z${i}_${p}_${q} += wz${p}${z(q) === '1' ? '' : ` * ${z(q)}`};`);
    for (const p of range(m)) add(`    zr${i}_${p} += wz${p} * e${i};`);
    add(`    rr${i} += w * e${i} * e${i};`);
    add('  }');
  }
  add('}');
  // write the statistics (full symmetric Szz)
  for (const i of K) {
    const o = i * size;
    for (const p of range(m))
      for (const q of range(m)) add(`stats[${o + p * m + q}] = z${i}_${Math.max(p, q)}_${Math.min(p, q)};`);
    for (const p of range(m)) add(`stats[${o + m * m + p}] = zr${i}_${p};`);
    add(`stats[${o + m * m + m}] = rr${i};`);
  }
  add('return maxSum + logSum + Math.log(product);');
  return lines.join('\n');
}
