export {
  copyExperts,
  expertLogDensities,
  expertMStep,
  expertStatsSize,
  packExperts,
  type GaussianExperts,
} from './gaussian-linear.js';
