/**
 * Plain-data types of a Monte Carlo sweep (issue 3): the experiment config, a task and a result row.
 * Rows are what the rates analysis reads; they never hold live objects.
 */
import type { BlockNoise } from '../fitting/starts.js';
import type { FitOptions } from '../fitting/types.js';
import type { VoronoiMetric } from '../losses/voronoi.js';
import type { Model } from '../models/types.js';

/** A grid of sample sizes: an explicit list, or segments, concatenated (values rounded to integers). */
export type NGridSpec = number | { linspace: [number, number, number] } | { geomspace: [number, number, number] } | NGridSpec[];

export interface VariantConfig {
  /** the sample sizes */
  n: NGridSpec;
  /** replicates per n */
  replicates: number;
  /** the declared slope-fit range [nLow, nHigh] (inclusive), fixed before anything runs */
  fitRange: [number, number];
  /** Monte Carlo points of the density distances (0: not computed) */
  densityPoints?: number;
  /** starts per fit in this variant (overrides start.restarts) */
  restarts?: number;
  /** EM maps per fit in this variant (overrides fit.maxIterations) */
  maxIterations?: number;
}

/** A theoretical prediction for one quantity's log-log slope. */
export interface Prediction {
  /** predicted slope of log(error) against log(n), e.g. -0.5; 0 for "does not go to 0" */
  slope: number;
  /**
   * 'power' (default): error ~ (log n / n)^(-slope), so the log-corrected reference is computed;
   * 'none': no log correction (slope 0 predictions, "slower than any power").
   */
  kind?: 'power' | 'none';
  /** where it comes from, e.g. "[DEMYS] Thm 1" */
  source?: string;
  /** free text shown beside the verdict (e.g. "hypothesis: our reading of [TEMP]") */
  note?: string;
}

export interface ExperimentConfig {
  name: string;
  description: string;
  /** root seed: every task's seed derives from (seed, n, replicate) only */
  seed: number;
  truth: Model;
  /** fit settings (FitOptions without trace) */
  fit: FitOptions;
  /**
   * starts: near-truth (noise s, optional shrink), the [DEMYS] authors' nearTrue start (per-block
   * shrinking noise, last fitted expert on the reference; fitting/starts.ts demysNearTrueStart) or
   * data-driven random, with restarts (the authors' n_tries)
   */
  start:
    | { type: 'nearTruth'; noise: number; shrinkExponent?: number; restarts?: number }
    | {
        type: 'demysNearTrue';
        gate?: BlockNoise;
        experts?: BlockNoise;
        variance?: BlockNoise;
        varianceStart?: 'variance' | 'standardDeviation';
        restarts?: number;
      }
    | { type: 'random'; restarts?: number };
  /**
   * which losses to report: the Voronoi loss options. tauFitted (default: whether tau is fitted);
   * metric: the distance of the Voronoi cells, 'euclidean' (default) or 'blocks' (the [DEMYS]
   * authors' sum of block norms)
   */
  loss?: { tauFitted?: boolean; metric?: VoronoiMetric };
  variants: { quick: VariantConfig; full: VariantConfig };
  /** predicted slopes per quantity name (see QUANTITY names below) */
  predictions: Record<string, Prediction>;
}

/** One (n, replicate) task of a sweep. */
export interface SweepTask {
  key: string;
  n: number;
  replicate: number;
  seed: number;
}

/** What every task row of a results store holds (rate sweeps and selection sweeps): the task and its outcome. */
export interface TaskRowBase {
  experiment: string;
  variant: 'quick' | 'full';
  key: string;
  n: number;
  replicate: number;
  seed: number;
  status: 'ok' | 'failed';
  error?: string;
}

/**
 * One finished task. `quantities` holds every recorded error under the names of issue 3:
 * D1 / D2 (aligned Voronoi loss), D1.raw / D2.raw, hellinger, tv, and per true atom j (1-based)
 * mass[j], beta1[j], a[j], b[j], nu[j], tau (where fitted), ratio[j] (||beta1/tau|| error, temperature
 * and activation gates with tau fitted), and by Voronoi cell size m > 1: mass[size=m], beta1[size=m],
 * a[size=m], b[size=m], nu[size=m] (the worst over the true atoms whose cell has m fitted atoms;
 * absent when no cell has m atoms). null: not defined for this fit (an empty Voronoi cell).
 */
export interface SweepRow extends TaskRowBase {
  /** where the fit ran (rows before the GPU backend have none: cpu) */
  backend?: 'cpu' | 'gpu';
  loglik?: number;
  iterations?: number;
  stopReason?: string;
  converged?: boolean;
  /** the score statistic T (nats) at the returned fit, when computed (score rule) */
  certificate?: number | null;
  /** |L_t - L_{t-1}| of the fit's last step */
  lastChange?: number | null;
  /** number of experts whose variance ended on the floor nu_min */
  nuFloorHits?: number;
  /** number of fitted atoms with variance below 0.1 x the smallest true variance (run-task.ts SPIKE_FRACTION) */
  spikes?: number;
  seconds?: number;
  start?: string;
  warnings?: string[];
  /** the fitted model (gate, experts, input) */
  model?: Model;
  lossKind?: 'D1' | 'D2';
  cells?: number[][];
  quantities?: Record<string, number | null>;
  hellingerSE?: number;
  tvSE?: number;
}
