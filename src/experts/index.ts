export {
  copyExperts,
  expertLogDensities,
  expertMStep,
  expertStatsSize,
  gaussianLinear,
  isGaussianLinear,
  packExperts,
  type GaussianExperts,
} from './gaussian-linear.js';
export type { ExpertFamily, ExpertParameters } from './types.js';
