/**
 * What a gate is, once (the gate registry's entry type; see registry.ts). A gate definition holds
 * its spec's parsing and defaults, its traits, a one-line description and the factory of its
 * float64 kernels ({@link Gate}). Everything outside gates/ asks the definition, never the type
 * name: the start code, the packing, the losses and the figures read traits.
 */
import type { JsonObject } from '../checks.js';
import type { GateGpuCode, GpuShape } from './gpu-code.js';
import type { Gate, GatingParameters } from './types.js';

/** How the loss removes a translation of the gating parameters (losses.md, "Translation"). */
export type Translation = 'full' | 'intercept' | 'none';

export interface GateTraits {
  /** the spec carries a temperature tau > 0 (default 1), and `tau: "free"` may fit log tau */
  readonly temperature: boolean;
  /**
   * Identifiability under the 'reference' convention: how the last expert's gating parameters are
   * fixed. 'shift': a common shift of every expert's beta0 (beta1) leaves G unchanged, so the
   * start is shifted to make the last one 0; 'zero': no such invariance, the last beta1 is set to 0
   * by convention (the activation gate); 'none': nothing is pinned (no invariance, e.g. sigmoid).
   */
  readonly reference: { readonly beta0: 'shift' | 'none'; readonly beta1: 'shift' | 'zero' | 'none' };
  // (for a gate without a slope beta1, e.g. gaussian, `beta1` is 'none': its other gating
  // parameters, c and Gamma, have no such invariance and nothing of them is pinned)
  /**
   * (beta0, beta1, tau) -> c (beta0, beta1, tau) leaves G unchanged for c > 0: with tau free only
   * beta / tau is identifiable, and sweeps report the ratio errors (the temperature gate).
   */
  readonly tauRay: boolean;
  /**
   * default loss exponents of multi-atom cells (losses/exponents.ts): the softmax or the
   * temperature family, or 'none' where no over-specified theorem is encoded (the gaussian gate):
   * a multi-atom cell then needs `exponents.multi` from the caller
   */
  readonly multiExponents: 'softmax' | 'temperature' | 'none';
}

/** An expert's gating atom: the intercept (the mass is exp(intercept)) and the location vector. */
export interface GatingAtom {
  intercept: number;
  location: number[];
}

/** One per-expert gating field of a model file (models.md, "Experts"). */
export interface GatingField {
  readonly name: string;
  /** a number, a vector of length d, or a d x d symmetric positive definite matrix */
  readonly shape: 'scalar' | 'vector' | 'spd';
}

/**
 * The per-expert gating parameters of a gate (gates/gating.ts has the linear default and the
 * shared parsers): which fields a model file's expert holds, their parsing, and the maps the
 * starts and the losses need. Code outside gates/ reads an expert's gating fields only through it.
 */
export interface GatingDescription {
  /** the fields, beta0 first (linear gates: beta0, beta1 (d); gaussian: beta0, c (d), Gamma (d x d)) */
  readonly fields: readonly GatingField[];
  /**
   * true when the fields are (beta0, beta1) with beta1 the slope of linear logits: the features
   * written in beta1 (Voronoi losses, parameter errors, the (beta1, a) figures, sweep ratios)
   * apply. Where false they refuse the model with a typed error naming the gate.
   */
  readonly linear: boolean;
  /** further keys an expert may hold instead of the fields (an accepted alternative form) */
  readonly alternativeKeys?: readonly string[];
  /** Parse the gating fields of the expert object `o` at `path` in dimension d; ModelError naming `path.<field>`. */
  parse(o: JsonObject, path: string, d: number): GatingParameters;
  /**
   * An in-memory expert's gating parameters in this gate's form (a start model for a fit under
   * this gate): the same fields, or an exact conversion; ModelError naming `path.<field>` where
   * none exists.
   */
  adopt(e: GatingParameters, path: string, d: number): GatingParameters;
  /**
   * The near-truth perturbation of one expert's gating parameters with noise s (draws from
   * `normal` in a fixed order, beta0 first).
   */
  perturb(e: GatingParameters, s: number, normal: () => number): GatingParameters;
  /**
   * An expert's gating atom for the Voronoi losses (losses.md, "Gating atoms"): coordinates in
   * which the gate's logit is intercept + location . phi(x) for fixed features phi, so that the
   * invariances of G (a common function added to every logit) are common translations of
   * (intercept, location). Linear gates: (beta0, beta1). Gaussian gate: the natural coordinates
   * of its concave quadratic logit (kappa, (Gamma^-1 c, vech Gamma^-1)).
   */
  atom(e: GatingParameters): GatingAtom;
  /**
   * Optional: data-driven gating parameters from cluster memberships R (n x k, rows summing to 1)
   * of the inputs X (n x d); without it the random start fits a softmax gate to R (starts.ts).
   */
  fromMemberships?(X: Float64Array, n: number, d: number, R: Float64Array, k: number): GatingParameters[];
}

export interface GateDefinition<S extends { type: string } = { type: string }> {
  readonly type: S['type'];
  /** one line with the formula, for help texts and docs */
  readonly summary: string;
  /** the keys a spec of this gate may have (type included) */
  readonly keys: readonly string[];
  readonly traits: GateTraits;
  /** Optional: the per-expert gating fields; absent means (beta0, beta1) of a linear gate (gating.ts LINEAR_GATING). */
  readonly gating?: GatingDescription;
  /**
   * Validate a spec object whose `type` is this gate's and whose keys are among `keys`, and fill
   * its defaults; ModelError naming `path.<field>` otherwise.
   */
  parse(o: JsonObject, k: number, path: string): S;
  /** The float64 gate over k experts in dimension d (log tau a parameter when tauFree). */
  create(spec: S, k: number, d: number, tauFree: boolean): Gate;
  /** The temperature of a spec (gates with the temperature trait). */
  tau?(spec: S): number;
  /** Short text for figure titles, e.g. "top-2, ranked by slope". */
  describe(spec: S): string;
  /** How the aligned loss treats the translation of the gating parameters for this spec. */
  translation(spec: S): Translation;
  /**
   * The factor c by which the data-driven start multiplies the (beta0, beta1) of a softmax gate
   * fitted to the k-means memberships, so that this gate's weights start close to them
   * (temperature: c = tau; 1 where no such exact map exists).
   */
  startScale(spec: S): number;
  /**
   * Representative specs for k experts (every variant with its own code path: each K mode, each
   * activation, tau known and free), with a temperature mode. The conformance suite
   * (test/conformance/) runs each on every backend; docs and help texts show the first.
   */
  examples(k: number): readonly GateExample<S>[];
  /**
   * Optional: the gate's f32 code for the generated GPU kernels (gpu/source.ts; the contract is
   * gpu-code.ts): its logits and their derivatives in theta for this spec's structure (K, ranking,
   * activation; tau reaches the kernels per fit). The GPU backend refuses a gate without it.
   */
  gpu?(spec: S, shape: GpuShape): GateGpuCode;
  /**
   * Optional: the mixing measure of the dendrogram of mixing measures (selection/, docs/selection.md).
   * Present only where the weights are a softmax over every expert of linear logits
   * u_i = (beta0_i + beta1_i.x) / tau, so that two atoms with the same slope merge exactly: atom i
   * has mass exp(beta0_i / tau), and a merged atom with beta0 = tau log(exp(beta0_i / tau) +
   * exp(beta0_j / tau)) leaves G unchanged. Returns that tau (softmax: 1; temperature: the spec's,
   * fitted or known). Absent (top-K: merging changes the selection; activation, sigmoid, gaussian:
   * no exact merge) means the dendrogram does not apply to the gate.
   */
  mixingTemperature?(spec: S): number;
  /**
   * Optional: exact invariances of G in the packed theta that depend on the spec, beyond those of
   * the traits (reference shifts, tauRay): directions counted out of the free parameters
   * (gates/parameters.ts). E.g. an activation gate with a homogeneous sigma (identity, relu) and
   * tau free: (beta1, tau) -> c (beta1, tau) leaves sigma(beta1.x) / tau unchanged; the gaussian
   * gate: adding one quadratic in x to every logit (a common change of the c_i and Gamma_i).
   * Called for k >= 2, in dimension d.
   */
  invariances?(spec: S, d: number, tauFree: boolean): readonly { count: number; why: string }[];
}

/** One spec of a gate with how its temperature is fitted. */
export interface GateExample<S> {
  spec: S;
  tau: 'known' | 'free';
}
