/**
 * Generated Newton kernels for gates with linear logits u_i = scale (beta0_i + beta1_i.x) kept on
 * a selected set (all experts, or the top K by beta1.x or by u): softmax, top-K, temperature with
 * tau known. One pass over the points gives, for responsibilities R whose rows sum to 1,
 *   linear = sum_n sum_i R_ni u_ni            (-Infinity if R_ni > 0 for a dropped expert)
 *   lseSum = sum_n log sum_{j kept} exp(u_nj)  (so Q = linear - lseSum)
 *   grad   = dQ/dtheta = scale sum_n (R_ni - G_ni) z_n,       z = (1, x)
 *   H      = -scale^2 sum_n (G_ni delta_ij - G_ni G_nj) z z'
 * Variants: 'evaluate' computes the weights G at theta (writing them), 'fromWeights' reads G
 * computed earlier at the same theta and skips every exponential (then lseSum is not computed),
 * 'weights' only writes G (and lseSum), 'trial' is 'evaluate' without the gradient and Hessian
 * (G, linear and lseSum: what a Newton trial point needs when no further step will use its
 * derivatives; grad and H are left untouched).
 * Unrolled over k and d for speed (see backend/estep-kernel.ts for why); the plain-loop gate
 * methods (objective, hessian) are the reference the tests compare against.
 */

/** What a Newton pass computes: see the module comment. */
export type NewtonVariant = 'evaluate' | 'fromWeights' | 'weights' | 'trial';

/**
 * Whether a variant computes the gradient and Hessian ('evaluate', 'fromWeights'; not 'weights'
 * or 'trial').
 * @example newtonDerivatives('trial') // => false
 */
export function newtonDerivatives(variant: NewtonVariant): boolean {
  return variant === 'evaluate' || variant === 'fromWeights';
}

export interface NewtonPass {
  linear: number;
  lseSum: number;
}

export type NewtonKernel = (
  theta: Float64Array,
  X: Float64Array,
  n: number,
  R: Float64Array,
  G: Float64Array,
  grad: Float64Array,
  H: Float64Array,
  scale: number,
) => NewtonPass;

const cache = new Map<string, NewtonKernel>();

/**
 * The kernel for k experts in dimension d keeping the top K (K = k: all) ranked by 'slope'
 * (beta1.x) or 'logit' (u).
 */
export function newtonKernel(k: number, d: number, K: number, rankBy: 'slope' | 'logit', variant: NewtonVariant): NewtonKernel {
  const key = `${k}x${d}:${K}:${rankBy}:${variant}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = generatedLocals(k, d, variant) <= MAX_GENERATED_LOCALS
      ? (new Function('theta', 'X', 'n', 'R', 'G', 'grad', 'H', 'scale', newtonSource(k, d, K, rankBy, variant)) as NewtonKernel)
      : newtonLoop(k, d, K, rankBy, variant);
    cache.set(key, kernel);
  }
  return kernel;
}

/**
 * The most scalar locals a generated kernel may declare. V8 keeps each in the function's stack
 * frame: about 90 000 overflow the stack (k = 250 experts in d = 1 for the Hessian accumulators),
 * so larger (k, d) run the plain-loop kernel (newtonLoop), which computes the same numbers in the
 * same order, bit for bit. Unrolling pays off for small k only, where the limit is far away.
 */
export const MAX_GENERATED_LOCALS = 4096;

/** The scalar locals newtonSource(k, d, ...) declares (parameters, gradient and Hessian accumulators, per-point values). */
export function generatedLocals(k: number, d: number, variant: NewtonVariant): number {
  const m = d + 1;
  const accumulators = !newtonDerivatives(variant) ? 0 : ((k * (k + 1)) / 2) * ((m * (m + 1)) / 2) + k * m;
  return accumulators + k * (d + 1) + k * 8 + d + 16;
}

/**
 * The Newton kernel as plain loops over k and d: exactly the arithmetic of newtonSource (same
 * formulas, same order of floating-point operations), for any k and d.
 */
export function newtonLoop(k: number, d: number, K: number, rankBy: 'slope' | 'logit', variant: NewtonVariant): NewtonKernel {
  const m = d + 1;
  const P = k + k * d;
  const tri = (m * (m + 1)) / 2; // (a, b) with a <= b, row by row
  const pairs = (k * (k + 1)) / 2; // (i, j) with i <= j, row by row
  const v = new Float64Array(k);
  const u = new Float64Array(k);
  const keep = new Uint8Array(k);
  const g = new Float64Array(k);
  const x = new Float64Array(d);
  const gb = new Float64Array(k * m);
  const derivatives = newtonDerivatives(variant);
  const h = derivatives ? new Float64Array(pairs * tri) : new Float64Array(0);
  const idx = (i: number, a: number) => (a === 0 ? i : k + i * d + (a - 1));
  const triIndex = (a: number, b: number) => a * m - (a * (a - 1)) / 2 + (b - a);
  return (theta, X, n, R, G, grad, H, scale) => {
    gb.fill(0);
    h.fill(0);
    let linear = 0;
    let maxSum = 0;
    let logSum = 0;
    let product = 1;
    for (let r = 0; r < n; r++) {
      const o = r * k;
      for (let p = 0; p < d; p++) x[p] = X[r * d + p]!;
      for (let i = 0; i < k; i++) {
        let slope = theta[k + i * d]! * x[0]!;
        for (let p = 1; p < d; p++) slope += theta[k + i * d + p]! * x[p]!;
        v[i] = slope;
        u[i] = scale * (theta[i]! + slope);
      }
      if (K < k) {
        const score = rankBy === 'slope' ? v : u;
        for (let i = 0; i < k; i++) {
          let beaten = 0;
          for (let j = 0; j < k; j++) {
            if (j === i) continue;
            if (j < i ? score[j]! >= score[i]! : score[j]! > score[i]!) beaten++;
          }
          keep[i] = beaten < K ? 1 : 0;
        }
      } else keep.fill(1);
      if (variant !== 'fromWeights') {
        let mx = -Infinity;
        let best = -1;
        for (let i = 0; i < k; i++) {
          if (keep[i] && u[i]! > mx) {
            mx = u[i]!;
            best = i;
          }
        }
        let S = 0;
        for (let i = 0; i < k; i++) {
          g[i] = keep[i] ? (best === i ? 1 : Math.exp(u[i]! - mx)) : 0;
          S = i === 0 ? g[0]! : S + g[i]!;
        }
        maxSum += mx;
        product *= S;
        if (product > 1e280) {
          logSum += Math.log(product);
          product = 1;
        }
        const inv = 1 / S;
        for (let i = 0; i < k; i++) {
          g[i] = g[i]! * inv;
          G[o + i] = g[i]!;
        }
        if (variant === 'weights') continue;
      } else {
        for (let i = 0; i < k; i++) g[i] = G[o + i]!;
      }
      for (let i = 0; i < k; i++) {
        const w = R[o + i]!;
        if (w > 0) linear += keep[i] ? w * u[i]! : -Infinity;
        if (!derivatives) continue;
        const D = w - g[i]!;
        gb[i * m] = gb[i * m]! + D;
        for (let p = 0; p < d; p++) gb[i * m + p + 1] = gb[i * m + p + 1]! + D * x[p]!;
      }
      if (!derivatives) continue;
      let pair = 0;
      for (let i = 0; i < k; i++) {
        const gi = g[i]!;
        for (let j = i; j < k; j++, pair++) {
          const c = i === j ? gi - gi * gi : -gi * g[j]!;
          const base = pair * tri;
          let t = 0;
          for (let a = 0; a < m; a++) {
            for (let b = a; b < m; b++, t++) {
              // c * z_a * z_b with z_0 = 1 left out, as the generated code writes it
              const term = a === 0 ? (b === 0 ? c : c * x[b - 1]!) : c * x[a - 1]! * x[b - 1]!;
              h[base + t] = h[base + t]! + term;
            }
          }
        }
      }
    }
    const lseSum = maxSum + logSum + Math.log(product);
    if (variant === 'weights') return { linear: NaN, lseSum };
    if (variant === 'trial') return { linear, lseSum };
    for (let i = 0; i < k; i++) for (let a = 0; a < m; a++) grad[idx(i, a)] = scale * gb[i * m + a]!;
    const s2 = -scale * scale;
    let pair = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++, pair++) {
        const base = pair * tri;
        for (let a = 0; a < m; a++) {
          for (let b = 0; b < m; b++) {
            const value = s2 * h[base + triIndex(Math.min(a, b), Math.max(a, b))]!;
            H[idx(i, a) * P + idx(j, b)] = value;
            H[idx(j, b) * P + idx(i, a)] = value;
          }
        }
      }
    }
    return variant === 'evaluate' ? { linear, lseSum } : { linear, lseSum: NaN };
  };
}

const range = (m: number) => Array.from({ length: m }, (_, i) => i);

export function newtonSource(k: number, d: number, K: number, rankBy: 'slope' | 'logit', variant: NewtonVariant): string {
  const m = d + 1;
  const P = k + k * d;
  const Ks = range(k);
  const Ds = range(d);
  const Ms = range(m);
  const lines: string[] = [];
  const add = (s: string) => lines.push(s);
  const z = (a: number) => (a === 0 ? '1' : `x${a - 1}`);
  const idx = (i: number, a: number) => (a === 0 ? i : k + i * d + (a - 1));
  const accumulate = newtonDerivatives(variant);
  for (const i of Ks) {
    add(`const t${i} = theta[${i}];`);
    for (const p of Ds) add(`const s${i}_${p} = theta[${k + i * d + p}];`);
    if (!accumulate) continue;
    add(`let gb${i}_0 = 0;`);
    for (const p of Ds) add(`let gb${i}_${p + 1} = 0;`);
  }
  // Hessian accumulators per pair i <= j and a <= b (z z' is symmetric)
  if (accumulate) for (const i of Ks) for (const j of Ks.filter((j) => j >= i)) for (const a of Ms) for (const b of Ms.filter((b) => b >= a)) add(`let h${i}_${j}_${a}_${b} = 0;`);
  add('let linear = 0, maxSum = 0, logSum = 0, product = 1;');
  add('for (let r = 0; r < n; r++) {');
  add(`  const o = r * ${k};`);
  for (const p of Ds) add(`  const x${p} = X[r * ${d} + ${p}];`);
  for (const i of Ks) {
    const slope = Ds.map((p) => `s${i}_${p} * x${p}`).join(' + ') || '0';
    add(`  const v${i} = ${slope};`);
    add(`  const u${i} = scale * (t${i} + v${i});`);
  }
  // selection
  if (K < k) {
    const score = (i: number) => (rankBy === 'slope' ? `v${i}` : `u${i}`);
    for (const i of Ks) {
      const beats = Ks.filter((j) => j !== i).map((j) => (j < i ? `(${score(j)} >= ${score(i)} ? 1 : 0)` : `(${score(j)} > ${score(i)} ? 1 : 0)`));
      add(`  const keep${i} = (${beats.join(' + ')}) < ${K};`);
    }
  } else for (const i of Ks) add(`  const keep${i} = true;`);
  if (variant !== 'fromWeights') {
    add('  let mx = -Infinity, best = -1;');
    for (const i of Ks) add(`  if (keep${i} && u${i} > mx) { mx = u${i}; best = ${i}; }`);
    for (const i of Ks) add(`  let g${i} = keep${i} ? (best === ${i} ? 1 : Math.exp(u${i} - mx)) : 0;`);
    add(`  const S = ${Ks.map((i) => `g${i}`).join(' + ')};`);
    add('  maxSum += mx; product *= S;');
    add('  if (product > 1e280) { logSum += Math.log(product); product = 1; }');
    add('  const inv = 1 / S;');
    for (const i of Ks) add(`  g${i} *= inv; G[o + ${i}] = g${i};`);
    if (variant === 'weights') {
      add('}');
      add('return { linear: NaN, lseSum: maxSum + logSum + Math.log(product) };');
      return lines.join('\n');
    }
  } else {
    for (const i of Ks) add(`  const g${i} = G[o + ${i}];`);
  }
  for (const i of Ks) {
    add(`  const w${i} = R[o + ${i}];`);
    add(`  if (w${i} > 0) linear += keep${i} ? w${i} * u${i} : -Infinity;`);
  }
  if (!accumulate) {
    add('}');
    add('return { linear, lseSum: maxSum + logSum + Math.log(product) };');
    return lines.join('\n');
  }
  for (const i of Ks) {
    add(`  const D${i} = w${i} - g${i};`);
    add(`  gb${i}_0 += D${i};`);
    for (const p of Ds) add(`  gb${i}_${p + 1} += D${i} * x${p};`);
  }
  for (const i of Ks) {
    for (const j of Ks.filter((j) => j >= i)) {
      add(`  { const c = ${i === j ? `g${i} - g${i} * g${i}` : `-g${i} * g${j}`};`);
      for (const a of Ms) for (const b of Ms.filter((b) => b >= a)) {
        const term = [z(a), z(b)].filter((t) => t !== '1');
        add(`    h${i}_${j}_${a}_${b} += c${term.map((t) => ` * ${t}`).join('')};`);
      }
      add('  }');
    }
  }
  add('}');
  for (const i of Ks) for (const a of Ms) add(`grad[${idx(i, a)}] = scale * gb${i}_${a};`);
  add('const s2 = -scale * scale;');
  for (const i of Ks) {
    for (const j of Ks.filter((j) => j >= i)) {
      for (const a of Ms) {
        for (const b of Ms) {
          const acc = `h${i}_${j}_${Math.min(a, b)}_${Math.max(a, b)}`;
          add(`H[${idx(i, a) * P + idx(j, b)}] = s2 * ${acc};`);
          add(`H[${idx(j, b) * P + idx(i, a)}] = s2 * ${acc};`);
        }
      }
    }
  }
  add(variant === 'evaluate' ? 'return { linear, lseSum: maxSum + logSum + Math.log(product) };' : 'return { linear, lseSum: NaN };');
  return lines.join('\n');
}
