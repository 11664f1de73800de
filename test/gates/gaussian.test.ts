/**
 * The gaussian gate (src/gates/gaussian.ts, CRPE-GMoE): its model-file form and errors, the exact
 * softmax form, sampling through the gate, the Voronoi losses on its gating atoms, and its
 * estimator. Normalisation, gradients and Hessians against central differences and monotone EM
 * come from the conformance suite through the registry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ModelError, NumericalError } from '../../src/errors.js';
import { createGate } from '../../src/gates/index.js';
import { densityDistance, fitMoE, logLikelihood, parameterErrors, parseModel, Rng, sample, voronoiLoss } from '../../src/index.js';
import { modelGate } from '../../src/models/model-gate.js';
import type { Model } from '../../src/models/types.js';
import { solveDamped } from '../../src/numerics/cholesky.js';

const TRUTH_JSON = {
  gate: { type: 'gaussian' },
  experts: [
    { beta0: Math.log(0.4), c: [-1], Gamma: [[0.25]], a: [2], b: 2, nu: 0.05 },
    { beta0: Math.log(0.6), c: [1], Gamma: [[0.5]], a: [-1], b: -2, nu: 0.05 },
  ],
  input: { type: 'uniform', low: -2, high: 2, dim: 1 },
};
const truth = parseModel(TRUTH_JSON);

/** G_i(x) from the formula pi_i N(x | c_i, Gamma_i) / sum_j pi_j N(x | c_j, Gamma_j) (d = 1). */
function gaussianWeights(m: Model, x: number): number[] {
  const v = m.experts.map((e) => Math.exp(e.beta0) * Math.exp(-((x - e.c![0]!) ** 2) / (2 * e.Gamma![0]![0]!)) / Math.sqrt(e.Gamma![0]![0]!));
  const s = v.reduce((a, b) => a + b, 0);
  return v.map((w) => w / s);
}

function weightsAt(m: Model, xs: number[]): Float64Array {
  const { gate, theta } = modelGate(m);
  const d = m.input.dim;
  const G = new Float64Array(xs.length / d * m.experts.length);
  gate.weights(theta, Float64Array.from(xs), xs.length / d, G);
  return G;
}

test('gaussian gate: a model file with c and Gamma parses, and G is the normalised pi_i N(x | c_i, Gamma_i)', () => {
  assert.deepEqual(truth.experts[0], { beta0: Math.log(0.4), c: [-1], Gamma: [[0.25]], a: [2], b: 2, nu: 0.05 });
  assert.ok(!Object.prototype.hasOwnProperty.call(truth.experts[0], 'beta1'), 'a gaussian expert has no beta1');
  const xs = [-2, -1, -0.3, 0, 0.7, 2];
  const G = weightsAt(truth, xs);
  xs.forEach((x, r) => gaussianWeights(truth, x).forEach((g, i) => assert.ok(Math.abs(G[r * 2 + i]! - g) < 1e-14, `x ${x}, expert ${i}`)));
});

test('gaussian gate, d = 2: full covariances give the mixture weights, and unpack(pack) returns c and Gamma', () => {
  const m = parseModel({
    gate: { type: 'gaussian' },
    experts: [
      { beta0: 0.2, c: [0.5, -0.5], Gamma: [[1, 0.3], [0.3, 0.5]], a: [1, 0], b: 0, nu: 0.1 },
      { beta0: 0, c: [-0.5, 0.5], Gamma: [[0.4, -0.1], [-0.1, 0.8]], a: [0, 1], b: 1, nu: 0.2 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 2 },
  });
  const x = [0.3, -0.2];
  const v = m.experts.map((e) => {
    const [[g00, g01], [, g11]] = e.Gamma! as [[number, number], [number, number]];
    const det = g00 * g11 - g01 * g01;
    const r0 = x[0]! - e.c![0]!;
    const r1 = x[1]! - e.c![1]!;
    const q = (g11 * r0 * r0 - 2 * g01 * r0 * r1 + g00 * r1 * r1) / det;
    return Math.exp(e.beta0 - 0.5 * Math.log(det) - 0.5 * q);
  });
  const G = weightsAt(m, x);
  v.forEach((w, i) => assert.ok(Math.abs(G[i]! - w / (v[0]! + v[1]!)) < 1e-14, `expert ${i}`));
  const gate = createGate({ type: 'gaussian' }, 2, 2);
  const back = gate.unpack(gate.pack(m.experts, m.gate)).gating!;
  back.forEach((g, i) => {
    assert.ok(!Object.prototype.hasOwnProperty.call(g, 'beta1'));
    g.c!.forEach((c, p) => assert.ok(Math.abs(c - m.experts[i]!.c![p]!) < 1e-15));
    g.Gamma!.forEach((row, p) => row.forEach((v, q) => assert.ok(Math.abs(v - m.experts[i]!.Gamma![p]![q]!) < 1e-15, `Gamma[${p}][${q}]`)));
  });
});

test('gaussian gate: the softmax form (beta0, beta1) is read exactly as Gamma = I, c = beta1', () => {
  const softmax = parseModel({ ...TRUTH_JSON, gate: { type: 'softmax' }, experts: [{ beta0: 1, beta1: [-3], a: [0], b: 0, nu: 1 }, { beta0: 0, beta1: [2], a: [0], b: 0, nu: 1 }] });
  const gauss = parseModel({ ...TRUTH_JSON, experts: softmax.experts });
  assert.deepEqual(gauss.experts[0], { beta0: 1 + 4.5, c: [-3], Gamma: [[1]], a: [0], b: 0, nu: 1 });
  const xs = [-2, -0.5, 0, 1.5];
  const a = weightsAt(softmax, xs);
  const b = weightsAt(gauss, xs);
  a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) < 1e-13, `entry ${j}: ${v} vs ${b[j]}`));
});

test('gaussian gate: model-file errors name the JSON path', () => {
  const bad = (edit: (m: any) => void, pattern: RegExp) => {
    const m = structuredClone(TRUTH_JSON) as any;
    edit(m);
    assert.throws(() => parseModel(m), (e: unknown) => e instanceof ModelError && pattern.test(e.message), String(pattern));
  };
  bad((m) => (m.experts[1].Gamma = [[-0.5]]), /^experts\[1\]\.Gamma: is not positive definite/);
  bad((m) => delete m.experts[0].Gamma, /^experts\[0\]\.Gamma: missing; every expert needs beta0, c, Gamma, a, b, nu/);
  bad((m) => (m.experts[0].c = [1, 2]), /^experts\[0\]\.c: has length 2; must have length 1/);
  bad((m) => (m.experts[1].beta1 = [1]), /^experts\[1\]\.beta1: given with c/);
  bad((m) => (m.experts[0].beta2 = 1), /^experts\[0\]\.beta2: unknown field/);
  bad((m) => {
    m.input.dim = 2;
    m.experts.forEach((e: any) => {
      e.c = [0, 0];
      e.a = [0, 0];
      e.Gamma = [[1, 0.5], [0.4, 1]];
    });
  }, /^experts\[0\]\.Gamma\[1\]\[0\]: 0\.4 differs from \[0\]\[1\] = 0\.5; must be symmetric/);
});

test('gaussian gate: sampled labels given x have the frequencies G(x) (binned, within 4.5 binomial standard errors)', () => {
  const n = 200_000;
  const data = sample(truth, n, new Rng(5));
  const G = new Float64Array(n * 2);
  const { gate, theta } = modelGate(truth);
  gate.weights(theta, data.X, n, G);
  const bins = 16;
  const count = new Float64Array(bins);
  const ones = new Float64Array(bins);
  const expected = new Float64Array(bins);
  const variance = new Float64Array(bins);
  for (let r = 0; r < n; r++) {
    const b = Math.min(bins - 1, Math.floor(((data.X[r]! + 2) / 4) * bins));
    const g = G[r * 2]!;
    count[b]!++;
    if (data.Z![r] === 0) ones[b]!++;
    expected[b] = expected[b]! + g;
    variance[b] = variance[b]! + g * (1 - g);
  }
  for (let b = 0; b < bins; b++) {
    // given X the labels are independent Bernoulli(G_0(x_r)): the count has mean sum G, variance sum G (1 - G)
    const z = Math.abs(ones[b]! - expected[b]!) / Math.sqrt(Math.max(variance[b]!, 1e-12));
    assert.ok(z < 4.5, `bin ${b}: ${ones[b]} labels 0 of ${count[b]}, expected ${expected[b]!.toFixed(1)} (z = ${z.toFixed(2)})`);
  }
  // and the density is the gate-weighted mixture (finite, the same through logLikelihood)
  assert.ok(Number.isFinite(logLikelihood(truth, data)));
});

/** The truth with expert `i`'s fields replaced. */
function edited(i: number, fields: Partial<Model['experts'][number]>): Model {
  return { ...truth, experts: truth.experts.map((e, j) => (j === i ? { ...e, ...fields } : e)) };
}

/** The d = 1 natural coordinates by hand: kappa = beta0 - log(Gamma)/2 - c^2/(2 Gamma), h = c/Gamma, P = 1/Gamma. */
function natural(e: Model['experts'][number]): { kappa: number; h: number; P: number } {
  const g = e.Gamma![0]![0]!;
  const c = e.c![0]!;
  return { kappa: e.beta0 - 0.5 * Math.log(g) - (c * c) / (2 * g), h: c / g, P: 1 / g };
}

/** A model whose every logit gains the quadratic t + s x - S x^2 / 2 (d = 1): the same G. */
function withCommonQuadratic(m: Model, t: number, s: number, S: number): Model {
  return {
    ...m,
    experts: m.experts.map((e) => {
      const n = natural(e);
      const P = n.P + S;
      const h = n.h + s;
      const kappa = n.kappa + t;
      const Gamma = 1 / P;
      const c = h / P;
      return { ...e, c: [c], Gamma: [[Gamma]], beta0: kappa + 0.5 * Math.log(Gamma) + (c * c) / (2 * Gamma) };
    }),
  };
}

test('gaussian gate: G is invariant under a common quadratic added to every logit (not only a beta0 shift), and the aligned loss removes it', () => {
  const moved = withCommonQuadratic(truth, 0.7, -0.8, 1.5);
  const xs = [-2, -1.1, 0, 0.4, 1.9];
  const G0 = weightsAt(truth, xs);
  const G1 = weightsAt(moved, xs);
  for (let r = 0; r < G0.length; r++) assert.ok(Math.abs(G0[r]! - G1[r]!) < 1e-13, `weight ${r}: ${G0[r]} vs ${G1[r]}`);
  assert.ok(Math.abs(moved.experts[0]!.c![0]! - truth.experts[0]!.c![0]!) > 0.1, 'c moved');
  const r = voronoiLoss(moved, truth);
  assert.ok(r.raw > 0.5, `raw ${r.raw}`);
  assert.ok(r.aligned < 1e-9, `aligned ${r.aligned}`);
  assert.equal(r.options.shift, 'full');
  // the aligning shift is minus the added quadratic in natural coordinates (h, P): t1 = (0.8, -1.5)
  assert.ok(Math.abs(r.shift.t1[0]! - 0.8) < 1e-6 && Math.abs(r.shift.t1[1]! + 1.5) < 1e-6, JSON.stringify(r.shift));
});

test('gaussian gate: D1 by hand in natural coordinates (kappa; h = Gamma^-1 c, P = Gamma^-1)', () => {
  const same = voronoiLoss(truth, truth);
  assert.equal(same.raw, 0);
  assert.equal(same.aligned, 0);
  // expert 0 moved in c and Gamma, expert 1 in a: D1 = |e^kappa'_0 - e^kappa_0| + e^kappa'_0 (|dh, dP|) + e^kappa_1 |da|
  const fit = edited(0, { c: [-0.9], Gamma: [[0.28]] });
  fit.experts[1] = { ...fit.experts[1]!, a: [-1.2] };
  const t0 = natural(truth.experts[0]!);
  const f0 = natural(fit.experts[0]!);
  const t1 = natural(truth.experts[1]!);
  const want = Math.abs(Math.exp(f0.kappa) - Math.exp(t0.kappa)) + Math.exp(f0.kappa) * Math.hypot(f0.h - t0.h, f0.P - t0.P) + Math.exp(t1.kappa) * 0.2;
  const r = voronoiLoss(fit, truth);
  assert.ok(Math.abs(r.raw - want) < 1e-13, `D1 ${r.raw} against ${want}`);
  assert.deepEqual(r.cells, [[0], [1]]);
  // per-parameter errors: the gating block (named beta1) is ||(dh, dP)|| (raw, no shift)
  assert.ok(Math.abs(r.errors.raw[0]!.beta1! - Math.hypot(f0.h - t0.h, f0.P - t0.P)) < 1e-13);
  assert.ok(Math.abs(r.errors.raw[1]!.a! - 0.2) < 1e-14);
  // a common shift of beta0 aligns to 0 as well, and density distances take the gate
  const shifted: Model = { ...truth, experts: truth.experts.map((e) => ({ ...e, beta0: e.beta0 + 1.5 })) };
  assert.ok(voronoiLoss(shifted, truth).aligned < 1e-12);
  assert.equal(densityDistance(truth, truth, { seed: 1 }).tv, 0);
});

test('gaussian gate: a split cell (D2) needs exponents.multi (no encoded over-specified theorem); with them the loss is the formula', () => {
  const half = truth.experts[0]!.beta0 - Math.log(2);
  const split: Model = {
    ...truth,
    experts: [{ ...truth.experts[0]!, beta0: half, c: [-0.8] }, { ...truth.experts[0]!, beta0: half, c: [-1.2] }, truth.experts[1]!],
  };
  assert.throws(
    () => voronoiLoss(split, truth, { shift: 'none' }),
    (e: unknown) => e instanceof NumericalError && /the Voronoi cell of true atom 0 holds fitted atoms \[0,1\].*pass exponents\.multi/.test(e.message),
  );
  const r = voronoiLoss(split, truth, { shift: 'none', exponents: { multi: { beta1: 2, a: 2, b: 2, nu: 2 } } });
  const t0 = natural(truth.experts[0]!);
  const [p, q] = [natural(split.experts[0]!), natural(split.experts[1]!)];
  const mass = Math.abs(Math.exp(p.kappa) + Math.exp(q.kappa) - Math.exp(t0.kappa));
  const want = mass + Math.exp(p.kappa) * ((p.h - t0.h) ** 2 + (p.P - t0.P) ** 2) + Math.exp(q.kappa) * ((q.h - t0.h) ** 2 + (q.P - t0.P) ** 2);
  assert.ok(Math.abs(r.raw - want) < 1e-13, `D2 ${r.raw} against ${want}`);
});

test('gaussian gate: the losses refuse a truth of another gating kind and a shift of the wrong length, naming the field', () => {
  assert.throws(
    () => parameterErrors(truth, truth, { shift: { t0: 0, t1: [1] } }),
    (e: unknown) => e instanceof ConfigError && /^parameterErrors: shift\.t1: not 2 finite numbers/.test(e.message),
  );
  const softmax = parseModel({ ...TRUTH_JSON, gate: { type: 'softmax' }, experts: TRUTH_JSON.experts.map(({ beta0, a, b, nu }) => ({ beta0, beta1: [0], a, b, nu })) });
  assert.throws(
    () => voronoiLoss(truth, softmax),
    (e: unknown) => e instanceof ModelError && /^voronoiLoss: fit\.gate\.type: its experts' gating fields \(beta0, c, Gamma\) differ from truth\.gate's \(beta0, beta1\)/.test(e.message),
  );
  assert.throws(() => voronoiLoss(edited(0, { c: [NaN] }), truth), (e: unknown) => e instanceof ModelError && /fit\.experts\[0\]/.test(e.message));
});

test('gaussian gate, d = 2: a random (k-means) start gives positive definite covariances and a finite fit', () => {
  const m = parseModel({
    gate: { type: 'gaussian' },
    experts: [
      { beta0: 0, c: [0.5, 0.5], Gamma: [[0.1, 0.02], [0.02, 0.1]], a: [2, 0], b: 1, nu: 0.05 },
      { beta0: 0, c: [-0.5, -0.5], Gamma: [[0.2, 0], [0, 0.1]], a: [0, -2], b: -1, nu: 0.05 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 2 },
  });
  const data = sample(m, 2000, new Rng(3));
  const fit = fitMoE(data, { k: 2, gate: { type: 'gaussian' }, maxIterations: 500 }, { type: 'random', seed: 4, restarts: 2 });
  assert.ok(Number.isFinite(fit.fit.loglik));
  for (const e of fit.model.experts) {
    const [[g00, g01], [g10, g11]] = e.Gamma! as [[number, number], [number, number]];
    assert.ok(g00 > 0 && g00 * g11 - g01 * g10 > 0 && g01 === g10, JSON.stringify(e.Gamma));
  }
  // the fitted model is a model file of the gate: it parses back to itself
  assert.deepEqual(parseModel(JSON.parse(JSON.stringify({ gate: fit.model.gate, experts: fit.model.experts, input: fit.model.input }))).experts, fit.model.experts);
});

test('gaussian gate estimator (d = 1, k = 2, n = 5000, near-truth start): converges, L(fit) >= L(truth), and G on a grid within 4 delta-method standard errors', () => {
  const n = 5000;
  const data = sample(truth, n, new Rng(17));
  const result = fitMoE(data, { k: 2, gate: { type: 'gaussian' }, maxIterations: 5000 }, { type: 'nearTruth', truth, noise: 0.1, seed: 18 });
  assert.equal(result.fit.stopReason, 'converged');
  const Lfit = logLikelihood(result.model, data);
  const Ltruth = logLikelihood(truth, data);
  assert.ok(Lfit >= Ltruth, `L(fit) ${Lfit} < L(truth) ${Ltruth}`);
  // expert order: the near-truth map may swap the experts; align by the centres
  const fit = result.model.experts[0]!.c![0]! < result.model.experts[1]!.c![0]! ? result.model : { ...result.model, experts: [...result.model.experts].reverse() };

  // Standard error of G_0(x): the delta method on the gating block of the information. With the
  // experts far apart in y (nu = 0.05) the labels are nearly observed, so the gating parameters'
  // information is that of the complete-data gate objective: -H(theta) of Q at the fit with the
  // fitted responsibilities R (gate.hessian). The last beta0 is pinned (the shift invariance);
  // se(x)^2 = g' (-H_free)^-1 g with g = dG_0(x)/dtheta_free by central differences.
  const { gate, theta } = modelGate(fit);
  for (let i = 0; i < 2; i++) theta[i] = theta[i]! - theta[1]!;
  const k = 2;
  const G = new Float64Array(n * k);
  gate.weights(theta, data.X, n, G);
  const R = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) {
      const e = fit.experts[i]!;
      const res = data.Y[r]! - (e.a[0]! * data.X[r]! + e.b);
      s += R[r * k + i] = G[r * k + i]! * Math.exp(-(res * res) / (2 * e.nu)) / Math.sqrt(e.nu);
    }
    for (let i = 0; i < k; i++) R[r * k + i] = R[r * k + i]! / s;
  }
  const P = gate.nParams;
  const H = new Float64Array(P * P);
  gate.hessian!(theta, data.X, n, G, H, R);
  const free = Array.from({ length: P }, (_, j) => j).filter((j) => j !== 1);
  const m = free.length;
  const info = new Float64Array(m * m);
  free.forEach((a, p) => free.forEach((b, q) => (info[p * m + q] = -H[a * P + b]!)));
  const weight0 = (t: Float64Array, x: number) => {
    const out = new Float64Array(k);
    gate.weights(t, Float64Array.of(x), 1, out);
    return out[0]!;
  };
  for (let x = -2; x <= 2 + 1e-9; x += 0.25) {
    const g = new Float64Array(m);
    free.forEach((j, p) => {
      const h = 1e-6;
      const tp = theta.slice();
      const tm = theta.slice();
      tp[j] = tp[j]! + h;
      tm[j] = tm[j]! - h;
      g[p] = (weight0(tp, x) - weight0(tm, x)) / (2 * h);
    });
    const v = solveDamped(info, g, m);
    let se2 = 0;
    for (let p = 0; p < m; p++) se2 += g[p]! * v[p]!;
    const se = Math.sqrt(Math.max(se2, 0));
    const err = Math.abs(weight0(theta, x) - gaussianWeights(truth, x)[0]!);
    // 4 standard errors: a two-sided normal tail of 6e-5 per point, 17 correlated points; the
    // floor 1e-6 covers points where G is 0 or 1 to rounding (se ~ 0)
    assert.ok(err <= 4 * se + 1e-6, `x = ${x}: |G_fit - G_true| = ${err.toExponential(3)} > 4 se = ${(4 * se).toExponential(3)}`);
  }
});
