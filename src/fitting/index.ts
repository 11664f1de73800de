export { fitMoE, validateFitOptions, type StartSpec } from './fit.js';
export { runEM, ROUNDING_TOLERANCE, type EngineResult } from './em.js';
export { runMLE, mleObjective, packMle, unpackMle } from './mle.js';
export { gateMStep, type GateMStepOptions, type GateMStepResult } from './gate-mstep.js';
export { lbfgs, type LbfgsOptions, type LbfgsResult } from '../numerics/lbfgs.js';
export { nearTruthStart, randomStart, type NearTruthStart } from './starts.js';
export { packState, unpackState, type PackedState } from './state.js';
export type { FitInfo, FitOptions, FitResult, StopReason } from './types.js';
export { expandStarts, bestFit } from './fit.js';
