/**
 * Issue 12, item 4: the generated gate kernels overflowed the stack at 284+ experts (`internal
 * error: Maximum call stack size exceeded` in sample and fit). Large k now runs the plain-loop
 * kernel, which computes the generated kernel's numbers bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGate } from '../../src/gates/index.js';
import { generatedLocals, MAX_GENERATED_LOCALS, newtonKernel, newtonLoop, newtonSource, type NewtonKernel } from '../../src/gates/linear-kernel.js';
import { Rng } from '../../src/rng/rng.js';
import { cli, tempDir } from './helpers.js';

const VARIANTS = ['evaluate', 'fromWeights', 'weights'] as const;

function inputs(k: number, d: number, n: number, seed: number) {
  const rng = new Rng(seed);
  const P = k + k * d;
  const theta = Float64Array.from({ length: P }, () => rng.normal());
  const X = Float64Array.from({ length: n * d }, () => 2 * rng.uniform() - 1);
  const R = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += R[r * k + i] = rng.uniform() < 0.3 ? 0 : rng.uniform();
    for (let i = 0; i < k; i++) R[r * k + i] = s > 0 ? R[r * k + i]! / s : 1 / k;
  }
  return { theta, X, R, P };
}

function runKernel(kernel: NewtonKernel, k: number, d: number, n: number, seed: number, G0?: Float64Array) {
  const { theta, X, R, P } = inputs(k, d, n, seed);
  const G = G0 ? Float64Array.from(G0) : new Float64Array(n * k);
  const grad = new Float64Array(P);
  const H = new Float64Array(P * P);
  const pass = kernel(theta, X, n, R, G, grad, H, 0.7);
  return { pass, G, grad, H };
}

test('newtonLoop computes what the generated kernel computes, bit for bit (k, d, top-K, every variant)', () => {
  const cases: [number, number, number, 'slope' | 'logit'][] = [
    [1, 1, 1, 'slope'], [2, 1, 2, 'slope'], [3, 2, 3, 'slope'], [4, 3, 2, 'slope'], [5, 1, 3, 'logit'], [6, 2, 1, 'logit'],
  ];
  for (const [k, d, K, rankBy] of cases) {
    const n = 37;
    const weights = runKernel(newtonLoop(k, d, K, rankBy, 'weights'), k, d, n, 1).G;
    for (const variant of VARIANTS) {
      const generated = new Function('theta', 'X', 'n', 'R', 'G', 'grad', 'H', 'scale', newtonSource(k, d, K, rankBy, variant)) as NewtonKernel;
      const G0 = variant === 'fromWeights' ? weights : undefined;
      const a = runKernel(generated, k, d, n, 1, G0);
      const b = runKernel(newtonLoop(k, d, K, rankBy, variant), k, d, n, 1, G0);
      const label = `k=${k} d=${d} K=${K} ${rankBy} ${variant}`;
      assert.deepEqual([...a.G], [...b.G], label);
      if (variant !== 'weights') {
        assert.deepEqual([...a.grad], [...b.grad], label);
        assert.deepEqual([...a.H], [...b.H], label);
        assert.ok(Object.is(a.pass.linear, b.pass.linear), label);
      }
      assert.ok(Object.is(a.pass.lseSum, b.pass.lseSum) || (Number.isNaN(a.pass.lseSum) && Number.isNaN(b.pass.lseSum)), label);
    }
  }
});

test('large k runs the loop kernel: gate weights and the Newton pass at k = 300 (no stack overflow)', () => {
  assert.ok(generatedLocals(300, 1, 'evaluate') > MAX_GENERATED_LOCALS);
  assert.ok(generatedLocals(8, 3, 'evaluate') <= MAX_GENERATED_LOCALS, 'small k keeps the unrolled kernel');
  for (const spec of [{ type: 'softmax' as const }, { type: 'topk' as const, K: 5, rankBy: 'slope' as const }, { type: 'temperature' as const, tau: 0.5 }]) {
    const k = 300;
    const gate = createGate(spec, k, 1);
    const n = 20;
    const { theta, X, R } = inputs(k, 1, n, 2);
    const G = new Float64Array(n * k);
    gate.weights(theta.subarray(0, gate.nParams), X, n, G);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += G[r * k + i]!;
      assert.ok(Math.abs(s - 1) < 1e-12, `${spec.type}: weights sum to ${s}`);
    }
    const grad = new Float64Array(gate.nParams);
    const H = new Float64Array(gate.nParams * gate.nParams);
    const pass = gate.newtonPass!(theta.subarray(0, gate.nParams), X, n, R, G, grad, H, 'evaluate');
    assert.ok(Number.isFinite(pass.lseSum));
    assert.ok(grad.every(Number.isFinite) && H.every(Number.isFinite));
  }
  // the kernel cache hands out the loop kernel
  assert.doesNotThrow(() => newtonKernel(400, 2, 400, 'slope', 'evaluate'));
});

test('gatelab sample with 300 experts draws its sample (was: internal error, maximum call stack)', async () => {
  const dir = tempDir('large-k');
  const experts = Array.from({ length: 300 }, (_, i) => ({ beta0: 0, beta1: [i / 100], a: [1], b: i, nu: 1 }));
  const model = join(dir, 'big.json');
  writeFileSync(model, JSON.stringify({ gate: { type: 'softmax' }, experts }));
  const r = await cli('sample', '--model', model, '--n', '500', '--seed', '1', '--backend', 'cpu');
  assert.equal(r.code, 0, r.err);
  const rows = r.out.trim().split('\n');
  assert.equal(rows.length, 501);
  assert.ok(rows.slice(1).every((line) => /^[-\d.e]+,[-\d.e]+,\d+$/.test(line)));
});
