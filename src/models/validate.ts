/**
 * Parse and validate a model (the JSON model file of spec models.md). Every error names the JSON
 * path, the bad value and what is allowed, e.g.
 *   experts[1].nu: -0.2 is not a variance; must be > 0
 *   gate.K: 4 exceeds the number of experts (2); must be an integer in 1..2
 */
import { finite, isObject, noUnknownKeys, object, vector } from '../checks.js';
import { ModelError, show } from '../errors.js';
import type { GatingDescription } from '../gates/definition.js';
import { gatingOf, LINEAR_GATING } from '../gates/gating.js';
import { GATES, gateDefinition } from '../gates/registry.js';
import { cholesky } from '../numerics/cholesky.js';
import {
  type Expert,
  type GateSpec,
  type InputSpec,
  type Model,
} from './types.js';

/**
 * One expert: the gate's gating fields (GateDefinition.gating: beta0, beta1 for the linear gates;
 * beta0, c, Gamma for the gaussian gate), then a, b, nu.
 */
function parseExpert(v: unknown, path: string, d: number, gating: GatingDescription): Expert {
  const o = object(v, path);
  const names = [...gating.fields.map((f) => f.name), 'a', 'b', 'nu'];
  noUnknownKeys(o, path, [...names, ...(gating.alternativeKeys ?? [])]);
  const alternative = (gating.alternativeKeys ?? []).some((key) => key in o);
  for (const key of names) {
    if (alternative && gating.fields.some((f) => f.name === key && f.name !== 'beta0')) continue;
    if (!(key in o)) throw new ModelError(`${path}.${key}: missing; every expert needs ${names.join(', ')}`);
  }
  const g = gating.parse(o, path, d);
  const a = vector(o.a, `${path}.a`, d);
  const b = finite(o.b, `${path}.b`);
  const nu = finite(o.nu, `${path}.nu`);
  if (!(nu > 0)) throw new ModelError(`${path}.nu: ${show(nu)} is not a variance; must be > 0`);
  return { ...g, a, b, nu };
}

/**
 * Validate a gate spec for k experts, by its registry definition (gates/registry.ts), which fills
 * the defaults (e.g. topk rankBy 'slope', tau 1).
 */
export function parseGate(v: unknown, k: number, path = 'gate'): GateSpec {
  checkDepth(v, path);
  const o = object(v, path);
  const def = gateDefinition(o.type, `${path}.type`);
  noUnknownKeys(o, path, def.keys);
  return def.parse(o, k, path);
}

/** Validate an input design of dimension d; missing -> uniform on [0, 1]^d. */
export function parseInput(v: unknown, d: number, path = 'input'): InputSpec {
  if (v === undefined) return { type: 'uniform', low: 0, high: 1, dim: d };
  checkDepth(v, path);
  const o = object(v, path);
  const dim = o.dim === undefined ? d : o.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) {
    throw new ModelError(`${path}.dim: ${show(dim)} is not a dimension; must be a positive integer`);
  }
  if (dim !== d) {
    throw new ModelError(
      `${path}.dim: ${dim} does not match the experts' dimension (beta1 and a have length ${d}); they must agree`,
    );
  }
  switch (o.type) {
    case 'uniform':
    case 'grid': {
      noUnknownKeys(o, path, ['type', 'low', 'high', 'dim']);
      const low = o.low === undefined ? 0 : finite(o.low, `${path}.low`);
      const high = o.high === undefined ? 1 : finite(o.high, `${path}.high`);
      if (!(high > low)) throw new ModelError(`${path}.high: ${show(high)} is not above low (${low}); must be > low`);
      if (!Number.isFinite(high - low)) {
        // x = low + (high - low) u would be Infinity: sample would write rows that density rejects
        throw new ModelError(`${path}: [${low}, ${high}] is too wide (high - low overflows float64); must have high - low <= ${Number.MAX_VALUE}`);
      }
      if (o.type === 'grid') {
        if (dim !== 1) throw new ModelError(`${path}.dim: ${dim} is not allowed for a grid design; grid needs dim 1`);
        return { type: 'grid', low, high, dim: 1 };
      }
      return { type: 'uniform', low, high, dim };
    }
    case 'normal': {
      noUnknownKeys(o, path, ['type', 'mean', 'cov', 'dim']);
      const mean = vector(o.mean, `${path}.mean`, dim);
      if (!Array.isArray(o.cov) || o.cov.length !== dim) {
        throw new ModelError(`${path}.cov: ${show(o.cov)} is not a ${dim} x ${dim} matrix; must be an array of ${dim} rows`);
      }
      const cov = o.cov.map((row, i) => vector(row, `${path}.cov[${i}]`, dim));
      for (let i = 0; i < dim; i++) {
        for (let j = 0; j < i; j++) {
          if (Math.abs(cov[i]![j]! - cov[j]![i]!) > 1e-12 * (Math.abs(cov[i]![j]!) + Math.abs(cov[j]![i]!) + 1e-300)) {
            throw new ModelError(`${path}.cov[${i}][${j}]: ${cov[i]![j]} differs from cov[${j}][${i}] = ${cov[j]![i]}; must be symmetric`);
          }
        }
      }
      choleskyLower(cov, `${path}.cov`);
      return { type: 'normal', mean, cov, dim };
    }
    default:
      throw new ModelError(`${path}.type: ${show(o.type)} is not an input design; must be one of uniform, grid, normal`);
  }
}

/** Lower Cholesky factor of a symmetric positive definite matrix (numerics/cholesky.ts); ModelError naming `path` if not PD. */
export function choleskyLower(A: number[][], path: string): number[][] {
  const m = A.length;
  const f = cholesky(A.flat(), m);
  if (!f.ok) throw new ModelError(`${path}: is not positive definite (pivot ${f.failedPivot} is ${show(f.failedValue)}); must be a covariance matrix`);
  return A.map((_, i) => Array.from(f.L.subarray(i * m, i * m + m)));
}

/** The deepest nesting a model (or any gatelab JSON file) may have; real ones have at most 5. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a JSON value nests arrays/objects deeper than `max` levels (measured without
 * recursion, so that a value nested 100 000 levels deep is refused rather than overflowing the
 * stack in a validator or in an error message).
 */
export function nestedDeeperThan(v: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function checkDepth(v: unknown, path: string): void {
  if (nestedDeeperThan(v)) {
    throw new ModelError(`${path}: is nested more than ${MAX_JSON_DEPTH} levels deep; a model is a few levels deep (gate, experts[i].beta1, input)`);
  }
}

/**
 * Validate a whole model. Fields allowed beside gate/experts/input: `fit` (written by the fitter),
 * `name`, `description` (free text).
 */
export function parseModel(v: unknown, path = ''): Model {
  const where = (key: string) => (path ? `${path}.${key}` : key);
  checkDepth(v, path || 'model');
  const o = object(v, path || 'model');
  noUnknownKeys(o, path, ['gate', 'experts', 'input', 'fit', 'name', 'description']);
  if (!('gate' in o)) throw new ModelError(`${where('gate')}: missing; a model needs gate, experts (and optionally input)`);
  if (!Array.isArray(o.experts) || o.experts.length === 0) {
    throw new ModelError(`${where('experts')}: ${show(o.experts)} is not a non-empty array; must list at least one expert`);
  }
  const first = object(o.experts[0], `${where('experts')}[0]`);
  // the gate's gating fields, looked up before the experts are parsed; a gate that is not
  // registered is reported by parseGate below, after the experts (as before gating was gate-defined)
  const gateType = isObject(o.gate) ? o.gate.type : undefined;
  const gating =
    typeof gateType === 'string' && Object.prototype.hasOwnProperty.call(GATES, gateType) ? gatingOf(gateDefinition(gateType)) : LINEAR_GATING;
  // d from the first vector field the first expert holds (beta1; gaussian: c), else 1
  const vectorField = [...gating.fields.filter((f) => f.shape === 'vector').map((f) => f.name), ...(gating.alternativeKeys ?? [])].find((key) =>
    Array.isArray(first[key]),
  );
  const d =
    isObject(o.input) && typeof o.input.dim === 'number'
      ? o.input.dim
      : vectorField !== undefined
        ? (first[vectorField] as unknown[]).length
        : 1;
  if (!Number.isInteger(d) || d < 1) {
    throw new ModelError(`${where('input.dim')}: ${show(d)} is not a dimension; must be a positive integer`);
  }
  const experts = o.experts.map((e, i) => parseExpert(e, `${where('experts')}[${i}]`, d, gating));
  const gate = parseGate(o.gate, experts.length, where('gate'));
  const input = parseInput(o.input, d, where('input'));
  return { gate, experts, input };
}
