/**
 * The packed state shared by EM and MLE: the gate with its parameter vector, the experts as flat
 * arrays, which gate coordinates are free, and the conversion back to a plain Model.
 */
import type { Dataset } from '../data/dataset.js';
import { gaussianLinear } from '../experts/gaussian-linear.js';
import type { ExpertParameters } from '../experts/types.js';
import { gatingOf } from '../gates/gating.js';
import { createGate, gateDefinition } from '../gates/index.js';
import type { Gate } from '../gates/types.js';
import type { Expert, InputSpec, Model } from '../models/types.js';
import { gateBoxLimits, projectOntoGateBox } from './gate-box.js';
import type { FitOptions } from './types.js';

export interface PackedState {
  gate: Gate;
  theta: Float64Array;
  /** the experts' packed parameters; `experts.family` is their family (the Expert contract) */
  experts: ExpertParameters;
  /** indices of theta that are optimised */
  free: Int32Array;
  /**
   * the gate box's half-width per coordinate of theta (option gateBound; fitting/gate-box.ts), or
   * null / absent: no box
   */
  box?: Float64Array | null;
}

/**
 * Pack a start model for fitting. With the reference convention the start is first moved so that
 * the last expert has beta0 = 0 and beta1 = 0: by a common shift where that leaves the gate
 * unchanged (all gates shift-invariant in beta0; all but the activation gate in beta1), otherwise
 * by setting beta1_k = 0.
 */
export function packState(start: Model, options: FitOptions): PackedState {
  const k = start.experts.length;
  const d = start.input.dim;
  const gate = createGate(options.gate, k, d, { tau: options.tau ?? 'known' });
  const spec = options.gate;
  // the start's tau is used as the starting value when tau is free
  const startSpec = (start.gate.type === spec.type ? start.gate : spec);
  // the start's gating fields in this gate's form (gating.adopt: the same fields, an exact
  // conversion, or a ModelError naming the field a start under another gate lacks)
  const gating = gatingOf(gateDefinition(spec.type));
  const theta = gate.pack(
    start.experts.map((e, i) => gating.adopt(e, `start.experts[${i}]`, d)),
    startSpec,
  );
  const reference = (options.identifiability ?? 'reference') === 'reference';
  const pinned = new Set<number>();
  const { reference: pin } = gateDefinition(spec.type).traits;
  if (reference) {
    const last = k - 1;
    if (pin.beta0 === 'shift') {
      const shift0 = theta[last]!;
      for (let i = 0; i < k; i++) theta[i] = theta[i]! - shift0;
      pinned.add(last);
    }
    for (let p = 0; p < d && pin.beta1 !== 'none'; p++) {
      const shift1 = theta[k + last * d + p]!;
      if (pin.beta1 === 'shift') for (let i = 0; i < k; i++) theta[k + i * d + p] = theta[k + i * d + p]! - shift1;
      else theta[k + last * d + p] = 0;
      pinned.add(k + last * d + p);
    }
  }
  const free = Int32Array.from({ length: gate.nParams }, (_, j) => j).filter((j) => !pinned.has(j));
  const family = options.expertFamily ?? gaussianLinear;
  // the gate box: a start outside it begins on its face
  const box = gateBoxLimits(gate, options.gateBound ?? Infinity);
  projectOntoGateBox(theta, box);
  return { gate, theta, experts: family.pack(start.experts, d), free, box };
}

/** The plain Model of a packed state. */
export function unpackState(state: PackedState, input: InputSpec): Model {
  const { gate, theta, experts } = state;
  const { beta0, beta1, spec, gating } = gate.unpack(theta);
  const list: Expert[] = [];
  for (let i = 0; i < experts.k; i++) {
    list.push({
      ...(gating ? gating[i]! : { beta0: beta0[i]!, beta1: beta1[i]! }),
      ...experts.family.unpack(experts, i),
    });
  }
  return { gate: spec, experts: list, input };
}

/** The input design recorded in a fitted model: the start's when given, else the data's box. */
export function dataInputBox(data: Dataset): InputSpec {
  const { n, d, X } = data;
  if (d === 1) {
    let low = Infinity;
    let high = -Infinity;
    for (let r = 0; r < n; r++) {
      low = Math.min(low, X[r]!);
      high = Math.max(high, X[r]!);
    }
    return { type: 'uniform', low, high: high > low ? high : low + 1, dim: 1 };
  }
  let low = Infinity;
  let high = -Infinity;
  for (let t = 0; t < n * d; t++) {
    low = Math.min(low, X[t]!);
    high = Math.max(high, X[t]!);
  }
  return { type: 'uniform', low, high: high > low ? high : low + 1, dim: d };
}

/** The mutable parts of a state, saved by copyState. */
export interface SavedState {
  theta: Float64Array;
  experts: ExpertParameters;
}

/** Copy the mutable parts of a state (for keeping the last good iterate). */
export function copyState(state: PackedState): SavedState {
  return { theta: state.theta.slice(), experts: state.experts.family.copy(state.experts) };
}

export function restoreState(state: PackedState, saved: SavedState): void {
  state.theta.set(saved.theta);
  state.experts.family.assign(state.experts, saved.experts);
}
