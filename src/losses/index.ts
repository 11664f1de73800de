/**
 * Losses (spec: losses.md; docs/losses.md): Voronoi cells, the Voronoi losses D1 and D2 (raw and
 * aligned: mass-normalised t0, minimum over t1), rbar and its numerical check, mass-weighted
 * per-parameter errors, and the expected Hellinger and total-variation distances between
 * conditional densities.
 */
export { voronoiCells, type VoronoiMetric, type VoronoiOptions } from './voronoi.js';
export { rbar, KNOWN_RBAR } from './rbar.js';
export {
  checkRbar,
  hoSystem,
  hoSystemResidual,
  type CheckRbarOptions,
  type CheckRbarResult,
  type HoPoint,
  type HoSearchOptions,
  type HoSearchResult,
} from './ho-system.js';
export {
  defaultExponents,
  type BlockExponents,
  type ExponentValue,
  type LossExponents,
  type ResolvedExponents,
} from './exponents.js';
export {
  lossD1,
  lossD2,
  voronoiLoss,
  type LossKind,
  type LossOptions,
  type VoronoiLossOptions,
  type VoronoiLossResult,
} from './voronoi-loss.js';
export { type AlignmentRule, type ShiftMode } from './alignment.js';
export { parameterErrors, type AtomErrors, type BlockErrors, type GateShift, type ParameterErrorOptions } from './parameter-errors.js';
export {
  densityDistance,
  type DensityDistanceOptions,
  type DensityDistanceResult,
  type LogWeightsFn,
} from './density-distance.js';
