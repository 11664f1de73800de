export { parameterCount, type ParameterCount } from './parameters.js';
export { argminK, criteria, type Criteria } from './criteria.js';
export { responsibilities, type Responsibilities } from './responsibilities.js';
export { mergeAtoms, mergeDistance, type Atom, type MergeDistanceOptions } from './merge.js';
export { defaultOmega, dicValue } from './dic.js';
export { dendrogram, dendrogramSupport, type Dendrogram, type DendrogramLevel, type DendrogramMerge, type DendrogramOptions } from './dendrogram.js';
export { MAX_SELECT_K, selectK, type KFit, type Selection, type SelectKOptions } from './select-k.js';
