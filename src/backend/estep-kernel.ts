/**
 * Generated E-step kernels, unrolled over the k experts and d inputs with scalar locals.
 *
 * Why generate code: V8 runs a loop over k = 2..4 experts inside the loop over points several
 * times slower than the same arithmetic written out (measured 6.8 ms against 2.9 ms per 1e5
 * points at k = 2). The generated function computes exactly what CpuBackend's reference loop
 * computes (same formulas, same order of floating-point operations per expert), and the tests
 * compare the two. Kernels are cached per (k, d).
 *
 * Kernel contract (all Float64Array; stats layout of experts/gaussian-linear.ts):
 *   kernel(n, X, Y, G, A, B, C, H, R, stats, fallback) -> L
 *   C_i = -0.5 log(2 pi nu_i), H_i = 0.5 / nu_i; `fallback(r)` returns the row's log p computed
 *   in log space and fills R for that row (rare rows whose sum would underflow).
 */

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

/** The E-step kernel for k experts in dimension d (generated once, then cached). */
export function eStepKernel(k: number, d: number): EStepKernel {
  const key = `${k}x${d}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = new Function('n', 'X', 'Y', 'G', 'A', 'B', 'C', 'H', 'R', 'stats', 'fallback', eStepSource(k, d)) as EStepKernel;
    cache.set(key, kernel);
  }
  return kernel;
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
  add('    if (product < 1e-280) { logSum += Math.log(product); product = 1; }');
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
