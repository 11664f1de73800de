import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/index.js';
import { packExperts } from '../src/experts/index.js';
import { runEM } from '../src/fitting/index.js';
import { SoftmaxGate } from '../src/gates/softmax.js';
import type { Gate } from '../src/gates/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { DEMYS } from './helpers.js';

/**
 * A plug-in gate that offers only the required contract (weights, log-weights, objective with
 * gradient): the softmax formulas without Hessian or Newton pass. The EM engine must fit it with
 * its L-BFGS M-step, unchanged, and reach the same maximum as the Newton M-step.
 */
class PlainSoftmax extends SoftmaxGate {
  constructor(k: number, d: number) {
    super(k, d);
    Object.assign(this, { hessian: undefined, newtonPass: undefined });
  }
}

test('runEM fits a gate without Hessian (L-BFGS M-step): monotone, and the same maximum as Newton', () => {
  const data = sample(DEMYS, 3000, new Rng(21));
  const start = { ...DEMYS, experts: DEMYS.experts.map((e) => ({ ...e, beta0: e.beta0 + 0.3, beta1: [e.beta1![0]! * 0.9], b: e.b + 0.1 })) };
  const run = (gate: Gate) => {
    const theta = gate.pack(start.experts, start.gate);
    const free = Int32Array.from([0, 2]); // beta0_1, beta1_1 (expert 2 is the reference)
    return runEM(data, { gate, theta, experts: packExperts(start.experts, 1), free }, { k: 2, gate: { type: 'softmax' }, scoreTol: 1e-9, maxIterations: 3000 }, new CpuBackend());
  };
  const plain = new PlainSoftmax(2, 1);
  assert.equal(plain.hessian, undefined);
  const viaLbfgs = run(plain);
  const viaNewton = run(new SoftmaxGate(2, 1));
  assert.equal(viaLbfgs.decreases, 0);
  for (let t = 1; t < viaLbfgs.trace.length; t++) assert.ok(viaLbfgs.trace[t]! >= viaLbfgs.trace[t - 1]! - 1e-10 * Math.abs(viaLbfgs.trace[t - 1]!));
  assert.equal(viaLbfgs.stopReason, 'converged');
  // both stop at T <= 1e-9 nats (T estimates the gap to the maximum), so the log-likelihoods agree far within 1e-8 relative
  assert.ok(Math.abs(viaLbfgs.loglik - viaNewton.loglik) < 1e-8 * Math.abs(viaNewton.loglik), `${viaLbfgs.loglik} vs ${viaNewton.loglik}`);
});
