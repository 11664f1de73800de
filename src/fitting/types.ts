/** Options and results of the fitters (spec: fitting.md). Results are plain data. */
import type { ExpertFamily } from '../experts/types.js';
import { FIT_DEFAULTS } from './options.js';
import type { GateSpec, Model } from '../models/types.js';

export type StopReason = 'converged' | 'maxIterations' | 'stalled' | 'numericalFailure';

/** Default of the score rule's tolerance, in nats (measured: T <= eps ends within 0.2-2 eps of the maximum). */
export const DEFAULT_SCORE_TOL = FIT_DEFAULTS.scoreTol;
/** Default maximum of EM-map evaluations. */
export const DEFAULT_MAX_ITERATIONS = FIT_DEFAULTS.maxIterations;
/** Default factor of the scale-aware variance floor. */
export const DEFAULT_NU_MIN_FACTOR = FIT_DEFAULTS.nuMinFactor;

/** The stopping settings of a run with defaults filled in (validated options assumed). */
export interface ResolvedStopping {
  stop: 'score' | 'relative';
  scoreTol: number;
  tol: number;
  absTol: number;
  accelerate: 'squarem' | 'none';
  polish: 'bhhh' | 'none';
  stallWindow: number;
  futility: 'budget' | 'none';
  selectionSearch: 'coordinate' | 'none';
  maxIterations: number;
  nuMin: number;
}

/** Fill in the defaults of the stopping settings (from the options table, fitting/options.ts). */
export function resolveStopping(options: FitOptions): ResolvedStopping {
  return {
    stop: options.stop ?? FIT_DEFAULTS.stop,
    scoreTol: options.scoreTol ?? FIT_DEFAULTS.scoreTol,
    tol: options.tol ?? FIT_DEFAULTS.tol,
    absTol: options.absTol ?? FIT_DEFAULTS.absTol,
    accelerate: options.accelerate ?? FIT_DEFAULTS.accelerate,
    polish: options.polish ?? FIT_DEFAULTS.polish,
    stallWindow: options.stallWindow ?? FIT_DEFAULTS.stallWindow,
    futility: options.futility ?? FIT_DEFAULTS.futility,
    selectionSearch: options.selectionSearch ?? FIT_DEFAULTS.selectionSearch,
    maxIterations: options.maxIterations ?? FIT_DEFAULTS.maxIterations,
    nuMin: options.nuMin ?? 1e-10,
  };
}

/**
 * The options of fitMoE and fitMany. Domains, defaults and descriptions: the options table
 * FIT_OPTIONS (fitting/options.ts; docs/fitting.md prints it); the notes below are its summary.
 */
export interface FitOptions {
  /** number of experts to fit (k >= 1) */
  k: number;
  /** the gate family and its fixed settings (topk K and rankBy; tau, known value or start) */
  gate: GateSpec;
  /** 'known' (default): tau fixed at gate.tau; 'free': tau estimated (temperature, activation) */
  tau?: 'known' | 'free';
  /** 'em' (default) or 'mle' (direct maximisation by L-BFGS) */
  method?: 'em' | 'mle';
  /**
   * 'reference' (default): the last expert's beta0 and beta1 are fixed at 0 (starts are shifted
   * there; an exact invariance except for the activation gate, where beta1_k = 0 is an assumption);
   * 'free': all gating parameters are fitted.
   */
  identifiability?: 'reference' | 'free';
  /**
   * the experts' family (experts/types.ts; default gaussianLinear, N(y | a.x + b, nu)), from code
   * only: a family needs no edit outside its own file, and runs on the CPU backend's generic
   * E-step (the GPU engine takes the Gaussian linear family only)
   */
  expertFamily?: ExpertFamily;
  /**
   * the stopping rule (spec: fitting.md, "Stopping", revised):
   * 'score' (default): stop when the score statistic T = 1/2 g' J^-1 g (an estimate of the nats
   *   still to gain, see fitting/certificate.ts) is at most scoreTol;
   * 'relative': the [DEMYS] authors' rule |L_t - L_{t-1}| <= tol |L_{t-1}| (or <= absTol), which
   *   is an absolute tolerance growing with n: it stops over-specified fits next to their start.
   */
  stop?: 'score' | 'relative';
  /** 'score' rule: the largest T, in nats, at which a fit counts as converged (default 1e-3) */
  scoreTol?: number;
  /** 'relative' rule only: relative tolerance (default 1e-6, the [DEMYS] rule) */
  tol?: number;
  /** 'relative' rule only: absolute tolerance on |L_t - L_{t-1}| (default: off) */
  absTol?: number;
  /**
   * 'relative' rule, EM only: return the parameters one EM map past the point where the rule held,
   * as the [DEMYS] authors' loop does (meteoritsSim emNMoE records L at the E-step, before the
   * M-step, so its rule compares the two previous iterates and its returned parameters are one
   * map further). The best start is chosen first by the rule's log-likelihood (theirs), then moved
   * by that one map; the reported loglik is that of the returned parameters. Default false.
   */
  relativeLag?: boolean;
  /**
   * acceleration of EM: 'squarem' (default; SQUAREM with a monotone safeguard, see fitting/em.ts)
   * or 'none' (plain EM). MLE ignores it.
   */
  accelerate?: 'squarem' | 'none';
  /**
   * what a stalled EM run does ('score' rule only): 'bhhh' (default) polishes by Newton steps with
   * the outer-product information on the log-likelihood until T <= scoreTol (fitting/polish.ts;
   * not for selective gates); 'none' stops as 'stalled'
   */
  polish?: 'bhhh' | 'none';
  /**
   * the stall rule's window in EM maps (default 1000; integer >= 2): a run whose L rose by less
   * than 1e-2 scoreTol over the last stallWindow maps while T > scoreTol is stalled (fitting/em.ts
   * Run.stalled), checked every stallWindow / 2 maps (rounded up) from 1.5 stallWindow on
   */
  stallWindow?: number;
  /**
   * 'budget': the stall rule also fires when the last stallWindow maps' gain, extrapolated over
   * the maps left (maxIterations - maps), is below T - scoreTol (the run would end as
   * maxIterations; it is polished instead; only with polish 'bhhh' and a gate that is not
   * selective); 'none' (default): only the 1e-2 scoreTol rule. Not the default: a polish that
   * starts while EM still climbs may end at another maximum than EM's (docs/fitting.md)
   */
  futility?: 'budget' | 'none';
  /**
   * selective gates (top-K with K < k) only: 'coordinate' (default) alternates EM with a
   * coordinate search of the log-likelihood across the selection boundaries, which EM itself
   * cannot cross (fitting/em.ts selectionSearched); 'none': EM keeps the start's selections
   */
  selectionSearch?: 'coordinate' | 'none';
  /**
   * the gate box B > 0 (default: none): EM keeps every beta0 and beta1 entry of the gate in
   * [-B, B], the compact Theta of the theorems (fitting/gate-box.ts); method 'em' only. Use
   * models' GATE_BOUND (1000) for the box the sweeps classify by.
   */
  gateBound?: number;
  /** maximum EM-map evaluations (EM) or L-BFGS iterations (MLE) (default 10000) */
  maxIterations?: number;
  /**
   * variance floor nu_min (the compact parameter space of the theorems). Default: scale-aware,
   * nuMinFactor times the smallest variance of the reference model: the truth for near-truth
   * starts, the given start, or the first random start. Hitting it is reported.
   */
  nuMin?: number;
  /** the default floor's factor (default 0.01); ignored when nuMin is given */
  nuMinFactor?: number;
  /** gate M-step: maximum Newton / L-BFGS steps per EM iteration (default 5) */
  gateSteps?: number;
  /** gate M-step: stop when the predicted gain in Q is below gateTol * max(1, |Q|) (default 1e-10) */
  gateTol?: number;
  /** keep the log-likelihood of every iteration in the result (default false) */
  trace?: boolean;
}

export interface FitInfo {
  /** final log-likelihood sum_n log p(y_n | x_n) at the returned parameters */
  loglik: number;
  /** EM-map evaluations (EM) or L-BFGS iterations (MLE) */
  iterations: number;
  /** 'converged' only when the stopping rule held at the returned parameters */
  stopReason: StopReason;
  /** the rule that was applied ('score' or 'relative') and its tolerance */
  stopRule: string;
  /**
   * the score statistic T (nats) at the returned parameters, when computed; null when it was not
   * computed or could not be (an information matrix that overflows or is singular in float64)
   */
  certificate: number | null;
  /** |L_t - L_{t-1}| of the last step */
  lastChange: number | null;
  /** the variance floor nu_min of the fit */
  nuMin: number;
  /** wall time of the optimisation in seconds (no I/O, no start-up) */
  seconds: number;
  method: 'em' | 'mle';
  /** how the start was made, e.g. "nearTruth(s=0.1)" or "random(restart 3 of 5)" */
  start: string;
  /** experts (0-based) whose variance ended on the floor nu_min */
  nuFloorHits: number[];
  /** number of EM iterations where L decreased beyond rounding (should be 0) */
  decreases: number;
  /** log-likelihood per iteration, when asked for */
  trace?: number[];
  /** anything the user should know, with what to try */
  warnings: string[];
  /** final log-likelihood of every start, when there were several (null: that start failed numerically) */
  restarts?: (number | null)[];
  /** how each of those starts stopped */
  restartStops?: StopReason[];
  /** max - min of the starts' final log-likelihoods (nats): 0 when every start found the same maximum */
  restartSpread?: number;
  /** the polish of a stalled run (fitting/polish.ts), when one ran: accepted BHHH steps and the nats they gained */
  polish?: { steps: number; gain: number };
  /** the selection search of a selective gate, when it ran: rounds that moved a boundary and the nats they gained */
  selectionSearch?: { rounds: number; gain: number };
  /** where the fit ran (set by fitMany; the log-likelihood is always a float64 evaluation) */
  backend?: 'cpu' | 'gpu';
}

/** A fitted model: the model-file shape plus `fit`. */
export interface FitResult {
  model: Model;
  fit: FitInfo;
}
