/**
 * The fast log-likelihood of the top-K selection search (docs/fitting.md, "Top-K: the selection
 * search"): L along one free gate coordinate at fixed experts, without an E-step.
 *
 * A search trial moves one gate coordinate of one expert e (its intercept beta0_e or one slope
 * beta1_e,p) at fixed experts, so only e's logit u_e = beta0_e + beta1_e.x and, under
 * rankBy 'logit' or for a slope, e's ranking score change. Per point, with T_m the top m of the
 * other experts in the gate's order (score descending, ties: lower index first) and
 * l_i = log f_i(y | x) the experts' log-densities:
 *   e kept  (its score beats the K-th of the others):  L_n = lae(log B, u_e + l_e) - lae(log C, u_e),
 *            log B = lse_{i in T_{K-1}} (u_i + l_i),  log C = lse_{i in T_{K-1}} u_i   (K = 1: L_n = l_e),
 *   e dropped:                                            L_n = lse_{T_K} (u + l) - lse_{T_K} u,
 * where lae(a, b) = log(e^a + e^b) and lse is the log-sum-exp. This is log sum_{i in S} G_i f_i,
 * the E-step's L_n, for every point, also for those whose selected set the trial changes: the
 * set is {e} + T_{K-1} or T_K. So after a pass over the points for the base (prepare), each trial
 * costs per point a d-term dot product, a comparison and at most two log-add-exps, with no
 * allocation and no responsibilities or statistics.
 */
import type { Dataset } from '../data/dataset.js';
import { TopKGate } from '../gates/topk.js';
import type { PackedState } from './state.js';

/** log(e^a + e^b), exact for infinite arguments. */
function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/**
 * L(v with v_j = value) for the free gate coordinates j of a top-K gate (K < k) at fixed experts:
 * the log-likelihood the E-step gives there, to float64 rounding of the n-term sums (the
 * selection is decided by the generated gate kernel's own arithmetic, so it is the same set).
 *
 * Use: `refresh()` at the state's experts (once per search round), `prepare(v, j)` for a base
 * point v (an MLE vector; only its gate coordinates are read) and a coordinate j, then
 * `scan(values, out)` or `logLik(value)` for the trial values of v_j.
 * @example
 *   const scan = SelectionScan.for(data, state); // null unless the gate is a selective top-K
 *   scan!.refresh();
 *   scan!.prepare(packMle(state), 0);
 *   scan!.logLik(state.theta[state.free[0]!]! + 0.01); // => L with the first free coordinate moved by 0.01
 */
export class SelectionScan {
  private readonly n: number;
  private readonly k: number;
  private readonly d: number;
  private readonly K: number;
  private readonly byLogit: boolean;
  /** the experts' log-densities l_ni at the experts of the last refresh */
  private readonly l: Float64Array;
  /** the gate parameters of the base point */
  private readonly theta: Float64Array;
  // per point, for the moved expert e at the base point
  private readonly le: Float64Array;
  private readonly ve: Float64Array;
  private readonly logB: Float64Array;
  private readonly logC: Float64Array;
  private readonly lOut: Float64Array;
  /** the K-th best score among the other experts, and whether e wins a tie with it */
  private readonly tau: Float64Array;
  private readonly tieWin: Uint8Array;
  private readonly rank: Int32Array;
  private readonly score: Float64Array;
  private readonly u: Float64Array;
  private readonly slope: Float64Array;
  /** the moved expert, and the coordinate: -1 the intercept, p >= 0 slope p */
  private e = -1;
  private p = -1;
  private thetaIndex = -1;
  /** L at the prepared base point */
  base = NaN;

  private constructor(
    private readonly data: Dataset,
    private readonly state: PackedState,
    gate: TopKGate,
  ) {
    const { n, d } = data;
    const k = gate.k;
    this.n = n;
    this.k = k;
    this.d = d;
    this.K = gate.K;
    this.byLogit = gate.rankBy === 'logit';
    this.l = new Float64Array(n * k);
    this.theta = new Float64Array(gate.nParams);
    this.le = new Float64Array(n);
    this.ve = new Float64Array(n);
    this.logB = new Float64Array(n);
    this.logC = new Float64Array(n);
    this.lOut = new Float64Array(n);
    this.tau = new Float64Array(n);
    this.tieWin = new Uint8Array(n);
    this.rank = new Int32Array(k);
    this.score = new Float64Array(k);
    this.u = new Float64Array(k);
    this.slope = new Float64Array(k);
  }

  /**
   * The scan for a state's gate, or null where it does not apply (a gate that is not a selective
   * top-K gate: its trials then run full E-steps). Reads the state's parameters at each
   * refresh/prepare, so the same object serves a whole fit.
   * @param data the fit's data (n >= 1 points in dimension d)
   * @param state the fit's packed state (its gate and experts)
   */
  static for(data: Dataset, state: PackedState): SelectionScan | null {
    const gate = state.gate;
    if (!(gate instanceof TopKGate) || !gate.selective || gate.k !== state.experts.k || gate.d !== data.d) return null;
    return new SelectionScan(data, state, gate);
  }

  /** Take the state's current experts: l_ni = log f_i(y_n | x_n) (the family's log-densities). */
  refresh(): void {
    const { data, state } = this;
    state.experts.family.logDensities(state.experts, data.X, data.Y, data.n, this.l);
  }

  /**
   * Set the base point and the moved coordinate: the gate parameters are the state's with the free
   * coordinates from v; per point it stores what the trials along coordinate j need, and `base`
   * becomes L at v (at the experts of the last refresh).
   * @param v an MLE vector of the state's layout (free gate coordinates first)
   * @param j a free gate coordinate, 0 <= j < state.free.length
   */
  prepare(v: Float64Array, j: number): void {
    const { n, k, d, K, byLogit, l, theta, rank, score, u, slope } = this;
    const { X } = this.data;
    const free = this.state.free;
    theta.set(this.state.theta);
    for (let a = 0; a < free.length; a++) theta[free[a]!] = v[a]!;
    const t = free[j]!;
    this.thetaIndex = t;
    const e = t < k ? t : Math.floor((t - k) / d);
    this.e = e;
    this.p = t < k ? -1 : (t - k) % d;
    let sum = 0;
    for (let r = 0; r < n; r++) {
      const xo = r * d;
      const o = r * k;
      // logits and scores as the generated gate kernel forms them (linear-kernel.ts), bit for bit
      for (let i = 0; i < k; i++) {
        let s = theta[k + i * d]! * X[xo]!;
        for (let q = 1; q < d; q++) s += theta[k + i * d + q]! * X[xo + q]!;
        slope[i] = s;
        u[i] = 1 * (theta[i]! + s);
        score[i] = byLogit ? u[i]! : s;
      }
      // rank among the other experts: how many others come before i (score, then lower index)
      let kth = -1;
      for (let i = 0; i < k; i++) {
        if (i === e) continue;
        let before = 0;
        for (let q = 0; q < k; q++) {
          if (q === i || q === e) continue;
          if (q < i ? score[q]! >= score[i]! : score[q]! > score[i]!) before++;
        }
        rank[i] = before;
        if (before === K - 1) kth = i;
      }
      // lse over the top K-1 others (with and without l) and over the top K
      let mB = -Infinity;
      let mC = -Infinity;
      let mK = -Infinity;
      let mKl = -Infinity;
      for (let i = 0; i < k; i++) {
        if (i === e || rank[i]! >= K) continue;
        const ul = u[i]! + l[o + i]!;
        if (ul > mKl) mKl = ul;
        if (u[i]! > mK) mK = u[i]!;
        if (rank[i]! < K - 1) {
          if (ul > mB) mB = ul;
          if (u[i]! > mC) mC = u[i]!;
        }
      }
      let sB = 0;
      let sC = 0;
      let sK = 0;
      let sKl = 0;
      for (let i = 0; i < k; i++) {
        if (i === e || rank[i]! >= K) continue;
        const ul = u[i]! + l[o + i]!;
        if (mKl > -Infinity) sKl += Math.exp(ul - mKl);
        sK += Math.exp(u[i]! - mK);
        if (rank[i]! < K - 1) {
          if (mB > -Infinity) sB += Math.exp(ul - mB);
          sC += Math.exp(u[i]! - mC);
        }
      }
      this.logB[r] = mB === -Infinity ? -Infinity : mB + Math.log(sB);
      this.logC[r] = mC === -Infinity ? -Infinity : mC + Math.log(sC);
      this.lOut[r] = (mKl === -Infinity ? -Infinity : mKl + Math.log(sKl)) - (mK + Math.log(sK));
      this.le[r] = l[o + e]!;
      this.ve[r] = slope[e]!;
      this.tau[r] = score[kth]!;
      // e beats the K-th other on a tie when its index is lower (the kernel's order)
      this.tieWin[r] = e < kth ? 1 : 0;
      sum += this.term(r, u[e]!, score[e]!);
    }
    this.base = sum;
  }

  /** L_n with e's logit ue and ranking score se (the formulas of the module comment). */
  private term(r: number, ue: number, se: number): number {
    const tau = this.tau[r]!;
    if (!(se > tau || (se === tau && this.tieWin[r] === 1))) return this.lOut[r]!;
    if (this.K === 1) return this.le[r]!;
    return logAddExp(this.logB[r]!, ue + this.le[r]!) - logAddExp(this.logC[r]!, ue);
  }

  /**
   * L at the base point with coordinate j (of the last prepare) set to `value`.
   * @param value the trial value of v_j (finite)
   */
  logLik(value: number): number {
    const values = this.one;
    values[0] = value;
    this.scan(values, this.oneOut);
    return this.oneOut[0]!;
  }
  private readonly one = new Float64Array(1);
  private readonly oneOut = new Float64Array(1);

  /**
   * L at the base point with coordinate j set to each of `values` (one pass over the points):
   *   out[t] = sum_n L_n(v with v_j = values[t]).
   * @param values trial values of v_j (finite), any count m
   * @param out length >= m, overwritten
   */
  scan(values: Float64Array, out: Float64Array): void {
    const { n, k, d, theta, e, p, byLogit } = this;
    const { X } = this.data;
    const m = values.length;
    out.fill(0, 0, m);
    const te = theta[e]!;
    const sOff = k + e * d;
    for (let r = 0; r < n; r++) {
      const xo = r * d;
      if (p < 0) {
        // the intercept: the slope score stays, the logit moves
        const ve = this.ve[r]!;
        for (let t = 0; t < m; t++) {
          const ue = 1 * (values[t]! + ve);
          out[t] = out[t]! + this.term(r, ue, byLogit ? ue : ve);
        }
      } else {
        for (let t = 0; t < m; t++) {
          // e's slope score with beta1_e,p = values[t], summed in the kernel's order
          let s = (p === 0 ? values[t]! : theta[sOff]!) * X[xo]!;
          for (let q = 1; q < d; q++) s += (q === p ? values[t]! : theta[sOff + q]!) * X[xo + q]!;
          const ue = 1 * (te + s);
          out[t] = out[t]! + this.term(r, ue, byLogit ? ue : s);
        }
      }
    }
  }

  /** The theta index of the prepared coordinate (tests). */
  get coordinate(): number {
    return this.thetaIndex;
  }
}
