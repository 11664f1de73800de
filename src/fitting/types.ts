/** Options and results of the fitters (spec: fitting.md). Results are plain data. */
import type { GateSpec, Model } from '../models/types.js';

export type StopReason = 'converged' | 'maxIterations' | 'numericalFailure';

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
  /** relative tolerance: stop when |L_t - L_{t-1}| <= tol |L_{t-1}| (default 1e-6, the [DEMYS] rule) */
  tol?: number;
  /** absolute tolerance: stop when |L_t - L_{t-1}| <= absTol (default: off) */
  absTol?: number;
  /** maximum iterations (default 2000) */
  maxIterations?: number;
  /** variance floor nu_min (default 1e-10); hitting it is reported */
  nuMin?: number;
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
  iterations: number;
  stopReason: StopReason;
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
  /** final log-likelihood of every start, when there were several */
  restarts?: number[];
  /** where the fit ran (set by fitMany; the log-likelihood is always a float64 evaluation) */
  backend?: 'cpu' | 'gpu';
}

/** A fitted model: the model-file shape plus `fit`. */
export interface FitResult {
  model: Model;
  fit: FitInfo;
}
