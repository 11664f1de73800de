import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVATION_FUNCTIONS, createGate, GATE_TYPES, gateDefinition, normalCdf } from '../src/gates/index.js';
import type { Gate } from '../src/gates/index.js';
import { ACTIVATIONS, type GateSpec } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { centralDifference, keptResponsibilities, maxRelativeError } from './helpers.js';

const k = 3;
const n = 300;

function inputs(d: number, seed = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n * d }, () => -1 + 2 * rng.uniform());
}

/** Inputs with |beta1_i . x| > 1e-3 for every expert (finite differences do not cross a kink). */
function inputsAwayFromKinks(theta: Float64Array, d: number): Float64Array {
  const rng = new Rng(11);
  const X = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    for (;;) {
      for (let p = 0; p < d; p++) X[r * d + p] = -1 + 2 * rng.uniform();
      let ok = true;
      for (let i = 0; i < k; i++) {
        let v = 0;
        for (let p = 0; p < d; p++) v += theta[k + i * d + p]! * X[r * d + p]!;
        if (Math.abs(v) < 1e-3) ok = false;
      }
      if (ok) break;
    }
  }
  return X;
}

function randomTheta(gate: Gate, seed = 2): Float64Array {
  const rng = new Rng(seed);
  const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
  if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = Math.log(0.7);
  return theta;
}

/** Responsibilities that are zero exactly where the gate drops an expert (so Q is finite). */
function responsibilities(gate: Gate, theta: Float64Array, X: Float64Array, seed = 3): Float64Array {
  return keptResponsibilities(gate, theta, X, n, seed);
}

/** Every registered gate's examples (a new gate in the registry is covered here, unedited). */
const ALL_GATES: { name: string; spec: GateSpec; tau?: 'free' }[] = GATE_TYPES.flatMap((type) =>
  gateDefinition(type)
    .examples(k)
    .map(({ spec, tau }) => ({
      name: `${type} ${gateDefinition(type).describe(spec as never)}${tau === 'free' ? ' tau free' : ''}`,
      spec: spec as GateSpec,
      ...(tau === 'free' ? { tau: 'free' as const } : {}),
    })),
);

for (const d of [1, 2]) {
  for (const { name, spec, tau } of ALL_GATES) {
    test(`gate ${name} (d=${d}): weights rows sum to 1 and logWeights = log(weights)`, () => {
      const gate = createGate(spec, k, d, { tau });
      const X = inputs(d);
      const theta = randomTheta(gate);
      const G = new Float64Array(n * k);
      const L = new Float64Array(n * k);
      gate.weights(theta, X, n, G);
      gate.logWeights(theta, X, n, L);
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let i = 0; i < k; i++) {
          s += G[r * k + i]!;
          const expected = Math.log(G[r * k + i]!);
          if (G[r * k + i] === 0) assert.equal(L[r * k + i], -Infinity);
          else assert.ok(Math.abs(L[r * k + i]! - expected) <= 1e-12 * (1 + Math.abs(expected)));
        }
        assert.ok(Math.abs(s - 1) < 1e-14, `row ${r} sums to ${s}`);
      }
    });

    test(`gate ${name} (d=${d}): objective gradient matches central differences`, () => {
      const gate = createGate(spec, k, d, { tau });
      const theta = randomTheta(gate);
      // relu is not differentiable at beta1.x = 0: keep the points away from its kinks
      const X = spec.type === 'activation' && spec.activation === 'relu' ? inputsAwayFromKinks(theta, d) : inputs(d);
      const R = responsibilities(gate, theta, X);
      const grad = new Float64Array(gate.nParams);
      const q = gate.objective(theta, X, n, R, grad, null);
      assert.ok(Number.isFinite(q));
      const fd = centralDifference((t) => gate.objective(t, X, n, R, null, null), theta);
      // central differences: truncation O(h^2) ~ 1e-10, rounding ~ eps |Q| / h ~ 1e-16 * 300 / 1e-5
      // = 3e-9, relative to gradients of size ~1-100: 1e-6 leaves a wide margin and still fails
      // on any wrong term (those are O(1) relative errors).
      assert.ok(maxRelativeError(grad, fd) < 1e-6, `analytic ${Array.from(grad)} vs fd ${Array.from(fd)}`);
    });

    test(`gate ${name} (d=${d}): Q at theta equals sum R log G`, () => {
      const gate = createGate(spec, k, d, { tau });
      const X = inputs(d);
      const theta = randomTheta(gate);
      const R = responsibilities(gate, theta, X);
      const L = new Float64Array(n * k);
      gate.logWeights(theta, X, n, L);
      let expected = 0;
      for (let t = 0; t < n * k; t++) if (R[t]! > 0) expected += R[t]! * L[t]!;
      const q = gate.objective(theta, X, n, R, null, null);
      assert.ok(Math.abs(q - expected) < 1e-10 * (Math.abs(expected) + 1), `${q} vs ${expected}`);
    });
  }
}

for (const { name, spec, tau } of ALL_GATES) {
  test(`gate ${name}: hessian matches central differences of the gradient`, () => {
    const gate = createGate(spec, k, 2, { tau });
    assert.ok(gate.hessian, 'every shipped gate has a Hessian');
    const theta = randomTheta(gate);
    const X = spec.type === 'activation' && spec.activation === 'relu' ? inputsAwayFromKinks(theta, 2) : inputs(2);
    const G = new Float64Array(n * k);
    // responsibilities summing to 1 (the Hessian assumes rows of R sum to 1)
    const R = responsibilities(gate, theta, X);
    gate.weights(theta, X, n, G);
    const H = new Float64Array(gate.nParams ** 2);
    gate.hessian!(theta, X, n, G, H, R);
    const P = gate.nParams;
    for (let j = 0; j < P; j++) {
      const column = centralDifference((t) => {
        const g = new Float64Array(P);
        gate.objective(t, X, n, R, g, null);
        return g[j]!;
      }, theta);
      const row = H.subarray(j * P, j * P + P);
      // as for the gradient: O(h^2) truncation and eps |grad| / h rounding, far below 1e-5
      assert.ok(maxRelativeError(row, column) < 1e-5, `row ${j}: ${Array.from(row)} vs ${Array.from(column)}`);
    }
  });
}

test('topk with K = k equals softmax', () => {
  const X = inputs(2);
  const soft = createGate({ type: 'softmax' }, k, 2);
  const top = createGate({ type: 'topk', K: k, rankBy: 'slope' }, k, 2);
  const theta = randomTheta(soft);
  const A = new Float64Array(n * k);
  const B = new Float64Array(n * k);
  soft.weights(theta, X, n, A);
  top.weights(theta, X, n, B);
  assert.deepEqual(B, A);
});

test('temperature with tau = 1 equals softmax', () => {
  const X = inputs(2);
  const soft = createGate({ type: 'softmax' }, k, 2);
  const temp = createGate({ type: 'temperature', tau: 1 }, k, 2);
  const theta = randomTheta(soft);
  const A = new Float64Array(n * k);
  const B = new Float64Array(n * k);
  soft.weights(theta, X, n, A);
  temp.weights(theta, X, n, B);
  assert.deepEqual(B, A);
});

test('topk gives exact zeros: K nonzero weights per row, the K largest beta1.x', () => {
  const gate = createGate({ type: 'topk', K: 2, rankBy: 'slope' }, 4, 1);
  const theta = Float64Array.from([5, 0, -5, 1, /* beta1 */ -4, 4, 0, 1]);
  const X = Float64Array.from([-1, -0.5, 0.5, 1]);
  const G = new Float64Array(16);
  gate.weights(theta, X, 4, G);
  for (let r = 0; r < 4; r++) {
    const row = Array.from(G.subarray(r * 4, r * 4 + 4));
    assert.equal(row.filter((g) => g > 0).length, 2);
    assert.equal(row.filter((g) => g === 0).length, 2);
  }
  // x < 0: slopes -4 and 0 rank highest (experts 0 and 2); x > 0: experts 1 and 3
  assert.ok(G[0]! > 0 && G[2]! > 0 && G[1] === 0 && G[3] === 0);
  assert.ok(G[13]! > 0 && G[15]! > 0 && G[12] === 0 && G[14] === 0);
});

test('topk ties go to the lower index; rankBy logit includes beta0', () => {
  // all slopes equal: ranking by slope ties everywhere -> experts 0 and 1 kept
  const slope = createGate({ type: 'topk', K: 2, rankBy: 'slope' }, 3, 1);
  const theta = Float64Array.from([-3, -2, 5, 1, 1, 1]);
  const G = new Float64Array(3);
  slope.weights(theta, Float64Array.of(0.3), 1, G);
  assert.ok(G[0]! > 0 && G[1]! > 0 && G[2] === 0);
  // by logit, expert 2 (beta0 = 5) is kept, with expert 1 (the larger of the other two)
  const logit = createGate({ type: 'topk', K: 2, rankBy: 'logit' }, 3, 1);
  logit.weights(theta, Float64Array.of(0.3), 1, G);
  assert.ok(G[0] === 0 && G[1]! > 0 && G[2]! > 0);
});

test('topk objective is -Infinity when a dropped expert has positive responsibility', () => {
  const gate = createGate({ type: 'topk', K: 1, rankBy: 'slope' }, 2, 1);
  const theta = Float64Array.from([0, 0, 1, -1]);
  const R = Float64Array.from([0.5, 0.5]);
  assert.equal(gate.objective(theta, Float64Array.of(0.5), 1, R, null, null), -Infinity);
});

test('softmax weights stay finite for logits of +-1000 and log-weights keep their exact value', () => {
  const gate = createGate({ type: 'softmax' }, 2, 1);
  const theta = Float64Array.from([0, 0, 1000, -1000]);
  const G = new Float64Array(2);
  const L = new Float64Array(2);
  gate.weights(theta, Float64Array.of(1), 1, G);
  gate.logWeights(theta, Float64Array.of(1), 1, L);
  assert.deepEqual(Array.from(G), [1, 0]);
  assert.equal(L[0], 0);
  assert.equal(L[1], -2000); // not -Infinity: log-sum-exp keeps it
});

test('temperature gate: weights are invariant along the ray c (beta0, beta1, tau)', () => {
  const gate = createGate({ type: 'temperature', tau: 0.5 }, k, 2, { tau: 'free' });
  const X = inputs(2);
  const theta = randomTheta(gate);
  const scaled = theta.map((v, j) => (j === gate.logTauIndex ? v + Math.log(3) : 3 * v));
  const A = new Float64Array(n * k);
  const B = new Float64Array(n * k);
  gate.weights(theta, X, n, A);
  gate.weights(scaled, X, n, B);
  assert.ok(maxRelativeError(A, B, 1e-300) < 1e-12);
});

for (const activation of ACTIVATIONS) {
  test(`activation ${activation}: sigma' and sigma'' match central differences`, () => {
    const f = ACTIVATION_FUNCTIONS[activation];
    for (const v of [-2.3, -0.7, 0.4, 1.1, 3.2]) {
      const h = 1e-5;
      const d1 = (f.value(v + h) - f.value(v - h)) / (2 * h);
      const d2 = (f.derivative(v + h) - f.derivative(v - h)) / (2 * h);
      assert.ok(Math.abs(d1 - f.derivative(v)) < 1e-8, `${activation}' at ${v}`);
      assert.ok(Math.abs(d2 - f.second(v)) < 1e-8, `${activation}'' at ${v}`);
    }
  });
}

test('normalCdf matches reference values (R: pnorm) in the centre and both tails', () => {
  // values from R 4.x: pnorm(c(-8, -3, -1, 0, 0.5, 2, 6))
  const cases: [number, number][] = [
    [-8, 6.220960574271785e-16],
    [-3, 0.0013498980316301],
    [-1, 0.15865525393145707],
    [0, 0.5],
    [0.5, 0.6914624612740131],
    [2, 0.9772498680518208],
    [6, 0.9999999990134123],
  ];
  for (const [v, p] of cases) assert.ok(Math.abs(normalCdf(v) - p) <= 1e-14 * Math.max(p, 1e-300) + 1e-16, `pnorm(${v})`);
});

test('createGate rejects tau "free" for a gate without a temperature', () => {
  assert.throws(() => createGate({ type: 'softmax' }, 2, 1, { tau: 'free' }), /tau: "free" needs a gate with a temperature/);
});
