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
import { heldByGateBox, projectOntoGateBox } from './gate-box.js';

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
  /** the buffer for the weights at a trial theta (n x k, the backend's fit buffer), else allocated per M-step */
  Gtrial?: Float64Array;
  /**
   * the 'start' pass already done by a fused E-step (Backend.eStepWithGatePass) at `theta` with
   * the current R and G; used once by the next M-step at that theta, then cleared
   */
  start?: { theta: Float64Array; linear: number; grad: Float64Array; H: Float64Array } | null;
  /** the fit's gate box (PackedState.box, fitting/gate-box.ts): steps are projected onto it; null or absent: none */
  box?: Float64Array | null;
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
  if (gate.newtonPass) return runNewtonSync(newtonSteps(gate, theta, free, options, cache), fusedEvaluator(gate, backend, theta, X, n, R, G, cache));
  cache.lseSum = NaN;
  return gate.hessian
    ? runNewtonSync(newtonSteps(gate, theta, free, options, cache), plainEvaluator(gate, backend, theta, X, n, R, G))
    : lbfgsMStep(gate, backend, theta, X, n, R, G, free, options, cache.box ?? null);
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
 * What the Newton M-step asks of the backend that evaluates Q (the request protocol of
 * {@link newtonSteps}): the gate pass at the current theta ('start'), at a trial theta ('trial'),
 * and committing the last trial as the new current point ('accept'). The CPU answers at once
 * ({@link runNewtonSync}); the GPU engine answers many fits' requests with one kernel pass.
 */
export type NewtonRequest = { op: 'start' } | { op: 'trial'; theta: Float64Array; derivatives: boolean } | { op: 'accept' };

/** The answer to 'start': Q, its gradient and Hessian at theta, the rounding floor of Q and the acceptance slack. */
export interface NewtonStart {
  q: number;
  grad: Float64Array;
  H: Float64Array;
  /** the rounding of Q's computation: a predicted gain below it cannot be verified */
  floor: number;
  /** a trial is accepted when Q(trial) >= Q - slack (0 in float64; the f32 noise of Q on the GPU) */
  slack: number;
}

/** The answer to 'trial' (grad and H at the trial where the evaluator computes them) and to 'accept' (at the new point). */
export interface NewtonPoint {
  q: number;
  grad: Float64Array;
  H: Float64Array;
}

export type NewtonAnswer = NewtonStart | NewtonPoint | number;

/**
 * A float64 evaluator of the Newton requests for one fit on the CPU: it owns the current and
 * trial buffers (swapped on accept, no allocation per step) and writes the weights at the
 * accepted theta into G.
 */
interface CpuEvaluator {
  start(): NewtonStart;
  /** `derivatives`: false where no later step reads the trial's grad and H (they may then be stale) */
  trial(theta: Float64Array, derivatives: boolean): NewtonPoint;
  /** the trial becomes current (newtonSteps has already written it into theta) */
  accept(): NewtonPoint;
}

/** Double buffers of the gate pass: current (grad, H) and trial (grad, H, G). */
class PassBuffers {
  grad: Float64Array;
  H: Float64Array;
  gradTrial: Float64Array;
  HTrial: Float64Array;
  readonly Gtrial: Float64Array;
  constructor(P: number, size: number, Gtrial?: Float64Array) {
    this.grad = new Float64Array(P);
    this.H = new Float64Array(P * P);
    this.gradTrial = new Float64Array(P);
    this.HTrial = new Float64Array(P * P);
    this.Gtrial = Gtrial && Gtrial.length === size ? Gtrial : new Float64Array(size);
  }
  swap(): void {
    [this.grad, this.gradTrial] = [this.gradTrial, this.grad];
    [this.H, this.HTrial] = [this.HTrial, this.H];
  }
}

/** The fused, cached pass of gates with linear logits (no exponential in `start` when cached). */
function fusedEvaluator(gate: Gate, backend: Backend, theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array, cache: GateMStepCache): CpuEvaluator {
  const b = new PassBuffers(gate.nParams, G.length, cache.Gtrial);
  let trialLse = NaN;
  let trialQ = NaN;
  return {
    start() {
      // Q = linear - lseSum is a difference of two sums of n terms: its rounding is the floor
      const cached = Number.isFinite(cache.lseSum);
      const fused = cache.start;
      cache.start = null;
      let pass: { linear: number; lseSum: number };
      if (cached && fused && fused.theta.every((v, j) => Object.is(v, theta[j]))) {
        // the fused E-step did this 'fromWeights' pass already
        b.grad.set(fused.grad);
        b.H.set(fused.H);
        pass = { linear: fused.linear, lseSum: NaN };
      } else pass = backend.gateNewtonPass(gate, theta, X, n, R, G, b.grad, b.H, cached ? 'fromWeights' : 'evaluate');
      if (!cached) cache.lseSum = pass.lseSum;
      return { q: pass.linear - cache.lseSum, grad: b.grad, H: b.H, floor: ROUNDING * (Math.abs(pass.linear) + Math.abs(cache.lseSum)), slack: 0 };
    },
    trial(trial, derivatives) {
      const pass = backend.gateNewtonPass(gate, trial, X, n, R, b.Gtrial, b.gradTrial, b.HTrial, derivatives ? 'evaluate' : 'trial');
      trialLse = pass.lseSum;
      trialQ = pass.linear - pass.lseSum;
      return { q: trialQ, grad: b.gradTrial, H: b.HTrial };
    },
    accept() {
      G.set(b.Gtrial);
      b.swap();
      cache.lseSum = trialLse;
      return { q: trialQ, grad: b.grad, H: b.H };
    },
  };
}

/** The plain gate objective and Hessian (any gate with a Hessian; damped where Q is not concave). */
function plainEvaluator(gate: Gate, backend: Backend, theta: Float64Array, X: Float64Array, n: number, R: Float64Array, G: Float64Array): CpuEvaluator {
  const b = new PassBuffers(gate.nParams, G.length);
  let trialQ = NaN;
  return {
    start() {
      const q = backend.gateObjective(gate, theta, X, n, R, b.grad, G);
      backend.gateHessian(gate, theta, X, n, G, b.H, R);
      return { q, grad: b.grad, H: b.H, floor: ROUNDING * Math.abs(q), slack: 0 };
    },
    trial(trial) {
      trialQ = backend.gateObjective(gate, trial, X, n, R, b.gradTrial, b.Gtrial);
      return { q: trialQ, grad: b.gradTrial, H: b.HTrial };
    },
    accept() {
      G.set(b.Gtrial);
      b.swap();
      // only an accepted point needs its Hessian (a rejected trial would waste a pass)
      backend.gateHessian(gate, theta, X, n, G, b.H, R);
      return { q: trialQ, grad: b.grad, H: b.H };
    },
  };
}

/** Drive {@link newtonSteps} with a float64 CPU evaluator, synchronously. */
function runNewtonSync(steps: Generator<NewtonRequest, GateMStepResult, NewtonAnswer>, evaluator: CpuEvaluator): GateMStepResult {
  let answer: NewtonAnswer | undefined;
  for (;;) {
    const next = answer === undefined ? steps.next(undefined as never) : steps.next(answer);
    if (next.done) return next.value;
    const request = next.value;
    answer = request.op === 'start' ? evaluator.start() : request.op === 'trial' ? evaluator.trial(request.theta, request.derivatives) : evaluator.accept();
  }
}

/**
 * Newton with step halving on the free coordinates, written once for every backend as a generator
 * of {@link NewtonRequest}s: (-H) delta = grad, then the longest step 2^-j delta with
 * Q(theta + step) >= Q(theta) - slack. Stops after maxSteps, or when the predicted gain
 * delta.grad / 2 is below tol * max(1, |Q|) or below the rounding of Q (such a step cannot be
 * verified). Under a selective gate a step that crosses a selection boundary in some coordinates
 * only holds those coordinates (probed one by one, remembered in `cache.blocked` for the next
 * M-step) and goes on with the others. `theta` is updated in place.
 */
export function* newtonSteps(
  gate: Gate,
  theta: Float64Array,
  free: Int32Array,
  options: GateMStepOptions,
  cache: GateMStepCache = { lseSum: NaN },
): Generator<NewtonRequest, GateMStepResult, NewtonAnswer> {
  const P = gate.nParams;
  const started = (yield { op: 'start' }) as NewtonStart;
  let { q, grad, H } = started;
  const q0 = q;
  let steps = 0;
  const trial = theta.slice();
  // a trial's grad and H are read only after it is accepted, by a next step or (selective gates)
  // by the blocked-coordinate test at the end: the last step's trials can skip them
  const tryAt = function* (t: Float64Array, derivatives = false): Generator<NewtonRequest, NewtonPoint, NewtonAnswer> {
    return (yield { op: 'trial', theta: t, derivatives }) as NewtonPoint;
  };
  // the coordinates Newton moves: all free ones, fewer after a refusal at a selection boundary
  const remembered = gate.selective ? (cache.blocked ??= new Set<number>()) : undefined;
  let active = remembered && remembered.size > 0 && remembered.size < free.length ? free.filter((j) => !remembered.has(j)) : free;
  // under a selective gate a step may cross a selection boundary in some coordinates only (a tie
  // the fit sits on): those coordinates are held fixed and Newton goes on with the others
  const blockedAlong = function* (delta: Float64Array, along: Int32Array): Generator<NewtonRequest, Set<number>, NewtonAnswer> {
    const blocked = new Set<number>();
    for (let a = 0; a < along.length; a++) {
      const j = along[a]!;
      if (delta[a] === 0) continue;
      trial.set(theta);
      trial[j] = theta[j]! + Math.sign(delta[a]!) * 1e-6 * (Math.abs(theta[j]!) + 1);
      if (!Number.isFinite((yield* tryAt(trial)).q)) blocked.add(j);
    }
    return blocked;
  };
  const box = cache.box ?? null;
  // a second try of a refused projected step holds every coordinate on a face (see below)
  let holdFaces = false;
  while (steps < options.maxSteps && Number.isFinite(q)) {
    // the gate box: coordinates on a face whose gradient points outward are held (KKT), the
    // step of the others is projected onto the box
    const moving = box ? active.filter((j) => !(holdFaces ? Math.abs(theta[j]!) >= box[j]! : heldByGateBox(theta, box, j, grad[j]!))) : active;
    if (moving.length === 0) break;
    const { delta, decrement } = newtonDirection(grad, H, P, moving);
    if (!(decrement / 2 > Math.max(options.tol * Math.max(1, Math.abs(q)), started.floor))) break;
    let step = 1;
    let accepted = false;
    let redirected = false;
    let checked = false;
    let projected = false;
    for (let halving = 0; halving < MAX_HALVINGS; halving++) {
      trial.set(theta);
      for (let a = 0; a < moving.length; a++) trial[moving[a]!] = theta[moving[a]!]! + step * delta[a]!;
      if (projectOntoGateBox(trial, box)) projected = true;
      const qt = (yield* tryAt(trial, steps + 1 < options.maxSteps || gate.selective)).q;
      if (qt >= q - started.slack) {
        theta.set(trial);
        ({ grad, H } = (yield { op: 'accept' }) as NewtonPoint);
        q = qt;
        accepted = true;
        break;
      }
      if (gate.selective && !checked && qt === -Infinity) {
        // the full step changes a selection: if single coordinates are blocked, drop them at once
        // instead of halving towards a boundary the fit already sits on
        checked = true;
        const blocked = yield* blockedAlong(delta, moving);
        if (blocked.size > 0 && blocked.size < active.length) {
          active = active.filter((j) => !blocked.has(j));
          redirected = true;
          break;
        }
      }
      step *= 0.5;
    }
    if (redirected) continue;
    if (!accepted && projected && !holdFaces) {
      // a projected Newton step need not ascend (the projection bends it where H couples a held
      // coordinate to the others): once more with every coordinate on a face held
      holdFaces = true;
      continue;
    }
    holdFaces = false;
    steps++;
    if (!accepted) {
      if (!gate.selective || checked) break;
      const blocked = yield* blockedAlong(delta, moving);
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
      if (!Number.isFinite((yield* tryAt(trial)).q)) remembered.add(j);
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
  allFree: Int32Array,
  options: GateMStepOptions,
  box: Float64Array | null,
): GateMStepResult {
  const P = gate.nParams;
  const full = theta.slice();
  const grad = new Float64Array(P);
  const scale = 1 / n;
  // the gate box: coordinates on a face whose gradient points outward are held for this M-step
  let free = allFree;
  if (box) {
    backend.gateObjective(gate, theta, X, n, R, grad, null);
    free = allFree.filter((j) => !heldByGateBox(theta, box, j, grad[j]!));
  }
  const x0 = Float64Array.from(free, (j) => theta[j]!);
  const evaluate = (x: Float64Array, g: Float64Array): number => {
    for (let a = 0; a < free.length; a++) full[free[a]!] = x[a]!;
    const q = backend.gateObjective(gate, full, X, n, R, grad, null);
    for (let a = 0; a < free.length; a++) g[a] = -grad[free[a]!]! * scale;
    return Number.isFinite(q) ? -q * scale : Infinity;
  };
  const g0 = new Float64Array(free.length);
  const q0 = -evaluate(x0, g0) / scale;
  if (free.length === 0) {
    backend.gateWeights(gate, theta, X, n, G);
    return { q: q0, q0, steps: 0 };
  }
  const result = lbfgs(evaluate, x0, {
    maxIterations: options.maxSteps,
    relTol: 0,
    absTol: options.tol * Math.max(1, Math.abs(q0)) * scale,
    gradTol: 1e-12,
  });
  let x = result.x;
  let q = -result.f / scale;
  if (box) {
    // a step that leaves the box is cut where it first meets a face, then halved until Q does not decrease
    let t = 1;
    for (let a = 0; a < free.length; a++) {
      const B = box[free[a]!]!;
      const dx = x[a]! - x0[a]!;
      if (x[a]! > B && dx > 0) t = Math.min(t, (B - x0[a]!) / dx);
      else if (x[a]! < -B && dx < 0) t = Math.min(t, (-B - x0[a]!) / dx);
    }
    if (t < 1) {
      const cut = new Float64Array(free.length);
      const scratch = new Float64Array(free.length);
      q = -Infinity;
      for (let h = 0; h < MAX_HALVINGS && !(q >= q0); h++, t /= 2) {
        for (let a = 0; a < free.length; a++) cut[a] = Math.min(box[free[a]!]!, Math.max(-box[free[a]!]!, x0[a]! + t * (x[a]! - x0[a]!)));
        q = -evaluate(cut, scratch) / scale;
      }
      x = cut;
    }
  }
  if (q >= q0) {
    for (let a = 0; a < free.length; a++) theta[free[a]!] = x[a]!;
  } else q = q0;
  backend.gateWeights(gate, theta, X, n, G);
  return { q, q0, steps: result.iterations };
}
