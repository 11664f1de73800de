/**
 * The stopping certificate of a fit (spec: fitting.md, "Stopping", revised): the score statistic
 *
 *   T = 1/2 g' J^-1 g,   g = sum_n s_n,   J = sum_n s_n s_n',
 *
 * where s_n is the score of observation n, d/dv log p(y_n | x_n; v), over the free parameters
 * v = (free gate coordinates, the experts' coordinates: a, b, log nu), in the MLE packing order
 * (fitting/mle.ts). By Fisher's identity s_n is the score of the complete data averaged over the
 * responsibilities R of the same E-step:
 *
 *   gate:      s_n = d/dtheta sum_i R_ni log G_i(x_n; theta)   (Gate.pointScores, or objective per point)
 *   experts:   s_n = sum_i R_ni d log f_i(y_n | x_n) / dphi_i  (ExpertFamily.pointScore); Gaussian linear:
 *   (a_i,b_i): s_n = R_ni z_n r_ni / nu_i,        z = (x, 1), r_ni = y_n - a_i.x_n - b_i
 *   log nu_i:  s_n = R_ni (r_ni^2 / (2 nu_i) - 1/2)
 *
 * T is a Newton step's predicted gain with the outer-product (OPG) estimate J of the information:
 * an estimate, in nats, of how far the log-likelihood still is below the maximum being climbed,
 * whatever n is. It is invariant under any smooth reparameterisation (s and J transform with the
 * Jacobian), so log nu versus nu does not matter.
 *
 * Constraints: a variance on its floor nu_min whose score points below the floor is at a
 * constrained maximum in that coordinate (Karush-Kuhn-Tucker), so that coordinate is left out.
 * Under a selective gate (top-K) a gate coordinate whose score points across a selection boundary
 * is left out the same way: EM keeps every point's selection, so that is a constrained maximum.
 * A gate coordinate on a face of the gate box (option gateBound, fitting/gate-box.ts) whose score
 * points outward is at a constrained maximum too, and is left out.
 * Coordinates whose scores are all zero (an expert without mass) carry no information and no
 * gradient; they are left out too.
 */
import type { Backend } from '../backend/types.js';
import type { Dataset } from '../data/dataset.js';
import { inverseQuadraticSolve, type InverseQuadraticOptions } from '../numerics/cholesky.js';
import { heldByGateBox } from './gate-box.js';
import type { PackedState } from './state.js';

/** Unit diagonal, then an absolute pivot floor 1e-13 with ridge retries from 1e-12 (20 tries). */
const CERTIFICATE_SOLVE: InverseQuadraticOptions = { jacobi: true, pivotRule: 'absolute', pivotTol: 1e-13, firstRidge: 1e-12, maxAttempts: 20 };

/** The certificate and its parts. */
export interface Certificate {
  /** T = 1/2 g' J^-1 g in nats (>= 0); Infinity if a score is not finite */
  T: number;
  /** number of coordinates used (free parameters minus those left out) */
  used: number;
  /** the total score g (a view of the workspace: copy it to keep it) */
  score: Float64Array;
}

/** Scratch arrays reused across calls for one state shape (no per-point allocation). */
export class CertificateWorkspace {
  readonly P: number;
  readonly s: Float64Array;
  readonly g: Float64Array;
  readonly J: Float64Array;
  readonly gateGrad: Float64Array;
  readonly xRow: Float64Array;
  readonly rRow: Float64Array;
  /** per-point gate scores (n x nParams), allocated at the first use */
  gateScores = new Float64Array(0);
  /** a trial gate vector (selection-boundary checks) */
  trial = new Float64Array(0);

  constructor(state: PackedState) {
    const { k, d, family } = state.experts;
    this.P = state.free.length + family.vectorSize(k, d);
    this.s = new Float64Array(this.P);
    this.g = new Float64Array(this.P);
    this.J = new Float64Array(this.P * this.P);
    this.gateGrad = new Float64Array(state.gate.nParams);
    this.xRow = new Float64Array(d);
    this.rRow = new Float64Array(k);
  }
}

/**
 * The score statistic T at the state's parameters, from the responsibilities R (n x k) of an
 * E-step at those parameters, and the gate weights G (n x k) there.
 * @param nuMin the variance floor of the fit (a variance within 1e-9 relative of it is "on the floor")
 * @param direction optional output (length = the MLE vector's): the Newton step with the OPG
 *   information, J^-1 g on the coordinates used and 0 on those left out (the BHHH direction of
 *   polish.ts; T = g' direction / 2)
 * @example
 *   // after an E-step at `state` that filled R:
 *   const { T } = scoreStatistic(data, state, R, G, 1e-3);  // T <= 1e-3: within about 1e-3 nats of a maximum
 */
export function scoreStatistic(
  data: Dataset,
  state: PackedState,
  R: Float64Array,
  G: Float64Array,
  nuMin: number,
  ws: CertificateWorkspace = new CertificateWorkspace(state),
  backend?: Backend,
  direction?: Float64Array,
): Certificate {
  const { n, d, X, Y } = data;
  const { gate, theta, free, experts } = state;
  const { k, family } = experts;
  const { P, s, g, J, gateGrad, xRow, rRow } = ws;
  const F = free.length;
  // the MLE packing (fitting/mle.ts): free gate coordinates, then the experts' coordinates
  const Pg = gate.nParams;
  g.fill(0);
  J.fill(0);
  // the backend's kernel for the sums where it has one (the CPU's WASM kernels), else the loop below
  if (!backend?.scoreSums?.(gate, theta, free, experts, data, R, G, g, J)) sumScores();
  function sumScores(): void {
    if (gate.pointScores) {
      if (ws.gateScores.length < n * Pg) ws.gateScores = new Float64Array(n * Pg);
      gate.pointScores(theta, X, n, R, G, ws.gateScores);
    }
    const S = ws.gateScores;
    for (let r = 0; r < n; r++) {
      for (let p = 0; p < d; p++) xRow[p] = X[r * d + p]!;
      for (let i = 0; i < k; i++) rRow[i] = R[r * k + i]!;
      if (gate.pointScores) {
        for (let t = 0; t < F; t++) s[t] = S[r * Pg + free[t]!]!;
      } else {
        gate.objective(theta, xRow, 1, rRow, gateGrad, null);
        for (let t = 0; t < F; t++) s[t] = gateGrad[free[t]!]!;
      }
      family.pointScore(experts, xRow, 0, Y[r]!, rRow, s, F);
      for (let u = 0; u < P; u++) {
        const su = s[u]!;
        g[u] = g[u]! + su;
        if (su === 0) continue;
        const row = u * P;
        for (let v = u; v < P; v++) J[row + v] = J[row + v]! + su * s[v]!;
      }
    }
  }
  // which coordinates enter: informative ones, and not a floored variance pushing downward
  const use: number[] = [];
  for (let u = 0; u < P; u++) {
    if (!Number.isFinite(g[u]!) || !Number.isFinite(J[u * P + u]!)) return { T: Infinity, used: P, score: g };
    if (!(J[u * P + u]! > 0)) continue;
    if (u >= F && family.heldByFloor(experts, u - F, g[u]!, nuMin)) continue;
    if (u < F && heldByGateBox(theta, state.box, free[u]!, g[u]!)) continue;
    if (u < F && gate.selective && blockedBySelection(gate, theta, X, n, R, free[u]!, g[u]!, ws)) continue;
    use.push(u);
  }
  const solved = quadraticInverse(J, g, P, use, direction !== undefined);
  if (direction) {
    direction.fill(0);
    use.forEach((u, a) => (direction[u] = solved.x[a]!));
  }
  return { T: 0.5 * solved.form, used: use.length, score: g };
}

/**
 * Whether gate coordinate j of a selective gate sits on a selection boundary in the direction its
 * score points: a step of 1e-6 (|theta_j| + 1) that way makes Q = -Infinity (it would deselect an
 * expert where it has responsibility), so EM cannot follow that score and the coordinate is at a
 * constrained maximum (Karush-Kuhn-Tucker), like a variance on its floor.
 */
function blockedBySelection(gate: PackedState['gate'], theta: Float64Array, X: Float64Array, n: number, R: Float64Array, j: number, score: number, ws: CertificateWorkspace): boolean {
  if (score === 0) return false;
  if (ws.trial.length !== theta.length) ws.trial = new Float64Array(theta.length);
  ws.trial.set(theta);
  ws.trial[j] = theta[j]! + Math.sign(score) * 1e-6 * (Math.abs(theta[j]!) + 1);
  return !Number.isFinite(gate.objective(ws.trial, X, n, R, null, null));
}

/**
 * g' J^-1 g over the coordinates `use` (J symmetric, upper triangle filled), and J^-1 g when asked, by a Cholesky factor
 * of the Jacobi-scaled J (numerics/cholesky.ts: unit diagonal, so one ridge suits every block's
 * scale); a direction J cannot resolve (rank deficiency by rounding) gets the ridge.
 */
function quadraticInverse(J: Float64Array, g: Float64Array, P: number, use: number[], wantSolution: boolean): { form: number; x: Float64Array } {
  const m = use.length;
  if (m === 0) return { form: 0, x: new Float64Array(0) };
  const A = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let c = a; c < m; c++) {
      const ua = use[a]!;
      const uc = use[c]!;
      A[a * m + c] = J[Math.min(ua, uc) * P + Math.max(ua, uc)]!;
    }
  }
  return inverseQuadraticSolve(A, Float64Array.from(use, (u) => g[u]!), m, CERTIFICATE_SOLVE, wantSolution);
}
