/**
 * The normalised sigmoid gate (src/gates/sigmoid.ts), the registry's proof that a gate is one file:
 * its formula, its traits (no shift invariance, nothing pinned) and its estimator. The generic
 * checks (normalisation, gradients and Hessians against central differences, monotone EM, the
 * GPU status) come from the conformance suite through the registry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packState } from '../../src/fitting/state.js';
import { createGate } from '../../src/gates/index.js';
import { fitMoE, logLikelihood, parseModel, Rng, sample } from '../../src/index.js';

const truth = parseModel({
  gate: { type: 'sigmoid' },
  experts: [
    { beta0: 1, beta1: [-3], a: [-3], b: 1, nu: 0.1 },
    { beta0: -0.5, beta1: [2], a: [3], b: -1, nu: 0.2 },
    { beta0: 0, beta1: [1], a: [0], b: 2, nu: 0.15 },
  ],
  input: { type: 'uniform', low: -1, high: 1, dim: 1 },
});

const sigma = (u: number) => 1 / (1 + Math.exp(-u));

test('sigmoid gate: G_i = sigma(u_i) / sum_j sigma(u_j), also where e^-u overflows', () => {
  const gate = createGate({ type: 'sigmoid' }, 3, 2);
  const rng = new Rng(1);
  const n = 50;
  const X = Float64Array.from({ length: n * 2 }, () => 4 * rng.normal());
  const theta = Float64Array.from({ length: gate.nParams }, () => 3 * rng.normal());
  const G = new Float64Array(n * 3);
  gate.weights(theta, X, n, G);
  for (let r = 0; r < n; r++) {
    const s = [0, 1, 2].map((i) => sigma(theta[i]! + theta[3 + 2 * i]! * X[2 * r]! + theta[4 + 2 * i]! * X[2 * r + 1]!));
    const total = s[0]! + s[1]! + s[2]!;
    // the direct formula and the log-sum-exp route differ by a few roundings
    s.forEach((v, i) => assert.ok(Math.abs(G[r * 3 + i]! - v / total) < 1e-14, `row ${r}, expert ${i}`));
  }
  // u = (-800, -801, 0): e^800 overflows in the direct formula; log sigma(u) = u - log1p(e^u) does
  // not, and log G = log sigma(u) - log(sigma sum) = (-800 - log 0.5, -801 - log 0.5, 0)
  const far = new Float64Array(3);
  createGate({ type: 'sigmoid' }, 3, 1).logWeights(Float64Array.from([-800, -801, 0, 0, 0, 0]), Float64Array.from([1]), 1, far);
  [-800 - Math.log(0.5), -801 - Math.log(0.5), 0].forEach((v, i) => assert.ok(Math.abs(far[i]! - v) <= 1e-12 * (1 + Math.abs(v)), `log G_${i + 1} = ${far[i]}, expected ${v}`));
});

test('sigmoid gate: no common shift leaves G unchanged, so the reference convention pins nothing', () => {
  const gate = createGate({ type: 'sigmoid' }, 3, 1);
  const X = Float64Array.from([0.3]);
  const theta = Float64Array.from([1, -0.5, 0, -3, 2, 1]);
  const shifted = Float64Array.from(theta, (v, j) => (j < 3 ? v + 2 : v));
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  gate.weights(theta, X, 1, a);
  gate.weights(shifted, X, 1, b);
  assert.ok(Math.abs(a[0]! - b[0]!) > 1e-3, `a shift of every beta0 changes the sigmoid weights: ${a[0]} vs ${b[0]}`);
  const state = packState(truth, { k: 3, gate: { type: 'sigmoid' } });
  assert.equal(state.free.length, state.gate.nParams);
  assert.deepEqual(Array.from(state.theta), [1, -0.5, 0, -3, 2, 1]);
});

test('sigmoid gate estimator: a converged fit from a near-truth start (n = 5000) beats the truth in L and recovers the gate', () => {
  const data = sample(truth, 5000, new Rng(3));
  const result = fitMoE(data, { k: 3, gate: { type: 'sigmoid' } }, { type: 'nearTruth', truth, noise: 0.2, seed: 4 });
  assert.equal(result.fit.stopReason, 'converged');
  assert.ok(result.fit.certificate! <= 1e-3);
  // the MLE maximises L: at the maximum near the truth, L(fit) >= L(truth) exactly
  assert.ok(result.fit.loglik >= logLikelihood(truth, data), `${result.fit.loglik} vs L(truth) ${logLikelihood(truth, data)}`);
  // gate weights on a grid: a weight's standard error at n = 5000 is about
  // sqrt(G (1 - G) / (n * share)) <= sqrt(0.25 / 1600) = 0.0125; 0.1 is 8 of them
  const grid = Float64Array.from({ length: 41 }, (_, t) => -1 + t / 20);
  const fitted = new Float64Array(41 * 3);
  const exact = new Float64Array(41 * 3);
  createGate({ type: 'sigmoid' }, 3, 1).weights(Float64Array.from(result.model.experts.flatMap((e) => [e.beta0]).concat(result.model.experts.map((e) => e.beta1![0]!))), grid, 41, fitted);
  createGate({ type: 'sigmoid' }, 3, 1).weights(Float64Array.from([1, -0.5, 0, -3, 2, 1]), grid, 41, exact);
  let worst = 0;
  for (let t = 0; t < fitted.length; t++) worst = Math.max(worst, Math.abs(fitted[t]! - exact[t]!));
  assert.ok(worst < 0.1, `max |G_fit - G_true| on the grid: ${worst}`);
});
