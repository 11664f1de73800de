/**
 * Bootstrap of a log-log slope over replicates (spec: rates.md, "Measuring a rate", step 3).
 * Internal to src/analysis: {@link analyseRates} is the public entry and validates its inputs.
 */
import type { Rng } from '../rng/rng.js';

const TWO_POW_32 = 4294967296;

/** One sample size: its log and its replicate values sorted ascending (internal). */
export interface BootstrapPoint {
  n: number;
  /** finite values, ascending, at least one */
  sorted: Float64Array;
}

/**
 * How many base-c digits to take from one `rng.integer(c^k)` draw: the k <= floor(log_c 2^32) that
 * maximises the expected number of digits per uint32 word, k * (1 - rejection rate of integer(c^k)).
 * The base-c digits of an integer uniform on {0, ..., c^k - 1} are k independent integers uniform
 * on {0, ..., c - 1}, so this draws exactly the same distribution as k calls of rng.integer(c),
 * with up to k times fewer Philox words.
 */
export function digitsPerDraw(c: number): number {
  if (c <= 1) return 0;
  let best = 1;
  let bestRate = 0;
  let m = 1;
  for (let k = 1; ; k++) {
    m *= c;
    if (m > TWO_POW_32) break;
    const accept = (Math.floor(TWO_POW_32 / m) * m) / TWO_POW_32;
    const rate = k * accept;
    if (rate > bestRate) {
      bestRate = rate;
      best = k;
    }
  }
  return best;
}

/**
 * `resamples` bootstrap replicates of the OLS slope of log(stat per n) on log n, where each
 * replicate resamples the values *within each n* with replacement (same count as present) and
 * recomputes the per-n statistic (mean, or median = mean of the two middle order statistics for
 * an even count). x = log n is fixed, so slope = sum_i w_i log(stat_i) with
 * w_i = (x_i - xbar) / sum_j (x_j - xbar)^2, precomputed.
 *
 * Index draws: for a point with c values, `rng.integer(c^k)` split into k base-c digits
 * ({@link digitsPerDraw}); a point with one value draws nothing. Buffers are allocated once; the
 * loop allocates nothing. The median uses a count histogram over the sorted values (O(c), no sort).
 *
 * @returns the slopes, in draw order (may hold -Infinity / NaN if a resampled statistic is <= 0)
 */
export function bootstrapSlopes(
  points: readonly BootstrapPoint[],
  statistic: 'mean' | 'median',
  resamples: number,
  rng: Rng,
): Float64Array {
  const K = points.length;
  const x = new Float64Array(K);
  let xbar = 0;
  for (let i = 0; i < K; i++) xbar += x[i] = Math.log(points[i]!.n);
  xbar /= K;
  let sxx = 0;
  for (let i = 0; i < K; i++) sxx += (x[i]! - xbar) ** 2;
  const w = new Float64Array(K);
  for (let i = 0; i < K; i++) w[i] = (x[i]! - xbar) / sxx;

  const count = new Int32Array(K);
  const digits = new Int32Array(K);
  const limit = new Float64Array(K);
  const offset = new Int32Array(K + 1);
  let maxC = 0;
  let maxK = 0;
  for (let i = 0; i < K; i++) {
    const c = points[i]!.sorted.length;
    count[i] = c;
    digits[i] = digitsPerDraw(c);
    // accept a word below floor(2^32 / c^k) * c^k: its low k base-c digits are then uniform,
    // exactly as with rng.integer(c^k), which returns the accepted word mod c^k
    const ck = c ** digits[i]!;
    limit[i] = Math.floor(TWO_POW_32 / ck) * ck;
    offset[i + 1] = offset[i]! + c;
    if (c > maxC) maxC = c;
    if (digits[i]! > maxK) maxK = digits[i]!;
  }
  // powers c^0 .. c^k of each point, for the digit extraction
  const powers = new Float64Array(K * (maxK + 1));
  for (let i = 0; i < K; i++) {
    for (let j = 0; j <= digits[i]!; j++) powers[i * (maxK + 1) + j] = count[i]! ** j;
  }
  const values = new Float64Array(offset[K]!);
  for (let i = 0; i < K; i++) values.set(points[i]!.sorted, offset[i]!);
  const idx = new Int32Array(maxC);
  const hist = new Int32Array(maxC);
  const out = new Float64Array(resamples);
  const isMedian = statistic === 'median';

  for (let r = 0; r < resamples; r++) {
    let slope = 0;
    for (let i = 0; i < K; i++) {
      const c = count[i]!;
      const base = offset[i]!;
      let stat: number;
      if (c === 1) {
        stat = values[base]!;
      } else {
        drawIndices(rng, c, digits[i]!, limit[i]!, powers, i * (maxK + 1), idx);
        if (!isMedian) {
          let sum = 0;
          for (let j = 0; j < c; j++) sum += values[base + idx[j]!]!;
          stat = sum / c;
        } else {
          hist.fill(0, 0, c);
          for (let j = 0; j < c; j++) hist[idx[j]!]!++;
          // order statistics lo = floor((c-1)/2) and hi = floor(c/2) (0-based) of the resample
          const lo = (c - 1) >> 1;
          const hi = c >> 1;
          let seen = 0;
          let j = 0;
          while (seen + hist[j]! <= lo) seen += hist[j++]!;
          const vLo = values[base + j]!;
          while (seen + hist[j]! <= hi) seen += hist[j++]!;
          stat = 0.5 * (vLo + values[base + j]!);
        }
      }
      slope += w[i]! * Math.log(stat);
    }
    out[r] = slope;
  }
  return out;
}

/**
 * Fill idx[0..c) with independent uniform integers on {0, ..., c-1}: each accepted word u
 * (u < limit, a multiple of c^k) gives its k low base-c digits d_j = q_j - c * q_(j+1), with
 * q_j = floor(u / c^j). The divisions are independent of each other (no chain through the
 * quotient), and exact: u < 2^32, so floor of the double quotient is the integer quotient.
 */
function drawIndices(rng: Rng, c: number, k: number, limit: number, powers: Float64Array, p0: number, idx: Int32Array): void {
  let filled = 0;
  while (filled < c) {
    let u = rng.nextUint32();
    while (u >= limit) u = rng.nextUint32();
    const take = c - filled < k ? c - filled : k;
    let q = u;
    for (let j = 0; j < take; j++) {
      const qNext = Math.floor(u / powers[p0 + j + 1]!);
      idx[filled++] = q - c * qNext;
      q = qNext;
    }
  }
}
