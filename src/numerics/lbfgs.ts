/**
 * L-BFGS minimisation (Nocedal & Wright, Alg. 7.4/7.5) with a backtracking Armijo line search that
 * treats +Infinity or NaN values as "step too long". Used by direct MLE and by gate M-steps without
 * a Newton step. Deterministic; no allocation per iteration beyond the history.
 */

export interface LbfgsOptions {
  /** maximum iterations (default 200) */
  maxIterations?: number;
  /** history length (default 8) */
  memory?: number;
  /** stop when |f_t - f_{t-1}| <= relTol * max(|f_t|, 1e-300) (default 1e-10) */
  relTol?: number;
  /** stop when |f_t - f_{t-1}| <= absTol (default 0: off) */
  absTol?: number;
  /** stop when max |g| <= gradTol (default 1e-10) */
  gradTol?: number;
  /** called after each accepted step with (iteration, f) */
  onIteration?: (iteration: number, f: number) => void;
  /**
   * a stopping rule of the caller's, asked after each accepted step with (f, fPrevious); its last
   * evaluation of `evaluate` was at the accepted x. When given it replaces relTol and absTol.
   */
  stopWhen?: (f: number, fPrevious: number) => boolean;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  stopReason: 'converged' | 'maxIterations' | 'lineSearchFailed' | 'numericalFailure';
}

/**
 * Minimise f over x, starting from x0 (not modified).
 *
 * Direction d = -H g by the two-loop recursion over the last `memory` pairs
 * (s, y) = (x_{t+1} - x_t, g_{t+1} - g_t), H_0 = (s'y / y'y) I; step 2^-j, the first j with
 * f(x + 2^-j d) <= f(x) + 1e-4 2^-j g'd (Armijo); pairs with s'y <= 1e-300 are not stored.
 *
 * @param evaluate returns f(x) and writes the gradient into g; may return +Infinity or NaN for x
 *   outside the domain (the line search then shortens the step).
 * @param x0 the start
 * @param options iteration cap, history, tolerances, callbacks (see {@link LbfgsOptions})
 * @returns `{x, f, iterations, stopReason}`
 * @example
 *   // the 2-d Rosenbrock function from (-1.2, 1): x => [1, 1] (to about 1e-6)
 *   lbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { maxIterations: 500 }).x
 */
export function lbfgs(
  evaluate: (x: Float64Array, g: Float64Array) => number,
  x0: Float64Array,
  options: LbfgsOptions = {},
): LbfgsResult {
  const maxIterations = options.maxIterations ?? 200;
  const memory = options.memory ?? 8;
  const relTol = options.relTol ?? 1e-10;
  const absTol = options.absTol ?? 0;
  const gradTol = options.gradTol ?? 1e-10;
  const m = x0.length;
  const x = x0.slice();
  const g = new Float64Array(m);
  let f = evaluate(x, g);
  if (!Number.isFinite(f)) return { x, f, iterations: 0, stopReason: 'numericalFailure' };
  if (m === 0) return { x, f, iterations: 0, stopReason: 'converged' };
  const S: Float64Array[] = [];
  const Yh: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(memory);
  const dir = new Float64Array(m);
  const xNew = new Float64Array(m);
  const gNew = new Float64Array(m);
  let iterations = 0;
  const maxAbs = (v: Float64Array) => v.reduce((acc, t) => Math.max(acc, Math.abs(t)), 0);
  if (maxAbs(g) <= gradTol) return { x, f, iterations, stopReason: 'converged' };
  while (iterations < maxIterations) {
    // two-loop recursion: dir = -H g
    for (let j = 0; j < m; j++) dir[j] = -g[j]!;
    for (let h = S.length - 1; h >= 0; h--) {
      let a = 0;
      for (let j = 0; j < m; j++) a += S[h]![j]! * dir[j]!;
      a *= rho[h]!;
      alpha[h] = a;
      for (let j = 0; j < m; j++) dir[j] = dir[j]! - a * Yh[h]![j]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      let yy = 0;
      let sy = 0;
      for (let j = 0; j < m; j++) {
        yy += Yh[last]![j]! * Yh[last]![j]!;
        sy += S[last]![j]! * Yh[last]![j]!;
      }
      const gamma = sy / yy;
      for (let j = 0; j < m; j++) dir[j] = dir[j]! * gamma;
    } else {
      // first step: unit length in the steepest-descent direction
      const norm = Math.sqrt(g.reduce((acc, t) => acc + t * t, 0));
      for (let j = 0; j < m; j++) dir[j] = dir[j]! / Math.max(norm, 1e-300);
    }
    for (let h = 0; h < S.length; h++) {
      let b = 0;
      for (let j = 0; j < m; j++) b += Yh[h]![j]! * dir[j]!;
      b *= rho[h]!;
      for (let j = 0; j < m; j++) dir[j] = dir[j]! + S[h]![j]! * (alpha[h]! - b);
    }
    let slope = 0;
    for (let j = 0; j < m; j++) slope += g[j]! * dir[j]!;
    if (!(slope < 0)) {
      // not a descent direction (curvature information went bad): restart from steepest descent
      S.length = 0;
      Yh.length = 0;
      rho.length = 0;
      for (let j = 0; j < m; j++) dir[j] = -g[j]!;
      slope = -g.reduce((acc, t) => acc + t * t, 0);
    }
    let step = 1;
    let fNew = NaN;
    let accepted = false;
    for (let attempt = 0; attempt < 60; attempt++) {
      for (let j = 0; j < m; j++) xNew[j] = x[j]! + step * dir[j]!;
      fNew = evaluate(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) return { x, f, iterations, stopReason: 'lineSearchFailed' };
    iterations++;
    const s = new Float64Array(m);
    const y = new Float64Array(m);
    let sy = 0;
    for (let j = 0; j < m; j++) {
      s[j] = xNew[j]! - x[j]!;
      y[j] = gNew[j]! - g[j]!;
      sy += s[j]! * y[j]!;
    }
    if (sy > 1e-300) {
      if (S.length === memory) {
        S.shift();
        Yh.shift();
        rho.shift();
      }
      S.push(s);
      Yh.push(y);
      rho.push(1 / sy);
    }
    const change = Math.abs(f - fNew);
    const fPrevious = f;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    options.onIteration?.(iterations, f);
    if (options.stopWhen) {
      if (options.stopWhen(f, fPrevious) || maxAbs(g) <= gradTol) return { x, f, iterations, stopReason: 'converged' };
    } else if (change <= relTol * Math.max(Math.abs(f), 1e-300) || change <= absTol || maxAbs(g) <= gradTol) {
      return { x, f, iterations, stopReason: 'converged' };
    }
  }
  return { x, f, iterations, stopReason: 'maxIterations' };
}
