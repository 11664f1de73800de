/**
 * Batched EM on the GPU: many fits (replicates x starts) that share n, k, d and the gate advance
 * together. Per-point work runs in gpu.js kernels over data that stays on the GPU (source.ts):
 * the E-step (responsibilities, per-point log-likelihood), the experts' weighted statistics, the
 * gate's log-weights and its Q, gradient and Hessian sums. Each kernel sums CHUNK points per
 * thread in f32; the host finishes the sums in f64. The small solves stay on the CPU and are the
 * CPU engine's own: expertMStep (experts), newtonDirection with step halving (gate), so a GPU fit
 * follows the same algorithm as fitting/em.ts and fitting/gate-mstep.ts. Each fit stops by its own
 * rule and drops out of the batch (its threads return at once).
 *
 * Float32 terms with compensated chunk sums make Q and L exact to about 1e-7 relative, not 1e-16:
 * a Newton trial counts as not decreasing Q when it is within Q_NOISE of it (a step whose gain is
 * below the noise cannot be verified; refusing it would stop the gate's M-step earlier than the
 * CPU's and change the path), and decreases of L are counted beyond F32_ROUNDING.
 */
import { expertMStep, expertStatsSize } from '../experts/gaussian-linear.js';
import { closingWarnings, nonFiniteWarning, type EngineResult } from '../fitting/em.js';
import { MAX_HALVINGS, newtonDirection, ROUNDING } from '../fitting/gate-mstep.js';
import { copyState, restoreState, type PackedState } from '../fitting/state.js';
import { resolveStopping, type FitOptions, type StopReason } from '../fitting/types.js';
import { ActivationGate } from '../gates/activation.js';
import { LinearLogitGate } from '../gates/linear-gate.js';
import type { Gate } from '../gates/types.js';
import { gateTau } from '../models/types.js';
import { ConfigError } from '../errors.js';
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

/** The kernel description of a built-in gate; a ConfigError for a plug-in gate. */
export function gateKernelSpec(gate: Gate): GateKernelSpec {
  const base = { k: gate.k, d: gate.d, tauFree: gate.logTauIndex >= 0 };
  if (gate instanceof LinearLogitGate) return { ...base, kind: 'linear', K: gate.K, rankBy: gate.rankBy ?? 'slope', activation: null };
  if (gate instanceof ActivationGate) return { ...base, kind: 'activation', K: gate.k, rankBy: 'slope', activation: gate.activation };
  throw new ConfigError(`backend "gpu": gate type ${JSON.stringify(gate.type)} has no GPU kernels (built-in gates only); use --backend cpu`);
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
}

/** Per-fit Newton state of the gate M-step (the rule of gate-mstep.ts newtonMStep). */
interface NewtonState {
  q: number;
  floor: number;
  grad: Float64Array;
  H: Float64Array;
  steps: number;
  delta: Float64Array | null;
  step: number;
  halvings: number;
  trial: Float64Array;
  done: boolean;
  /** the coordinates Newton moves (fewer after a refusal at a selection tie, as on the CPU) */
  active: Int32Array;
  /** probing single coordinates after a refusal under a selective gate (gate-mstep.ts) */
  probe: { coords: number[]; signs: number[]; index: number; blocked: number[] } | null;
  probed: boolean;
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
    const e = this.fits[f]!.state.experts;
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

/**
 * Why the GPU engine refuses a fit: it runs plain EM with the relative rule only (the score
 * certificate and SQUAREM exist in the CPU engine; one engine for both backends is issue 13).
 */
export const GPU_RULE_MESSAGE =
  'stop/accelerate: the GPU backend runs plain EM with the relative stopping rule only (set stop: "relative" and accelerate: "none"); the default (score certificate, SQUAREM) runs on the CPU: use --backend cpu';

/**
 * Run EM for every fit of the batch (in place on each fit's state). Same stopping rule, options
 * and result shape as fitting/em.ts runEM; `loglik` and `trace` are the f32-summed values (a
 * caller re-evaluates the final log-likelihood in float64 where it reports it).
 */
export async function runBatchedEM(ctx: GpuContext, data: GpuBatchData, fits: BatchFit[], options: FitOptions): Promise<EngineResult[]> {
  const F = fits.length;
  if (F === 0) return [];
  const rule = resolveStopping(options);
  if (rule.stop !== 'relative' || rule.accelerate !== 'none') throw new ConfigError(GPU_RULE_MESSAGE);
  const { tol, absTol } = rule;
  const maxIterations = rule.maxIterations;
  const nuMin = rule.nuMin;
  const maxSteps = options.gateSteps ?? 5;
  const gateTol = options.gateTol ?? 1e-10;
  const engine = new BatchEngine(ctx, data, fits);
  const { P } = engine;
  const { k, d } = engine.spec;
  const statSize = expertStatsSize(d);
  const results: EngineResult[] = fits.map(() => ({
    loglik: NaN,
    iterations: 0,
    stopReason: 'maxIterations' as StopReason,
    nuFloorHits: [],
    decreases: 0,
    trace: [],
    warnings: [],
    certificate: null,
    lastChange: NaN,
    evaluations: 0,
    extrapolations: { accepted: 0, refused: 0 },
  }));
  const running = new Array<boolean>(F).fill(true);
  const previous = new Array<number>(F).fill(-Infinity);
  const saved = fits.map((f) => copyState(f.state));
  const floorHits = fits.map(() => new Array<boolean>(k).fill(false));

  try {
    while (engine.setActive(running)) {
      // E-step and statistics for every running fit
      const allStats = await engine.eStep();
      const inMStep = new Array<boolean>(F).fill(false);
      for (let f = 0; f < F; f++) {
        const stats = allStats[f];
        if (!running[f] || !stats) continue;
        const fit = fits[f]!;
        const res = results[f]!;
        const L = stats[stats.length - 1]!;
        const stop = (reason: StopReason) => {
          res.stopReason = reason;
          running[f] = false;
        };
        if (!Number.isFinite(L)) {
          res.warnings.push(nonFiniteWarning(L, res.iterations));
          if (res.iterations > 0) restoreState(fit.state, saved[f]!);
          res.loglik = previous[f]!;
          stop('numericalFailure');
          continue;
        }
        res.loglik = L;
        res.trace.push(L);
        if (res.iterations > 0) {
          const change = L - previous[f]!;
          res.lastChange = Math.abs(change);
          if (change < -F32_ROUNDING * Math.abs(previous[f]!)) res.decreases++;
          if (Math.abs(change) <= tol * Math.abs(previous[f]!) || Math.abs(change) <= absTol) {
            stop('converged');
            continue;
          }
        }
        if (res.iterations >= maxIterations) {
          stop('maxIterations');
          continue;
        }
        saved[f] = copyState(fit.state);
        // the experts' closed-form M-step, from the f64-finished statistics
        floorHits[f] = expertMStep(fit.state.experts, stats.subarray(0, k * statSize), nuMin);
        engine.setExperts(f);
        previous[f] = L;
        res.iterations++;
        res.evaluations++;
        inMStep[f] = true;
      }
      if (!inMStep.some(Boolean)) break;
      // the gate's M-step: Newton with step halving, all fits' trials in one kernel pass
      engine.setActive(inMStep);
      const start = await engine.gatePass();
      const newton: (NewtonState | null)[] = start.map((s, f) =>
        s
          ? {
              q: s.q,
              floor: ROUNDING * Math.max(1, Math.abs(s.q)),
              grad: s.grad,
              H: s.H,
              steps: 0,
              delta: null,
              step: 1,
              halvings: 0,
              trial: fits[f]!.state.theta.slice(),
              done: !Number.isFinite(s.q),
              active: fits[f]!.state.free,
              probe: null,
              probed: false,
            }
          : null,
      );
      const trialing = new Array<boolean>(F);
      for (;;) {
        for (let f = 0; f < F; f++) {
          const s = newton[f];
          trialing[f] = false;
          if (!s || s.done) continue;
          const { theta } = fits[f]!.state;
          const free = s.active;
          if (s.probe) {
            // one single-coordinate step of 1e-6 (|theta_j| + 1) in the direction Newton took
            const j = s.probe.coords[s.probe.index]!;
            s.trial.set(theta);
            s.trial[j] = theta[j]! + s.probe.signs[s.probe.index]! * 1e-6 * (Math.abs(theta[j]!) + 1);
            engine.setGate(f, s.trial);
            trialing[f] = true;
            continue;
          }
          if (!s.delta) {
            if (s.steps >= maxSteps) {
              s.done = true;
              continue;
            }
            const { delta, decrement } = newtonDirection(s.grad, s.H, P, free);
            if (!(decrement / 2 > Math.max(gateTol * Math.max(1, Math.abs(s.q)), s.floor))) {
              s.done = true;
              continue;
            }
            s.delta = delta;
            s.step = 1;
            s.halvings = 0;
          }
          s.trial.set(theta);
          for (let a = 0; a < free.length; a++) s.trial[free[a]!] = theta[free[a]!]! + s.step * s.delta[a]!;
          engine.setGate(f, s.trial);
          trialing[f] = true;
        }
        if (!engine.setActive(trialing)) break;
        const trials = await engine.gatePass();
        for (let f = 0; f < F; f++) {
          const t = trials[f];
          const s = newton[f];
          if (!t || !s) continue;
          if (s.probe) {
            const p = s.probe;
            if (!Number.isFinite(t.q)) p.blocked.push(p.coords[p.index]!);
            if (++p.index === p.coords.length) {
              s.probe = null;
              if (p.blocked.length > 0 && p.blocked.length < s.active.length) {
                s.active = s.active.filter((j) => !p.blocked.includes(j));
                s.delta = null;
              } else s.done = true;
            }
            continue;
          }
          if (t.q >= s.q - Q_NOISE * Math.max(1, Math.abs(s.q))) {
            fits[f]!.state.theta.set(s.trial);
            s.q = t.q;
            s.grad = t.grad;
            s.H = t.H;
            s.delta = null;
            s.steps++;
          } else {
            s.step *= 0.5;
            if (++s.halvings >= MAX_HALVINGS) {
              s.steps++;
              const delta = s.delta!;
              const coords = Array.from(s.active).filter((_, a) => delta[a] !== 0);
              if (fits[f]!.state.gate.selective && !s.probed && coords.length > 0) {
                // a selection tie may block some coordinates only: probe them one by one
                s.probed = true;
                s.probe = { coords, signs: Array.from(s.active).flatMap((_, a) => (delta[a] !== 0 ? [Math.sign(delta[a]!)] : [])), index: 0, blocked: [] };
              } else s.done = true;
            }
          }
        }
      }
      for (let f = 0; f < F; f++) if (inMStep[f]) engine.setGate(f, fits[f]!.state.theta);
    }
  } finally {
    engine.destroy();
  }
  return results.map((res, f) => {
    res.nuFloorHits = floorHits[f]!.flatMap((hit, i) => (hit ? [i] : []));
    res.warnings.push(...closingWarnings(res.nuFloorHits, res.stopReason, res.decreases, rule, 'float32 rounding'));
    return res;
  });
}
