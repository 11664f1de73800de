/**
 * Kernels for gates whose logits are linear in (beta0, beta1), scaled by 1/tau:
 *   u_i(x) = (beta0_i + beta1_i.x) / tau.
 * Softmax (tau = 1), top-K (tau = 1, then masked) and temperature gates share them.
 */

/** U_ni = scale * (beta0_i + beta1_i . x_n). */
export function linearLogits(
  theta: Float64Array,
  X: Float64Array,
  n: number,
  k: number,
  d: number,
  scale: number,
  U: Float64Array,
): void {
  if (d === 1) {
    for (let r = 0; r < n; r++) {
      const x = X[r]!;
      const o = r * k;
      for (let i = 0; i < k; i++) U[o + i] = scale * (theta[i]! + theta[k + i]! * x);
    }
    return;
  }
  for (let r = 0; r < n; r++) {
    const xo = r * d;
    const o = r * k;
    for (let i = 0; i < k; i++) {
      let s = theta[i]!;
      const bo = k + i * d;
      for (let p = 0; p < d; p++) s += theta[bo + p]! * X[xo + p]!;
      U[o + i] = scale * s;
    }
  }
}

/**
 * grad += dQ/dtheta from D_ni = dQ/du_ni for linear logits:
 *   dQ/dbeta0_i = scale sum_n D_ni,  dQ/dbeta1_i = scale sum_n D_ni x_n,
 *   dQ/dlog tau = -sum_n sum_i D_ni u_ni   (only when logTauIndex >= 0).
 */
export function linearChain(
  theta: Float64Array,
  X: Float64Array,
  n: number,
  k: number,
  d: number,
  scale: number,
  D: Float64Array,
  grad: Float64Array,
  logTauIndex: number,
): void {
  for (let r = 0; r < n; r++) {
    const xo = r * d;
    const o = r * k;
    for (let i = 0; i < k; i++) {
      const g = D[o + i]!;
      if (g === 0) continue;
      grad[i] = grad[i]! + scale * g;
      const bo = k + i * d;
      let s = theta[i]!;
      for (let p = 0; p < d; p++) {
        const x = X[xo + p]!;
        grad[bo + p] = grad[bo + p]! + scale * g * x;
        s += theta[bo + p]! * x;
      }
      if (logTauIndex >= 0) grad[logTauIndex] = grad[logTauIndex]! - g * scale * s;
    }
  }
}

/**
 * Hessian of Q for linear logits with responsibilities summing to 1 per point:
 *   H[(i,a),(j,b)] = -scale^2 sum_n (G_ni delta_ij - G_ni G_nj) z_na z_nb,   z_n = (1, x_n).
 * Index of (i, a): a = 0 -> i (beta0_i); a = p + 1 -> k + i d + p (beta1_i,p). tau is not included.
 */
export function linearHessian(
  X: Float64Array,
  n: number,
  k: number,
  d: number,
  scale: number,
  G: Float64Array,
  H: Float64Array,
  nParams: number,
): void {
  H.fill(0);
  const m = d + 1;
  // per pair (i <= j), accumulate sum_n c_nij z z' in a (d+1)^2 block
  const acc = new Float64Array(((k * (k + 1)) / 2) * m * m);
  const z = new Float64Array(m);
  z[0] = 1;
  for (let r = 0; r < n; r++) {
    for (let p = 0; p < d; p++) z[p + 1] = X[r * d + p]!;
    const o = r * k;
    let pair = 0;
    for (let i = 0; i < k; i++) {
      const gi = G[o + i]!;
      for (let j = i; j < k; j++, pair++) {
        const c = i === j ? gi - gi * gi : -gi * G[o + j]!;
        if (c === 0) continue;
        const base = pair * m * m;
        for (let a = 0; a < m; a++) {
          const ca = c * z[a]!;
          for (let b = 0; b < m; b++) acc[base + a * m + b] = acc[base + a * m + b]! + ca * z[b]!;
        }
      }
    }
  }
  const index = (i: number, a: number) => (a === 0 ? i : k + i * d + (a - 1));
  const s2 = scale * scale;
  let pair = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++, pair++) {
      const base = pair * m * m;
      for (let a = 0; a < m; a++) {
        for (let b = 0; b < m; b++) {
          const v = -s2 * acc[base + a * m + b]!;
          const ra = index(i, a);
          const cb = index(j, b);
          H[ra * nParams + cb] = v;
          H[cb * nParams + ra] = v;
        }
      }
    }
  }
}
