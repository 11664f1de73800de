/**
 * gatelab: the public API. Data flows one way:
 *   model (parseModel) -> sample -> fitMoE -> voronoiLoss / parameterErrors / densityDistance
 * (and, batched on a chosen backend: resolveBackend -> sampleMany -> fitMany)
 * Every operation of the CLI is here as a typed function; results are plain data.
 */
export * from './errors.js';
export * from './models/index.js';
export { Rng, validateSeed, philox4x32 } from './rng/index.js';
export { datasetToCsv, formatNumber, parseDatasetCsv, validateDataset, type Dataset } from './data/index.js';
export {
  createGate,
  gateDefinition,
  GATES,
  GATE_TYPES,
  ACTIVATION_FUNCTIONS,
  type Gate,
  type GateDefinition,
  type GateOptions,
  type GateTraits,
  gateParameterCount,
  type GateParameterCount,
} from './gates/index.js';
export { modelGate, modelLogWeights, modelWeights } from './models/model-gate.js';
export { gaussianLinear, type ExpertFamily, type ExpertParameters, type GaussianExperts } from './experts/index.js';
export { sample, SAMPLE_TAG } from './sampling/index.js';
export { logDensity, logLikelihood } from './likelihood/index.js';
export { CPU_KERNELS, CpuBackend, defaultCpuKernels, validateCpuKernels, type Backend, type CpuBackendOptions, type CpuKernels, type FitBuffers } from './backend/index.js';
export {
  releaseBackend,
  resolveBackend,
  validateBackendChoice,
  type BackendChoice,
  type ComputeBackend,
} from './compute/backend-choice.js';
export { BackendUnavailableError, probeWebGpu } from './gpu/context.js';
export { sampleMany, releaseSampleBatch, type SampleBatch } from './compute/sample-many.js';
export { fitMany, type FitProblem } from './compute/fit-many.js';
export {
  fitMoE,
  validateFitOptions,
  type FitInfo,
  type FitOptions,
  type FitResult,
  type StartSpec,
  type StopReason,
} from './fitting/index.js';
export * from './losses/index.js';
export {
  argminK,
  criteria,
  defaultOmega,
  dendrogram,
  dendrogramSupport,
  dicValue,
  MAX_SELECT_K,
  mergeAtoms,
  mergeDistance,
  parameterCount,
  responsibilities,
  selectK,
  type Atom,
  type Criteria,
  type Dendrogram,
  type DendrogramLevel,
  type DendrogramMerge,
  type DendrogramOptions,
  type KFit,
  type MergeDistanceOptions,
  type ParameterCount,
  type Responsibilities,
  type Selection,
  type SelectKOptions,
} from './selection/index.js';
export {
  analyseRates,
  formatRates,
  loglogFit,
  perNSummary,
  referenceSlope,
  formatSelectionFrequencies,
  selectionFrequencies,
  wilsonInterval,
  type SelectionFrequency,
  type RateRow,
  type Verdict,
} from './analysis/index.js';
export { parseExperimentConfig, resolveNGrid } from './sweeps/config.js';
export {
  isSelectConfig,
  parseSelectConfig,
  readSelectRows,
  runSelectSweep,
  runSelectTask,
  selectTasks,
  type SelectExperimentConfig,
  type SelectRow,
  type SelectSweepSummary,
  type SelectVariant,
} from './sweeps/select-sweep.js';
export { runSweep, type SweepOptions, type SweepProgress, type SweepSummary } from './sweeps/sweep.js';
export { readStore } from './sweeps/store.js';
export { committedExport, hasResults, preferredResults, readChosen, type ResultsChoice } from './sweeps/results-variant.js';
export { readParquetResults } from './sweeps/import-parquet.js';
export { describeMissing, readResults, type MergedResults } from './sweeps/merged-store.js';
export { parseShard, partitionTasks, shardTasks, type Shard } from './sweeps/shard.js';
export { formatStatus, sweepStatus, type SweepStatus } from './sweeps/status.js';
export { exportParquet, resultsToParquet } from './sweeps/export-parquet.js';
export { sbatchScript, submitScript, SchedulerError, type SlurmJobOptions } from './sweeps/slurm.js';
export { sweepTasks, taskSeed } from './sweeps/tasks.js';
export type { ExperimentConfig, Prediction, SweepRow, SweepTask, VariantConfig } from './sweeps/types.js';
export {
  alignFit,
  chromiumPath,
  convergenceFigure,
  criteriaFigure,
  dendrogramFigure,
  densityFigure,
  figuresToHtml,
  gateWeightsFigure,
  parameterPanels,
  renderImages,
  selectionFrequencyFigure,
  voronoiFigure,
  type Figure,
  type ImageJob,
} from './plots/index.js';
