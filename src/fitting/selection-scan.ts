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
 * costs per point a d-term dot product, a comparison and, where e is kept, one ratio multiplied
 * into a running product (scan: no logarithm per point, one exponential per point for a slope,
 * none for an intercept), with no allocation and no responsibilities or statistics.
 * Measured at n = 1e5 (topk-exact, k = 3, K = 2, d = 1): an intercept trial ~0.8 ms, a slope
 * trial ~2 ms, against ~9 ms for an E-step; a whole search round ~4.5x faster.
 */
import type { Dataset } from '../data/dataset.js';
import { TopKGate } from '../gates/topk.js';
import type { PackedState } from './state.js';

/** What the trials along one expert's coordinates read per point (SelectionScan.prepare). */
interface PointTables {
  le: Float64Array;
  ve: Float64Array;
  logB: Float64Array;
  logC: Float64Array;
  lOut: Float64Array;
  D0: Float64Array;
  W0: Float64Array;
  Z0: Float64Array;
  ue0: Float64Array;
  tau: Float64Array;
  tieWin: Uint8Array;
  /** the expert and gate parameters they hold for, and L there; valid false until made (and after a refresh) */
  expert: number;
  theta: Float64Array;
  base: number;
  valid: boolean;
}

/** The most bytes the per-point tables of one scan take (10 float64 and one byte per point and expert). */
const TABLE_BYTES = 64 * 1024 * 1024;

/** Whether two arrays hold the same numbers. */
function sameValues(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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
  private le: Float64Array;
  private ve: Float64Array;
  private logB: Float64Array;
  private logC: Float64Array;
  private lOut: Float64Array;
  /** log B - log C, e^(u_e + l_e - log B) and e^(u_e - log C) at the base (the trial form, K >= 2) */
  private D0: Float64Array;
  private W0: Float64Array;
  private Z0: Float64Array;
  /** e's logit at the base */
  private ue0: Float64Array;
  /** e^(v_j - v_j base) of the trials of an intercept (one per trial, not per point) */
  private factors = new Float64Array(0);
  private inverses = new Float64Array(0);
  /** the K-th best score among the other experts, and whether e wins a tie with it */
  private tau: Float64Array;
  private tieWin: Uint8Array;
  private readonly rank: Int32Array;
  private readonly score: Float64Array;
  private readonly u: Float64Array;
  private readonly slope: Float64Array;
  /** the moved expert, and the coordinate: -1 the intercept, p >= 0 slope p */
  private e = -1;
  private p = -1;
  /** L at the prepared base point */
  base = NaN;
  /**
   * The per-point tables of each expert, kept with the gate parameters they were made at: the
   * search's coordinates of one expert (its intercept and slopes) share one prepare while the
   * base point stays (it moves only when a trial is better)
   */
  private readonly tables: (PointTables | undefined)[];

  private constructor(
    private readonly data: Dataset,
    private readonly state: PackedState,
    gate: TopKGate,
    tableBytes: number,
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
    // one set of tables per expert where they fit in TABLE_BYTES (64 MiB: all k for n = 1e5 up to k = 8),
    // else experts share slots (a slot is remade when another expert's coordinate comes)
    const slots = Math.min(k, Math.max(1, Math.floor(tableBytes / (n * 81))));
    this.tables = new Array<PointTables | undefined>(slots).fill(undefined);
    const first = this.tablesOf(0);
    this.le = first.le;
    this.ve = first.ve;
    this.logB = first.logB;
    this.logC = first.logC;
    this.lOut = first.lOut;
    this.D0 = first.D0;
    this.W0 = first.W0;
    this.Z0 = first.Z0;
    this.ue0 = first.ue0;
    this.tau = first.tau;
    this.tieWin = first.tieWin;
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
   * @param tableBytes the most bytes for the per-point tables (default 64 MiB; at least one expert's are kept)
   */
  static for(data: Dataset, state: PackedState, tableBytes = TABLE_BYTES): SelectionScan | null {
    const gate = state.gate;
    if (!(gate instanceof TopKGate) || !gate.selective || gate.k !== state.experts.k || gate.d !== data.d) return null;
    return new SelectionScan(data, state, gate, tableBytes);
  }

  /** Take the state's current experts: l_ni = log f_i(y_n | x_n) (the family's log-densities). */
  refresh(): void {
    const { data, state } = this;
    state.experts.family.logDensities(state.experts, data.X, data.Y, data.n, this.l);
    for (const tables of this.tables) if (tables) tables.valid = false;
  }

  /** Expert e's tables (allocated at first use). */
  private tablesOf(e: number): PointTables {
    const slot = e % this.tables.length;
    let tables = this.tables[slot];
    if (!tables) {
      const n = this.n;
      const array = () => new Float64Array(n);
      tables = {
        le: array(), ve: array(), logB: array(), logC: array(), lOut: array(), D0: array(), W0: array(), Z0: array(), ue0: array(), tau: array(),
        tieWin: new Uint8Array(n), expert: -1, theta: new Float64Array(this.theta.length), base: NaN, valid: false,
      };
      this.tables[slot] = tables;
    }
    return tables;
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
    const e = t < k ? t : Math.floor((t - k) / d);
    this.e = e;
    this.p = t < k ? -1 : (t - k) % d;
    const tables = this.tablesOf(e);
    const { lOut, le, ve, ue0, D0, W0, Z0 } = tables;
    const logBs = tables.logB;
    const logCs = tables.logC;
    this.le = le;
    this.ve = ve;
    this.logB = logBs;
    this.logC = logCs;
    this.lOut = lOut;
    this.D0 = D0;
    this.W0 = W0;
    this.Z0 = Z0;
    this.ue0 = ue0;
    this.tau = tables.tau;
    this.tieWin = tables.tieWin;
    if (tables.valid && tables.expert === e && sameValues(tables.theta, theta)) {
      this.base = tables.base;
      return;
    }
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
      // the sums relative to their maxima (the maximum's own term is exactly 1, no exponential)
      let sB = 0;
      let sC = 0;
      let sK = 0;
      let sKl = 0;
      for (let i = 0; i < k; i++) {
        if (i === e || rank[i]! >= K) continue;
        const ui = u[i]!;
        const ul = ui + l[o + i]!;
        if (mKl > -Infinity) sKl += ul === mKl ? 1 : Math.exp(ul - mKl);
        sK += ui === mK ? 1 : Math.exp(ui - mK);
        if (rank[i]! < K - 1) {
          if (mB > -Infinity) sB += ul === mB ? 1 : Math.exp(ul - mB);
          sC += ui === mC ? 1 : Math.exp(ui - mC);
        }
      }
      // (log B, log C kept for the rare points the trial form does not take, see scan)
      const logB = mB === -Infinity ? -Infinity : sB === 1 ? mB : mB + Math.log(sB);
      const logC = mC === -Infinity ? -Infinity : sC === 1 ? mC : mC + Math.log(sC);
      logBs[r] = logB;
      logCs[r] = logC;
      lOut[r] = mKl === -Infinity ? -Infinity : sKl === sK ? mKl - mK : mKl - mK + Math.log(sKl / sK);
      const ueR = u[e]!;
      const leR = l[o + e]!;
      le[r] = leR;
      ve[r] = slope[e]!;
      ue0[r] = ueR;
      if (K > 1) {
        D0[r] = logB - logC;
        W0[r] = Math.exp(ueR + leR - logB);
        Z0[r] = Math.exp(ueR - logC);
      }
      this.tau[r] = score[kth]!;
      // e beats the K-th other on a tie when its index is lower (the kernel's order)
      this.tieWin[r] = e < kth ? 1 : 0;
    }
    // the base's L by the trials' own arithmetic (scan at v_j itself), so that a trial that moves
    // no point's selection compares with the base as the E-step path compares them
    this.one[0] = theta[t]!;
    this.scan(this.one, this.oneOut);
    this.base = this.oneOut[0]!;
    tables.theta.set(theta);
    tables.base = this.base;
    tables.expert = e;
    tables.valid = true;
  }

  /**
   * L_n with e's logit ue and ranking score se, where the trial form of `scan` does not apply:
   * the log-add-exp formulas of the module comment.
   */
  private term(r: number, ue: number, se: number): number {
    const tau = this.tau[r]!;
    if (!(se > tau || (se === tau && this.tieWin[r] === 1))) return this.lOut[r]!;
    if (this.K === 1) return this.le[r]!;
    return logAddExp(this.logB[r]!, ue + this.le[r]!) - logAddExp(this.logC[r]!, ue);
  }

  /** L_n of a kept point whose ratio q lies outside [1e-20, 1e20] (see scan). */
  private rare(r: number, q: number, ue: number, se: number): number {
    if (q > 0 && q < Infinity) return this.D0[r]! + Math.log(q);
    return this.term(r, ue, se);
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
  /** per trial: the running product of the kept points' ratios q (see scan) */
  private products = new Float64Array(0);

  /**
   * L at the base point with coordinate j set to each of `values`, in one pass over the points:
   *   out[t] = sum_n L_n(v with v_j = values[t]).
   * A kept point with K >= 2 adds L_n = log B - log C + log q, q = (1 + E W0) / (1 + E Z0), where
   * E = e^(u_e - u_e at the base) (one exponential per trial for an intercept, per point and trial
   * for a slope), W0 = e^(u_e + l_e - log B) and Z0 = e^(u_e - log C) at the base; the q multiply
   * into one product per trial (flushed to its logarithm outside [1e-280, 1e280]), so a trial
   * costs no logarithm per point. q outside [1e-20, 1e20] (a point far in e's favour, a huge
   * step) is not multiplied in: its L_n is added by the log-add-exp form.
   * @param values trial values of v_j (finite), any count m
   * @param out length >= m, overwritten
   */
  scan(values: Float64Array, out: Float64Array): void {
    const { n, k, d, K, theta, e, p, byLogit, tau, tieWin, lOut, le, D0, W0, Z0, ve, ue0 } = this;
    const { X } = this.data;
    const m = values.length;
    if (this.products.length < m) {
      this.products = new Float64Array(m);
      this.factors = new Float64Array(m);
      this.inverses = new Float64Array(m);
    }
    const prod = this.products;
    const E = this.factors;
    out.fill(0, 0, m);
    prod.fill(1, 0, m);
    const te = theta[e]!;
    const sOff = k + e * d;
    const intercept = p < 0;
    // the intercept: the logit moves by the same amount at every point
    const Einv = this.inverses;
    if (intercept) {
      for (let t = 0; t < m; t++) {
        E[t] = Math.exp(values[t]! - te);
        Einv[t] = 1 / E[t]!;
      }
    }
    let common = 0;
    for (let r = 0; r < n; r++) {
      const xo = r * d;
      const tauR = tau[r]!;
      const tie = tieWin[r] === 1;
      const veR = ve[r]!;
      const ue0R = ue0[r]!;
      const w = W0[r]!;
      const z = Z0[r]!;
      const outR = lOut[r]!;
      const inR = K === 1 ? le[r]! : D0[r]!;
      // a slope in d <= 2: the other coordinate's product, as the kernel forms it (the sum of two
      // terms is the same in either order)
      const xp = intercept ? 0 : X[xo + p]!;
      const other = d === 2 && !intercept ? theta[sOff + 1 - p]! * X[xo + 1 - p]! : 0;
      if (intercept && !byLogit) {
        // the ranking stays: the point is kept for every trial or for none
        // (a term that is the same for every trial goes into one sum, added to each at the end)
        if (!(veR > tauR || (veR === tauR && tie))) {
          common += outR;
          continue;
        }
        if (K === 1) {
          common += inR;
          continue;
        }
        for (let t = 0; t < m; t++) {
          const f = E[t]!;
          const q = f > 1 ? (Einv[t]! + w) / (Einv[t]! + z) : (1 + f * w) / (1 + f * z);
          if (q > 1e-20 && q < 1e20) {
            out[t] = out[t]! + inR;
            const P = prod[t]! * q;
            if (P > 1e280 || P < 1e-280) {
              out[t] = out[t]! + Math.log(P);
              prod[t] = 1;
            } else prod[t] = P;
          } else out[t] = out[t]! + this.rare(r, q, 1 * (values[t]! + veR), veR);
        }
        continue;
      }
      for (let t = 0; t < m; t++) {
        let ue: number;
        let se: number;
        if (intercept) {
          ue = 1 * (values[t]! + veR);
          se = ue;
        } else {
          // e's slope score with beta1_e,p = values[t], summed in the kernel's order
          let s: number;
          if (d === 1) s = values[t]! * xp;
          else if (d === 2) s = values[t]! * xp + other;
          else {
            s = (p === 0 ? values[t]! : theta[sOff]!) * X[xo]!;
            for (let q = 1; q < d; q++) s += (q === p ? values[t]! : theta[sOff + q]!) * X[xo + q]!;
          }
          ue = 1 * (te + s);
          se = byLogit ? ue : s;
        }
        if (!(se > tauR || (se === tauR && tie))) {
          out[t] = out[t]! + outR;
          continue;
        }
        if (K === 1) {
          out[t] = out[t]! + inR;
          continue;
        }
        // q = (1 + f w) / (1 + f z) with f = e^(ue - ue0), divided through by f where f > 1 (no
        // overflow of f w); for an intercept f is the trial's
        let q: number;
        if (intercept) {
          const f = E[t]!;
          q = f > 1 ? (Einv[t]! + w) / (Einv[t]! + z) : (1 + f * w) / (1 + f * z);
        } else {
          // f = e^-|delta| <= 1 (no overflow)
          const delta = ue - ue0R;
          const f = Math.exp(delta > 0 ? -delta : delta);
          q = delta > 0 ? (f + w) / (f + z) : (1 + f * w) / (1 + f * z);
        }
        if (q > 1e-20 && q < 1e20) {
          out[t] = out[t]! + inR;
          const P = prod[t]! * q;
          if (P > 1e280 || P < 1e-280) {
            out[t] = out[t]! + Math.log(P);
            prod[t] = 1;
          } else prod[t] = P;
        } else out[t] = out[t]! + this.rare(r, q, ue, se);
      }
    }
    for (let t = 0; t < m; t++) out[t] = out[t]! + common + Math.log(prod[t]!);
  }
}
