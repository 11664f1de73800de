/**
 * The GPU kernels of a batch of EM fits (many fits, replicates x starts, that share n, k, d and the
 * gate). Per-point work runs in gpu.js kernels over data that stays on the GPU (source.ts): the
 * E-step (responsibilities, per-point log-likelihood), the experts' weighted statistics, the
 * gate's log-weights and its Q, gradient and Hessian sums. Each kernel sums CHUNK points per
 * thread in f32; the host finishes the sums in f64. The EM loop over these kernels is the CPU's
 * own (fitting/em.ts drivers, fitting/gate-mstep.ts Newton), driven for the whole batch by
 * gpu/batched-run.ts. Float32 terms with compensated chunk sums make Q and L exact to about 1e-7
 * relative: F32_ROUNDING and Q_NOISE below are those levels.
 */
import type { Dataset } from '../data/dataset.js';
import type { PackedState } from '../fitting/state.js';
import { GATE_TYPES, gateDefinition } from '../gates/registry.js';
import type { Gate } from '../gates/types.js';
import { gateTau } from '../models/types.js';
import { ConfigError } from '../errors.js';
import { isGaussianLinear, type GaussianExperts } from '../experts/gaussian-linear.js';
import type { ExpertParameters } from '../experts/types.js';
import type { GpuBuffer, GpuContext, GpuKernel } from './context.js';
import { addFunctions } from './functions.js';
import {
  CHUNK,
  eStepSource,
  expertStatsSource,
  expertStatTable,
  gateFunctions,
  gateParamCount,
  gatePassSource,
  gatePassTable,
  logWeightsSource,
  metaLayout,
  type GateKernelSpec,
} from './source.js';

/** Relative rounding of an f32 sum of many terms, finished in f64 (a generous bound). */
export const F32_ROUNDING = 1e-6;
/** Relative noise level of the GPU's Q (f32 terms, compensated f32 chunk sums, f64 total). */
export const Q_NOISE = 1e-7;

/**
 * The kernel description of a gate, from its registered definition's f32 code (its `gpu` member);
 * a ConfigError for a gate without one (a plug-in gate, or a registered gate with no GPU code).
 */
export function gateKernelSpec(gate: Gate): GateKernelSpec {
  const registered = (GATE_TYPES as readonly string[]).includes(gate.type);
  const definition = registered ? gateDefinition(gate.type) : undefined;
  if (!definition?.gpu) {
    throw new ConfigError(`backend "gpu": gate type ${JSON.stringify(gate.type)} has no GPU kernels (built-in gates only); use --backend cpu`);
  }
  const shape = { k: gate.k, d: gate.d, tauFree: gate.logTauIndex >= 0 };
  // the code depends on the spec's structure only (K, rankBy, activation): any theta unpacks to
  // it; tau reaches the kernels per fit, as 1/tau in meta
  const { spec } = gate.unpack(new Float64Array(gate.nParams));
  const code = definition.gpu(spec, shape);
  return { type: gate.type, ...shape, K: code.K, code };
}

/** Data of a batch on the GPU: per coordinate X_p and Y, each [D][n] (resident or host arrays). */
export interface GpuBatchData {
  n: number;
  d: number;
  /** number of datasets */
  D: number;
  X: (GpuBuffer | Float32Array[])[];
  Y: GpuBuffer | Float32Array[];
}

/**
 * Put host datasets (all of size n and dimension d) on the GPU once, as [D][n] arrays per
 * coordinate, so that EM iterations read them without uploads.
 */
export async function uploadBatchData(ctx: GpuContext, datasets: { n: number; d: number; X: Float64Array; Y: Float64Array }[]): Promise<GpuBatchData> {
  const D = datasets.length;
  const { n, d } = datasets[0]!;
  const copy = ctx.gpu.createKernel('function(a) { return a[this.thread.y][this.thread.x]; }', { immutable: true }).setOutput([n, D]).setPipeline(true);
  const column = (pick: (ds: (typeof datasets)[number], r: number) => number) =>
    datasets.map((ds) => Float32Array.from({ length: n }, (_, r) => pick(ds, r)));
  const X: GpuBuffer[] = [];
  for (let p = 0; p < d; p++) X.push((await copy(column((ds, r) => ds.X[r * d + p]!))) as GpuBuffer);
  const Y = (await copy(column((ds, r) => ds.Y[r]!))) as GpuBuffer;
  copy.destroy?.();
  return { n, d, D, X, Y };
}

/** One fit of a batch: which dataset, its packed start state (updated in place), its options. */
export interface BatchFit {
  dataIndex: number;
  state: PackedState;
  /** the fit's data on the host (the score rule's float64 certificate reads it) */
  host?: Dataset;
}

export interface GateSums {
  q: number;
  grad: Float64Array;
  H: Float64Array;
}

/**
 * The kernels of one batch (compiled once per shape) and the per-fit parameters they read (one
 * `meta` array, source.ts MetaLayout). `eStep` and `gatePass` are the per-point work of an EM
 * iteration; everything they return is finished in f64.
 */
export class BatchEngine {
  readonly spec: GateKernelSpec;
  readonly P: number;
  private readonly kernels: GpuKernel[];
  private readonly C: number;
  private readonly SE: number;
  private readonly SG: number;
  private readonly W: number;
  private readonly meta: Float32Array;
  private R: GpuBuffer | undefined;

  constructor(
    ctx: GpuContext,
    private readonly data: GpuBatchData,
    private readonly fits: readonly BatchFit[],
  ) {
    const F = fits.length;
    const { n } = data;
    const spec = (this.spec = gateKernelSpec(fits[0]!.state.gate));
    addFunctions(ctx, gateFunctions(spec));
    this.P = gateParamCount(spec);
    this.C = Math.ceil(n / CHUNK);
    const expertTable = expertStatTable(spec);
    const gateTable = gatePassTable(spec);
    this.SE = expertTable.length / 3;
    this.SG = gateTable.length / 3;
    const opts = { tactic: 'precision' };
    this.kernels = [
      ctx.gpu.createKernel(eStepSource(spec, F), opts).setOutput([spec.k + 1, n, F]).setPipeline(true),
      ctx.gpu.createKernel(logWeightsSource(spec, F), opts).setOutput([spec.k, n, F]).setPipeline(true),
      ctx.gpu.createKernel(expertStatsSource(spec, n, F), opts).setOutput([this.SE * this.C, F]),
      ctx.gpu.createKernel(gatePassSource(spec, n, F), opts).setOutput([this.SG * this.C, F]),
    ];
    const layout = metaLayout(spec, F);
    this.W = layout.W;
    this.meta = new Float32Array(layout.tabG + gateTable.length);
    this.meta.set(expertTable, layout.tabE);
    this.meta.set(gateTable, layout.tabG);
    fits.forEach((fit, f) => {
      this.meta[f * this.W + 1] = fit.dataIndex;
      this.setGate(f, fit.state.theta);
      this.setExperts(f);
    });
  }

  /** Which fits the next pass computes (the others' threads return at once). */
  setActive(active: readonly boolean[]): boolean {
    active.forEach((on, f) => (this.meta[f * this.W] = on ? 1 : 0));
    return active.some(Boolean);
  }

  /** Gate parameters theta of fit f for the next passes (1/tau derived from theta or the spec). */
  setGate(f: number, theta: Float64Array): void {
    const { meta, W, P } = this;
    for (let j = 0; j < P; j++) meta[f * W + 3 + j] = theta[j]!;
    // the unpacked spec carries tau (fitted or known); softmax and top-K have none: 1
    meta[f * W + 2] = 1 / (gateTau(this.fits[f]!.state.gate.unpack(theta).spec) ?? 1);
  }

  /** Expert parameters of fit f (from its state) for the next E-step. */
  setExperts(f: number): void {
    const { meta, W, P } = this;
    const { k, d } = this.spec;
    const e = gaussianExperts(this.fits[f]!.state.experts);
    for (let i = 0; i < k; i++) {
      const o = f * W + 3 + P + i * (d + 2);
      for (let p = 0; p < d; p++) meta[o + p] = e.a[i * d + p]!;
      meta[o + d] = e.b[i]!;
      meta[o + d + 1] = e.nu[i]!;
    }
  }

  /**
   * E-step of the active fits: responsibilities (kept on the GPU for gatePass) and, per fit, the
   * experts' statistics (experts/gaussian-linear.ts layout) followed by the log-likelihood.
   */
  async eStep(): Promise<(Float64Array | null)[]> {
    const [eStep, , expertStats] = this.kernels;
    this.R = (await eStep!(...this.data.X, this.data.Y, this.meta)) as GpuBuffer;
    const rows = (await expertStats!(...this.data.X, this.data.Y, this.R, this.meta)) as Float32Array[];
    return rows.map((row, f) => (this.meta[f * this.W]! > 0.5 ? finish(row, this.SE, this.C) : null));
  }

  /** Q, its gradient and Hessian at the active fits' gate parameters, for the last E-step's R. */
  async gatePass(): Promise<(GateSums | null)[]> {
    const [, logWeights, , gatePass] = this.kernels;
    const { P } = this;
    const LG = (await logWeights!(...this.data.X, this.meta)) as GpuBuffer;
    const rows = (await gatePass!(...this.data.X, this.R, LG, this.meta)) as Float32Array[];
    return rows.map((row, f) => {
      if (this.meta[f * this.W]! < 0.5) return null;
      const sums = finish(row, this.SG, this.C);
      const H = new Float64Array(P * P);
      let t = 2 + P;
      for (let a = 0; a < P; a++) {
        for (let b = a; b < P; b++) {
          H[a * P + b] = sums[t]!;
          H[b * P + a] = sums[t]!;
          t++;
        }
      }
      return { q: sums[1]! > 0 ? -Infinity : sums[0]!, grad: sums.slice(2, 2 + P), H };
    });
  }

  destroy(): void {
    for (const kernel of this.kernels) kernel.destroy?.();
  }
}

/** Sum the C chunk partials of each of S statistics in f64: out[s] = sum_c row[s C + c]. */
function finish(row: Float32Array, S: number, C: number): Float64Array {
  const out = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    let total = 0;
    for (let c = 0; c < C; c++) total += row[s * C + c]!;
    out[s] = total;
  }
  return out;
}

/** The Gaussian linear experts the GPU kernels compute with; ConfigError for any other family. */
function gaussianExperts(e: ExpertParameters): GaussianExperts {
  if (!isGaussianLinear(e)) throw new ConfigError(`expertFamily: "${e.family.name}" runs on the CPU backend only (the GPU kernels are the Gaussian linear expert's); use --backend cpu`);
  return e;
}
