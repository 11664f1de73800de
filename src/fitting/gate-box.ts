/**
 * The gate box as a constraint of the fit (option `gateBound`; docs/fitting.md, "Compact
 * parameter space"): every gate coordinate that is a beta0 or a beta1 entry is kept in
 * [-B, B]. Over-specified likelihoods climb along rays to a hard switch (models/gate-bound.ts);
 * the MLE of the theorems is the maximum over a compact Theta, and with the box it exists and EM
 * can reach it: on the box's face the gate coordinate is held (a Karush-Kuhn-Tucker point when
 * its score points outward), the others go on.
 *
 * Where the box acts: the gate's Newton M-step (projected steps, coordinates on a face pushing
 * outward held: gate-mstep.ts), the L-BFGS gate M-step (its step cut at the box), every vector
 * set from outside (SQUAREM's extrapolations and the polish's BHHH steps: mle.ts
 * setVectorFloored), and the certificate (a coordinate on a face whose score points outward is
 * left out, as a variance on its floor: certificate.ts).
 */
import type { Gate } from '../gates/types.js';

/**
 * The per-coordinate half-widths of the box for `gate`'s parameter vector: `bound` for the
 * coordinates that are some expert's beta0 or a beta1 entry, Infinity for the others (log tau,
 * a gaussian gate's centres and scales). Found through the gate's own unpack (from theta = 0, a
 * unit theta_j that moves exactly one beta0 / beta1 entry, to exactly 1, marks j as boxed), so any
 * gate of the Gate contract gets its box without a gate-specific branch.
 *
 * @param gate the gate (its pack layout is probed)
 * @param bound B > 0 (Infinity: no box)
 * @returns the half-widths (length gate.nParams), or null when bound is Infinity
 * @example gateBoxLimits(createGate({ type: 'softmax' }, 2, 1), 1000) // => Float64Array [1000, 1000, 1000, 1000]
 */
export function gateBoxLimits(gate: Gate, bound: number): Float64Array | null {
  if (bound === Infinity) return null;
  const theta = new Float64Array(gate.nParams);
  const flat = (t: Float64Array): number[] => {
    const { beta0, beta1 } = gate.unpack(t);
    return [...beta0, ...beta1.flat()];
  };
  const base = flat(theta);
  const limits = new Float64Array(gate.nParams).fill(Infinity);
  const probe = theta.slice();
  for (let j = 0; j < gate.nParams; j++) {
    probe.set(theta);
    probe[j] = theta[j]! + 1;
    const moved = flat(probe);
    let changed = 0;
    let unit = true;
    for (let e = 0; e < base.length; e++) {
      if (moved[e] === base[e]) continue;
      changed++;
      if (moved[e]! - base[e]! !== 1) unit = false;
    }
    if (changed === 1 && unit) limits[j] = bound;
  }
  return limits;
}

/**
 * theta_j <- min(B_j, max(-B_j, theta_j)) for every j (in place).
 * @param theta the gate vector
 * @param limits the half-widths of {@link gateBoxLimits}, or null (no box: nothing done)
 * @returns whether any coordinate moved
 * @example projectOntoGateBox(Float64Array.of(1500, -3), Float64Array.of(1000, 1000)) // theta = [1000, -3], true
 */
export function projectOntoGateBox(theta: Float64Array, limits: Float64Array | null | undefined): boolean {
  if (!limits) return false;
  let moved = false;
  for (let j = 0; j < theta.length; j++) {
    const B = limits[j]!;
    const v = theta[j]!;
    if (v > B) {
      theta[j] = B;
      moved = true;
    } else if (v < -B) {
      theta[j] = -B;
      moved = true;
    }
  }
  return moved;
}

/**
 * Whether gate coordinate j sits on a face of the box with its gradient (score) pointing outward:
 * |theta_j| >= B_j and sign(g) = sign(theta_j). Such a coordinate is at a constrained maximum
 * (Karush-Kuhn-Tucker) in that direction: Newton holds it, the certificate leaves it out.
 * @example heldByGateBox(Float64Array.of(1000), Float64Array.of(1000), 0, 2.5) // => true
 */
export function heldByGateBox(theta: Float64Array, limits: Float64Array | null | undefined, j: number, g: number): boolean {
  if (!limits) return false;
  const B = limits[j]!;
  const v = theta[j]!;
  return (v >= B && g > 0) || (v <= -B && g < 0);
}
