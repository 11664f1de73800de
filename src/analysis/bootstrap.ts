/**
 * Bootstrap of log-log slopes over replicates (spec: rates.md, "Measuring a rate", step 3).
 * Internal to src/analysis: {@link analyseRates} is the public entry and validates its inputs.
 */
import { Rng } from '../rng/rng.js';
import { fnv1a32 } from './hash.js';

const TWO_POW_32 = 4294967296;

/** One sample size of a series. */
export interface SeriesPoint {
  n: number;
  /** at least one finite value, in replicate order */
  values: readonly number[];
}

/** The bootstrap slopes of one series (one quantity): for the mean and for the median. */
export interface SeriesSlopes {
  mean: Float64Array;
  median: Float64Array;
}

/**
 * How many base-c digits to take from one accepted uint32 word: the k <= floor(log_c 2^32) that
 * maximises the expected digits per word, k * P(word < floor(2^32 / c^k) * c^k). The low k
 * base-c digits of a word uniform below a multiple of c^k are k independent integers uniform on
 * {0, ..., c-1}: the same distribution as k calls of rng.integer(c), from fewer Philox words.
 */
export function digitsPerDraw(c: number): number {
  if (c <= 1) return 0;
  let best = 1;
  let bestRate = 0;
  let m = 1;
  for (let k = 1; ; k++) {
    m *= c;
    if (m > TWO_POW_32) break;
    const rate = (k * Math.floor(TWO_POW_32 / m) * m) / TWO_POW_32;
    if (rate > bestRate) {
      bestRate = rate;
      best = k;
    }
  }
  return best;
}

/** A group: one n and one count of present values, shared by one or more series (internal). */
interface Group {
  n: number;
  c: number;
  /** series index, weight of this n in that series' slope, values, positions in ascending value order */
  members: { series: number; w: number; values: Float64Array; order: Int32Array }[];
}

/**
 * `resamples` bootstrap replicates of the OLS slope of ln(mean per n) and of ln(median per n) on
 * ln n, for each series. A replicate resamples, within each n, the present replicates with
 * replacement (as many as are present) and recomputes mean and median (the median of an even
 * count is the mean of the two middle values); x = ln n is fixed, so the slope is
 * sum_i w_i ln(stat_i) with w_i = (x_i - xbar) / sum_j (x_j - xbar)^2.
 *
 * Streams (a choice): at n, a resample draws positions 0..c-1 into the c present values (in
 * replicate order) from `new Rng(seed).derive(fnv1a32(String(n)), c)`, resample after resample.
 * So the draws depend only on (seed, n, c), and a series' slopes are a pure function of its own
 * values and the seed: independent of row order and of the other series. Series with the same
 * count at n share the draws, made once for all of them (the speed of the 20-quantity tables);
 * where they also have the same replicates present (the usual case: every quantity of a fit),
 * they are resampled jointly, replicate by replicate, as a bootstrap over replicates is.
 *
 * Index draws: `rng.nextUint32()` words below floor(2^32 / c^k) * c^k, split into k base-c
 * digits ({@link digitsPerDraw}); a point with one value draws nothing. A resample at n is kept as
 * how often each position was drawn; the mean is then sum(count * value) / c and the median a walk
 * over the positions in ascending value order (O(c), no sort). Buffers are allocated once; the
 * resample loop allocates nothing.
 *
 * @param series per series, its points (two or more distinct n)
 * @returns per series, the slopes in resample order (-Infinity or NaN where a resampled
 *   statistic is <= 0)
 */
export function bootstrapSeries(series: readonly (readonly SeriesPoint[])[], resamples: number, seed: number): SeriesSlopes[] {
  const out: SeriesSlopes[] = series.map(() => ({ mean: new Float64Array(resamples), median: new Float64Array(resamples) }));
  const groups = new Map<string, Group>();
  series.forEach((given, s) => {
    // ascending n: the weights (and so every rounding) do not depend on the order given
    const points = [...given].sort((a, b) => a.n - b.n);
    const K = points.length;
    let xbar = 0;
    for (const p of points) xbar += Math.log(p.n);
    xbar /= K;
    let sxx = 0;
    for (const p of points) sxx += (Math.log(p.n) - xbar) ** 2;
    for (const p of points) {
      const key = `${p.n}|${p.values.length}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = { n: p.n, c: p.values.length, members: [] };
        groups.set(key, g);
      }
      const values = Float64Array.from(p.values);
      const order = Int32Array.from(
        Array.from(values, (_, j) => j).sort((a, b) => values[a]! - values[b]! || a - b),
      );
      g.members.push({ series: s, w: (Math.log(p.n) - xbar) / sxx, values, order });
    }
  });
  // ascending n, so each series adds its terms in ascending n whatever the row order
  const ordered = [...groups.values()].sort((a, b) => a.n - b.n || a.c - b.c);
  let maxC = 1;
  for (const g of ordered) maxC = Math.max(maxC, g.c);
  const count = new Int32Array(maxC);
  const root = new Rng(seed);

  for (const g of ordered) {
    const c = g.c;
    const rng = root.derive(fnv1a32(String(g.n)), c);
    const k = digitsPerDraw(c);
    const ck = c ** k;
    const limit = Math.floor(TWO_POW_32 / ck) * ck;
    const powers = new Float64Array(k + 1);
    for (let j = 0; j <= k; j++) powers[j] = c ** j;
    const lo = (c - 1) >> 1;
    const hi = c >> 1;
    for (let r = 0; r < resamples; r++) {
      if (c > 1) drawCounts(rng, c, k, limit, powers, count);
      for (const m of g.members) {
        const acc = out[m.series]!;
        const values = m.values;
        if (c === 1) {
          const v = m.w * Math.log(values[0]!);
          acc.mean[r] = acc.mean[r]! + v;
          acc.median[r] = acc.median[r]! + v;
          continue;
        }
        // mean: sum over positions of (times drawn) * value, two accumulators
        let s0 = 0;
        let s1 = 0;
        let j = 0;
        for (; j + 1 < c; j += 2) {
          s0 += count[j]! * values[j]!;
          s1 += count[j + 1]! * values[j + 1]!;
        }
        if (j < c) s0 += count[j]! * values[j]!;
        // median: order statistics lo = floor((c-1)/2) and hi = floor(c/2) (0-based), walking
        // the positions in ascending value order
        const order = m.order;
        let seen = 0;
        let q = 0;
        while (seen + count[order[q]!]! <= lo) seen += count[order[q++]!]!;
        const vLo = values[order[q]!]!;
        while (seen + count[order[q]!]! <= hi) seen += count[order[q++]!]!;
        acc.mean[r] = acc.mean[r]! + m.w * Math.log((s0 + s1) / c);
        acc.median[r] = acc.median[r]! + m.w * Math.log(0.5 * (vLo + values[order[q]!]!));
      }
    }
  }
  return out;
}

/**
 * Draw c independent uniform positions on {0, ..., c-1} and store how often each was drawn in
 * count[0..c). Each accepted word u (u < limit, a multiple of c^k) gives its k low base-c digits
 * d_j = q_j - c * q_(j+1), with q_j = floor(u / c^j): divisions independent of each other (no
 * chain through the quotient), and exact (u < 2^32, so the floor of the double quotient is the
 * integer quotient).
 */
function drawCounts(rng: Rng, c: number, k: number, limit: number, powers: Float64Array, count: Int32Array): void {
  count.fill(0, 0, c);
  let filled = 0;
  while (filled < c) {
    let u = rng.nextUint32();
    while (u >= limit) u = rng.nextUint32();
    const take = c - filled < k ? c - filled : k;
    let q = u;
    for (let j = 0; j < take; j++) {
      const qNext = Math.floor(u / powers[j + 1]!);
      const d = q - c * qNext;
      count[d] = count[d]! + 1;
      q = qNext;
    }
    filled += take;
  }
}
