import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inverse, Matrix } from 'ml-matrix';
import { ConfigError } from '../src/errors.js';
import { fitMoE, mleObjective, packMle, packState, ROUNDING_TOLERANCE } from '../src/fitting/index.js';
import type { FitOptions } from '../src/fitting/index.js';
import { logLikelihood } from '../src/likelihood/index.js';
import { ACTIVATIONS, type GateSpec, type Model } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { centralDifference, DEMYS, maxRelativeError, TOPK, tempModel } from './helpers.js';

interface Case {
  name: string;
  truth: Model;
  gate: GateSpec;
  tau?: 'known' | 'free';
  k?: number;
}

const CASES: Case[] = [
  { name: 'softmax', truth: DEMYS, gate: { type: 'softmax' } },
  { name: 'softmax over-specified k=3', truth: DEMYS, gate: { type: 'softmax' }, k: 3 },
  { name: 'topk K=2', truth: TOPK, gate: { type: 'topk', K: 2, rankBy: 'slope' } },
  { name: 'topk K=1 rankBy logit', truth: { ...DEMYS, gate: { type: 'topk', K: 1, rankBy: 'logit' } }, gate: { type: 'topk', K: 1, rankBy: 'logit' } },
  { name: 'temperature tau known', truth: tempModel({ type: 'temperature', tau: 0.5 }), gate: { type: 'temperature', tau: 0.5 } },
  { name: 'temperature tau free', truth: tempModel({ type: 'temperature', tau: 0.5 }), gate: { type: 'temperature', tau: 0.5 }, tau: 'free' },
  ...ACTIVATIONS.flatMap((activation) =>
    (['known', 'free'] as const).map((tau) => ({
      name: `activation ${activation} tau ${tau}`,
      truth: tempModel({ type: 'activation', activation, tau: 0.5 }),
      gate: { type: 'activation', activation, tau: 0.5 } as GateSpec,
      tau,
    })),
  ),
];

for (const c of CASES) {
  test(`fitMoE(em, ${c.name}) never decreases the log-likelihood and returns L of its parameters`, () => {
    const data = sample(c.truth, 2000, new Rng(10));
    const options: FitOptions = { k: c.k ?? c.truth.experts.length, gate: c.gate, tau: c.tau ?? 'known', trace: true, maxIterations: 60 };
    const result = fitMoE(data, options, { type: 'nearTruth', truth: c.truth, noise: 0.3, seed: 4 });
    const trace = result.fit.trace!;
    assert.ok(trace.length >= 2);
    for (let t = 1; t < trace.length; t++) {
      // rounding in a sum of 2000 log-densities is ~1e-13 relative; ROUNDING_TOLERANCE = 1e-10
      assert.ok(trace[t]! >= trace[t - 1]! - ROUNDING_TOLERANCE * Math.abs(trace[t - 1]!), `L fell at ${t}: ${trace[t - 1]} -> ${trace[t]}`);
    }
    assert.equal(result.fit.decreases, 0);
    // the reported loglik is that of the returned parameters (final E-step)
    const L = logLikelihood(result.model, data);
    assert.ok(Math.abs(L - result.fit.loglik) < 1e-9 * Math.abs(L), `${L} vs ${result.fit.loglik}`);
  });

  test(`mleObjective(${c.name}) gradient matches central differences`, () => {
    const data = sample(c.truth, 500, new Rng(11));
    const options: FitOptions = { k: c.k ?? c.truth.experts.length, gate: c.gate, tau: c.tau ?? 'known' };
    const start = fitMoE(data, { ...options, maxIterations: 0 }, { type: 'nearTruth', truth: c.truth, noise: 0.2, seed: 5 }).model;
    const state = packState(start, options);
    const v = packMle(state);
    const objective = mleObjective(data, state);
    const grad = new Float64Array(v.length);
    objective(v.slice(), grad);
    const fd = centralDifference((w) => objective(w, null), v);
    // see gates.test.ts for the tolerance: rounding ~ eps |L| / h ~ 1e-16 * 1e3 / 1e-5 = 1e-8
    assert.ok(maxRelativeError(grad, fd) < 1e-5, `analytic ${Array.from(grad)}\n fd ${Array.from(fd)}`);
  });
}

for (const c of CASES.filter((c) => ['softmax', 'temperature tau known', 'activation tanh tau known', 'activation gelu tau free'].includes(c.name))) {
  test(`fitMoE(em) and fitMoE(mle) agree on a smooth gate: ${c.name}`, () => {
    const data = sample(c.truth, 3000, new Rng(12));
    const options: FitOptions = { k: c.truth.experts.length, gate: c.gate, tau: c.tau ?? 'known', scoreTol: 1e-6, maxIterations: 5000 };
    const start = { type: 'nearTruth' as const, truth: c.truth, noise: 0.1, seed: 6 };
    const em = fitMoE(data, options, start);
    const mle = fitMoE(data, { ...options, method: 'mle' }, start);
    assert.equal(em.fit.stopReason, 'converged');
    // both reach the same maximum: both stop at T <= 1e-6 nats (T estimates the gap to the
    // maximum within a factor 2; smaller tolerances meet the gate M-step's own floor, gateTol |Q|),
    // so |L_em - L_mle| <= ~4e-6 nats, below 1e-8 |L| = 3e-5 here
    assert.ok(Math.abs(em.fit.loglik - mle.fit.loglik) < 1e-8 * Math.abs(em.fit.loglik), `${em.fit.loglik} vs ${mle.fit.loglik}`);
    // and the same parameters: a gap delta in L of 4e-6 nats allows parameter gaps of about
    // sqrt(2 delta / lambda_min) with lambda_min the smallest information eigenvalue; 1e-3 is loose
    const flat = (m: Model) => m.experts.flatMap((e) => [e.beta0, ...e.beta1!, ...e.a, e.b, e.nu]);
    assert.ok(maxRelativeError(flat(em.model), flat(mle.model)) < 1e-3, `${flat(em.model)} vs ${flat(mle.model)}`);
  });
}

test('fitMoE recovers the demys model at n = 1e5 within 4 standard errors of every parameter', () => {
  const n = 100000;
  const data = sample(DEMYS, n, new Rng(2023));
  const options: FitOptions = { k: 2, gate: { type: 'softmax' }, scoreTol: 1e-6 };
  const result = fitMoE(data, options, { type: 'nearTruth', truth: DEMYS, noise: 0.1, seed: 7 });
  assert.equal(result.fit.stopReason, 'converged');
  // standard errors from the observed information: the Hessian of L at the fit, by central
  // differences of the analytic gradient, in the MLE coordinates (free gate params, a, b, log nu)
  const state = packState(result.model, options);
  const v = packMle(state);
  const objective = mleObjective(data, state);
  const P = v.length;
  const H: number[][] = Array.from({ length: P }, () => new Array<number>(P).fill(0));
  const gradAt = (w: Float64Array) => {
    const g = new Float64Array(P);
    objective(w, g);
    return g;
  };
  for (let j = 0; j < P; j++) {
    const h = 1e-5 * (Math.abs(v[j]!) + 1);
    const vp = v.slice();
    const vm = v.slice();
    vp[j] = vp[j]! + h;
    vm[j] = vm[j]! - h;
    const gp = gradAt(vp);
    const gm = gradAt(vm);
    for (let i = 0; i < P; i++) H[i]![j] = -(gp[i]! - gm[i]!) / (2 * h);
  }
  const covariance = inverse(new Matrix(H)).to2DArray(); // small dense inverse: ml-matrix
  const truthState = packState(DEMYS, options);
  const vTrue = packMle(truthState);
  for (let j = 0; j < P; j++) {
    const se = Math.sqrt(covariance[j]![j]!);
    // 4 SE: with 8 parameters, the chance that any exceeds 4 SE under the asymptotic normal law
    // is < 8 * 6.3e-5; the seed is fixed, so the test is deterministic.
    assert.ok(Math.abs(v[j]! - vTrue[j]!) < 4 * se, `parameter ${j}: ${v[j]} vs ${vTrue[j]} (se ${se})`);
  }
});

test('fitMoE is deterministic: the same seed gives the same fit', () => {
  const data = sample(DEMYS, 1000, new Rng(1));
  const a = fitMoE(data, { k: 3, gate: { type: 'softmax' } }, { type: 'random', seed: 3, restarts: 2 });
  const b = fitMoE(data, { k: 3, gate: { type: 'softmax' } }, { type: 'random', seed: 3, restarts: 2 });
  assert.deepEqual(a.model, b.model);
  assert.equal(a.fit.loglik, b.fit.loglik);
});

test('fitMoE with restarts keeps the start with the highest final log-likelihood', () => {
  const data = sample(DEMYS, 2000, new Rng(2));
  const result = fitMoE(data, { k: 2, gate: { type: 'softmax' } }, { type: 'random', seed: 8, restarts: 4 });
  const finals = result.fit.restarts!.map((v) => v ?? -Infinity);
  assert.equal(finals.length, 4);
  assert.equal(result.fit.loglik, Math.max(...finals));
  // which maximum: every start's stop reason, and how far apart the starts' maxima are
  assert.equal(result.fit.restartStops!.length, 4);
  assert.equal(result.fit.restartSpread, Math.max(...finals) - Math.min(...finals));
});

test('fitMoE from random starts finds the demys optimum (as good as near-truth) at n = 5000', () => {
  const data = sample(DEMYS, 5000, new Rng(3));
  const random = fitMoE(data, { k: 2, gate: { type: 'softmax' }, scoreTol: 1e-6 }, { type: 'random', seed: 1, restarts: 5 });
  const near = fitMoE(data, { k: 2, gate: { type: 'softmax' }, scoreTol: 1e-6 }, { type: 'nearTruth', truth: DEMYS, noise: 0.1, seed: 1 });
  assert.ok(random.fit.loglik >= near.fit.loglik - 1e-6 * Math.abs(near.fit.loglik));
});

test('fitMoE under top-K keeps the selection of every data point (EM cannot deselect an expert in use)', () => {
  const data = sample(TOPK, 2000, new Rng(4));
  const result = fitMoE(data, { k: 3, gate: { type: 'topk', K: 2, rankBy: 'slope' } }, { type: 'nearTruth', truth: TOPK, noise: 0.3, seed: 2 });
  // slope order decides the selection in d = 1: it must be the start's order
  const order = (m: Model) => m.experts.map((e) => e.beta1![0]!).map((_, i, s) => s.filter((v) => v < s[i]!).length);
  const start = fitMoE(data, { k: 3, gate: TOPK.gate, maxIterations: 0 }, { type: 'nearTruth', truth: TOPK, noise: 0.3, seed: 2 });
  assert.deepEqual(order(result.model), order(start.model));
  assert.equal(result.fit.stopReason, 'converged');
});

test('temperature with tau free: the likelihood is exactly constant along the ray c (beta0, beta1, tau)', () => {
  const truth = tempModel({ type: 'temperature', tau: 0.5 });
  const data = sample(truth, 1000, new Rng(5));
  const scaled = (c: number): Model => ({
    ...truth,
    gate: { type: 'temperature', tau: 0.5 * c },
    experts: truth.experts.map((e) => ({ ...e, beta0: c * e.beta0, beta1: e.beta1!.map((v) => c * v) })),
  });
  const L1 = logLikelihood(truth, data);
  for (const c of [0.1, 2, 30]) assert.ok(Math.abs(logLikelihood(scaled(c), data) - L1) < 1e-10 * Math.abs(L1));
});

test('fitMoE reports maxIterations and numerical problems instead of hiding them', () => {
  const data = sample(DEMYS, 500, new Rng(6));
  const r = fitMoE(data, { k: 2, gate: { type: 'softmax' }, maxIterations: 2, scoreTol: 1e-12 }, { type: 'nearTruth', truth: DEMYS, noise: 1, seed: 1 });
  assert.equal(r.fit.stopReason, 'maxIterations');
  assert.equal(r.fit.iterations, 2);
  assert.match(r.fit.warnings.join(' '), /did not converge in 2 iterations/);
});

test('fitMoE reports an expert whose variance hits the floor (collapse onto two points)', () => {
  const base = sample(DEMYS, 300, new Rng(7));
  // two extra points on the line y = 100 that no true expert explains
  const X = Float64Array.from([...base.X, 0.5, 0.6]);
  const Y = Float64Array.from([...base.Y, 100, 100]);
  const data = { n: 302, d: 1, X, Y };
  const start: Model = {
    ...DEMYS,
    experts: [...DEMYS.experts.slice(0, 1), { beta0: -2, beta1: [0], a: [0], b: 100, nu: 0.01 }, DEMYS.experts[1]!],
  };
  const r = fitMoE(data, { k: 3, gate: { type: 'softmax' }, nuMin: 1e-6 }, { type: 'given', model: start });
  // WLS through two points leaves no residual: the variance update is 0 and is floored
  assert.deepEqual(r.fit.nuFloorHits, [1]);
  assert.equal(r.model.experts[1]!.nu, 1e-6);
  assert.match(r.fit.warnings.join(' '), /variance of expert\(s\) 2 hit the floor nuMin = 0.000001/);
});

const badOptions: [string, object, RegExp][] = [
  ['unknown option', { k: 2, gate: { type: 'softmax' }, tolerance: 1 }, /options\.tolerance: unknown option/],
  ['k zero', { k: 0, gate: { type: 'softmax' } }, /k: 0 is not allowed; must be an integer >= 1/],
  ['K above k', { k: 2, gate: { type: 'topk', K: 3 } }, /gate\.K: 3 exceeds the number of experts \(2\)/],
  ['negative tol', { k: 2, gate: { type: 'softmax' }, stop: 'relative', tol: -1 }, /tol: -1 is not allowed/],
  ['tol without the relative rule', { k: 2, gate: { type: 'softmax' }, tol: 1e-6 }, /tol: applies to the stopping rule "relative" only/],
  ['scoreTol with the relative rule', { k: 2, gate: { type: 'softmax' }, stop: 'relative', scoreTol: 1e-3 }, /scoreTol: applies to the stopping rule "score" only/],
  ['unknown stop rule', { k: 2, gate: { type: 'softmax' }, stop: 'loose' }, /stop: "loose" is not a stopping rule/],
  ['zero scoreTol', { k: 2, gate: { type: 'softmax' }, scoreTol: 0 }, /scoreTol: 0 is not allowed/],
  ['unknown accelerator', { k: 2, gate: { type: 'softmax' }, accelerate: 'daarem' }, /accelerate: "daarem" is not an accelerator/],
  ['nuMinFactor of 1', { k: 2, gate: { type: 'softmax' }, nuMinFactor: 1 }, /nuMinFactor: 1 is not allowed; must be in \(0, 1\)/],
  ['tau free on softmax', { k: 2, gate: { type: 'softmax' }, tau: 'free' }, /tau: "free" needs a gate with a temperature \(temperature, activation\); the gate is softmax/],
  ['bad method', { k: 2, gate: { type: 'softmax' }, method: 'sgd' }, /method: "sgd" is not a fitting method/],
];
for (const [name, options, message] of badOptions) {
  test(`fitMoE rejects ${name} with a ConfigError`, () => {
    const data = sample(DEMYS, 50, new Rng(1));
    assert.throws(() => fitMoE(data, options as FitOptions, { type: 'random', seed: 1 }), (e: unknown) => e instanceof ConfigError && message.test((e as Error).message));
  });
}
