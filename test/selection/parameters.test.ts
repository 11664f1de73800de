/**
 * Parameter counts of every registered gate: the expected counts are written out by hand per gate
 * (so a new gate fails here until its count is stated), and each is checked against the numerical
 * rank of the Jacobian of the gate weights in the packed parameters (identifiability 'free', so
 * that nothing is pinned by convention): the count is the number of identifiable directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SingularValueDecomposition, Matrix } from 'ml-matrix';
import { createGate, GATE_TYPES, gateDefinition, type GateSpec } from '../../src/gates/index.js';
import { gateParameterCount } from '../../src/gates/parameters.js';
import { parameterCount } from '../../src/selection/parameters.js';
import { Rng } from '../../src/rng/index.js';

test('a softmax gate with a reference expert, k = 3, d = 1, has 13 free parameters (gate 4, experts 9)', () => {
  const c = parameterCount({ type: 'softmax' }, 3, 1);
  assert.deepEqual([c.gate, c.experts, c.total], [4, 9, 13]);
  assert.equal(parameterCount({ type: 'softmax' }, 3, 2).total, 2 * 3 + 3 * 3 + 3);
  // one expert: the gate is the constant 1
  assert.equal(parameterCount({ type: 'softmax' }, 1, 1).total, 3);
});

// hand counts at k = 3, d = 1 (reference convention) per registered gate and tau mode
const EXPECTED: Record<string, (spec: GateSpec, tau: 'known' | 'free') => number> = {
  softmax: () => 4, // 2 (1 + d)
  topk: () => 4, // K and rankBy are fixed settings: not counted
  temperature: () => 4, // a known tau is fixed; a free tau lies on the invariant ray: 0
  // beta0 shift 1, beta1_k = 0 pinned; a free tau counts 1, except for a homogeneous sigma (its ray)
  activation: (s, tau) => (tau === 'free' && s.type === 'activation' && s.activation !== 'identity' && s.activation !== 'relu' ? 5 : 4),
  sigmoid: () => 6, // no invariance: every beta0, beta1
  gaussian: () => 6, // beta0, c, Gamma (9) less a common quadratic in x added to every logit (3)
};

test('every registered gate has a stated count, and gateParameterCount gives it (k = 3, d = 1)', () => {
  for (const type of GATE_TYPES) {
    assert.ok(EXPECTED[type], `no hand count for the gate ${type}: add it to EXPECTED`);
    for (const ex of gateDefinition(type).examples(3)) {
      const spec = ex.spec as GateSpec;
      assert.equal(gateParameterCount(spec, 3, 1, { tau: ex.tau }).free, EXPECTED[type]!(spec, ex.tau), `${JSON.stringify(spec)}, tau ${ex.tau}`);
      assert.equal(gateParameterCount(spec, 1, 1, { tau: ex.tau }).free, 0, `${type}: one expert`);
    }
  }
});

/**
 * Numerical rank of dG/dtheta over many inputs (central differences; relative singular value cut
 * 1e-7), over the coordinates a fit moves: the reference convention's pinned ones (the last
 * expert's beta0 where every beta0 may shift, its beta1 where the trait pins it) left out.
 */
function weightJacobianRank(spec: GateSpec, k: number, d: number, tau: 'known' | 'free'): number {
  const gate = createGate(spec, k, d, { tau });
  const { reference } = gateDefinition(spec.type).traits;
  const pinned = new Set<number>();
  if (reference.beta0 === 'shift') pinned.add(k - 1);
  if (reference.beta1 !== 'none') for (let p = 0; p < d; p++) pinned.add(k + (k - 1) * d + p);
  const columns = Array.from({ length: gate.nParams }, (_, j) => j).filter((j) => !pinned.has(j));
  const rng = new Rng(5);
  const n = 200;
  const X = Float64Array.from({ length: n * d }, () => rng.uniform() * 2 - 1);
  // the pinned coordinates at 0, as a fit holds them
  const theta = Float64Array.from({ length: gate.nParams }, (_, j) => (pinned.has(j) ? 0 : rng.normal() * 0.7));
  const rows = n * k;
  const J = new Matrix(rows, columns.length);
  const Gp = new Float64Array(rows);
  const Gm = new Float64Array(rows);
  for (const [c, j] of columns.entries()) {
    const h = 1e-5;
    const tp = theta.slice();
    const tm = theta.slice();
    tp[j] = tp[j]! + h;
    tm[j] = tm[j]! - h;
    gate.weights(tp, X, n, Gp);
    gate.weights(tm, X, n, Gm);
    for (let r = 0; r < rows; r++) J.set(r, c, (Gp[r]! - Gm[r]!) / (2 * h));
  }
  const s = new SingularValueDecomposition(J, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
  const top = Math.max(...s);
  return s.filter((v) => v > 1e-7 * top).length;
}

test('the count equals the rank of the Jacobian of the gate weights in the coordinates a fit moves (reference convention)', () => {
  for (const type of GATE_TYPES) {
    for (const ex of gateDefinition(type).examples(3)) {
      const spec = ex.spec as GateSpec;
      // top-1: the weights are 0 or 1, so dG/dtheta = 0 almost everywhere; its parameters act only
      // through the selection boundary (a point where the regularity behind BIC fails; docs/selection.md)
      if (spec.type === 'topk' && spec.K === 1) continue;
      const count = gateParameterCount(spec, 3, 1, { tau: ex.tau }).free;
      assert.equal(count, weightJacobianRank(spec, 3, 1, ex.tau), `${JSON.stringify(spec)}, tau ${ex.tau}`);
    }
  }
});
