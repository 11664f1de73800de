/**
 * Nelder–Mead simplex minimisation, derivative-free (used by the alignment search of the Voronoi
 * loss, losses/alignment.ts; not part of the public API).
 *
 * Standard coefficients (reflection 1, expansion 2, contraction 1/2, shrink 1/2), an
 * axis-aligned initial simplex of side `step`, a hard `maxEval` cap, and stopping when both the
 * simplex diameter (infinity norm, relative to 1 + |x|) is below `xTol` and the spread of the
 * values is below `fTol * (1 + |f_best|)`. Deterministic. Non-finite values (+Infinity for an
 * infeasible point) are allowed and simply never accepted as improvements.
 */

export interface NelderMeadOptions {
  /** side of the initial simplex; defaults to 1 */
  step?: number;
  /** relative simplex-size tolerance; defaults to 1e-12 */
  xTol?: number;
  /** relative value-spread tolerance; defaults to 1e-15 */
  fTol?: number;
  /** maximum number of function evaluations; defaults to 400 * (dim + 1) */
  maxEval?: number;
}

export interface NelderMeadResult {
  x: number[];
  f: number;
  nEval: number;
}

/**
 * Minimise f from x0 (length >= 1). Returns the best point seen.
 *
 * Each iteration replaces the worst vertex x_w by a point on the line through it and the
 * centroid c of the others, x = c + t (x_w - c) with t = -1 (reflection), -2 (expansion),
 * -1/2 or 1/2 (outside / inside contraction), or shrinks every vertex halfway to the best.
 *
 * @param f the objective; NaN counts as +Infinity
 * @param x0 the start, one vertex of the initial simplex (the others are x0 + step e_i)
 * @param opts `step` (defaults to 1), `xTol` (1e-12), `fTol` (1e-15), `maxEval` (400 (dim + 1))
 * @returns `{x, f, nEval}`: the best vertex, its value and the number of evaluations
 * @example
 *   nelderMead((x) => (x[0]! - 1) ** 2 + (x[1]! + 2) ** 2, [0, 0]).x // => [1, -2] (to about 1e-8)
 */
export function nelderMead(
  f: (x: readonly number[]) => number,
  x0: readonly number[],
  opts: NelderMeadOptions = {},
): NelderMeadResult {
  const n = x0.length;
  const step = opts.step ?? 1;
  const xTol = opts.xTol ?? 1e-12;
  const fTol = opts.fTol ?? 1e-15;
  const maxEval = opts.maxEval ?? 400 * (n + 1);
  let nEval = 0;
  const ev = (x: number[]): number => {
    nEval++;
    const v = f(x);
    return Number.isNaN(v) ? Infinity : v;
  };
  const pts: number[][] = [x0.slice()];
  for (let i = 0; i < n; i++) {
    const p = x0.slice();
    p[i] = p[i]! + step;
    pts.push(p);
  }
  const vals = pts.map(ev);
  const order = (): void => {
    const idx = vals.map((_, i) => i).sort((i, j) => vals[i]! - vals[j]! || i - j);
    const p2 = idx.map((i) => pts[i]!);
    const v2 = idx.map((i) => vals[i]!);
    for (let i = 0; i <= n; i++) {
      pts[i] = p2[i]!;
      vals[i] = v2[i]!;
    }
  };
  const combo = (a: number[], b: number[], t: number): number[] => a.map((ai, i) => ai + t * (b[i]! - ai));
  while (nEval < maxEval) {
    order();
    const best = pts[0]!;
    const fBest = vals[0]!;
    const fWorst = vals[n]!;
    let diam = 0;
    for (let i = 1; i <= n; i++) {
      for (let c = 0; c < n; c++) diam = Math.max(diam, Math.abs(pts[i]![c]! - best[c]!) / (1 + Math.abs(best[c]!)));
    }
    const spread = Number.isFinite(fWorst) ? fWorst - fBest : Infinity;
    if (diam < xTol && spread <= fTol * (1 + Math.abs(fBest))) break;
    if (diam < xTol * 1e-3) break; // collapsed simplex: nothing more to learn
    // centroid of all but the worst
    const cen = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let c = 0; c < n; c++) cen[c] = cen[c]! + pts[i]![c]! / n;
    const worst = pts[n]!;
    const xr = combo(cen, worst, -1);
    const fr = ev(xr);
    if (fr < fBest) {
      const xe = combo(cen, worst, -2);
      const fe = ev(xe);
      if (fe < fr) {
        pts[n] = xe;
        vals[n] = fe;
      } else {
        pts[n] = xr;
        vals[n] = fr;
      }
      continue;
    }
    if (fr < vals[n - 1]!) {
      pts[n] = xr;
      vals[n] = fr;
      continue;
    }
    // contraction (outside if the reflection beat the worst, else inside)
    const outside = fr < fWorst;
    const xc = outside ? combo(cen, worst, -0.5) : combo(cen, worst, 0.5);
    const fc = ev(xc);
    if (fc < (outside ? fr : fWorst)) {
      pts[n] = xc;
      vals[n] = fc;
      continue;
    }
    // shrink towards the best
    for (let i = 1; i <= n; i++) {
      pts[i] = combo(best, pts[i]!, 0.5);
      vals[i] = ev(pts[i]!);
    }
  }
  order();
  return { x: pts[0]!.slice(), f: vals[0]!, nEval };
}
