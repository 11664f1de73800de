/**
 * The gate's M-step (spec: fitting.md, "M-step, gate"): increase
 *   Q(theta) = sum_n sum_i R_ni log G_i(x_n; theta)
 * over the free coordinates of theta, warm-started at the current theta. Gates that provide a
 * Hessian (concave Q on the current selection: softmax, top-K, temperature with tau known) get
 * Newton steps with step halving; the others get L-BFGS. Either way a step is taken only if Q does
 * not decrease, so every EM iteration is a generalised EM step (L does not decrease).
 * The engine sees only the Gate contract: no gate-specific branch here.
 */
import type { Backend } from '../backend/types.js';
import type { Gate } from '../gates/types.js';
import { solveDamped } from '../linalg/solve.js';
import { lbfgs } from './lbfgs.js';

export interface GateMStepOptions {
  /** maximum Newton (or L-BFGS) iterations per M-step */
  maxSteps: number;
  /**
   * relative tolerance: stop when the predicted gain in Q (the Newton decrement g'(-H)^-1 g / 2,
   * or L-BFGS's change) is at most tol * max(1, |Q|)
   */
  tol: number;
}

/**
 * State an EM run keeps between M-steps: the log-normaliser sum of the gate at the current theta
 * (valid together with the weights G the caller holds), so that the first Newton step of the next
 * M-step needs no exponential. NaN = unknown.
 */
export interface GateMStepCache {
  lseSum: number;
}

export interface GateMStepResult {
  /** Q at the returned theta */
  q: number;
  /** Q at the starting theta */
  q0: number;
  steps: number;
}

/**
 * Run the M-step in place: `theta` is updated, `G` receives the weights at the returned theta.
 * @param free indices of theta that are optimised (the others stay fixed, e.g. a reference expert)
 */
export function gateMStep(
  gate: Gate,
  backend: Backend,
  theta: Float64Array,
  X: Float64Array,
  n: number,
  R: Float64Array,
  G: Float64Array,
  free: Int32Array,
  options: GateMStepOptions,
  cache: GateMStepCache = { lseSum: NaN },
): GateMStepResult {
  if (gate.newtonPass) return fastNewtonMStep(gate, backend, theta, X, n, R, G, free, options, cache);
  cache.lseSum = NaN;
  return gate.hessian
    ? newtonMStep(gate, backend, theta, X, n, R, G, free, options)
    : lbfgsMStep(gate, backend, theta, X, n, R, G, free, options);
}

/** Newton on the free coordinates: (-H) delta = grad; returns delta and the decrement delta.grad. */
function newtonDirection(grad: Float64Array, H: Float64Array, P: number, free: Int32Array) {
  const f = free.length;
  const A = new Float64Array(f * f);
  const rhs = new Float64Array(f);
  for (let a = 0; a < f; a++) {
    rhs[a] = grad[free[a]!]!;
    for (let b = 0; b < f; b++) A[a * f + b] = -H[free[a]! * P + free[b]!]!;
  }
  const delta = solveDamped(A, rhs, f);
  let decrement = 0;
  for (let a = 0; a < f; a++) decrement += delta[a]! * rhs[a]!;
  return { delta, decrement };
}

const MAX_HALVINGS = 30;
/** Relative rounding level of a sum of many float64 terms, used as a floor on predicted gains. */
const ROUNDING = 1e-12;

function fastNewtonMStep(
  gate: Gate,
  backend: Backend,
  theta: Float64Array,
  X: Float64Array,
  n: number,
  R: Float64Array,
  G: Float64Array,
  free: Int32Array,
  options: GateMStepOptions,
  cache: GateMStepCache,
): GateMStepResult {
  const P = gate.nParams;
  let grad = new Float64Array(P);
  let H = new Float64Array(P * P);
  let q: number;
  // Q = linear - lseSum is a difference of two sums of n terms; a step whose predicted gain is
  // below its rounding cannot be verified (every halving would fail), so it is not tried
  let roundingFloor: number;
  if (Number.isFinite(cache.lseSum)) {
    const first = backend.gateNewtonPass(gate, theta, X, n, R, G, grad, H, 'fromWeights');
    q = first.linear - cache.lseSum;
    roundingFloor = ROUNDING * (Math.abs(first.linear) + Math.abs(cache.lseSum));
  } else {
    const first = backend.gateNewtonPass(gate, theta, X, n, R, G, grad, H, 'evaluate');
    cache.lseSum = first.lseSum;
    q = first.linear - first.lseSum;
    roundingFloor = ROUNDING * (Math.abs(first.linear) + Math.abs(first.lseSum));
  }
  const q0 = q;
  let steps = 0;
  const trial = theta.slice();
  let gradTrial = new Float64Array(P);
  let HTrial = new Float64Array(P * P);
  const Gtrial = new Float64Array(G.length);
  while (steps < options.maxSteps && Number.isFinite(q)) {
    const { delta, decrement } = newtonDirection(grad, H, P, free);
    if (!(decrement / 2 > Math.max(options.tol * Math.max(1, Math.abs(q)), roundingFloor))) break;
    let step = 1;
    let accepted = false;
    for (let halving = 0; halving < MAX_HALVINGS; halving++) {
      trial.set(theta);
      for (let a = 0; a < free.length; a++) trial[free[a]!] = theta[free[a]!]! + step * delta[a]!;
      const t = backend.gateNewtonPass(gate, trial, X, n, R, Gtrial, gradTrial, HTrial, 'evaluate');
      const qt = t.linear - t.lseSum;
      if (qt >= q) {
        theta.set(trial);
        G.set(Gtrial);
        [grad, gradTrial] = [gradTrial, grad];
        [H, HTrial] = [HTrial, H];
        cache.lseSum = t.lseSum;
        q = qt;
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    steps++;
    if (!accepted) break;
  }
  return { q, q0, steps };
}

function newtonMStep(
  gate: Gate,
  backend: Backend,
  theta: Float64Array,
  X: Float64Array,
  n: number,
  R: Float64Array,
  G: Float64Array,
  free: Int32Array,
  options: GateMStepOptions,
): GateMStepResult {
  const P = gate.nParams;
  const f = free.length;
  const grad = new Float64Array(P);
  const H = new Float64Array(P * P);
  const trial = theta.slice();
  const gradTrial = new Float64Array(P);
  const Gtrial = new Float64Array(G.length);
  let q = backend.gateObjective(gate, theta, X, n, R, grad, G);
  const q0 = q;
  let steps = 0;
  while (steps < options.maxSteps && Number.isFinite(q)) {
    backend.gateHessian(gate, theta, X, n, G, H);
    const { delta, decrement } = newtonDirection(grad, H, P, free);
    if (!(decrement / 2 > Math.max(options.tol * Math.max(1, Math.abs(q)), ROUNDING * Math.abs(q)))) break;
    let step = 1;
    let accepted = false;
    for (let halving = 0; halving < MAX_HALVINGS; halving++) {
      trial.set(theta);
      for (let a = 0; a < f; a++) trial[free[a]!] = theta[free[a]!]! + step * delta[a]!;
      const qt = backend.gateObjective(gate, trial, X, n, R, gradTrial, Gtrial);
      if (qt >= q) {
        theta.set(trial);
        grad.set(gradTrial);
        G.set(Gtrial);
        q = qt;
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    steps++;
    if (!accepted) break;
  }
  return { q, q0, steps };
}

function lbfgsMStep(
  gate: Gate,
  backend: Backend,
  theta: Float64Array,
  X: Float64Array,
  n: number,
  R: Float64Array,
  G: Float64Array,
  free: Int32Array,
  options: GateMStepOptions,
): GateMStepResult {
  const P = gate.nParams;
  const full = theta.slice();
  const grad = new Float64Array(P);
  const scale = 1 / n;
  const x0 = Float64Array.from(free, (j) => theta[j]!);
  const evaluate = (x: Float64Array, g: Float64Array): number => {
    for (let a = 0; a < free.length; a++) full[free[a]!] = x[a]!;
    const q = backend.gateObjective(gate, full, X, n, R, grad, null);
    for (let a = 0; a < free.length; a++) g[a] = -grad[free[a]!]! * scale;
    return Number.isFinite(q) ? -q * scale : Infinity;
  };
  const g0 = new Float64Array(free.length);
  const q0 = -evaluate(x0, g0) / scale;
  const result = lbfgs(evaluate, x0, {
    maxIterations: options.maxSteps,
    relTol: 0,
    absTol: options.tol * Math.max(1, Math.abs(q0)) * scale,
    gradTol: 1e-12,
  });
  let q = -result.f / scale;
  if (q >= q0) {
    for (let a = 0; a < free.length; a++) theta[free[a]!] = result.x[a]!;
  } else q = q0;
  backend.gateWeights(gate, theta, X, n, G);
  return { q, q0, steps: result.iterations };
}
