export { logDensity, logLikelihood } from './density.js';
