export type {
  Activation,
  ActivationGateSpec,
  Expert,
  GateSpec,
  GateType,
  GridInput,
  InputSpec,
  Model,
  NormalInput,
  SoftmaxGateSpec,
  TemperatureGateSpec,
  TopKGateSpec,
  UniformInput,
} from './types.js';
export { ACTIVATIONS, gateTau, modelDim } from './types.js';
export { DEMYS_MODEL } from './examples.js';
export { choleskyLower, parseGate, parseInput, parseModel } from './validate.js';
export { modelGate, modelLogWeights, modelWeights } from './model-gate.js';
export { GATE_BOUND, gateBoundExcess, gateBoxFace, type GateBoundExcess } from './gate-bound.js';
