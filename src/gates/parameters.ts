/**
 * The number of free (identifiable) gating parameters of a gate over k experts in dimension d,
 * for the information criteria of selection/ (docs/selection.md, "Parameter counts"). It is read
 * from the gate's packing and traits, never from its type name:
 *
 *   p_gate = nParams                      (the packed theta: beta0, the gate's per-expert fields, log tau if free)
 *          - [reference.beta0 = 'shift']  (a common shift of every beta0 leaves G unchanged: 1)
 *          - d [reference.beta1 = 'shift'] (a common shift of every beta1: d)
 *          - d [reference.beta1 = 'zero' and identifiability 'reference'] (beta1_k = 0 pinned by convention)
 *          - [tauRay and tau free]        ((beta0, beta1, tau) -> c (beta0, beta1, tau) leaves G unchanged: 1)
 *          - the gate's own invariances (GateDefinition.invariances: an activation gate with a
 *            homogeneous sigma, identity or relu, and tau free: 1; the gaussian gate: a common
 *            quadratic in x added to every logit, d + d (d + 1) / 2)
 *
 * and p_gate = 0 for k = 1 (a normalised gate over one expert is the constant 1). Fixed settings
 * of a spec (top-K's K, its ranking rule, a known tau, an activation) are not parameters: they are
 * not estimated, so they are not counted. A free tau counts 1 where it is identifiable (the
 * activation gate with tanh, sigmoid or gelu) and 0 where only beta / tau is (the temperature gate,
 * the activation gate with identity or relu).
 */
import { ConfigError } from '../errors.js';
import { definitionOf, type GateSpec } from './registry.js';

/** What the count of a gate's free parameters is made of (each term >= 0). */
export interface GateParameterCount {
  /** free gating parameters after the invariances are removed */
  free: number;
  /** the length of the packed theta */
  packed: number;
  /** the removed directions, with why, e.g. "1: a common shift of beta0" */
  removed: string[];
}

/**
 * The free gating parameters of `spec` over k experts in dimension d (see the module comment).
 * @param spec a parsed gate spec (parseGate)
 * @param k experts, >= 1
 * @param d input dimension, >= 1
 * @param options.tau 'known' (default) or 'free' (gates with a temperature)
 * @param options.identifiability 'reference' (default) or 'free'; changes the count only where
 *   the reference convention pins a coordinate that no invariance removes (activation: beta1_k = 0)
 * @example gateParameterCount({ type: 'softmax' }, 3, 1).free // => 4  (2 (1 + d))
 * @example gateParameterCount({ type: 'temperature', tau: 0.5 }, 2, 1, { tau: 'free' }).free // => 2 (log tau on the ray: 0)
 */
export function gateParameterCount(
  spec: GateSpec,
  k: number,
  d: number,
  options: { tau?: 'known' | 'free'; identifiability?: 'reference' | 'free' } = {},
): GateParameterCount {
  const tauFree = options.tau === 'free';
  const def = definitionOf(spec);
  if (tauFree && !def.traits.temperature) throw new ConfigError(`tau: "free" needs a gate with a temperature; the gate is ${spec.type}`);
  const packed = def.create(spec, k, d, tauFree).nParams;
  if (k === 1) return { free: 0, packed, removed: [`${packed}: one expert, G = 1`] };
  const { reference, tauRay } = def.traits;
  const removed: string[] = [];
  let free = packed;
  if (reference.beta0 === 'shift') {
    free -= 1;
    removed.push('1: a common shift of every beta0');
  }
  if (reference.beta1 === 'shift') {
    free -= d;
    removed.push(`${d}: a common shift of every beta1`);
  } else if (reference.beta1 === 'zero' && (options.identifiability ?? 'reference') === 'reference') {
    free -= d;
    removed.push(`${d}: beta1 of the last expert pinned at 0 (reference convention)`);
  }
  if (tauRay && tauFree) {
    free -= 1;
    removed.push('1: log tau, on the ray c (beta0, beta1, tau) that leaves G unchanged');
  }
  for (const inv of def.invariances?.(spec, d, tauFree) ?? []) {
    free -= inv.count;
    removed.push(`${inv.count}: ${inv.why}`);
  }
  return { free, packed, removed };
}
