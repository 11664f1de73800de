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
import { solveDamped } from '../numerics/cholesky.js';
import { lbfgs } from '../numerics/lbfgs.js';

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
  /**
   * selective gates: coordinates found on a selection boundary by an earlier M-step; the next
   * M-step starts without them and re-tests them at its end (one trial each)
   */
  blocked?: Set<number>;
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
  if (gate.newtonPass) return newtonMStep(gate, theta, G, free, options, fusedEvaluator(gate, backend, theta, X, n, R, G, cache), cache);
  cache.lseSum = NaN;
  return gate.hessian
    ? newtonMStep(gate, theta, G, free, options, plainEvaluator(gate, backend, theta, X, n, R, G), cache)
    : lbfgsMStep(gate, backend, theta, X, n, R, G, free, options);
}

/** Newton on the free coordinates: (-H) delta = grad; returns delta and the decrement delta.grad. */
export function newtonDirection(grad: Float64Array, H: Float64Array, P: number, free: Int32Array) {
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

export const MAX_HALVINGS = 30;
/** Relative rounding level of a sum of many float64 terms, used as a floor on predicted gains. */
export const ROUNDING = 1e-12;

/**
 * How a Newton M-step evaluates Q: `start` fills grad and H at theta (G holds the weights at
 * theta) and returns Q with the rounding floor of its computation; `trial` evaluates a candidate
 * into the trial arrays; `accept` is told when a trial becomes the new theta.
 */
interface NewtonEvaluator {
  start(grad: Float64Array, H: Float64Array): { q: number; floor: number };
  trial(theta: Float64Array, grad: Float64Array, H: Float64Array, G: Float64Array): number;
  /** called with the accepted trial; an evaluator whose trials skip H computes it here */
  accept(theta: Float64Array, G: Float64Array, H: Float64Array): void;
}

/** The fused, cached pass of gates with linear logits (no exponential in `start` when cached). */
function fusedEvaluator(gate: Gate, backend: Backend, theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array, cache: GateMStepCache): NewtonEvaluator {
  let trialLse = NaN;
  return {
    start(grad, H) {
      // Q = linear - lseSum is a difference of two sums of n terms: its rounding is the floor
      const cached = Number.isFinite(cache.lseSum);
      const pass = backend.gateNewtonPass(gate, theta, X, n, R, G, grad, H, cached ? 'fromWeights' : 'evaluate');
      if (!cached) cache.lseSum = pass.lseSum;
      return { q: pass.linear - cache.lseSum, floor: ROUNDING * (Math.abs(pass.linear) + Math.abs(cache.lseSum)) };
    },
    trial(trial, grad, H, Gt) {
      const pass = backend.gateNewtonPass(gate, trial, X, n, R, Gt, grad, H, 'evaluate');
      trialLse = pass.lseSum;
      return pass.linear - pass.lseSum;
    },
    accept() {
      cache.lseSum = trialLse;
    },
  };
}

/** The plain gate objective and Hessian (any gate with a Hessian; damped where Q is not concave). */
function plainEvaluator(gate: Gate, backend: Backend, theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array): NewtonEvaluator {
  return {
    start(grad, H) {
      const q = backend.gateObjective(gate, theta, X, n, R, grad, G);
      backend.gateHessian(gate, theta, X, n, G, H, R);
      return { q, floor: ROUNDING * Math.abs(q) };
    },
    trial(trial, grad, _H, Gt) {
      return backend.gateObjective(gate, trial, X, n, R, grad, Gt);
    },
    accept(accepted, Gt, H) {
      // only an accepted point needs its Hessian (a rejected trial would waste a pass)
      backend.gateHessian(gate, accepted, X, n, Gt, H, R);
    },
  };
}

/**
 * Newton with step halving on the free coordinates: (-H) delta = grad, then the longest step
 * 2^-j delta with Q(theta + step) >= Q(theta). Stops after maxSteps, or when the predicted gain
 * delta.grad / 2 is below tol * max(1, |Q|) or below the rounding of Q (such a step cannot be
 * verified).
 */
function newtonMStep(
  gate: Gate,
  theta: Float64Array,
  G: Float64Array,
  free: Int32Array,
  options: GateMStepOptions,
  evaluator: NewtonEvaluator,
  cache: GateMStepCache = { lseSum: NaN },
): GateMStepResult {
  const P = gate.nParams;
  let grad = new Float64Array(P);
  let H = new Float64Array(P * P);
  const started = evaluator.start(grad, H);
  let q = started.q;
  const q0 = q;
  let steps = 0;
  const trial = theta.slice();
  let gradTrial = new Float64Array(P);
  let HTrial = new Float64Array(P * P);
  const Gtrial = new Float64Array(G.length);
  // the coordinates Newton moves: all free ones, fewer after a refusal at a selection boundary
  const remembered = gate.selective ? (cache.blocked ??= new Set<number>()) : undefined;
  let active = remembered && remembered.size > 0 && remembered.size < free.length ? free.filter((j) => !remembered.has(j)) : free;
  // under a selective gate a step may cross a selection boundary in some coordinates only (a tie
  // the fit sits on): those coordinates are held fixed and Newton goes on with the others
  const blockedAlong = (delta: Float64Array): Set<number> => {
    const blocked = new Set<number>();
    for (let a = 0; a < active.length; a++) {
      const j = active[a]!;
      if (delta[a] === 0) continue;
      trial.set(theta);
      trial[j] = theta[j]! + Math.sign(delta[a]!) * 1e-6 * (Math.abs(theta[j]!) + 1);
      if (!Number.isFinite(evaluator.trial(trial, gradTrial, HTrial, Gtrial))) blocked.add(j);
    }
    return blocked;
  };
  while (steps < options.maxSteps && Number.isFinite(q)) {
    const { delta, decrement } = newtonDirection(grad, H, P, active);
    if (!(decrement / 2 > Math.max(options.tol * Math.max(1, Math.abs(q)), started.floor))) break;
    let step = 1;
    let accepted = false;
    let redirected = false;
    let checked = false;
    for (let halving = 0; halving < MAX_HALVINGS; halving++) {
      trial.set(theta);
      for (let a = 0; a < active.length; a++) trial[active[a]!] = theta[active[a]!]! + step * delta[a]!;
      const qt = evaluator.trial(trial, gradTrial, HTrial, Gtrial);
      if (qt >= q) {
        theta.set(trial);
        G.set(Gtrial);
        [grad, gradTrial] = [gradTrial, grad];
        [H, HTrial] = [HTrial, H];
        evaluator.accept(theta, G, H);
        q = qt;
        accepted = true;
        break;
      }
      if (gate.selective && !checked && qt === -Infinity) {
        // the full step changes a selection: if single coordinates are blocked, drop them at once
        // instead of halving towards a boundary the fit already sits on
        checked = true;
        const blocked = blockedAlong(delta);
        if (blocked.size > 0 && blocked.size < active.length) {
          active = active.filter((j) => !blocked.has(j));
          redirected = true;
          break;
        }
      }
      step *= 0.5;
    }
    if (redirected) continue;
    steps++;
    if (!accepted) {
      if (!gate.selective || checked) break;
      const blocked = blockedAlong(delta);
      if (blocked.size === 0 || blocked.size === active.length) break;
      active = active.filter((j) => !blocked.has(j));
    }
  }
  if (remembered) {
    // remember what is blocked now: the coordinates left out, re-tested along their gradient
    remembered.clear();
    for (const j of free) {
      if (active.includes(j) || grad[j] === 0) continue;
      trial.set(theta);
      trial[j] = theta[j]! + Math.sign(grad[j]!) * 1e-6 * (Math.abs(theta[j]!) + 1);
      if (!Number.isFinite(evaluator.trial(trial, gradTrial, HTrial, Gtrial))) remembered.add(j);
    }
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
