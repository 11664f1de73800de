/**
 * The CPU/GPU choice and the batched entry points that dispatch on it (resolveBackend ->
 * sampleMany -> fitMany). Layer: above both engines it dispatches to, the CPU fitter
 * (fitting/, on the backend/ kernels) and the GPU one (gpu/), so neither engine imports the other
 * and neither imports the choice.
 */
export {
  BACKEND_CHOICES,
  releaseBackend,
  resolveBackend,
  validateBackendChoice,
  type BackendChoice,
  type ComputeBackend,
} from './backend-choice.js';
export { sampleMany, releaseSampleBatch, type SampleBatch } from './sample-many.js';
export { fitMany, type FitProblem } from './fit-many.js';
