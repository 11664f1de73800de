/**
 * The gate box of the compact parameter space (docs/fitting.md, "Compact parameter space").
 *
 * The theorems assume Theta compact. Over-specified softmax likelihoods are not maximised inside
 * any box: a fitted expert can take a segment of the input space with a gate that sharpens without
 * end (beta0 and beta1 running along a ray to a hard switch, the likelihood still climbing by the
 * segment's own regression). EM then "converges" by its score rule (the saturated gate's gradient
 * vanishes) at gate parameters of 1e4-1e9, where the Voronoi losses' masses exp(beta0) overflow or
 * vanish and mean nothing. Such a fit is not a point of a compact Theta: the sweeps record it, the
 * analysis counts it as not converged.
 */
import type { Model } from './types.js';

/**
 * The default gate box: |beta0_i| <= 1000 and |beta1_ic| <= 1000 for every expert. A logit
 * difference of 1000 gives a weight exp(-1000) = 0 in float64, so beyond it the gate is a hard
 * switch numerically; the [DEMYS] truth's gate parameters are <= 25, and converged fits inside
 * the box reach at most a few hundred (measured: 113-887 at n = 1000-3728 under k = 3, 4).
 */
export const GATE_BOUND = 1000;

/** Where a model's gate leaves the box: the first expert and field beyond the bound. */
export interface GateBoundExcess {
  /** 0-based expert index */
  expert: number;
  /** 'beta0' or 'beta1[c]' (0-based c) */
  field: string;
  value: number;
}

/**
 * The first gate parameter of `model` outside the box |beta0_i| <= bound, |beta1_ic| <= bound
 * (gates without beta1, e.g. the gaussian gate, are checked on beta0 only), or undefined.
 *
 * @param model a model (a fitted one, typically); a missing or malformed expert list gives undefined
 * @param bound the box half-width, > 0 (default {@link GATE_BOUND})
 * @example
 *   gateBoundExcess({ gate: { type: 'softmax' }, experts: [{ beta0: 7e5, beta1: [-1e7], a: [1], b: 0, nu: 1 }], input })
 *   // => { expert: 0, field: 'beta0', value: 700000 }
 */
export function gateBoundExcess(model: Model | undefined, bound: number = GATE_BOUND): GateBoundExcess | undefined {
  const experts = model?.experts;
  if (!Array.isArray(experts)) return undefined;
  for (let i = 0; i < experts.length; i++) {
    const e = experts[i]!;
    if (Math.abs(e.beta0) > bound) return { expert: i, field: 'beta0', value: e.beta0 };
    const beta1: unknown = (e as { beta1?: unknown }).beta1;
    if (Array.isArray(beta1)) {
      for (let c = 0; c < beta1.length; c++) {
        const v = beta1[c] as number;
        if (Math.abs(v) > bound) return { expert: i, field: `beta1[${c}]`, value: v };
      }
    }
  }
  return undefined;
}

/**
 * The first gate parameter of `model` on the face of the box |beta| <= bound (|beta| = bound: the
 * fit option gateBound's projection writes the bound itself), or undefined. A fit whose gate is
 * beyond the bound is not on the face: {@link gateBoundExcess} reports it.
 *
 * @param model a model (a fitted one, typically)
 * @param bound the box half-width, > 0
 * @example gateBoxFace({ gate: { type: 'softmax' }, experts: [{ beta0: 2, beta1: [-100], a: [1], b: 0, nu: 1 }], input }, 100)
 *   // => { expert: 0, field: 'beta1[0]', value: -100 }
 */
export function gateBoxFace(model: Model | undefined, bound: number): GateBoundExcess | undefined {
  if (gateBoundExcess(model, bound) !== undefined) return undefined;
  return gateBoundExcess(model, bound * (1 - 1e-12));
}
