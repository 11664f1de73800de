/**
 * The gate registry: every gate gatelab knows, one line each. Adding a gate is its file (spec type,
 * Gate class, GateDefinition) plus its line in GATES and in the GateSpec union below; parsing,
 * packing, starts, losses, figures and the conformance suite (test/conformance/) pick it up.
 */
import { ModelError, show } from '../errors.js';
import { activationGate, type ActivationGateSpec } from './activation.js';
import type { GateDefinition } from './definition.js';
import { gaussianGate, type GaussianGateSpec } from './gaussian.js';
import { sigmoidGate, type SigmoidGateSpec } from './sigmoid.js';
import { softmaxGate, type SoftmaxGateSpec } from './softmax.js';
import { temperatureGate, type TemperatureGateSpec } from './temperature.js';
import { topkGate, type TopKGateSpec } from './topk.js';

export type GateSpec = SoftmaxGateSpec | TopKGateSpec | TemperatureGateSpec | ActivationGateSpec | SigmoidGateSpec | GaussianGateSpec;
export type GateType = GateSpec['type'];

type Registry = { readonly [T in GateType]: GateDefinition<Extract<GateSpec, { type: T }>> };

export const GATES: Registry = {
  softmax: softmaxGate,
  topk: topkGate,
  temperature: temperatureGate,
  activation: activationGate,
  sigmoid: sigmoidGate,
  gaussian: gaussianGate,
};

/** The gate types, in registry order. */
export const GATE_TYPES = Object.keys(GATES) as GateType[];

/**
 * The definition of a gate type; ModelError naming `path` for a type that is not registered.
 * @example gateDefinition('softmax').traits.temperature // => false
 */
export function gateDefinition<T extends GateType>(type: T, path?: string): GateDefinition<Extract<GateSpec, { type: T }>>;
export function gateDefinition(type: unknown, path?: string): GateDefinition<GateSpec>;
export function gateDefinition(type: unknown, path = 'gate.type'): GateDefinition<GateSpec> {
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(GATES, type)) {
    throw new ModelError(`${path}: ${show(type)} is not a gate type; must be one of ${GATE_TYPES.join(', ')}`);
  }
  return GATES[type as GateType] as unknown as GateDefinition<GateSpec>;
}

/** The definition of a spec's gate (for a spec that went through parsing). */
export function definitionOf(spec: GateSpec): GateDefinition<GateSpec> {
  return gateDefinition(spec.type);
}

/** The temperature of a spec whose gate has one, else undefined. */
export function specTau(spec: GateSpec): number | undefined {
  const def = definitionOf(spec);
  return def.traits.temperature && def.tau ? def.tau(spec) : undefined;
}
