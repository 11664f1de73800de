/**
 * The number of free parameters of a Gaussian MoE with k experts (docs/selection.md, "Parameter
 * counts"): the gate's, read from its packing and traits (gates/parameters.ts), plus the experts'
 * k (d + 1) regression coefficients and k variances.
 */
import { gateParameterCount } from '../gates/parameters.js';
import type { GateSpec } from '../gates/registry.js';

export interface ParameterCount {
  /** free gating parameters */
  gate: number;
  /** expert parameters: k (d + 1) + k */
  experts: number;
  /** gate + experts: the p of AIC, BIC and ICL */
  total: number;
  /** the packed gating directions not counted, with why */
  removed: string[];
}

/**
 * p = p_gate + k (d + 1) + k.
 * @param spec a parsed gate spec; fixed settings (top-K's K, a known tau) are not counted
 * @param k experts, >= 1
 * @param d input dimension, >= 1
 * @param options.tau 'known' (default) or 'free': a free tau counts 1, except on the temperature
 *   gate's ray, where it counts 0 (only beta / tau is identifiable)
 * @param options.identifiability 'reference' (default) or 'free'
 * @example parameterCount({ type: 'softmax' }, 3, 1).total // => 13  (gate 2 (1 + d) = 4, experts 3 (d + 1) + 3 = 9)
 */
export function parameterCount(
  spec: GateSpec,
  k: number,
  d: number,
  options: { tau?: 'known' | 'free'; identifiability?: 'reference' | 'free' } = {},
): ParameterCount {
  const g = gateParameterCount(spec, k, d, options);
  const experts = k * (d + 1) + k;
  return { gate: g.free, experts, total: g.free + experts, removed: g.removed };
}
