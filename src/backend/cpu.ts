/**
 * The float64 CPU backend: the reference implementation of the reductions over points.
 *
 * E-step cost: the mixture sum is formed in probability space relative to the largest expert
 * log-density among the experts the gate keeps,
 *   p(y|x) = exp(M) sum_i G_i exp(l_i - M),   l_i = log N(y | a_i.x + b_i, nu_i),  M = max_{G_i>0} l_i,
 * which is log-sum-exp with the gate factor kept as a probability: k - 1 exponentials per point and
 * no logarithm (log p is accumulated as a running product, flushed to a log sum before it can
 * underflow). Rows where the sum would lose precision (< 1e-280) are redone fully in log space
 * with the gate's exact log-weights.
 *
 * Kernels (option `kernels`): 'wasm' runs the E-step and, for gates with linear logits keeping
 * every expert, the gate's weights and Newton passes as WebAssembly SIMD128 generated per (k, d)
 * (wasm-estep.ts, wasm-gate.ts: two points per instruction, a polynomial exp with a proven
 * <= 1.5 ulp bound); 'js' runs the generated JavaScript kernels (estep-kernel.ts,
 * gates/linear-kernel.ts), the float64 reference that the conformance suite compares the WASM
 * kernels against. The default is 'wasm' where the engine has
 * SIMD128 and a start-up check finds the two agreeing, else 'js'.
 */
import type { Dataset } from '../data/dataset.js';
import { expertStatsSize, gaussianLinear, isGaussianLinear, type GaussianExperts } from '../experts/gaussian-linear.js';
import type { ExpertParameters } from '../experts/types.js';
import { ConfigError, show } from '../errors.js';
import { LinearLogitGate } from '../gates/linear-gate.js';
import { newtonKernel } from '../gates/linear-kernel.js';
import type { Gate } from '../gates/types.js';
import { eStepKernel, PRODUCT_FLUSH, type EStepKernel } from './estep-kernel.js';
import type { Backend, FitBuffers } from './types.js';
import { wasmEStepSupported } from './wasm-estep.js';
import { wasmGateSupported, type GateVariant, type WasmGatePass } from './wasm-gate.js';
import { wasmScoreSupported } from './wasm-score.js';
import { tryWorkspace, WASM_GATE_MIN_POINTS, wasmEStepKernel, wasmGatePass, type WasmWorkspace } from './wasm-workspace.js';
import { wasmSimdAvailable } from './wasm-math.js';

const LOG_2PI = Math.log(2 * Math.PI);
const SMALL_SUM = 1e-280;

/** Which kernel set the CPU backend runs: WebAssembly SIMD128 or the JavaScript reference. */
export type CpuKernels = 'wasm' | 'js';
export const CPU_KERNELS: readonly CpuKernels[] = ['wasm', 'js'];

export interface CpuBackendOptions {
  /** 'wasm' or 'js'; default: defaultCpuKernels() */
  kernels?: CpuKernels;
}

let defaultKernels: CpuKernels | null = null;

/**
 * The default kernel set: 'wasm' where WebAssembly SIMD128 is available and the WASM E-step
 * agrees with the JavaScript one on a fixed check problem (wasmKernelsAgree), else 'js'. Decided
 * once per process.
 * @example defaultCpuKernels() // => 'wasm' on Node 20
 */
export function defaultCpuKernels(): CpuKernels {
  defaultKernels ??= wasmSimdAvailable() && wasmKernelsAgree() ? 'wasm' : 'js';
  return defaultKernels;
}

/**
 * Check an option value for `kernels`; undefined gives the default. ConfigError for anything but
 * 'wasm' or 'js', and for 'wasm' where this engine has no WebAssembly SIMD128.
 * @param v the value to check
 * @param name the option's name in messages (default 'kernels')
 * @example validateCpuKernels('js') // => 'js'
 */
export function validateCpuKernels(v: unknown, name = 'kernels'): CpuKernels {
  if (v === undefined) return defaultCpuKernels();
  if (typeof v !== 'string' || !(CPU_KERNELS as readonly string[]).includes(v)) {
    throw new ConfigError(`${name}: ${show(v)} is not a CPU kernel set; must be one of ${CPU_KERNELS.join(', ')}`);
  }
  if (v === 'wasm' && !wasmSimdAvailable()) {
    throw new ConfigError(`${name}: "wasm" needs WebAssembly SIMD128, which this JavaScript engine does not provide; use "js"`);
  }
  return v as CpuKernels;
}

/**
 * The start-up agreement check of the default: the WASM and JS E-steps on a fixed problem
 * (k = 3, d = 1, 64 points, one fallback row) give the same L, R and statistics to 1e-12
 * relative: |a - b| <= 1e-12 (|b| + 1) entry by entry (the conformance suite bounds the
 * differences far more tightly; this guards against an engine that computes something else
 * entirely). False, not an error, where anything throws.
 * @example wasmKernelsAgree() // => true on Node 20
 */
export function wasmKernelsAgree(): boolean {
  try {
    const k = 3, d = 1, n = 64;
    const X = Float64Array.from({ length: n }, (_, r) => Math.sin(r) * 2);
    const Y = Float64Array.from({ length: n }, (_, r) => (r === 17 ? 1e4 : Math.cos(3 * r) * 3));
    const G = new Float64Array(n * k);
    for (let r = 0; r < n; r++) {
      const u = [0.3 * X[r]!, 1 - X[r]!, r % 5 === 0 || r === 17 ? -690 : 0.5];
      const mx = Math.max(...u);
      const e = u.map((v) => Math.exp(v - mx));
      const s = e[0]! + e[1]! + e[2]!;
      for (let i = 0; i < k; i++) G[r * k + i] = e[i]! / s;
    }
    const A = Float64Array.of(1, -1, 0.5), B = Float64Array.of(0, 1, -1);
    const nu = [0.5, 1, 2];
    const C = Float64Array.from(nu, (v) => -0.5 * (LOG_2PI + Math.log(v)));
    const H = Float64Array.from(nu, (v) => 0.5 / v);
    const run = (kernel: EStepKernel) => {
      const R = new Float64Array(n * k);
      const stats = new Float64Array(k * expertStatsSize(d));
      const L = kernel(n, X, Y, G, A, B, C, H, R, stats, (row, res) => logSumExpRow(G.subarray(row * k, row * k + k).map(Math.log), res, C, H, R, row * k, k));
      return { L, R, stats };
    };
    const js = run(eStepKernel(k, d));
    const wasm = run(wasmEStepKernel(k, d));
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * (Math.abs(b) + 1);
    return close(wasm.L, js.L) && js.R.every((v, j) => close(wasm.R[j]!, v)) && js.stats.every((v, j) => close(wasm.stats[j]!, v));
  } catch {
    return false;
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  /** the kernel set this backend runs */
  readonly kernels: CpuKernels;
  private rowLogG = new Float64Array(0);
  /** eStepGeneric's log-densities (n x k), kept between calls */
  private logDensityBuffer = new Float64Array(0);
  /** WASM kernels of this backend by (k, d): each owns its memory (X and Y copied once per fit) */
  private readonly wasmKernels = new Map<string, EStepKernel>();
  /** WASM gate passes of this backend by (k, d) (linear logits keeping every expert) */
  private readonly wasmGates = new Map<string, WasmGatePass>();
  /** the fit workspaces this backend handed out buffers of, by their memory */
  private readonly workspaces = new WeakMap<ArrayBufferLike, WasmWorkspace>();

  /**
   * Under 'wasm' kernels: G, R and Gtrial as views of a new WASM memory for this fit (kernels
   * called with them work in place, no copy per iteration); null under 'js' or where (k, d) has
   * no WASM kernel.
   * @example new CpuBackend().fitBuffers(data, 3) // => { G, R, Gtrial }, each n x 3
   */
  fitBuffers(data: Dataset, k: number): FitBuffers | null {
    if (this.kernels !== 'wasm' || !wasmEStepSupported(k, data.d) || data.n < 1) return null;
    const ws = tryWorkspace(k, data.d, data.n);
    if (!ws) return null; // more points than one WASM memory holds: plain arrays, JS kernels
    this.workspaces.set(ws.memory.buffer, ws);
    return { G: ws.G, R: ws.R, Gtrial: ws.Gtrial };
  }

  /**
   * The certificate's sums g = sum_n s_n, J = sum_n s_n s_n' (upper triangle) in WASM
   * (wasm-score.ts) for linear gates keeping every expert with tau known, when R and G are this
   * backend's fit buffers; false otherwise, touching nothing (the caller's loop runs).
   * @example backend.scoreSums(gate, theta, free, experts, data, buffers.R, buffers.G, g, J) // => true
   */
  scoreSums(gate: Gate, theta: Float64Array, free: Int32Array, experts: ExpertParameters, data: Dataset, R: Float64Array, G: Float64Array, g: Float64Array, J: Float64Array): boolean {
    if (this.kernels !== 'wasm' || !isGaussianLinear(experts) || !(gate instanceof LinearLogitGate) || gate.K < gate.k || !gate.newtonPass) return false;
    const { k, d } = gate;
    if (!wasmScoreSupported(k, d, free)) return false;
    const ws = this.workspaceOf(k, d, data.n, G, R);
    if (!ws) return false;
    ws.scoreSums(free, gate.logitScale(theta), experts, data.X, data.Y, data.n, R, G, g, J);
    return true;
  }

  /** The fit workspace holding all these arrays (for k, d, n), or null. */
  private workspaceOf(k: number, d: number, n: number, ...arrays: Float64Array[]): WasmWorkspace | null {
    const ws = this.workspaces.get(arrays[0]!.buffer);
    if (!ws || ws.k !== k || ws.d !== d || ws.capacity < n || !arrays.every((a) => ws.owns(a))) return null;
    return ws;
  }

  /** A WASM gate pass for this gate and these arrays (in place where they are fit buffers), or null. */
  private wasmGatePassFor(gate: Gate, variant: GateVariant, n: number, G: Float64Array, R: Float64Array): WasmGatePass | null {
    const pass = this.wasmGateFor(gate);
    if (!pass) return null;
    const ws = this.workspaceOf(gate.k, gate.d, n, ...(variant === 'weights' ? [G] : [G, R]));
    return ws ? (...args) => ws.gatePass(...args) : pass;
  }

  /**
   * @param options `kernels`: 'wasm' or 'js' (default defaultCpuKernels()); ConfigError otherwise
   * @example new CpuBackend({ kernels: 'js' }) // the float64 JavaScript reference kernels
   */
  constructor(options: CpuBackendOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError(`CpuBackend options: ${show(options)} is not an object; pass e.g. { kernels: 'js' }`);
    this.kernels = validateCpuKernels(options.kernels);
  }

  /** The E-step kernel this backend runs for (k, d). */
  private eStepKernelFor(k: number, d: number): EStepKernel {
    if (this.kernels !== 'wasm' || !wasmEStepSupported(k, d)) return eStepKernel(k, d);
    const key = `${k}x${d}`;
    let kernel = this.wasmKernels.get(key);
    if (!kernel) {
      kernel = wasmEStepKernel(k, d);
      this.wasmKernels.set(key, kernel);
    }
    return kernel;
  }

  /**
   * The WASM pass for this gate, or null where the gate's own (JS) kernels run: gates with linear
   * logits keeping all k experts (softmax, temperature, top-K with K = k) under 'wasm' kernels.
   */
  private wasmGateFor(gate: Gate): WasmGatePass | null {
    if (this.kernels !== 'wasm' || !(gate instanceof LinearLogitGate) || gate.K < gate.k || !wasmGateSupported(gate.k, gate.d)) return null;
    const key = `${gate.k}x${gate.d}`;
    let pass = this.wasmGates.get(key);
    if (!pass) {
      pass = wasmGatePass(gate.k, gate.d);
      this.wasmGates.set(key, pass);
    }
    return pass;
  }

  gateWeights(gate: Gate, theta: Float64Array, X: Float64Array, n: number, G: Float64Array): void {
    const pass = this.wasmGateFor(gate) && this.wasmGatePassFor(gate, 'weights', n, G, G);
    if (pass) pass('weights', theta, X, n, G, G, G, G, (gate as LinearLogitGate).logitScale(theta));
    else gate.weights(theta, X, n, G);
  }
  /**
   * gateWeights and the log-normaliser sum lseSum = sum_n log sum_j exp(u_nj) of gates with the
   * fused Newton pass (linear logits, tau known), computed by the same kernel code as the pass's
   * 'evaluate' variant (WASM or JS), so bit for bit its lseSum; NaN for other gates.
   * @example backend.gateWeightsLse(gate, theta, X, n, G) // => e.g. 6931.47 for k = 2 and u = 0
   */
  gateWeightsLse(gate: Gate, theta: Float64Array, X: Float64Array, n: number, G: Float64Array): number {
    if (!(gate instanceof LinearLogitGate) || !gate.newtonPass) {
      this.gateWeights(gate, theta, X, n, G);
      return NaN;
    }
    const scale = gate.logitScale(theta);
    const pass = this.wasmGateFor(gate) && this.wasmGatePassFor(gate, 'weights', n, G, G);
    if (pass) return pass('weights', theta, X, n, G, G, G, G, scale).lseSum;
    return newtonKernel(gate.k, gate.d, gate.K, gate.rankBy, 'weights')(theta, X, n, G, G, G, G, scale).lseSum;
  }

  gateLogWeights(gate: Gate, theta: Float64Array, X: Float64Array, n: number, logG: Float64Array): void {
    gate.logWeights(theta, X, n, logG);
  }
  gateObjective(
    gate: Gate,
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    grad: Float64Array | null,
    G: Float64Array | null,
  ): number {
    return gate.objective(theta, X, n, R, grad, G);
  }
  gateHessian(gate: Gate, theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array): void {
    if (!gate.hessian) throw new Error(`backend cpu: kernel gateHessian is not provided by the ${gate.type} gate`);
    gate.hessian(theta, X, n, G, H, R);
  }
  gateNewtonPass(
    gate: Gate,
    theta: Float64Array,
    X: Float64Array,
    n: number,
    R: Float64Array,
    G: Float64Array,
    grad: Float64Array,
    H: Float64Array,
    variant: 'evaluate' | 'fromWeights' | 'trial',
  ): { linear: number; lseSum: number } {
    if (!gate.newtonPass) throw new Error(`backend cpu: kernel gateNewtonPass is not provided by the ${gate.type} gate`);
    const pass = this.wasmGatePassFor(gate, variant, n, G, R);
    if (pass) return pass(variant, theta, X, n, R, G, grad, H, (gate as LinearLogitGate).logitScale(theta));
    return gate.newtonPass(theta, X, n, R, G, grad, H, variant);
  }

  /**
   * E-step by the generated kernel for (k, d), WASM (wasm-estep.ts) or JS (estep-kernel.ts), for
   * the Gaussian linear family; eStepGeneric for any other family of experts.
   */
  eStep(
    data: Dataset,
    G: Float64Array,
    experts: ExpertParameters,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
  ): number {
    if (!isGaussianLinear(experts)) return this.eStepGeneric(data, G, experts, R, stats, logWeightsAt);
    const { n, d, X, Y } = data;
    const { k, a, b } = experts;
    const { C, H, fallback } = this.eStepInputs(experts, R, logWeightsAt);
    const ws = this.kernels === 'wasm' ? this.workspaceOf(k, d, n, G, R) : null;
    if (ws) return ws.eStep(n, X, Y, G, a, b, C, H, R, stats, fallback);
    return this.eStepKernelFor(k, d)(n, X, Y, G, a, b, C, H, R, stats, fallback);
  }

  /**
   * The E-step fused with the gate's 'fromWeights' Newton pass (WASM, one pass over the points):
   * as eStep, plus linear = sum R u, grad and H of Q at theta from the new R and the given G, the
   * numbers gateNewtonPass(gate, theta, X, n, R, G, grad, H, 'fromWeights') gives after eStep.
   * Null, touching nothing, unless the kernels are 'wasm', the gate has linear logits keeping
   * every expert with tau known, and G and R are this backend's fit buffers.
   * @example backend.eStepWithGatePass(data, buffers.G, experts, buffers.R, stats, logWeightsAt, gate, theta, grad, H) // => { L, linear }
   */
  eStepWithGatePass(
    data: Dataset,
    G: Float64Array,
    experts: ExpertParameters,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
    gate: Gate,
    theta: Float64Array,
    grad: Float64Array,
    Hg: Float64Array,
  ): { L: number; linear: number } | null {
    if (this.kernels !== 'wasm' || !isGaussianLinear(experts) || !(gate instanceof LinearLogitGate) || gate.K < gate.k || !gate.newtonPass) return null;
    const { n, d, X, Y } = data;
    const { k, a, b } = experts;
    if (gate.k !== k || gate.d !== d) return null;
    const ws = this.workspaceOf(k, d, n, G, R);
    if (!ws || !ws.fusedGate || n < WASM_GATE_MIN_POINTS) return null;
    const { C, H, fallback } = this.eStepInputs(experts, R, logWeightsAt);
    return ws.eStepGate([n, X, Y, G, a, b, C, H, R, stats, fallback], theta, gate.logitScale(theta), grad, Hg);
  }

  /** C_i = -0.5 log(2 pi nu_i), H_i = 0.5 / nu_i and the log-space fallback of a row (into R). */
  private eStepInputs(experts: GaussianExperts, R: Float64Array, logWeightsAt: (row: number, out: Float64Array) => void) {
    const { k, nu } = experts;
    const C = new Float64Array(k);
    const H = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      C[i] = -0.5 * (LOG_2PI + Math.log(nu[i]!));
      H[i] = 0.5 / nu[i]!;
    }
    if (this.rowLogG.length < k) this.rowLogG = new Float64Array(k);
    const lg = this.rowLogG;
    const fallback = (row: number, residuals: Float64Array): number => {
      logWeightsAt(row, lg);
      return logSumExpRow(lg, residuals, C, H, R, row * k, k);
    };
    return { C, H, fallback };
  }

  /**
   * The E-step for any family of experts, through the Expert contract (experts/types.ts) only:
   *   l_ni = log f_i(y_n | x_n) (family.logDensities),  M_n = max over G_ni > 0 of l_ni,
   *   p_n = exp(M_n) sum_i G_ni exp(l_ni - M_n),  R_ni = G_ni exp(l_ni - M_n) / sum,
   * with the rows whose sum falls below 1e-280 redone in log space with the exact log-weights,
   * and the statistics added point by point (family.addStatistics, finishStatistics).
   * For the Gaussian linear family it computes what eStepReference computes, to rounding (the
   * log-densities are formed as -0.5 (log 2 pi + log nu) - r^2 / (2 nu), not C - r^2 H).
   * @example backend.eStepGeneric(data, G, gaussianLinear.pack(model.experts, 1), R, stats, logWeightsAt) // => L
   */
  eStepGeneric(
    data: Dataset,
    G: Float64Array,
    experts: ExpertParameters,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
  ): number {
    const l = this.logDensities(data.n * experts.k);
    experts.family.logDensities(experts, data.X, data.Y, data.n, l);
    return this.mixtureRows(data, G, experts, l, R, stats, logWeightsAt);
  }

  /**
   * The same E-step by plain loops for the Gaussian linear family, with l_ni = C_i - r_ni^2 H_i
   * (C_i = -0.5 log(2 pi nu_i), H_i = 0.5 / nu_i) as the generated kernels form it: the reference
   * the generated kernels are tested against.
   */
  eStepReference(
    data: Dataset,
    G: Float64Array,
    experts: GaussianExperts,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
  ): number {
    const { n, d, X, Y } = data;
    const { k, a, b, nu } = experts;
    const l = this.logDensities(n * k);
    for (let i = 0; i < k; i++) {
      const constTerm = -0.5 * (LOG_2PI + Math.log(nu[i]!));
      const halfPrecision = 0.5 / nu[i]!;
      for (let r = 0; r < n; r++) {
        let mean = b[i]!;
        for (let p = 0; p < d; p++) mean += a[i * d + p]! * X[r * d + p]!;
        const res = Y[r]! - mean;
        l[r * k + i] = constTerm - res * res * halfPrecision;
      }
    }
    return this.mixtureRows(data, G, experts, l, R, stats, logWeightsAt);
  }

  /** The log-density buffer (at least `size` entries), kept between calls. */
  private logDensities(size: number): Float64Array {
    if (this.logDensityBuffer.length < size) this.logDensityBuffer = new Float64Array(size);
    return this.logDensityBuffer;
  }

  /**
   * From the experts' log-densities l (n x k): R, the family's statistics and L, as eStepGeneric
   * documents (rows whose probability-space sum falls below 1e-280 redone in log space).
   */
  private mixtureRows(
    data: Dataset,
    G: Float64Array,
    experts: ExpertParameters,
    l: Float64Array,
    R: Float64Array,
    stats: Float64Array,
    logWeightsAt: (row: number, out: Float64Array) => void,
  ): number {
    const { n, d, X, Y } = data;
    const { k, family } = experts;
    const size = family.statsSize(d);
    if (this.rowLogG.length < k) this.rowLogG = new Float64Array(k);
    stats.fill(0);
    let maxSum = 0;
    let logSum = 0;
    let product = 1;
    for (let r = 0; r < n; r++) {
      const o = r * k;
      let M = -Infinity;
      let iMax = -1;
      for (let i = 0; i < k; i++) {
        if (G[o + i]! > 0 && l[o + i]! > M) {
          M = l[o + i]!;
          iMax = i;
        }
      }
      let s = 0;
      for (let i = 0; i < k; i++) {
        const g = G[o + i]!;
        const p = g === 0 ? 0 : i === iMax ? g : g * Math.exp(l[o + i]! - M);
        R[o + i] = p;
        s += p;
      }
      if (s >= SMALL_SUM) {
        maxSum += M;
        product *= s;
        if (product < PRODUCT_FLUSH) {
          logSum += Math.log(product);
          product = 1;
        }
        const inv = 1 / s;
        for (let i = 0; i < k; i++) R[o + i] = R[o + i]! * inv;
      } else {
        // exact log-sum-exp of log G_i + l_i for this row
        const lg = this.rowLogG;
        logWeightsAt(r, lg);
        let mm = -Infinity;
        for (let i = 0; i < k; i++) if (lg[i]! + l[o + i]! > mm) mm = lg[i]! + l[o + i]!;
        let ss = 0;
        for (let i = 0; i < k; i++) {
          const e = Math.exp(lg[i]! + l[o + i]! - mm);
          R[o + i] = e;
          ss += e;
        }
        maxSum += mm;
        logSum += Math.log(ss);
        for (let i = 0; i < k; i++) R[o + i] = R[o + i]! / ss;
      }
      for (let i = 0; i < k; i++) {
        const w = R[o + i]!;
        if (w !== 0) family.addStatistics(experts, i, X, r * d, Y[r]!, w, stats, i * size);
      }
    }
    family.finishStatistics(experts, stats);
    return maxSum + logSum + Math.log(product);
  }
}

/**
 * One row in log space: l_i = log G_i + C_i - e_i^2 H_i; fills R[o..o+k) with the normalised
 * responsibilities and returns log p = logsumexp_i l_i.
 */
function logSumExpRow(
  logG: Float64Array,
  residuals: Float64Array,
  C: Float64Array,
  H: Float64Array,
  R: Float64Array,
  o: number,
  k: number,
): number {
  let m = -Infinity;
  for (let i = 0; i < k; i++) {
    const v = logG[i]! + C[i]! - residuals[i]! * residuals[i]! * H[i]!;
    R[o + i] = v;
    if (v > m) m = v;
  }
  let s = 0;
  for (let i = 0; i < k; i++) {
    const e = Math.exp(R[o + i]! - m);
    R[o + i] = e;
    s += e;
  }
  for (let i = 0; i < k; i++) R[o + i] = R[o + i]! / s;
  return m + Math.log(s);
}
