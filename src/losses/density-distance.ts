/**
 * Expected Hellinger and total-variation distances between the conditional densities of a fit
 * and of the truth (spec: losses.md, "Density distances"; models.md, "Conditional density").
 *
 *     p_G(y | x) = sum_i G_i(x) N(y | a_i.x + b_i, nu_i)      (nu a variance)
 *
 *     h^2(x)  = 1/2 int ( sqrt p_fit(y|x) - sqrt p_truth(y|x) )^2 dy     (the 1/2 convention: h in [0, 1])
 *     TV(x)   = 1/2 int | p_fit(y|x) - p_truth(y|x) | dy                  (in [0, 1])
 *     result  = E_X h(X), E_X TV(X) with X ~ truth.input
 *
 * Split in three: the inner integral over y (density-y-integral.ts: a fixed composite
 * Gauss–Legendre rule, accurate to about 1e-12), the outer expectation over X
 * (density-x-expectation.ts: Monte Carlo over truth.input with the sampling module's input
 * sampler, or Gauss–Legendre over x), and this file: the public entry, its option checks and the
 * one validation of truth.input (models' parseInput).
 */
import { modelLogWeights } from '../models/model-gate.js';
import type { Model } from '../models/types.js';
import { parseInput } from '../models/validate.js';
import { ConfigError, show } from '../errors.js';
import { Rng, validateSeed } from '../rng/rng.js';
import { sampleInputs } from '../sampling/input.js';
import { averageDistances, quadratureDesign, type LogWeightsFn } from './density-x-expectation.js';
import { checkChoice, checkInteger, checkModels, checkOptionKeys } from './validate.js';

export type { LogWeightsFn } from './density-x-expectation.js';

/** Options of {@link densityDistance}. */
export interface DensityDistanceOptions {
  /** `'mc'` (defaults) or `'quadrature'` (d = 1 with a uniform or grid input only) */
  method?: 'mc' | 'quadrature';
  /** number of x points (mc) or x nodes (quadrature, rounded up to a multiple of 8); defaults to 2000 (mc), 512 (quadrature) */
  nx?: number;
  /** seed of the Monte Carlo points; required for method 'mc' with a uniform or normal input */
  seed?: number;
  /** gate log-weights; defaults to `modelLogWeights` of `src/gates` (a backend may pass its kernel) */
  logWeights?: LogWeightsFn;
}

/** Result of {@link densityDistance}. */
export interface DensityDistanceResult {
  /** E_X h(p_fit(.|X), p_truth(.|X)), Hellinger distance with the 1/2 convention, in [0, 1] */
  hellinger: number;
  /** E_X TV(p_fit(.|X), p_truth(.|X)) = E_X 1/2 int |p_fit - p_truth| dy, in [0, 1] */
  tv: number;
  /** Monte Carlo standard error of `hellinger` (sd / sqrt(nx)); 0 for quadrature and grid designs */
  hellingerSE: number;
  /** Monte Carlo standard error of `tv`; 0 for quadrature and grid designs */
  tvSE: number;
  /** number of x points (or nodes) used */
  nx: number;
  method: 'mc' | 'quadrature';
}

/**
 * E_X Hellinger and E_X total-variation distances between p_fit(.|x) and p_truth(.|x)
 * (losses.md, "Density distances"), X ~ truth.input:
 *
 *     hellinger = E_X sqrt( 1/2 int (sqrt p_fit(y|X) - sqrt p_truth(y|X))^2 dy )
 *     tv        = E_X 1/2 int |p_fit(y|X) - p_truth(y|X)| dy
 *
 * Hellinger uses the 1/2 convention (h^2 = 1 - Bhattacharyya coefficient, h in [0, 1]). For two
 * normals with common sd s and means delta apart: h^2 = 1 - exp(-delta^2 / (8 s^2)) and
 * TV = 2 Phi(delta / (2 s)) - 1. The inner integral is a fixed composite Gauss–Legendre rule and
 * the outer expectation Monte Carlo or quadrature (see density-y-integral.ts and
 * density-x-expectation.ts).
 *
 * @param fit fitted model; its gate gives the weights
 * @param truth true model; its input design gives the law of X; same input.dim as fit
 * @param opts `method` (defaults to `'mc'`), `nx` (defaults to 2000 for mc, 512 for
 *   quadrature), `seed` (required for mc with uniform or normal inputs), `logWeights`
 *   (defaults to `modelLogWeights`)
 * @returns `{hellinger, tv, hellingerSE, tvSE, nx, method}`
 * @throws {ConfigError} on an unknown option, a missing seed, or quadrature for d > 1 or a
 *   normal input
 * @throws {ModelError} on a dimension mismatch (names the field) or a bad input design
 * @throws {NumericalError} if a gate log-weight or a distance comes out NaN
 * @example
 *   // single-expert models, b = 0 and b = 1, nu = 1, same gate: delta = 1, s = 1
 *   densityDistance(fit, truth, { seed: 1 }).tv        // => 0.38292492254802624 (= 2 Phi(1/2) - 1; Python math.erf)
 *   densityDistance(fit, truth, { seed: 1 }).hellinger // => 0.34278724803499416 (= sqrt(1 - exp(-1/8)); Python math.expm1)
 */
export function densityDistance(fit: Model, truth: Model, opts: DensityDistanceOptions = {}): DensityDistanceResult {
  const fn = 'densityDistance';
  checkOptionKeys(fn, opts, ['method', 'nx', 'seed', 'logWeights']);
  const d = checkModels(fn, fit, truth, 'any');
  const method = checkChoice(fn, 'method', opts.method, ['mc', 'quadrature'] as const, 'mc');
  let nx = checkInteger(fn, 'nx', opts.nx, 2, 10_000_000, method === 'mc' ? 2000 : 512);
  const logWeights = opts.logWeights ?? modelLogWeights;
  if (typeof logWeights !== 'function') {
    throw new ConfigError(`${fn}: logWeights: not a function (got ${show(logWeights)}); pass (model, x, n, out) => void`);
  }
  // the one check of the input design (fit and truth above): the models' own validator
  const input = parseInput(truth.input, d, `${fn}: truth.input`);
  if (method === 'quadrature') {
    if (d !== 1 || (input.type !== 'uniform' && input.type !== 'grid')) {
      throw new ConfigError(
        `${fn}: method: quadrature needs d = 1 and a uniform or grid input (got d = ${d}, input ${show(input.type)}); use method "mc"`,
      );
    }
    const q = quadratureDesign(input.low, input.high, nx);
    nx = q.nx;
    return { ...averageDistances(fn, fit, truth, q.xs, nx, d, q.xw, logWeights, false), nx, method };
  }
  if (input.type === 'grid') {
    // the fixed design linspace(low, high, nx): no randomness, no seed
    return { ...averageDistances(fn, fit, truth, sampleInputs(input, nx, null), nx, d, undefined, logWeights, false), nx, method };
  }
  const seed = opts.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new ConfigError(`${fn}: seed: required for method "mc" with a ${input.type} input (got ${show(seed)}); pass an integer seed`);
  }
  // a local generator read in order: point r takes the next d uniforms (or normals)
  const X = sampleInputs(input, nx, new Rng(validateSeed(seed, `${fn}: seed`)));
  return { ...averageDistances(fn, fit, truth, X, nx, d, undefined, logWeights, true), nx, method };
}
