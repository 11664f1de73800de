/**
 * A model's gate with its packed parameters, and its weights at a batch of inputs: the bridge from
 * a model file (models/) to the gate kernels (gates/), which sit below it.
 */
import { createGate, type Gate, type GateOptions } from '../gates/index.js';
import type { Model } from './types.js';

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
