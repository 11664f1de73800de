/**
 * Input checks shared by the loss functions (internal; not re-exported).
 *
 * Every public entry of `src/losses` validates once, here: model dimensions (fit against truth,
 * each expert against `input.dim`), finiteness of parameters, and option names and values.
 * Messages follow `src/errors.ts`: `<function>: <field>: <what is wrong> (got <value>); <allowed>`.
 */
import type { GatingDescription } from '../gates/definition.js';
import { gatingOf, LINEAR_GATING } from '../gates/gating.js';
import { GATES, gateDefinition, temperatureGates } from '../gates/index.js';
import type { Expert, Model } from '../models/types.js';
import { gateTau } from '../models/types.js';
import { ConfigError, ModelError, show } from '../errors.js';

function checkExpert(fn: string, where: string, e: Expert, d: number, gating: GatingDescription, masses: boolean): void {
  const num = (field: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelError(`${fn}: ${where}.${field}: not a finite number (got ${show(v)}); must be a finite number`);
    }
  };
  const vec = (field: string, v: unknown): void => {
    if (!Array.isArray(v)) {
      throw new ModelError(`${fn}: ${where}.${field}: not an array (got ${show(v)}); must be an array of ${d} numbers (input.dim)`);
    }
    if (v.length !== d) {
      throw new ModelError(
        `${fn}: ${where}.${field}: wrong length (got ${v.length}); must have input.dim = ${d} entries`,
      );
    }
    v.forEach((x, c) => num(`${field}[${c}]`, x));
  };
  num('beta0', e.beta0);
  if (gating.linear) vec('beta1', e.beta1);
  else {
    const atom = gating.atom(e);
    num('gating atom intercept', atom.intercept);
    atom.location.forEach((x, c) => num(`gating atom location[${c}]`, x));
  }
  vec('a', e.a);
  num('b', e.b);
  num('nu', e.nu);
  if (e.nu <= 0) throw new ModelError(`${fn}: ${where}.nu: not a variance (got ${show(e.nu)}); must be > 0`);
  // the Voronoi losses weigh atoms by exp(beta0); the density distances go through log-weights
  if (masses && !Number.isFinite(Math.exp(e.beta0))) {
    throw new ModelError(`${fn}: ${where}.beta0: exp(beta0) overflows (got ${show(e.beta0)}); must be < 709`);
  }
}

/** An expert as the losses see it: its gating atom in (beta0, beta1), beta1 always present (see {@link lossExperts}). */
export type AtomExpert = Omit<Expert, 'beta1'> & { beta1: number[] };

/** The gating description of a model's gate (the linear default for a gate type not registered: checked elsewhere). */
function modelGating(m: Model): GatingDescription {
  const type: unknown = m.gate?.type;
  if (typeof type !== 'string' || !(type in GATES)) return LINEAR_GATING;
  return gatingOf(gateDefinition(type));
}

/**
 * The experts as the Voronoi losses see them (internal): each expert's gating atom (intercept,
 * location) in the slots (beta0, beta1). For the linear gates that is (beta0, beta1) itself (the
 * experts are returned as they are); for a gate with other gating fields it is the gate's
 * `gating.atom` (the gaussian gate: kappa and (Gamma^-1 c, vech Gamma^-1), length d + d(d+1)/2),
 * so cells, masses, loss terms, the alignment and per-parameter errors treat it as the softmax
 * gate's (beta0, beta1) of its own length. Call after {@link checkModels}.
 */
export function lossExperts(m: Model): readonly AtomExpert[] {
  const gating = modelGating(m);
  if (gating.linear) return m.experts as AtomExpert[]; // checkModels checked every beta1
  return m.experts.map((e) => {
    const atom = gating.atom(e);
    return { ...e, beta0: atom.intercept, beta1: atom.location };
  });
}

function checkModel(fn: string, name: string, m: Model, masses: boolean): number {
  if (m === null || typeof m !== 'object') {
    throw new ModelError(`${fn}: ${name}: not a model (got ${show(m)}); must be an object with gate, experts, input`);
  }
  const d = m.input?.dim;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
    throw new ModelError(`${fn}: ${name}.input.dim: not a positive integer (got ${show(d)}); must be an integer >= 1`);
  }
  if (!Array.isArray(m.experts) || m.experts.length === 0) {
    throw new ModelError(`${fn}: ${name}.experts: no experts (got ${show(m.experts)}); must be a non-empty array`);
  }
  const gating = modelGating(m);
  m.experts.forEach((e, i) => checkExpert(fn, `${name}.experts[${i}]`, e, d, gating, masses));
  return d;
}

/**
 * Validate a (fit, truth) pair; returns the common input dimension d. Every expert's gating
 * fields are checked by its gate's description (beta1 for the linear gates, the gating atom
 * otherwise). The Voronoi losses compare gating atoms, so fit and truth must have the same kind
 * of gating (a ModelError naming `fit.gate.type` otherwise).
 * @param gating 'same' (default): fit and truth must have the same gating fields and finite masses
 *   exp(beta0) (the Voronoi losses); 'any': any two gates, any finite beta0 (density distances, which
 *   go through the gates' log-weights)
 */
export function checkModels(fn: string, fit: Model, truth: Model, gating: 'same' | 'any' = 'same'): number {
  const d = checkModel(fn, 'fit', fit, gating === 'same');
  const dt = checkModel(fn, 'truth', truth, gating === 'same');
  if (d !== dt) {
    throw new ModelError(
      `${fn}: fit.input.dim: differs from truth.input.dim (got ${d} vs ${dt}); fit and truth must have the same input dimension`,
    );
  }
  const fields = (m: Model): string => modelGating(m).fields.map((f) => f.name).join(', ');
  if (gating === 'same' && fields(fit) !== fields(truth)) {
    throw new ModelError(
      `${fn}: fit.gate.type: its experts' gating fields (${fields(fit)}) differ from truth.gate's (${fields(truth)}) (got ${show(fit.gate?.type)} vs ${show(truth.gate?.type)}); the Voronoi losses compare gating atoms of one kind`,
    );
  }
  return d;
}

/** Reject unknown option keys (no partial names, no silent typos). */
export function checkOptionKeys(fn: string, opts: object | undefined, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object') {
    throw new ConfigError(`${fn}: options: not an object (got ${show(opts)}); pass an object or nothing`);
  }
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${fn}: unknown option ${JSON.stringify(key)} (got ${show(key)}); allowed: ${allowed.join(', ')}`);
    }
  }
}

/** Check that an option is one of the listed string values; returns it or the default. */
export function checkChoice<T extends string>(fn: string, name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`${fn}: ${name}: not a known value (got ${show(v)}); allowed: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return v as T;
}

/** Check a boolean option; returns it or the default. */
export function checkBoolean(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`${fn}: ${name}: not a boolean (got ${show(v)}); must be true or false`);
  return v;
}

/** Check an integer option in [min, max]; returns it, or the default when absent (undefined default: required). */
export function checkInteger(fn: string, name: string, v: unknown, min: number, max: number, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${fn}: ${name}: not an integer in [${min}, ${max}] (got ${show(v)}); must be an integer in [${min}, ${max}]`);
  }
  return v;
}

/**
 * |tau_fit - tau_truth| when the caller says tau was fitted, else undefined. Both gates must then
 * have a tau (temperature or activation).
 */
export function tauDifference(fn: string, fit: Model, truth: Model, tauFitted: boolean): number | undefined {
  if (!tauFitted) return undefined;
  const tf = gateTau(fit.gate);
  const tt = gateTau(truth.gate);
  if (tf === undefined) {
    throw new ConfigError(
      `${fn}: tauFitted: fit.gate has no tau (got ${show(fit.gate?.type)}); tauFitted needs a gate with a temperature (${temperatureGates()})`,
    );
  }
  if (tt === undefined) {
    throw new ConfigError(
      `${fn}: tauFitted: truth.gate has no tau (got ${show(truth.gate?.type)}); tauFitted needs a gate with a temperature (${temperatureGates()})`,
    );
  }
  if (!Number.isFinite(tf) || !Number.isFinite(tt)) {
    throw new ModelError(`${fn}: gate.tau: not finite (got ${show(tf)}, ${show(tt)}); must be a finite number > 0`);
  }
  return Math.abs(tf - tt);
}
