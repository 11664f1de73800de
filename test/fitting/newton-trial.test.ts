/**
 * The gate Newton M-step asks for a trial point's gradient and Hessian only where a later step
 * reads them (gate-mstep.ts): the last step's trials run the cheaper 'trial' pass (G, linear,
 * lseSum). That pass computes the same numbers as 'evaluate' (the kernels' conformance tests), so
 * an EM run must give the same iterates, bit for bit, as one that runs 'evaluate' for every trial:
 * this checks the estimator, not only the kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend, type CpuKernels } from '../../src/backend/index.js';
import { fitMoE, packMle, packState, runEM } from '../../src/fitting/index.js';
import type { FitOptions } from '../../src/fitting/index.js';
import { DEMYS_MODEL } from '../../src/models/index.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';

/** A CPU backend counting its Newton pass variants, optionally answering 'trial' with 'evaluate'. */
class CountingBackend extends CpuBackend {
  readonly count: Record<string, number> = {};
  constructor(kernels: CpuKernels, private readonly alwaysEvaluate: boolean) {
    super({ kernels });
  }
  override gateNewtonPass(...args: Parameters<CpuBackend['gateNewtonPass']>): ReturnType<CpuBackend['gateNewtonPass']> {
    const [gate, theta, X, n, R, G, grad, H, variant] = args;
    const v = this.alwaysEvaluate && variant === 'trial' ? 'evaluate' : variant;
    this.count[v] = (this.count[v] ?? 0) + 1;
    return super.gateNewtonPass(gate, theta, X, n, R, G, grad, H, v);
  }
}

for (const kernels of ['js', 'wasm'] as const) {
  for (const gateSteps of [1, 2]) {
    test(`EM iterates are the same bit for bit with 'trial' passes as with 'evaluate' ones (${kernels} kernels, gateSteps ${gateSteps}, k = 3)`, () => {
      const data = sample(DEMYS_MODEL, 3001, new Rng(5));
      const start = fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: 0 }, { type: 'nearTruth', truth: DEMYS_MODEL, noise: 0.3, seed: 9 }).model;
      const options: FitOptions = { k: 3, gate: { type: 'softmax' }, accelerate: 'none', gateSteps, maxIterations: 25 };
      const runs = [false, true].map((alwaysEvaluate) => {
        const backend = new CountingBackend(kernels, alwaysEvaluate);
        const state = packState(start, options);
        const result = runEM(data, state, options, backend);
        return { result, vector: packMle(state), count: backend.count };
      });
      const [fast, reference] = runs as [(typeof runs)[0], (typeof runs)[0]];
      assert.ok((fast.count.trial ?? 0) > 0, `the last steps' trials ran 'trial' passes: ${JSON.stringify(fast.count)}`);
      assert.equal(reference.count.trial, undefined);
      if (gateSteps > 1) assert.ok((fast.count.evaluate ?? 0) > 0, `earlier steps' trials kept 'evaluate': ${JSON.stringify(fast.count)}`);
      assert.deepEqual(fast.result.trace, reference.result.trace);
      assert.deepEqual(fast.vector, reference.vector);
      assert.equal(fast.result.iterations, reference.result.iterations);
    });
  }
}
