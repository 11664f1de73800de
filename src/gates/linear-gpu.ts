/**
 * f32 code (gpu-code.ts) of the gates with linear logits kept on the top K, the GPU side of
 * linear-gate.ts (softmax: K = k; top-K; temperature: K = k, tau known or free):
 *   u_i = (beta0_i + beta1_i.x) / tau,
 *   du_i/dbeta0_i = 1/tau,  du_i/dbeta1_i = x/tau,  du_i/dlog tau = -u_i,
 *   d2u_i/dbeta0_i dlog tau = -1/tau,  d2u_i/dbeta1_i dlog tau = -x/tau,  d2u_i/dlog tau^2 = u_i
 * (the second derivatives only with tau free: otherwise u is linear in theta).
 */
import { logTauIndex, slopeCode, slopeIndex, type GateGpuCode, type GpuShape } from './gpu-code.js';

/**
 * The f32 code of linear logits u_i = (beta0_i + beta1_i.x) / tau on the top K of `rankBy`.
 * @param shape k, d and whether log tau is a parameter
 * @param K experts kept at each x (k: dense)
 * @param rankBy the ranking score when K < k: beta1.x ('slope') or the logit ('logit')
 */
export function linearGpuCode(shape: GpuShape, K: number, rankBy: 'slope' | 'logit'): GateGpuCode {
  const { d } = shape;
  const T = logTauIndex(shape);
  const ps = Array.from({ length: d }, (_, p) => p);
  return {
    K,
    functions: [],
    logit: (i, at) => `let s${i} = ${at.theta(i)} + ${slopeCode(shape, i, at)}; let u${i} = s${i} * ${at.invTau};`,
    // the slope score is recomputed from theta (not recovered from u), as the CPU ranks
    rank: (i, at) => (rankBy === 'logit' ? `u${i}` : slopeCode(shape, i, at)),
    derivatives: (i, at) => `let u${i} = (${at.theta(i)} + ${slopeCode(shape, i, at)}) * ${at.invTau};`,
    jacobian: (i, at) => [
      { index: i, value: at.invTau },
      ...ps.map((p) => ({ index: slopeIndex(shape, i, p), value: `${at.x(p)} * ${at.invTau}` })),
      ...(T >= 0 ? [{ index: T, value: `-u${i}` }] : []),
    ],
    second: (i, at) =>
      T < 0
        ? []
        : [
            { a: i, b: T, value: `-${at.invTau}` },
            ...ps.map((p) => ({ a: slopeIndex(shape, i, p), b: T, value: `-${at.x(p)} * ${at.invTau}` })),
            { a: T, b: T, value: `u${i}` },
          ],
  };
}
