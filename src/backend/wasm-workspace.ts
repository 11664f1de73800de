/**
 * The memory the WASM kernels (wasm-estep.ts, wasm-gate.ts) run in, shared by the E-step and the
 * gate passes of one (k, d) and n points:
 *   [E-step parameters, statistics, residuals | gate results, theta | X | Y | G | R | Gtrial]
 * Two ways to use it:
 *   - views (fit buffers): G, R and Gtrial are Float64Array views of the memory, handed to the EM
 *     engine as its buffers (Backend.fitBuffers). Kernels called with them read and write in
 *     place: no copy per iteration. The memory never grows, so the views stay valid.
 *   - copies (wasmEStepKernel, wasmGatePass): any Float64Arrays; G and R are copied in and out
 *     per call, the workspace is rebuilt larger when n grows.
 * X and Y are copied in when a kernel sees other arrays (or another n) than last time: once per
 * fit, since a fit passes the same Dataset arrays every iteration and gatelab never writes a
 * Dataset's arrays after creating it. An odd last point runs through the JS kernels (the SIMD loop
 * takes two points at a time).
 */
import { newtonDerivatives, newtonKernel } from '../gates/linear-kernel.js';
import { eStepKernel, type EStepKernel } from './estep-kernel.js';
import { wasmEStepModule } from './wasm-estep.js';
import { GATE_VARIANTS, wasmGateModule, wasmGateSupported, type GateVariant, type WasmGatePass } from './wasm-gate.js';
import { scoreLength, wasmScoreModule } from './wasm-score.js';

const PAGE = 65536;
/** The largest memory a workspace takes (2 GiB: byte addresses stay positive i32). */
export const MAX_BYTES = 2 ** 31;

/**
 * A workspace for k experts, dimension d and up to `capacity` points, or null where its memory
 * would exceed MAX_BYTES or cannot be allocated.
 * @example tryWorkspace(3, 1, 1e5)?.G.length // => 300000
 */
export function tryWorkspace(k: number, d: number, capacity: number): WasmWorkspace | null {
  try {
    return new WasmWorkspace(k, d, capacity);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}
/** Below this many points the gate passes run the JS kernel (single rows of the E-step's fallback). */
export const WASM_GATE_MIN_POINTS = 64;

type EStepFn = (pairs: number, xp: number, yp: number, gp: number, rp: number, parp: number, statsp: number, resp: number) => number;
type EStepGateFn = (pairs: number, xp: number, yp: number, gp: number, rp: number, parp: number, statsp: number, resp: number, thp: number, outp: number, scale: number) => number;
type GateFn = (pairs: number, xp: number, rp: number, gp: number, outp: number, thp: number, scale: number) => void;
/** The experts' parameters the certificate's sums read. */
export interface ScoreExperts {
  a: Float64Array;
  b: Float64Array;
  nu: Float64Array;
}

type ScoreFn = (pairs: number, xp: number, yp: number, rp: number, gp: number, parp: number, outp: number, scale: number) => void;

export class WasmWorkspace {
  readonly memory: WebAssembly.Memory;
  /** views of the memory, n x k each (fit buffers) */
  readonly G: Float64Array;
  readonly R: Float64Array;
  readonly Gtrial: Float64Array;
  private readonly heap: Float64Array;
  private readonly per: number;
  private readonly size: number;
  private readonly P: number;
  private readonly offStats: number;
  private readonly offResidual: number;
  private readonly offGate: number;
  private readonly offTheta: number;
  private readonly offScore: number;
  private readonly scoreFns = new Map<string, ScoreFn>();
  private readonly offX: number;
  private readonly offY: number;
  private readonly offG: number;
  private readonly offR: number;
  private lastX: Float64Array | null = null;
  private lastXn = -1;
  private lastY: Float64Array | null = null;
  private lastYn = -1;
  private readonly estep: EStepFn;
  private readonly estepGate: EStepGateFn | null;
  private readonly gate: Record<GateVariant, GateFn> | null;
  private fallback: ((row: number, residuals: Float64Array) => number) | null = null;
  private fallbackR: Float64Array | null = null;
  private readonly tailStats: Float64Array;
  private readonly tailGrad: Float64Array;
  private readonly tailH: Float64Array;

  /**
   * @param k experts; @param d input dimension; @param capacity points (rounded up to even)
   */
  constructor(
    readonly k: number,
    readonly d: number,
    capacity: number,
  ) {
    const m = d + 1;
    this.per = 3 + d;
    this.size = m * m + m + 1;
    this.P = k + k * d;
    const even = (v: number) => v + (v % 2);
    const cap = even(Math.max(2, capacity));
    this.offStats = k * this.per;
    this.offResidual = this.offStats + k * this.size;
    this.offGate = even(this.offResidual + k);
    this.offTheta = this.offGate + 2 + this.P + this.P * this.P;
    // the certificate's g and J: at most all gate coordinates and k (d + 2) expert ones
    this.offScore = even(this.offTheta + this.P);
    const Ps = this.P + k * (d + 2);
    this.offX = even(this.offScore + Ps + Ps * Ps);
    this.offY = this.offX + cap * d;
    this.offG = this.offY + cap;
    this.offR = this.offG + cap * k;
    const offGtrial = this.offR + cap * k;
    const doubles = offGtrial + cap * k;
    // addresses are i32: stay below 2 GiB (callers fall back to the JS kernels)
    if (doubles * 8 > MAX_BYTES) throw new RangeError(`WasmWorkspace: ${capacity} points need ${doubles * 8} bytes, more than ${MAX_BYTES}`);
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((doubles * 8) / PAGE) });
    this.heap = new Float64Array(this.memory.buffer);
    this.G = new Float64Array(this.memory.buffer, this.offG * 8, capacity * k);
    this.R = new Float64Array(this.memory.buffer, this.offR * 8, capacity * k);
    this.Gtrial = new Float64Array(this.memory.buffer, offGtrial * 8, capacity * k);
    const estep = new WebAssembly.Instance(wasmEStepModule(k, d), {
      env: {
        memory: this.memory,
        fallback: (row: number): number => {
          const lp = this.fallback!(row, this.heap.subarray(this.offResidual, this.offResidual + k));
          const R = this.fallbackR!;
          // a foreign R: the row the fallback wrote goes into the memory for the statistics
          if (!this.owns(R)) this.heap.set(R.subarray(row * k, row * k + k), this.offR + row * k);
          return lp;
        },
      },
    });
    this.estep = estep.exports.estep as EStepFn;
    this.estepGate = (estep.exports.estepGate as EStepGateFn | undefined) ?? null;
    if (wasmGateSupported(k, d)) {
      const gate = new WebAssembly.Instance(wasmGateModule(k, d), { env: { memory: this.memory } });
      this.gate = Object.fromEntries(GATE_VARIANTS.map((v) => [v, gate.exports[v] as GateFn])) as Record<GateVariant, GateFn>;
    } else this.gate = null;
    this.tailStats = new Float64Array(k * this.size);
    this.tailGrad = new Float64Array(this.P);
    this.tailH = new Float64Array(this.P * this.P);
  }

  /** The points this workspace holds. */
  get capacity(): number {
    return this.G.length / this.k;
  }

  /** Whether `a` is a view of this workspace's memory. */
  owns(a: Float64Array): boolean {
    return a.buffer === this.memory.buffer;
  }

  /** Copy X (and Y) in unless these very arrays of this n are there already. */
  private syncData(X: Float64Array, Y: Float64Array | null, n: number): void {
    if (X !== this.lastX || n !== this.lastXn) {
      this.heap.set(X.subarray(0, n * this.d), this.offX);
      this.lastX = X;
      this.lastXn = n;
    }
    if (Y && (Y !== this.lastY || n !== this.lastYn)) {
      this.heap.set(Y.subarray(0, n), this.offY);
      this.lastY = Y;
      this.lastYn = n;
    }
  }

  /**
   * Byte address of an n x k array for a kernel: its own place if it is a view of this memory,
   * else the scratch region (given: the G or R region) after copying it in when `input`.
   */
  private place(a: Float64Array, region: number, rows: number, input: boolean): number {
    if (this.owns(a)) return a.byteOffset;
    if (input) this.heap.set(a.subarray(0, rows * this.k), region);
    return region * 8;
  }

  /** The E-step, EStepKernel contract (estep-kernel.ts); n <= capacity. */
  eStep(...args: Parameters<EStepKernel>): number {
    return this.runEStep(args, null);
  }

  /** Whether eStepGate runs here (the module has the fused function). */
  get fusedGate(): boolean {
    return this.estepGate !== null;
  }

  /**
   * The E-step fused with the gate's 'fromWeights' Newton pass at theta (linear logits keeping all
   * k experts, factor scale): as eStep, and from the new R and the given G, linear = sum R u,
   * grad and H of Q at theta (the numbers of gatePass('fromWeights', ...) after eStep, in one pass
   * over the points). R and G must be views of this workspace.
   */
  eStepGate(args: Parameters<EStepKernel>, theta: Float64Array, scale: number, grad: Float64Array, H: Float64Array): { L: number; linear: number } {
    const gate = { theta, scale, grad, H, linear: NaN };
    const L = this.runEStep(args, gate);
    return { L, linear: gate.linear };
  }

  private runEStep(
    [n, X, Y, G, A, B, C, H, R, stats, fallback]: Parameters<EStepKernel>,
    gate: { theta: Float64Array; scale: number; grad: Float64Array; H: Float64Array; linear: number } | null,
  ): number {
    const { k, d, per } = this;
    const pairs = n >> 1;
    const even = 2 * pairs;
    this.syncData(X, Y, n);
    const gp = this.place(G, this.offG, even, true);
    const rp = this.place(R, this.offR, even, false);
    for (let i = 0; i < k; i++) {
      this.heap[i * per] = B[i]!;
      this.heap[i * per + 1] = C[i]!;
      this.heap[i * per + 2] = H[i]!;
      for (let p = 0; p < d; p++) this.heap[i * per + 3 + p] = A[i * d + p]!;
    }
    this.fallback = fallback;
    this.fallbackR = R;
    let L: number;
    if (gate) {
      if (!this.estepGate || !this.owns(R) || !this.owns(G)) throw new Error('WasmWorkspace.eStepGate: needs the fused module and this workspace\'s R and G');
      this.heap.set(gate.theta.subarray(0, this.P), this.offTheta);
    }
    try {
      L = gate
        ? this.estepGate!(pairs, 8 * this.offX, 8 * this.offY, gp, rp, 0, 8 * this.offStats, 8 * this.offResidual, 8 * this.offTheta, 8 * this.offGate, gate.scale)
        : this.estep(pairs, 8 * this.offX, 8 * this.offY, gp, rp, 0, 8 * this.offStats, 8 * this.offResidual);
    } finally {
      this.fallback = null;
      this.fallbackR = null;
    }
    if (!this.owns(R)) R.set(this.heap.subarray(this.offR, this.offR + even * k));
    stats.set(this.heap.subarray(this.offStats, this.offStats + k * this.size));
    if (n % 2 === 1) {
      const last = n - 1;
      const ts = this.tailStats;
      L += eStepKernel(k, d)(1, X.subarray(last * d, n * d), Y.subarray(last, n), G.subarray(last * k, n * k), A, B, C, H, R.subarray(last * k, n * k), ts, (_row, residuals) => fallback(last, residuals));
      for (let j = 0; j < ts.length; j++) stats[j] = stats[j]! + ts[j]!;
    }
    if (gate) {
      const { P } = this;
      const o = this.offGate;
      gate.linear = this.heap[o]!;
      gate.grad.set(this.heap.subarray(o + 2, o + 2 + P));
      gate.H.set(this.heap.subarray(o + 2 + P, o + 2 + P + P * P));
      if (n % 2 === 1) {
        const last = n - 1;
        const tail = newtonKernel(k, d, k, 'slope', 'fromWeights')(gate.theta, X.subarray(last * d, n * d), 1, R.subarray(last * k, n * k), G.subarray(last * k, n * k), this.tailGrad, this.tailH, gate.scale);
        gate.linear += tail.linear;
        for (let j = 0; j < P; j++) gate.grad[j] = gate.grad[j]! + this.tailGrad[j]!;
        for (let j = 0; j < P * P; j++) gate.H[j] = gate.H[j]! + this.tailH[j]!;
      }
    }
    return L;
  }

  /** The gate pass (wasm-gate.ts, WasmGatePass contract); n <= capacity; null gate modules: not called. */
  gatePass(...[variant, theta, X, n, R, G, grad, H, scale]: Parameters<WasmGatePass>): ReturnType<WasmGatePass> {
    const { k, d, P } = this;
    if (n < WASM_GATE_MIN_POINTS || !this.gate) return newtonKernel(k, d, k, 'slope', variant)(theta, X, n, R, G, grad, H, scale);
    const pairs = n >> 1;
    const even = 2 * pairs;
    this.syncData(X, null, n);
    this.heap.set(theta.subarray(0, P), this.offTheta);
    const rp = variant === 'weights' ? 0 : this.place(R, this.offR, even, true);
    const gp = this.place(G, this.offG, even, variant === 'fromWeights');
    this.gate[variant](pairs, 8 * this.offX, rp, gp, 8 * this.offGate, 8 * this.offTheta, scale);
    if (variant !== 'fromWeights' && !this.owns(G)) G.set(this.heap.subarray(this.offG, this.offG + even * k));
    const o = this.offGate;
    let linear = this.heap[o]!;
    let lseSum = this.heap[o + 1]!;
    const derivatives = newtonDerivatives(variant);
    if (derivatives) {
      grad.set(this.heap.subarray(o + 2, o + 2 + P));
      H.set(this.heap.subarray(o + 2 + P, o + 2 + P + P * P));
    }
    if (n % 2 === 1) {
      const last = n - 1;
      const tail = newtonKernel(k, d, k, 'slope', variant)(theta, X.subarray(last * d, n * d), 1, R.subarray(last * k, n * k), G.subarray(last * k, n * k), this.tailGrad, this.tailH, scale);
      linear += tail.linear;
      lseSum += tail.lseSum;
      if (derivatives) {
        for (let j = 0; j < P; j++) grad[j] = grad[j]! + this.tailGrad[j]!;
        for (let j = 0; j < P * P; j++) H[j] = H[j]! + this.tailH[j]!;
      }
    }
    return variant === 'weights' ? { linear: NaN, lseSum } : { linear, lseSum };
  }

  /**
   * The certificate's sums (wasm-score.ts) for a linear gate keeping all experts with logit factor
   * `scale` and free gate coordinates `free`: g (P) and the upper triangle of J (P x P; the rest
   * is left as it is), P = free.length + k (d + 2). R and G must be views of this workspace.
   */
  scoreSums(free: Int32Array, scale: number, experts: ScoreExperts, X: Float64Array, Y: Float64Array, n: number, R: Float64Array, G: Float64Array, g: Float64Array, J: Float64Array): void {
    const { k, d, heap } = this;
    const key = Array.from(free).join(',');
    let fn = this.scoreFns.get(key);
    if (!fn) {
      const instance = new WebAssembly.Instance(wasmScoreModule(k, d, free), { env: { memory: this.memory } });
      fn = instance.exports.score as ScoreFn;
      this.scoreFns.set(key, fn);
    }
    if (!this.owns(R) || !this.owns(G)) throw new Error('WasmWorkspace.scoreSums: R and G must be views of this workspace');
    const P = scoreLength(k, d, free);
    const F = free.length;
    this.syncData(X, Y, n);
    const per = 2 + d;
    for (let i = 0; i < k; i++) {
      heap[i * per] = experts.b[i]!;
      heap[i * per + 1] = experts.nu[i]!;
      for (let p = 0; p < d; p++) heap[i * per + 2 + p] = experts.a[i * d + p]!;
    }
    const pairs = n >> 1;
    fn(pairs, 8 * this.offX, 8 * this.offY, R.byteOffset, G.byteOffset, 0, 8 * this.offScore, scale);
    const o = this.offScore;
    for (let u = 0; u < P; u++) {
      g[u] = heap[o + u]!;
      for (let v = u; v < P; v++) J[u * P + v] = heap[o + P + u * P + v]!;
    }
    if (n % 2 === 1) {
      // the odd last point in JS, the same formulas
      const r = n - 1;
      const s = new Float64Array(P);
      for (let t = 0; t < F; t++) {
        const j = free[t]!;
        const i = j < k ? j : Math.floor((j - k) / d);
        const gi = G[r * k + i]!;
        const D = R[r * k + i]! - gi;
        s[t] = gi === 0 ? 0 : D * (j < k ? scale : X[r * d + ((j - k) % d)]! * scale);
      }
      for (let i = 0; i < k; i++) {
        const w = R[r * k + i]!;
        let mean = experts.b[i]!;
        for (let p = 0; p < d; p++) mean += experts.a[i * d + p]! * X[r * d + p]!;
        const res = Y[r]! - mean;
        const c = (w * res) / experts.nu[i]!;
        for (let p = 0; p < d; p++) s[F + i * d + p] = c * X[r * d + p]!;
        s[F + k * d + i] = c;
        s[F + k * d + k + i] = w * ((res * res) / (2 * experts.nu[i]!) - 0.5);
      }
      for (let u = 0; u < P; u++) {
        g[u] = g[u]! + s[u]!;
        for (let v = u; v < P; v++) J[u * P + v] = J[u * P + v]! + s[u]! * s[v]!;
      }
    }
  }
}


/**
 * A new WASM E-step kernel for k experts in dimension d with its own memory (modules compiled
 * once per (k, d)), with exactly the contract of EStepKernel (estep-kernel.ts):
 *   kernel(n, X, Y, G, A, B, C, H, R, stats, fallback) -> L = sum_n log p(y_n | x_n),
 *   R_ni = G_i N(y_n | a_i.x_n + b_i, nu_i) / p(y_n | x_n), stats per expert (Szz, Szr, Srr),
 * with C_i = -0.5 log(2 pi nu_i), H_i = 0.5 / nu_i. G is copied in and R out per call; X and Y
 * when the kernel sees other arrays than last time (keep one kernel per fit).
 * @param k experts, >= 1, with wasmEStepSupported(k, d)
 * @param d input dimension, >= 1
 * @example
 *   const kernel = wasmEStepKernel(2, 1);
 *   const L = kernel(n, X, Y, G, A, B, C, H, R, stats, fallback); // as eStepKernel(2, 1)
 */
export function wasmEStepKernel(k: number, d: number): EStepKernel {
  let ws: WasmWorkspace | null = null;
  return (n, ...rest) => {
    if (!ws || ws.capacity < n) ws = tryWorkspace(k, d, n);
    // too many points for one WASM memory: the JS kernel
    return ws ? ws.eStep(n, ...rest) : eStepKernel(k, d)(n, ...rest);
  };
}

/**
 * A new WASM Newton-pass kernel for linear logits keeping all k experts in dimension d, with its
 * own memory: pass(variant, theta, X, n, R, G, grad, H, scale) computes what
 * newtonKernel(k, d, k, 'slope', variant)(theta, X, n, R, G, grad, H, scale) does (wasm-gate.ts)
 * and returns { linear, lseSum }. R and G are copied in or out per call as the variant needs.
 * @param k experts (all kept), with wasmGateSupported(k, d)
 * @param d input dimension, >= 1
 * @example
 *   const pass = wasmGatePass(3, 1);
 *   const { linear, lseSum } = pass('evaluate', theta, X, n, R, G, grad, H, 1); // Q = linear - lseSum
 */
export function wasmGatePass(k: number, d: number): WasmGatePass {
  let ws: WasmWorkspace | null = null;
  return (variant, theta, X, n, R, G, grad, H, scale) => {
    if (!ws || ws.capacity < n) ws = tryWorkspace(k, d, n);
    return ws ? ws.gatePass(variant, theta, X, n, R, G, grad, H, scale) : newtonKernel(k, d, k, 'slope', variant)(theta, X, n, R, G, grad, H, scale);
  };
}
