/**
 * Gauss–Legendre rules (internal helper of the density distances; not re-exported).
 *
 * Nodes are the roots of the Legendre polynomial P_n, found by Newton's method from the
 * Tricomi initial guesses cos(pi (i - 1/4) / (n + 1/2)); weights w_i = 2 / ((1 - x_i^2) P_n'(x_i)^2).
 * An n-point rule integrates polynomials of degree 2n - 1 exactly on [-1, 1].
 */

/** Nodes and weights of the n-point Gauss–Legendre rule on [-1, 1] (ascending nodes). */
export interface GaussRule {
  nodes: Float64Array;
  weights: Float64Array;
}

const cache = new Map<number, GaussRule>();

/** The n-point Gauss–Legendre rule on [-1, 1]; n is an integer >= 1 (cached). */
export function gaussLegendre(n: number): GaussRule {
  const hit = cache.get(n);
  if (hit) return hit;
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  if (n === 1) {
    weights[0] = 2;
    const one = { nodes, weights };
    cache.set(n, one);
    return one;
  }
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = x;
      for (let j = 2; j <= n; j++) {
        const p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    // recompute derivative at the converged root
    let p0 = 1;
    let p1 = x;
    for (let j = 2; j <= n; j++) {
      const p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
      p0 = p1;
      p1 = p2;
    }
    dp = (n * (x * p1 - p0)) / (x * x - 1);
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  if (n % 2 === 1) nodes[(n - 1) / 2] = 0;
  const rule = { nodes, weights };
  cache.set(n, rule);
  return rule;
}
