/**
 * The EM engine (spec: fitting.md, "EM", "Stopping", "Reaching the maximum"). It calls only the
 * Gate contract, the Gaussian expert M-step and the Backend's E-step; it never reads a parameter
 * by name.
 *
 *   E-step:  R_ni = G_i(X_n) N(Y_n | a_i.X_n + b_i, nu_i) / p(Y_n | X_n),  L = sum_n log p(Y_n | X_n)
 *   M-step:  experts in closed form (weighted least squares, variance floored at nu_min);
 *            gate: Newton or L-BFGS on Q(theta) = sum_n sum_i R_ni log G_i(X_n), never decreasing Q.
 *   The EM map v -> M(v) is one E-step and one M-step, v = (free gate coordinates, a, b, log nu).
 *
 * Acceleration (default 'squarem'): SQUAREM (Varadhan and Roland 2008, scheme S3) with a monotone
 * safeguard and a stabilising EM step. From v0: v1 = M(v0), v2 = M(v1), r = v1 - v0,
 * w = v2 - 2 v1 + v0, alpha = -||r|| / ||w|| clamped to [-alphaMax, -1], the extrapolation
 * v' = v0 - 2 alpha r + alpha^2 w, accepted only if L(v') >= L(v2) (else alpha is pulled halfway
 * towards -1, twice, then v2 is taken), then v'' = M(v'). alphaMax starts at 1 and grows 4x each
 * time the full step is accepted, shrinks 4x on a refusal. Every accepted point has L at least that
 * of the plain EM point it replaces, so L never decreases along the returned path.
 *
 * Stopping (default 'score'): the score statistic T = 1/2 g' J^-1 g of certificate.ts, an estimate
 * of the remaining gain in nats, at most scoreTol. It is computed only where the last step gained
 * at most scoreTol (a necessary condition for being within scoreTol of the maximum of a monotone
 * climb), and after a failed check the next one waits 1, 2, 4, ... up to 16 EM-map evaluations.
 * A run that crawls (L up by less than 1e-2 scoreTol over 1000 EM maps while T > scoreTol) is
 * polished by BHHH steps on the log-likelihood (polish.ts; option `polish`, default 'bhhh', not for
 * selective gates): 'converged' when T <= scoreTol after it, else it stops as 'stalled'
 * (Run.stalled, Run.afterStall).
 * 'relative' is the [DEMYS] authors' rule |L_t - L_{t-1}| <= tol |L_{t-1}| (or <= absTol).
 * The returned parameters are those of the last E-step, so `loglik` is exactly their likelihood.
 */
import type { Backend } from '../backend/types.js';
import { CpuBackend } from '../backend/cpu.js';
import type { Dataset } from '../data/dataset.js';
import { CertificateWorkspace, scoreStatistic } from './certificate.js';
import { gateMStep, type GateMStepCache } from './gate-mstep.js';
import { polishAt, type PolishResult } from './polish.js';
import { packMle, setVectorFloored } from './mle.js';
import { SelectionScan } from './selection-scan.js';
import { copyState, restoreState, type PackedState } from './state.js';
import { resolveStopping, type FitOptions, type ResolvedStopping, type StopReason } from './types.js';
import { FIT_DEFAULTS } from './options.js';

export interface EngineResult {
  loglik: number;
  /** EM-map evaluations (one E-step and one M-step each; SQUAREM's extrapolations not counted) */
  iterations: number;
  stopReason: StopReason;
  nuFloorHits: number[];
  decreases: number;
  trace: number[];
  warnings: string[];
  /** the final score statistic T (nats) when it was computed at the returned parameters, else null */
  certificate: number | null;
  /** |L_t - L_{t-1}| of the last step */
  lastChange: number;
  /** E-steps run (EM-map evaluations plus SQUAREM's evaluations of extrapolated points) */
  evaluations: number;
  /** SQUAREM extrapolations accepted and refused (0 and 0 for plain EM) */
  extrapolations: { accepted: number; refused: number };
  /** the polish of a stalled run (polish.ts): accepted steps and nats gained; null when none ran */
  polish: { steps: number; gain: number } | null;
  /** the selection search of a selective gate (emDriver): rounds that moved a boundary and the nats they gained; absent when none ran */
  selectionSearch?: { rounds: number; gain: number };
}

/** Relative size of a log-likelihood decrease that counts as rounding, not a real decrease. */
export const ROUNDING_TOLERANCE = 1e-10;

/** The stall rule's fraction of scoreTol (see Run.stalled; its window is the option stallWindow). */
export const STALL_FRACTION = 0.01;

/**
 * What an EM run asks of the backend that holds its data (the request protocol of the drivers
 * below, written once for every backend): an E-step at the current parameters (answer: L), the
 * M-step from the last E-step (answer ignored), the score statistic T at the current parameters
 * after an E-step there (answer: T, float64), the polish of a stalled run in float64 on the host
 * (polish.ts; answer: T at the polished point, the host keeps the PolishResult in `polished`; the
 * driver runs an E-step after it). The CPU answers at once ({@link runEM}); the GPU
 * engine answers the requests of many fits with one kernel pass (gpu/batched-em.ts).
 */
export type EmRequest = { op: 'estep' } | { op: 'mstep' } | { op: 'certificate' } | { op: 'polish' };

/** A driver of one EM run: yields requests, receives their answers, returns the run's result. */
export type EmRun = Generator<EmRequest, EngineCore, number>;

/** The host side of one fit: its parameters as one vector (SQUAREM, failure restore). */
export interface EmHost {
  readonly state: PackedState;
  /** the parameters as the MLE vector v (free gate coordinates, a, b, log nu) */
  getVector(): Float64Array;
  /** move to v, variances projected onto [nuMin, Infinity) */
  setVector(v: Float64Array): void;
  /** the parameters changed outside the M-step (a restore): cached gate weights are stale */
  invalidate(): void;
  /** the result of the last 'polish' request (set by whoever answers it) */
  polished: PolishResult | null;
  /**
   * Optional: the fast log-likelihood of the selection search's trials at the current experts
   * (selection-scan.ts), refreshed at the host's current parameters; null or absent where the host
   * has none (the GPU engine): the search then runs an E-step per trial.
   */
  selectionScan?(): SelectionScan | null;
}

/**
 * The EM map and the E-step over one state on the CPU, with its buffers (no allocation per
 * iteration). Exported for the tests (a host without the selection scan: wrap it).
 */
export class EmMachine implements EmHost {
  readonly G: Float64Array;
  readonly R: Float64Array;
  readonly stats: Float64Array;
  /** whether G holds the weights at the state's gate parameters */
  private gValid = false;
  private readonly gateCache: GateMStepCache;
  /** the fused E-step's gate pass (Backend.eStepWithGatePass), handed to the next M-step */
  private readonly fusedStart: { theta: Float64Array; linear: number; grad: Float64Array; H: Float64Array };
  private readonly logWeightsAt: (row: number, out: Float64Array) => void;
  private readonly certificateWs: CertificateWorkspace;
  floorHits: boolean[];
  polished: PolishResult | null = null;
  /** the selection search's evaluator (made at the first search round, reused) */
  private scan: SelectionScan | null | undefined = undefined;

  constructor(
    readonly data: Dataset,
    readonly state: PackedState,
    readonly stopping: ResolvedStopping,
    readonly backend: Backend,
    private readonly mstepOptions: { maxSteps: number; tol: number },
  ) {
    const { n, d, X } = data;
    const k = state.experts.k;
    // the backend's own buffers where it has them (the CPU's WASM kernels work in place there)
    const buffers = backend.fitBuffers?.(data, k) ?? null;
    this.G = buffers?.G ?? new Float64Array(n * k);
    this.R = buffers?.R ?? new Float64Array(n * k);
    this.gateCache = { lseSum: NaN, box: state.box ?? null, ...(buffers ? { Gtrial: buffers.Gtrial } : {}) };
    const P = state.gate.nParams;
    this.fusedStart = { theta: new Float64Array(P), linear: NaN, grad: new Float64Array(P), H: new Float64Array(P * P) };
    this.stats = new Float64Array(k * state.experts.family.statsSize(d));
    this.logWeightsAt = (row, out) => backend.gateLogWeights(state.gate, state.theta, X.subarray(row * d, row * d + d), 1, out);
    this.certificateWs = new CertificateWorkspace(state);
    this.floorHits = new Array<boolean>(k).fill(false);
  }

  /** E-step at the state's parameters: fills R and the expert statistics, returns L. */
  evaluate(): number {
    const { data, state } = this;
    if (!this.gValid) {
      // with the log-normaliser sum where the backend gives it: the next M-step's first Newton
      // pass then reads these weights instead of recomputing them (the same numbers)
      if (this.backend.gateWeightsLse) this.gateCache.lseSum = this.backend.gateWeightsLse(state.gate, state.theta, data.X, data.n, this.G);
      else {
        this.backend.gateWeights(state.gate, state.theta, data.X, data.n, this.G);
        this.gateCache.lseSum = NaN;
      }
      this.gValid = true;
    }
    // where the backend fuses the gate's first Newton pass into the E-step (and the M-step will
    // use it: the Newton M-step of a gate with the fused pass), one pass over the points
    this.gateCache.start = null;
    if (state.gate.newtonPass && this.backend.eStepWithGatePass && this.mstepOptions.maxSteps > 0) {
      const s = this.fusedStart;
      const out = this.backend.eStepWithGatePass(data, this.G, state.experts, this.R, this.stats, this.logWeightsAt, state.gate, state.theta, s.grad, s.H);
      if (out) {
        s.theta.set(state.theta);
        s.linear = out.linear;
        this.gateCache.start = s;
        return out.L;
      }
    }
    return this.backend.eStep(data, this.G, state.experts, this.R, this.stats, this.logWeightsAt);
  }

  /** M-step from the last E-step (at the current parameters); G ends at the new gate parameters. */
  mstep(): void {
    const { data, state } = this;
    this.floorHits = state.experts.family.mStep(state.experts, this.stats, this.stopping.nuMin);
    gateMStep(state.gate, this.backend, state.theta, data.X, data.n, this.R, this.G, state.free, this.mstepOptions, this.gateCache);
  }

  /** The score statistic at the current parameters (needs the E-step there). */
  certificate(): number {
    return scoreStatistic(this.data, this.state, this.R, this.G, this.stopping.nuMin, this.certificateWs, this.backend).T;
  }

  setVector(v: Float64Array): void {
    setVectorFloored(this.state, v, this.stopping.nuMin);
    this.gValid = false;
    this.gateCache.start = null;
  }

  invalidate(): void {
    this.gValid = false;
    this.gateCache.start = null;
  }

  getVector(): Float64Array {
    return packMle(this.state);
  }

  /** The selection search's fast log-likelihood at the current experts (null: not a selective top-K gate). */
  selectionScan(): SelectionScan | null {
    if (this.scan === undefined) this.scan = SelectionScan.for(this.data, this.state);
    this.scan?.refresh();
    return this.scan;
  }

  /** Answer one request of a driver. */
  answer(request: EmRequest): number {
    if (request.op === 'estep') return this.evaluate();
    if (request.op === 'mstep') {
      this.mstep();
      return 0;
    }
    if (request.op === 'polish') {
      this.polished = polishAt(this.data, this.state, this.stopping);
      this.invalidate();
      return this.polished.T;
    }
    return this.certificate();
  }
}

/**
 * The score statistic T at a state's parameters, in float64 on host data: one E-step and the
 * certificate pass (certificate.ts). For engines whose E-step runs elsewhere (the GPU's f32 sums
 * are too coarse for T <= 1e-3 nats at large n); the check runs rarely (see Stopper).
 */
export function certificateAt(data: Dataset, state: PackedState, stopping: ResolvedStopping): number {
  const machine = new EmMachine(data, state, stopping, new CpuBackend(), { maxSteps: 0, tol: 0 });
  machine.evaluate();
  return machine.certificate();
}

/**
 * The stopping decision along a run: `check(L, previous)` after each E-step on the accepted path.
 * Keeps the last certificate computed at the current point.
 */
class Stopper {
  certificate: number | null = null;
  /** the last certificate computed in the run (at some earlier point), or null */
  lastComputed: number | null = null;
  lastChange = NaN;
  private wait = 0;
  private gap = 1;

  constructor(private readonly rule: ResolvedStopping) {}

  /** Whether the point just evaluated (log-likelihood L, the accepted point before it: previous) stops the run. */
  *check(L: number, previous: number): Generator<EmRequest, boolean, number> {
    this.certificate = null;
    const change = L - previous;
    this.lastChange = Number.isFinite(previous) ? Math.abs(change) : NaN;
    const rule = this.rule;
    if (rule.stop === 'relative') {
      if (!Number.isFinite(previous)) return false;
      return Math.abs(change) <= rule.tol * Math.abs(previous) || Math.abs(change) <= rule.absTol;
    }
    // score rule: the gain of the last step bounds the remaining gap from below
    if (Number.isFinite(previous) && !(change <= rule.scoreTol)) return false;
    if (this.wait > 0) {
      this.wait--;
      return false;
    }
    const T = yield { op: 'certificate' };
    this.certificate = T;
    this.lastComputed = T;
    if (T <= rule.scoreTol) return true;
    this.wait = this.gap - 1;
    this.gap = Math.min(this.gap * 2, 16);
    return false;
  }
}

/** The rounding level of a backend's log-likelihood: a decrease within it is not counted. */
export interface EngineRounding {
  /** relative size of a decrease of L that is rounding (1e-10 in float64) */
  relative: number;
  /** how the warnings name it, e.g. "rounding", "float32 rounding" */
  label: string;
}
const FLOAT64_ROUNDING: EngineRounding = { relative: ROUNDING_TOLERANCE, label: 'rounding' };

/**
 * Run EM (plain or SQUAREM-accelerated, see the module comment) in place on `state`: its
 * parameters become the fitted ones.
 * @param options stopping: `stop` ('score' default, `scoreTol` 1e-3 nats; or 'relative' with `tol`
 *   1e-6 and `absTol`), `accelerate` ('squarem' default, or 'none'), `maxIterations` EM-map
 *   evaluations (default 10000), `nuMin` (default 1e-10 here; fitMoE sets a scale-aware one)
 * @example
 *   const result = runEM(data, packState(start, { k: 2, gate: { type: 'softmax' } }), { k: 2, gate: { type: 'softmax' } });
 *   // result.stopReason === 'converged' means T <= 1e-3 at the returned parameters
 */
export function runEM(data: Dataset, state: PackedState, options: FitOptions, backend: Backend = new CpuBackend()): EngineResult {
  const stopping = resolveStopping(options);
  const machine = new EmMachine(data, state, stopping, backend, gateMStepOptions(options));
  const run = emDriver(machine, stopping, FLOAT64_ROUNDING);
  let answer = 0;
  let next = run.next();
  while (!next.done) {
    answer = machine.answer(next.value);
    next = run.next(answer);
  }
  return finishRun(next.value, machine.floorHits, stopping, FLOAT64_ROUNDING);
}

/** The gate M-step settings of fit options (defaults from the options table: gateSteps 5, gateTol 1e-10). */
export function gateMStepOptions(options: FitOptions): { maxSteps: number; tol: number } {
  return { maxSteps: options.gateSteps ?? FIT_DEFAULTS.gateSteps, tol: options.gateTol ?? FIT_DEFAULTS.gateTol };
}

/**
 * The driver of the options' accelerator (plain EM or SQUAREM) for one fit; under a selective gate
 * (top-K with K < k) with `selectionSearch: 'coordinate'` (the default), alternated with a search
 * across the selection boundaries (see {@link selectionSearched}).
 */
export function emDriver(host: EmHost, stopping: ResolvedStopping, rounding: EngineRounding): EmRun {
  // `used` EM maps already spent by earlier runs of the same fit: maxIterations caps the total
  const inner = (used = 0): EmRun => {
    const rule = used === 0 ? stopping : { ...stopping, maxIterations: Math.max(0, stopping.maxIterations - used) };
    return rule.accelerate === 'squarem' ? squarem(host, rule, rounding) : plainEM(host, rule, rounding);
  };
  if (!host.state.gate.selective || stopping.selectionSearch === 'none') return inner();
  return selectionSearched(host, stopping, rounding, inner);
}

/** Most rounds of (boundary search, EM) after the first EM run. */
export const SELECTION_ROUNDS = 50;
/**
 * Doublings of the search step per direction: the step grows from 1e-7 (|v_j| + 1) (a boundary
 * moved by about 1e-7 of the gate's scale: finer than the spacing of 1e5 points) to about
 * 100 (|v_j| + 1).
 */
const SEARCH_DOUBLINGS = 30;
const SEARCH_FIRST_STEP = 1e-7;
/**
 * The fast scan's trial values and log-likelihoods of one direction (no allocation per round).
 * Shared by all drivers: they are filled and read with no yield in between, so drivers that
 * interleave (one per fit of a batch) never see each other's.
 */
const scanValues = new Float64Array(SEARCH_DOUBLINGS);
const scanLogLiks = new Float64Array(SEARCH_DOUBLINGS);

/**
 * EM under a selective gate, alternated with a coordinate search of the log-likelihood across the
 * selection boundaries (fitting.md, "Reaching the maximum"; docs/fitting.md, "Top-K: the selection
 * search"). EM keeps every point's selected set (a gate step that would deselect an expert where it
 * has responsibility is refused), so under top-1, where each point's responsibility sits on its
 * selected expert, EM can never move a boundary: the fit would keep its start's partition. After
 * each EM run, every free gate coordinate v_j is moved by +-h, +-2h, +-4h, ... (h = 1e-7 (|v_j| + 1),
 * 30 doublings, every one tried) at fixed experts; the best point that raises L by
 * more than scoreTol (under the score rule) and more than the backend's rounding of L is taken and EM
 * runs again from it. Stops when a search finds no such point, after SELECTION_ROUNDS rounds, or
 * when an EM run ends otherwise than converged or stalled. Only accepted points enter the path, so
 * L never decreases. maxIterations caps the EM maps of all runs together. The counts of the EM runs add up; the result is the last run's, with the
 * search's E-steps in `evaluations` and its rounds in `selectionSearch`.
 * Where the host has the fast scan (EmHost.selectionScan: the CPU's EmMachine), the trials' L come
 * from it (selection-scan.ts: the same trial points, L to float64 rounding of the E-step's, no
 * E-step per trial) and only the best trial is evaluated by an E-step, whose L decides against the
 * threshold as above; hosts without it (the GPU engine) run an E-step per trial.
 */
function* selectionSearched(host: EmHost, stopping: ResolvedStopping, rounding: EngineRounding, inner: (used?: number) => EmRun): EmRun {
  let core = yield* inner();
  let rounds = 0;
  let gained = 0;
  let searchEvaluations = 0;
  // a gain must exceed the backend's rounding of L (float32 sums on the GPU), and scoreTol under the score rule
  const threshold = (L: number): number => Math.max(stopping.stop === 'score' ? stopping.scoreTol : 0, rounding.relative * Math.abs(L));
  while (rounds < SELECTION_ROUNDS && (core.stopReason === 'converged' || core.stopReason === 'stalled')) {
    const v = host.getVector();
    const F = host.state.free.length;
    // the host's fast L of the trials (experts fixed for the round), where it has one: the scan then
    // compares its own L values (the same float64 sums for the base and every trial) and only the
    // chosen point is confirmed by an E-step; without it, every trial is an E-step
    const scan = host.selectionScan?.() ?? null;
    if (scan) scan.prepare(v, 0);
    let bestL = scan ? scan.base : core.loglik;
    let best: Float64Array | null = null;
    for (let j = 0; j < F; j++) {
      const from: Float64Array = best ?? v;
      if (scan && (j > 0 || from !== v)) scan.prepare(from, j);
      for (const dir of [1, -1]) {
        let h = SEARCH_FIRST_STEP * (Math.abs(from[j]!) + 1);
        if (scan) {
          // the same trial values as the E-step path (bit for bit), all of one direction in one pass
          for (let t = 0; t < SEARCH_DOUBLINGS; t++, h *= 2) scanValues[t] = from[j]! + dir * h;
          scan.scan(scanValues, scanLogLiks);
          for (let t = 0; t < SEARCH_DOUBLINGS; t++) {
            const Lt = scanLogLiks[t]!;
            if (!Number.isFinite(Lt)) break;
            if (Lt > bestL) {
              bestL = Lt;
              best = Float64Array.from(from);
              best[j] = scanValues[t]!;
            }
          }
          continue;
        }
        // every step of the geometric scan is tried: the likelihood is a staircase in a boundary's
        // position (one step per point crossed), and a small dip must not end the scan
        for (let t = 0; t < SEARCH_DOUBLINGS; t++, h *= 2) {
          const trial: Float64Array = Float64Array.from(from);
          trial[j] = from[j]! + dir * h;
          host.setVector(trial);
          searchEvaluations++;
          const Lt = yield { op: 'estep' };
          if (!Number.isFinite(Lt)) break;
          if (Lt > bestL) {
            bestL = Lt;
            best = trial;
          }
        }
      }
    }
    if (scan && best !== null) {
      // the chosen point's E-step: its L decides, as on the E-step path, and R and the statistics
      // are those of the point EM goes on from
      host.setVector(best);
      searchEvaluations++;
      bestL = yield { op: 'estep' };
    }
    if (best === null || !(bestL - core.loglik > threshold(core.loglik))) {
      // nothing crosses to a higher likelihood: back to the EM point (its E-step, so the returned
      // parameters are those of the last E-step)
      host.setVector(v);
      searchEvaluations++;
      yield { op: 'estep' };
      break;
    }
    rounds++;
    gained += bestL - core.loglik;
    host.setVector(best);
    const next = yield* inner(core.iterations);
    core = {
      ...next,
      iterations: core.iterations + next.iterations,
      evaluations: core.evaluations + next.evaluations,
      decreases: core.decreases + next.decreases,
      trace: [...core.trace, ...next.trace],
      warnings: [...core.warnings, ...next.warnings],
      extrapolations: { accepted: core.extrapolations.accepted + next.extrapolations.accepted, refused: core.extrapolations.refused + next.extrapolations.refused },
      polish: next.polish ?? core.polish,
    };
  }
  return { ...core, evaluations: core.evaluations + searchEvaluations, selectionSearch: { rounds, gain: gained } };
}

/** An engine result from a driver's result and the experts on the variance floor (with the closing warnings). */
export function finishRun(core: EngineCore, floorHits: readonly boolean[], stopping: ResolvedStopping, rounding: EngineRounding): EngineResult {
  const nuFloorHits = floorHits.flatMap((hit, i) => (hit ? [i] : []));
  core.warnings.push(...closingWarnings(nuFloorHits, core.stopReason, core.decreases, stopping, rounding.label));
  return { ...core, nuFloorHits };
}

export type EngineCore = Omit<EngineResult, 'nuFloorHits'>;
type CoreResult = EngineCore;

/** The bookkeeping every driver shares: trace, decreases, the last finite point, failure. */
class Run {
  trace: number[] = [];
  warnings: string[] = [];
  decreases = 0;
  maps = 0;
  evaluations = 0;
  accepted = 0;
  refused = 0;
  loglik = -Infinity;
  polish: { steps: number; gain: number } | null = null;
  private good: ReturnType<typeof copyState> | null = null;
  /** L at every stallWindow / 2 EM maps, for the stall rule */
  private checkpoints: number[] = [];
  readonly stopper: Stopper;

  constructor(
    readonly host: EmHost,
    readonly stopping: ResolvedStopping,
    private readonly rounding: EngineRounding,
  ) {
    this.stopper = new Stopper(stopping);
  }

  /** E-step at the current parameters; records the point on the accepted path when it is finite. */
  *evaluate(onPath = true): Generator<EmRequest, number, number> {
    this.evaluations++;
    const L = yield { op: 'estep' };
    if (onPath && Number.isFinite(L)) this.record(L);
    return L;
  }

  record(L: number): void {
    if (L < this.loglik - this.rounding.relative * Math.abs(this.loglik)) this.decreases++;
    this.loglik = L;
    this.trace.push(L);
    this.good = copyState(this.host.state);
  }

  /** One EM-map evaluation from the last E-step. */
  *map(): Generator<EmRequest, void, number> {
    yield { op: 'mstep' };
    this.maps++;
  }

  /**
   * The stall rule (score rule only): over the last stallWindow EM maps L rose by less than
   * STALL_FRACTION * scoreTol while the certificate says more than scoreTol remains. At that pace
   * reaching the tolerance would take over 100 windows: the run sits on a plateau or a saddle
   * (over-specified likelihoods have them) and stops as 'stalled', which is not 'converged'.
   * With `futility: 'budget'` it also fires when the last window's gain, extrapolated linearly over
   * the EM maps left (maxIterations - maps), is below T - scoreTol: the run would end as
   * maxIterations (only where the run is then polished: polish 'bhhh', a gate that is not selective).
   * Call after each E-step on the accepted path.
   */
  stalled(): boolean {
    const half = Math.ceil(this.stopping.stallWindow / 2);
    if (this.stopping.stop !== 'score' || this.maps < (this.checkpoints.length + 1) * half) return false;
    this.checkpoints.push(this.loglik);
    const c = this.checkpoints;
    if (c.length < 3) return false;
    const T = this.stopper.lastComputed;
    if (T === null || !(T > this.stopping.scoreTol)) return false;
    const gain = c[c.length - 1]! - c[c.length - 3]!;
    if (gain < STALL_FRACTION * this.stopping.scoreTol) return true;
    // futility: even at the last window's pace (a climb that slows down gains less), the maps left
    // could not gain the remaining T; the run would end as maxIterations
    if (this.stopping.futility === 'budget' && this.stopping.polish === 'bhhh' && !this.host.state.gate.selective) {
      return gain * (Math.max(0, this.stopping.maxIterations - this.maps) / (2 * half)) < T - this.stopping.scoreTol;
    }
    return false;
  }

  /**
   * What a stalled run does: with `polish: 'bhhh'` (and a gate that is not selective) the host
   * polishes it (polish.ts), then one E-step there puts the point on the path; 'converged' if
   * T <= scoreTol there, else 'stalled'. With 'none', 'stalled' at once.
   */
  *afterStall(): Generator<EmRequest, CoreResult, number> {
    if (this.stopping.polish === 'none' || this.host.state.gate.selective) return this.finish('stalled', this.stopper.certificate);
    const T = yield { op: 'polish' };
    const p = this.host.polished;
    if (p) {
      this.evaluations += p.evaluations;
      this.polish = { steps: p.steps, gain: p.gain };
    }
    this.host.invalidate();
    const L = yield* this.evaluate();
    if (!Number.isFinite(L)) return yield* this.fail(L);
    return this.finish(T <= this.stopping.scoreTol ? 'converged' : 'stalled', T);
  }

  /** Stop with a numerical failure: back to the last finite point (its E-step is redone). */
  *fail(L: number): Generator<EmRequest, CoreResult, number> {
    this.warnings.push(nonFiniteWarning(L, this.maps));
    if (this.good) {
      restoreState(this.host.state, this.good);
      this.host.invalidate();
      yield { op: 'estep' };
    }
    return this.finish('numericalFailure', null);
  }

  finish(stopReason: StopReason, certificate: number | null): CoreResult {
    return {
      loglik: Number.isFinite(this.loglik) ? this.loglik : -Infinity,
      iterations: this.maps,
      stopReason,
      decreases: this.decreases,
      trace: this.trace,
      warnings: this.warnings,
      certificate,
      lastChange: this.stopper.lastChange,
      evaluations: this.evaluations,
      extrapolations: { accepted: this.accepted, refused: this.refused },
      polish: this.polish,
    };
  }
}

/** Plain EM: v <- M(v) until the stopping rule holds. */
function* plainEM(host: EmHost, stopping: ResolvedStopping, rounding: EngineRounding): EmRun {
  const run = new Run(host, stopping, rounding);
  let L = yield* run.evaluate();
  if (!Number.isFinite(L)) return yield* run.fail(L);
  let previous = -Infinity;
  for (;;) {
    if (yield* run.stopper.check(L, previous)) return run.finish('converged', run.stopper.certificate);
    if (run.maps >= stopping.maxIterations) return run.finish('maxIterations', run.stopper.certificate);
    if (run.stalled()) return yield* run.afterStall();
    yield* run.map();
    previous = L;
    L = yield* run.evaluate();
    if (!Number.isFinite(L)) return yield* run.fail(L);
  }
}

/** SQUAREM with the monotone safeguard and a stabilising EM step (see the module comment). */
function* squarem(host: EmHost, stopping: ResolvedStopping, rounding: EngineRounding): EmRun {
  const run = new Run(host, stopping, rounding);
  let L0 = yield* run.evaluate();
  if (!Number.isFinite(L0)) return yield* run.fail(L0);
  if (yield* run.stopper.check(L0, -Infinity)) return run.finish('converged', run.stopper.certificate);
  let alphaMax = 1;
  // one plain EM step from the last evaluated point; a number (L) to go on, or the run's result
  const step = function* (previous: number): Generator<EmRequest, number | CoreResult, number> {
    if (run.maps >= stopping.maxIterations) return run.finish('maxIterations', run.stopper.certificate);
    yield* run.map();
    const L = yield* run.evaluate();
    if (!Number.isFinite(L)) return yield* run.fail(L);
    if (yield* run.stopper.check(L, previous)) return run.finish('converged', run.stopper.certificate);
    if (run.stalled()) return yield* run.afterStall();
    return L;
  };
  for (;;) {
    const v0 = host.getVector();
    const L1 = yield* step(L0);
    if (typeof L1 !== 'number') return L1;
    const v1 = host.getVector();
    const L2 = yield* step(L1);
    if (typeof L2 !== 'number') return L2;
    const v2 = host.getVector();
    const P = v0.length;
    const r = new Float64Array(P);
    const w = new Float64Array(P);
    let sr = 0;
    let sw = 0;
    for (let t = 0; t < P; t++) {
      r[t] = v1[t]! - v0[t]!;
      w[t] = v2[t]! - 2 * v1[t]! + v0[t]!;
      sr += r[t]! * r[t]!;
      sw += w[t]! * w[t]!;
    }
    let alpha = sw > 0 ? -Math.sqrt(sr / sw) : -1;
    alpha = Math.min(-1, Math.max(alpha, -alphaMax));
    const full = alpha === -alphaMax;
    if (!(alpha < -1)) {
      // alpha = -1 is plain EM's v2: nothing to extrapolate; the cap grows if it was binding
      if (full && sw > 0) alphaMax *= 4;
      L0 = L2;
      continue;
    }
    let accepted = false;
    const vx = new Float64Array(P);
    let Lx = -Infinity;
    for (let attempt = 0; attempt < 3 && alpha < -1; attempt++) {
      for (let t = 0; t < P; t++) vx[t] = v0[t]! - 2 * alpha * r[t]! + alpha * alpha * w[t]!;
      host.setVector(vx);
      Lx = yield* run.evaluate(false);
      if (Number.isFinite(Lx) && Lx >= L2) {
        accepted = true;
        break;
      }
      alpha = (alpha - 1) / 2;
    }
    if (!accepted) {
      run.refused++;
      alphaMax = Math.max(1, alphaMax / 4);
      host.setVector(v2);
      L0 = yield* run.evaluate();
      continue;
    }
    run.accepted++;
    run.record(Lx);
    if (full) alphaMax *= 4;
    // the stabilising EM step from the extrapolated point
    const L3 = yield* step(Lx);
    if (typeof L3 !== 'number') return L3;
    L0 = L3;
  }
}

/** The warning of a run whose log-likelihood became L (not finite) after `iterations`. */
export function nonFiniteWarning(L: number, iterations: number): string {
  return `EM: the log-likelihood became ${L} after ${iterations} iterations; the parameters of the last finite iteration are returned. Try another start or a larger nuMin.`;
}

/**
 * The warnings of a finished EM run: experts on the variance floor, no convergence, decreases of L
 * beyond `rounding` (the engine's rounding level, named for the user).
 */
export function closingWarnings(
  nuFloorHits: number[],
  stopReason: StopReason,
  decreases: number,
  o: { nuMin: number; maxIterations: number; stop: 'score' | 'relative'; tol: number; scoreTol: number; stallWindow: number },
  rounding: string,
): string[] {
  const out: string[] = [];
  if (nuFloorHits.length > 0) {
    out.push(
      `EM: the variance of expert(s) ${nuFloorHits.map((i) => i + 1).join(', ')} hit the floor nuMin = ${o.nuMin} (an expert collapsing onto few points); try another start or fewer experts.`,
    );
  }
  if (stopReason === 'stalled') {
    out.push(`EM: stalled: L rose by less than ${STALL_FRACTION * o.scoreTol} nats over ${o.stallWindow} iterations while the score statistic says more than ${o.scoreTol} remains (a plateau or saddle); not converged. Try other starts.`);
  }
  if (stopReason === 'maxIterations') {
    const rule = o.stop === 'score' ? `score statistic above scoreTol ${o.scoreTol}` : `relative tol ${o.tol}`;
    out.push(`EM: did not converge in ${o.maxIterations} iterations (${rule}); raise maxIterations, or try another start.`);
  }
  if (decreases > 0) out.push(`EM: the log-likelihood decreased beyond ${rounding} in ${decreases} iteration(s).`);
  return out;
}
