/**
 * Gates: the factory from a gate spec to a {@link Gate}, and model-level helpers.
 * Adding a gate: write its class (see softmax.ts), add one case to `createGate`, and one to
 * `parseGate` in models/validate.ts.
 */
import { ConfigError, show } from '../errors.js';
import type { GateSpec, Model } from '../models/types.js';
import { ActivationGate } from './activation.js';
import { SoftmaxGate } from './softmax.js';
import { TemperatureGate } from './temperature.js';
import { TopKGate } from './topk.js';
import type { Gate, GateOptions } from './types.js';

export type { Gate, GateOptions } from './types.js';
export { ACTIVATION_FUNCTIONS, normalCdf, normalPdf, type ActivationFunction } from './activations.js';

/**
 * The gate for `spec` over k experts in dimension d.
 * @param options.tau 'known' (default) keeps tau fixed; 'free' adds log tau to the parameters
 *   (only for temperature and activation gates).
 * @throws ConfigError when tau 'free' is asked of a gate without a temperature.
 */
export function createGate(spec: GateSpec, k: number, d: number, options: GateOptions = {}): Gate {
  const tauMode = options.tau ?? 'known';
  if (tauMode !== 'known' && tauMode !== 'free') {
    throw new ConfigError(`tau: ${show(tauMode)} is not a temperature mode; must be "known" or "free"`);
  }
  const free = tauMode === 'free';
  if (free && spec.type !== 'temperature' && spec.type !== 'activation') {
    throw new ConfigError(`tau: "free" needs a gate with a temperature (temperature, activation); got ${spec.type}`);
  }
  switch (spec.type) {
    case 'softmax':
      return new SoftmaxGate(k, d);
    case 'topk':
      return new TopKGate(k, d, spec.K, spec.rankBy);
    case 'temperature':
      return new TemperatureGate(k, d, spec.tau, free);
    case 'activation':
      return new ActivationGate(k, d, spec.activation, spec.tau, free);
  }
}

/** Gate of a model together with its packed parameters. */
export function modelGate(model: Model, options: GateOptions = {}): { gate: Gate; theta: Float64Array } {
  const gate = createGate(model.gate, model.experts.length, model.input.dim, options);
  return { gate, theta: gate.pack(model.experts, model.gate) };
}

/** log G_i(x_n) of a model's gate into out (n x k); -Infinity where a sparse gate gives weight 0. */
export function modelLogWeights(model: Model, x: Float64Array, n: number, out: Float64Array): void {
  const { gate, theta } = modelGate(model);
  gate.logWeights(theta, x, n, out);
}

/** G_i(x_n) of a model's gate into out (n x k). */
export function modelWeights(model: Model, x: Float64Array, n: number, out: Float64Array): void {
  const { gate, theta } = modelGate(model);
  gate.weights(theta, x, n, out);
}
