/**
 * Per-expert gating fields (GateDefinition.gating): the linear default (beta0, beta1) of the
 * softmax-family gates, the shared field parsers, and the guard of features written in beta1.
 */
import { finite, vector, type JsonObject } from '../checks.js';
import { ModelError, show } from '../errors.js';
import { cholesky } from '../numerics/cholesky.js';
import type { GateDefinition, GatingDescription } from './definition.js';
import type { GatingParameters } from './types.js';

/** A d x d symmetric positive definite matrix at `path`; ModelError naming the entry or the matrix. */
export function spdMatrix(v: unknown, path: string, d: number): number[][] {
  if (!Array.isArray(v) || v.length !== d) {
    throw new ModelError(`${path}: ${show(v)} is not a ${d} x ${d} matrix; must be an array of ${d} rows`);
  }
  const A = v.map((row, i) => vector(row, `${path}[${i}]`, d));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(A[i]![j]! - A[j]![i]!) > 1e-12 * (Math.abs(A[i]![j]!) + Math.abs(A[j]![i]!) + 1e-300)) {
        throw new ModelError(`${path}[${i}][${j}]: ${A[i]![j]} differs from [${j}][${i}] = ${A[j]![i]}; must be symmetric`);
      }
    }
  }
  const f = cholesky(A.flat(), d);
  if (!f.ok) throw new ModelError(`${path}: is not positive definite (pivot ${f.failedPivot} is ${show(f.failedValue)}); must be symmetric positive definite`);
  return A;
}

/** The gating of the linear gates: beta0 and the slope beta1 (length d). */
export const LINEAR_GATING: GatingDescription = {
  fields: [
    { name: 'beta0', shape: 'scalar' },
    { name: 'beta1', shape: 'vector' },
  ],
  linear: true,
  parse: (o: JsonObject, path: string, d: number) => ({ beta0: finite(o.beta0, `${path}.beta0`), beta1: vector(o.beta1, `${path}.beta1`, d) }),
  adopt: (e: GatingParameters, path: string) => {
    if (!Array.isArray(e.beta1)) {
      throw new ModelError(`${path}.beta1: absent; a linear gate needs each expert's slope beta1 (a model of the gaussian gate, with c and Gamma, has no exact linear form)`);
    }
    return { beta0: e.beta0, beta1: e.beta1 };
  },
  // draws: beta0, then each coordinate of beta1 (the order of nearTruth starts before the gating fields were gate-defined)
  perturb: (e, s, normal) => {
    const beta0 = e.beta0 + s * normal();
    return { beta0, beta1: e.beta1!.map((v) => v + s * normal()) }; // adopted: beta1 present
  },
  atom: (e) => ({ intercept: e.beta0, location: e.beta1! }), // parsed or adopted: beta1 present
};

/** The gating description of a gate definition (the linear default where it declares none). */
export function gatingOf(def: Pick<GateDefinition, 'gating'>): GatingDescription {
  return def.gating ?? LINEAR_GATING;
}

/**
 * Refuse a feature written in the linear slope beta1 for a gate whose gating is not (beta0, beta1).
 * @param what the feature, e.g. "voronoiLoss"
 * @param path the JSON path of the gate, e.g. "fit.gate"
 */
export function requireLinearGating(def: Pick<GateDefinition, 'gating' | 'type'>, what: string, path: string): void {
  const g = gatingOf(def);
  if (!g.linear) {
    throw new ModelError(
      `${what}: ${path}.type: the ${def.type} gate's experts have no slope beta1 (gating fields ${g.fields.map((f) => f.name).join(', ')}); this feature is written in beta1 and does not apply to it yet`,
    );
  }
}
