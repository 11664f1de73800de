/**
 * Rates analysis (spec: rates.md, "Measuring a rate"): log-log fits, the log-corrected reference
 * slope, per-n summaries, the bootstrap slope table with verdicts, and its text formats.
 */
export { loglogFit, type LogLogFit } from './loglog.js';
export { referenceSlope } from './reference-slope.js';
export { perNSummary, isConverged, meanStandardError, type PerNSummary } from './summary.js';
export {
  analyseRates,
  ladderReferences,
  powerDiagnostic,
  rateVerdict,
  LADDER_SEPARATION,
  MAX_CI_WIDTH,
  POWER_FACTOR,
  RATE_LADDER,
  RATE_STATISTICS,
  VERDICT_TOLERANCE,
  type LadderExponent,
  type PowerDiagnostic,
  type RatePerN,
  type VerdictResult,
  type RateOptions,
  type RateRow,
  type RateStatistic,
  type RatesConfig,
  type Verdict,
} from './rates.js';
export { formatRates, RATE_CSV_COLUMNS } from './format.js';
export { fnv1a32 } from './hash.js';
export {
  formatSelectionFrequencies,
  selectionFrequencies,
  SELECTION_CRITERIA,
  wilsonInterval,
  type SelectionCriterion,
  type SelectionFrequency,
} from './selection-frequency.js';
