/**
 * Dense linear algebra and optimisers (one implementation each): Cholesky (plain, ridged, Jacobi
 * scaled), LU, L-BFGS, Nelder–Mead, Levenberg–Marquardt. Layer: above rng, below models; imports
 * nothing of gatelab (plain numbers and Float64Arrays in, out).
 */
export {
  backSubstitute,
  cholesky,
  forwardSubstitute,
  inverseQuadraticForm,
  solveDamped,
  type CholeskyFactor,
  type CholeskyOptions,
  type InverseQuadraticOptions,
} from './cholesky.js';
export { solveDense } from './lu.js';
export { lbfgs, type LbfgsOptions, type LbfgsResult } from './lbfgs.js';
export { nelderMead, type NelderMeadOptions, type NelderMeadResult } from './nelder-mead.js';
export { levenbergMarquardt, norm2, type ResidualAndJacobian } from './levenberg-marquardt.js';
