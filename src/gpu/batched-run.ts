/**
 * The EM engine on the GPU: the drivers of fitting/em.ts (plain EM or SQUAREM, the score or the
 * relative stopping rule, the stall rule, the failure restore) and the Newton M-step of
 * fitting/gate-mstep.ts (step halving, the selection-tie rule), written once as generators of
 * requests, answered here for many fits at once: every E-step request of the batch is one
 * eStep kernel pass, every Newton start or trial of the batch one gatePass kernel pass
 * (gpu/batched-em.ts BatchEngine). The small solves and the experts' closed-form M-step run on
 * the host in float64. The score statistic T is computed in float64 on the host data (an f32 sum
 * of n log-densities is exact to about 1e-7 |L|, too coarse for T <= 1e-3 nats at large n); it is
 * asked for only where the last step gained at most scoreTol, with back-off.
 *
 * Float32 sums make Q and L exact to about 1e-7 relative: a Newton trial counts as not decreasing
 * Q when it is within Q_NOISE of it (the slack of the Newton protocol), and decreases of L are
 * counted beyond F32_ROUNDING. SQUAREM compares f32 log-likelihoods when it accepts an
 * extrapolation, so along a GPU path L is monotone up to that noise.
 */
import type { Dataset } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { expertStatsSize } from '../experts/gaussian-linear.js';
import { certificateAt, emDriver, finishRun, gateMStepOptions, type EmHost, type EmRequest, type EngineCore, type EngineResult } from '../fitting/em.js';
import { newtonSteps, ROUNDING, type GateMStepCache, type GateMStepResult, type NewtonAnswer, type NewtonPoint, type NewtonRequest } from '../fitting/gate-mstep.js';
import { packMle, setVectorFloored } from '../fitting/mle.js';
import type { PackedState } from '../fitting/state.js';
import { resolveStopping, type FitOptions } from '../fitting/types.js';
import { polishAt, type PolishResult } from '../fitting/polish.js';
import { BatchEngine, F32_ROUNDING, Q_NOISE, type BatchFit, type GpuBatchData } from './batched-em.js';
import type { GpuContext } from './context.js';

const GPU_ROUNDING = { relative: F32_ROUNDING, label: 'float32 rounding' };

/** One fit of the batch on the host: its parameters, its last E-step statistics, its floor hits. */
class GpuFit implements EmHost {
  stats: Float64Array | null = null;
  floorHits: boolean[];
  readonly cache: GateMStepCache;
  polished: PolishResult | null = null;
  constructor(
    readonly state: PackedState,
    private readonly nuMin: number,
    readonly host: Dataset | undefined,
  ) {
    this.floorHits = new Array<boolean>(state.experts.k).fill(false);
    this.cache = { lseSum: NaN, box: state.box ?? null };
  }
  getVector(): Float64Array {
    return packMle(this.state);
  }
  setVector(v: Float64Array): void {
    setVectorFloored(this.state, v, this.nuMin);
  }
  invalidate(): void {
    // the parameters are pushed to the device before every E-step: nothing is cached
  }
}

/**
 * Run EM for every fit of the batch (in place on each fit's state): same drivers, options,
 * defaults and result shape as fitting/em.ts runEM. `loglik` and `trace` are the f32-summed values
 * (a caller re-evaluates the final log-likelihood in float64 where it reports it).
 * @param fits each with its host data (`host`), needed by the score rule's float64 certificate
 * @throws ConfigError when the score rule is asked and a fit has no host data
 */
export async function runBatchedEM(ctx: GpuContext, data: GpuBatchData, fits: BatchFit[], options: FitOptions): Promise<EngineResult[]> {
  const F = fits.length;
  if (F === 0) return [];
  const stopping = resolveStopping(options);
  if (stopping.stop === 'score' && fits.some((fit) => !fit.host)) {
    throw new ConfigError('stop: the score rule on the GPU needs each fit\'s data on the host (BatchFit.host) for its float64 certificate; pass it, or set stop: "relative"');
  }
  const engine = new BatchEngine(ctx, data, fits);
  const { k, d } = engine.spec;
  const statSize = expertStatsSize(d);
  const mstepOptions = gateMStepOptions(options);
  const hosts = fits.map((fit) => new GpuFit(fit.state, stopping.nuMin, fit.host));
  const runs = hosts.map((host) => emDriver(host, stopping, GPU_ROUNDING));
  const results: (EngineCore | null)[] = new Array(F).fill(null);
  const pending: (EmRequest | null)[] = new Array(F).fill(null);
  const advance = (f: number, answer: number | undefined): void => {
    const next = answer === undefined ? runs[f]!.next() : runs[f]!.next(answer);
    if (next.done) {
      results[f] = next.value;
      pending[f] = null;
    } else pending[f] = next.value;
  };
  try {
    for (let f = 0; f < F; f++) advance(f, undefined);
    while (pending.some((r) => r !== null)) {
      // 1. certificates and polishes, in float64 on the host (a fit may ask again only after an E-step)
      for (let f = 0; f < F; f++) {
        if (pending[f]?.op === 'certificate') advance(f, certificateAt(hosts[f]!.host!, hosts[f]!.state, stopping));
        else if (pending[f]?.op === 'polish') {
          // the polish of a stalled fit, in float64 on the host (polish.ts); its next E-step is on the device
          const p = polishAt(hosts[f]!.host!, hosts[f]!.state, stopping);
          hosts[f]!.polished = p;
          advance(f, p.T);
        }
      }
      // 2. M-steps from each fit's last E-step (its responsibilities are still on the device)
      const inMStep = pending.map((r) => r?.op === 'mstep');
      if (inMStep.some(Boolean)) {
        for (let f = 0; f < F; f++) {
          if (!inMStep[f]) continue;
          const host = hosts[f]!;
          host.floorHits = host.state.experts.family.mStep(host.state.experts, host.stats!.subarray(0, k * statSize), stopping.nuMin);
          engine.setExperts(f);
        }
        await batchedGateMStep(engine, hosts, inMStep, mstepOptions);
        for (let f = 0; f < F; f++) if (inMStep[f]) advance(f, 0);
      }
      // 3. E-steps at each asking fit's current parameters, one kernel pass
      const inEStep = pending.map((r) => r?.op === 'estep');
      if (inEStep.some(Boolean)) {
        for (let f = 0; f < F; f++) {
          if (!inEStep[f]) continue;
          engine.setGate(f, hosts[f]!.state.theta);
          engine.setExperts(f);
        }
        engine.setActive(inEStep);
        const stats = await engine.eStep();
        for (let f = 0; f < F; f++) {
          if (!inEStep[f]) continue;
          hosts[f]!.stats = stats[f]!;
          advance(f, stats[f]![stats[f]!.length - 1]!);
        }
      }
    }
  } finally {
    engine.destroy();
  }
  return results.map((core, f) => finishRun(core!, hosts[f]!.floorHits, stopping, GPU_ROUNDING));
}

/**
 * The gate M-step of the fits marked `active`, by the one Newton rule (gate-mstep.ts newtonSteps):
 * their 'start' and 'trial' requests are answered together by one gatePass kernel pass, 'accept'
 * on the host from the accepted trial's sums.
 */
async function batchedGateMStep(engine: BatchEngine, hosts: readonly GpuFit[], active: readonly boolean[], options: { maxSteps: number; tol: number }): Promise<void> {
  const F = hosts.length;
  const steps: (Generator<NewtonRequest, GateMStepResult, NewtonAnswer> | null)[] = hosts.map((h, f) =>
    active[f] ? newtonSteps(h.state.gate, h.state.theta, h.state.free, options, h.cache) : null,
  );
  const request: (NewtonRequest | null)[] = new Array(F).fill(null);
  const lastTrial: (NewtonPoint | null)[] = new Array(F).fill(null);
  const advance = (f: number, answer: NewtonAnswer | undefined): void => {
    for (;;) {
      const next = answer === undefined ? steps[f]!.next(undefined as never) : steps[f]!.next(answer);
      if (next.done) {
        request[f] = null;
        return;
      }
      if (next.value.op !== 'accept') {
        request[f] = next.value;
        return;
      }
      // accept: the trial's sums become the current point's (no kernel pass)
      answer = lastTrial[f]!;
    }
  };
  for (let f = 0; f < F; f++) if (steps[f]) advance(f, undefined);
  const passing = new Array<boolean>(F);
  for (;;) {
    for (let f = 0; f < F; f++) {
      const r = request[f];
      passing[f] = r !== null;
      if (r) engine.setGate(f, r.op === 'trial' ? r.theta : hosts[f]!.state.theta);
    }
    if (!engine.setActive(passing)) break;
    const sums = await engine.gatePass();
    for (let f = 0; f < F; f++) {
      const r = request[f];
      const s = sums[f];
      if (!r || !s) continue;
      if (r.op === 'start') {
        const scale = Math.max(1, Math.abs(s.q));
        advance(f, { q: s.q, grad: s.grad, H: s.H, floor: ROUNDING * scale, slack: Q_NOISE * scale });
      } else {
        lastTrial[f] = { q: s.q, grad: s.grad, H: s.H };
        advance(f, lastTrial[f]!);
      }
    }
  }
  for (let f = 0; f < F; f++) if (active[f]) engine.setGate(f, hosts[f]!.state.theta);
}
