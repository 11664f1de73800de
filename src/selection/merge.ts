/**
 * Atoms of the mixing measure of a softmax-family MoE and their merge (docs/selection.md,
 * "Merging two atoms", after arXiv 2510.12744 and Do et al., arXiv 2403.01684).
 *
 * With logits u_i = (beta0_i + beta1_i.x) / tau, atom i has the unnormalised mass
 * m_i = exp(beta0_i / tau) and the parameters theta_i = (beta1_i, a_i, b_i, nu_i). Merging atoms
 * i and j gives
 *
 *   m = m_i + m_j                          (beta0 = tau log(exp(beta0_i / tau) + exp(beta0_j / tau)))
 *   theta = (m_i theta_i + m_j theta_j) / m   (each of beta1, a, b, nu: variances average as variances)
 *
 * and their merge distance (the height of the merge in the dendrogram) is
 *
 *   d(i, j) = (p_i p_j / (p_i + p_j)) ( ||(dbeta1 / tau, db)||^r1 + ||(da, dnu)||^r2 ),
 *
 * p_i = m_i / sum_l m_l the normalised masses, dnu = nu_i - nu_j a difference of VARIANCES,
 * (r1, r2) = (2, 1) by default. Two atoms with the same theta merge at height 0 and leave the
 * density unchanged.
 */

/** One atom: its log mass and parameters (beta1 in the gate's units, divided by tau in the distance). */
export interface Atom {
  /** beta0_i / tau = log m_i (unnormalised) */
  logMass: number;
  beta1: number[];
  a: number[];
  b: number;
  /** variance */
  nu: number;
  /** the fitted atoms (0-based) merged into this one */
  leaves: number[];
}

/** The merge distance's choices where the paper leaves a point open (docs/selection.md). */
export interface MergeDistanceOptions {
  /** exponents (r1, r2) of ||(dbeta1/tau, db)|| and ||(da, dnu)||; default [2, 1] (the published code's) */
  exponents?: [number, number];
  /** include dbeta1 in the first block (default true; the published code computes it but leaves it out) */
  slope?: boolean;
}

const logAddExp = (u: number, v: number) => {
  const m = Math.max(u, v);
  return m === -Infinity ? -Infinity : m + Math.log(Math.exp(u - m) + Math.exp(v - m));
};

/**
 * The merge distance d(i, j) of two atoms (see the module comment).
 * @param logTotal log sum_l m_l over the atoms of the level (so p_i = exp(logMass_i - logTotal))
 * @param tau the gate's temperature (1 for softmax): slopes are compared as beta1 / tau
 * @example mergeDistance(atom, { ...atom }, 0, 1) // => 0
 */
export function mergeDistance(x: Atom, y: Atom, logTotal: number, tau: number, options: MergeDistanceOptions = {}): number {
  const [r1, r2] = options.exponents ?? [2, 1];
  const slope = options.slope ?? true;
  let s1 = (x.b - y.b) ** 2;
  if (slope) for (let p = 0; p < x.beta1.length; p++) s1 += ((x.beta1[p]! - y.beta1[p]!) / tau) ** 2;
  let s2 = (x.nu - y.nu) ** 2;
  for (let p = 0; p < x.a.length; p++) s2 += (x.a[p]! - y.a[p]!) ** 2;
  // p_i p_j / (p_i + p_j) in logs: log p_i + log p_j - log(p_i + p_j)
  const li = x.logMass - logTotal;
  const lj = y.logMass - logTotal;
  const lw = li + lj - logAddExp(li, lj);
  const weight = Number.isFinite(lw) ? Math.exp(lw) : 0;
  return weight * (Math.pow(s1, r1 / 2) + Math.pow(s2, r2 / 2));
}

/**
 * Merge two atoms: masses add, parameters are mass-weighted means (see the module comment).
 * @example mergeAtoms(x, x).logMass // => x.logMass + log 2
 */
export function mergeAtoms(x: Atom, y: Atom): Atom {
  const logMass = logAddExp(x.logMass, y.logMass);
  // weights in logs, so that masses exp(beta0 / tau) beyond float64 range still merge
  const wx = logMass === -Infinity ? 0.5 : Math.exp(x.logMass - logMass);
  const wy = logMass === -Infinity ? 0.5 : Math.exp(y.logMass - logMass);
  const mix = (u: number, v: number) => wx * u + wy * v;
  return {
    logMass,
    beta1: x.beta1.map((v, p) => mix(v, y.beta1[p]!)),
    a: x.a.map((v, p) => mix(v, y.a[p]!)),
    b: mix(x.b, y.b),
    nu: mix(x.nu, y.nu),
    leaves: [...x.leaves, ...y.leaves].sort((u, v) => u - v),
  };
}
