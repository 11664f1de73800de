/**
 * Gates: the registry (registry.ts), the factory from a gate spec to a {@link Gate}, and
 * model-level helpers. Adding a gate: write its file (spec type, Gate class, GateDefinition; see
 * sigmoid.ts) and add its line to registry.ts.
 */
import { ConfigError, show } from '../errors.js';
import { GATE_TYPES, gateDefinition, type GateSpec } from './registry.js';
import type { Gate, GateOptions } from './types.js';

export type { Gate, GateOptions, GatingParameters } from './types.js';
export type { GateDefinition, GateExample, GateTraits, Translation } from './definition.js';
export { GATES, GATE_TYPES, definitionOf, gateDefinition, specTau, type GateSpec, type GateType } from './registry.js';
export { gateParameterCount, type GateParameterCount } from './parameters.js';
export { ACTIVATION_FUNCTIONS, ACTIVATIONS, normalCdf, normalPdf, type Activation, type ActivationFunction } from './activations.js';

/**
 * The gate for `spec` over k experts in dimension d (the registry's factory).
 * @param options.tau 'known' (default) keeps tau fixed; 'free' adds log tau to the parameters
 *   (only for gates with the temperature trait).
 * @throws ConfigError when tau 'free' is asked of a gate without a temperature.
 * @example createGate({ type: 'softmax' }, 2, 1).nParams // => 4
 */
export function createGate(spec: GateSpec, k: number, d: number, options: GateOptions = {}): Gate {
  const tauMode = options.tau ?? 'known';
  if (tauMode !== 'known' && tauMode !== 'free') {
    throw new ConfigError(`tau: ${show(tauMode)} is not a temperature mode; must be "known" or "free"`);
  }
  const def = gateDefinition(spec.type);
  const free = tauMode === 'free';
  if (free && !def.traits.temperature) {
    throw new ConfigError(`tau: "free" needs a gate with a temperature (${temperatureGates()}); got ${spec.type}`);
  }
  return def.create(spec, k, d, free);
}

/** The registered gate types that have a temperature, e.g. "temperature, activation". */
export function temperatureGates(): string {
  return GATE_TYPES.filter((t) => gateDefinition(t).traits.temperature).join(', ');
}

