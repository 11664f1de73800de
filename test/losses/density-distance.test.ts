import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erf } from 'mathjs';
import { densityDistance, type LogWeightsFn } from '../../src/losses/index.js';
import { modelLogWeights } from '../../src/models/model-gate.js';
import { ConfigError, ModelError } from '../../src/errors.js';
import type { Model } from '../../src/models/types.js';
import { demys, frozen, withExperts } from './fixtures.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/** One-expert model N(a x + b, nu) with the given input (the gate weight is 1). */
function single(b: number, nu: number, a = 0, input: Model['input'] = { type: 'uniform', low: 0, high: 1, dim: 1 }): Model {
  const d = input.dim;
  return { gate: { type: 'softmax' }, experts: [{ beta0: 0, beta1: new Array(d).fill(0), a: [a, ...new Array(d - 1).fill(0)], b, nu }], input };
}

/** A fit near the [DEMYS] truth. */
function nearDemys(): Model {
  return withExperts(demys(), [
    { beta0: -7.5, beta1: [24], a: [-19.5], b: 14.8, nu: 0.1 },
    { beta0: 0, beta1: [0], a: [20.3], b: -5.1, nu: 0.15 },
  ]);
}

test('densityDistance(truth, truth) is 0 with zero standard errors (mc and quadrature)', () => {
  const t = frozen(demys());
  assert.deepEqual(densityDistance(t, t, { seed: 1, nx: 200 }), { hellinger: 0, tv: 0, hellingerSE: 0, tvSE: 0, nx: 200, method: 'mc' });
  const q = densityDistance(t, t, { method: 'quadrature', nx: 64 });
  assert.equal(q.hellinger, 0);
  assert.equal(q.tv, 0);
});

test('densityDistance(fit, truth) matches the closed forms for two normals with a common sd (1/2 convention)', () => {
  // Hellinger with the 1/2 convention: h^2 = 1/2 int (sqrt p - sqrt q)^2 = 1 - exp(-delta^2 / (8 s^2));
  // TV = 1/2 int |p - q| = 2 Phi(delta / (2 s)) - 1 = erf(delta / (2 sqrt(2) s))
  for (const [delta, nu] of [[1, 1], [0.3, 0.09], [3, 0.16], [0.01, 0.04], [10, 1]] as const) {
    const s = Math.sqrt(nu);
    const r = densityDistance(single(delta, nu), single(0, nu), { seed: 2, nx: 16 });
    close(r.tv, erf(delta / (2 * Math.SQRT2 * s)), 1e-12, `TV delta ${delta}`);
    close(r.hellinger, Math.sqrt(-Math.expm1(-(delta * delta) / (8 * nu))), 1e-12, `H delta ${delta}`);
    assert.ok(r.hellingerSE < 1e-14 && r.tvSE < 1e-14, `SE ${r.hellingerSE}`); // constant in x: no Monte Carlo error
  }
});

test('densityDistance(fit, truth) matches the closed form when the means differ in x (quadrature over x)', () => {
  // fit mean 2x, truth mean 0, nu = 1: E_X TV = int_0^1 erf(2x / (2 sqrt 2)) dx
  const f = single(0, 1, 2);
  const t = single(0, 1, 0);
  const r = densityDistance(f, t, { method: 'quadrature', nx: 64 });
  // closed form of int_0^1 erf(c x) dx = erf(c) - (1 - exp(-c^2)) / (c sqrt(pi)), c = 1 / sqrt 2
  const c = 1 / Math.SQRT2;
  const tv = erf(c) - (1 - Math.exp(-c * c)) / (c * Math.sqrt(Math.PI));
  close(r.tv, tv, 1e-12, 'E TV');
  assert.equal(r.tvSE, 0);
  assert.equal(r.method, 'quadrature');
  const mc = densityDistance(f, t, { seed: 3, nx: 4000 });
  assert.ok(Math.abs(mc.tv - tv) < 4 * mc.tvSE, `mc ${mc.tv} +- ${mc.tvSE} vs ${tv}`);
});

test('densityDistance(fit, truth) is in [0, 1], near 1 for disjoint supports, and reports a Monte Carlo SE', () => {
  const far = densityDistance(single(100, 0.01), single(0, 0.01), { seed: 1, nx: 10 });
  close(far.tv, 1, 1e-12, 'TV');
  close(far.hellinger, 1, 1e-12, 'H');
  const r = densityDistance(nearDemys(), demys(), { seed: 1 });
  for (const v of [r.hellinger, r.tv]) assert.ok(v > 0 && v < 1);
  assert.ok(r.hellingerSE > 0 && r.tvSE > 0);
  assert.ok(r.hellingerSE < 0.05 * r.hellinger && r.tvSE < 0.05 * r.tv);
  assert.ok(r.hellinger <= Math.sqrt(r.tv * 2) && r.tv <= Math.SQRT2 * r.hellinger * 1.0001 + 1e-12); // h^2 <= TV <= sqrt(2) h
  assert.equal(r.nx, 2000);
});

test('densityDistance(fit, truth) agrees between Monte Carlo and quadrature over x on the [DEMYS] model', () => {
  const f = nearDemys();
  const t = demys();
  const mc = densityDistance(f, t, { seed: 11, nx: 4000 });
  const q = densityDistance(f, t, { method: 'quadrature', nx: 2048 });
  const q2 = densityDistance(f, t, { method: 'quadrature', nx: 4096 });
  close(q.hellinger, q2.hellinger, 1e-8, 'quadrature H converged');
  close(q.tv, q2.tv, 1e-7, 'quadrature TV converged');
  assert.ok(Math.abs(mc.hellinger - q.hellinger) < 4 * mc.hellingerSE, `H ${mc.hellinger} +- ${mc.hellingerSE} vs ${q.hellinger}`);
  assert.ok(Math.abs(mc.tv - q.tv) < 4 * mc.tvSE, `TV ${mc.tv} +- ${mc.tvSE} vs ${q.tv}`);
});

test('densityDistance(fit, truth, {seed}) is deterministic for a seed and changes with it', () => {
  const f = nearDemys();
  const t = demys();
  assert.deepEqual(densityDistance(f, t, { seed: 5, nx: 300 }), densityDistance(f, t, { seed: 5, nx: 300 }));
  assert.notEqual(densityDistance(f, t, { seed: 5, nx: 300 }).tv, densityDistance(f, t, { seed: 6, nx: 300 }).tv);
});

test('densityDistance(fit, truth) draws X from truth.input: uniform box, normal (mean, cov), grid', () => {
  const seen: Float64Array[] = [];
  const spy: LogWeightsFn = (m, x, n, out) => {
    seen.push(x.slice());
    modelLogWeights(m, x, n, out);
  };
  const cov = [[2, 0.6], [0.6, 0.5]];
  const normal: Model['input'] = { type: 'normal', mean: [1, -2], cov, dim: 2 };
  densityDistance(single(0.5, 1, 1, normal), single(0, 1, 0, normal), { seed: 9, nx: 20000, logWeights: spy });
  const X = seen[0]!;
  const n = X.length / 2;
  let m0 = 0, m1 = 0;
  for (let i = 0; i < n; i++) { m0 += X[2 * i]! / n; m1 += X[2 * i + 1]! / n; }
  let c00 = 0, c01 = 0, c11 = 0;
  for (let i = 0; i < n; i++) {
    const u = X[2 * i]! - m0, v = X[2 * i + 1]! - m1;
    c00 += (u * u) / n; c01 += (u * v) / n; c11 += (v * v) / n;
  }
  close(m0, 1, 0.05, 'mean 0'); close(m1, -2, 0.03, 'mean 1');
  close(c00, 2, 0.08, 'cov 00'); close(c01, 0.6, 0.04, 'cov 01'); close(c11, 0.5, 0.02, 'cov 11');
  seen.length = 0;
  const box: Model['input'] = { type: 'uniform', low: -1, high: 3, dim: 2 };
  densityDistance(single(0.5, 1, 1, box), single(0, 1, 0, box), { seed: 9, nx: 1000, logWeights: spy });
  assert.ok(seen[0]!.every((v) => v >= -1 && v < 3));
  seen.length = 0;
  const grid: Model['input'] = { type: 'grid', low: 0, high: 2, dim: 1 };
  const g = densityDistance(single(0.5, 1, 1, grid), single(0, 1, 0, grid), { nx: 5, logWeights: spy });
  assert.deepEqual(Array.from(seen[0]!), [0, 0.5, 1, 1.5, 2]);
  assert.equal(g.hellingerSE, 0);
});

test('densityDistance(fit, truth) handles a top-K gate (weights exactly 0) without NaN', () => {
  const t = demys();
  const f: Model = { ...nearDemys(), gate: { type: 'topk', K: 1, rankBy: 'slope' } };
  const r = densityDistance(f, t, { seed: 4, nx: 500 });
  for (const v of [r.hellinger, r.tv, r.hellingerSE, r.tvSE]) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1);
  // K = k is the softmax gate
  const fk: Model = { ...nearDemys(), gate: { type: 'topk', K: 2, rankBy: 'slope' } };
  close(densityDistance(fk, t, { seed: 4, nx: 500 }).tv, densityDistance(nearDemys(), t, { seed: 4, nx: 500 }).tv, 1e-12, 'K = k');
});

test('densityDistance(fit, truth, opts) rejects a missing seed, bad options, and a dimension mismatch', () => {
  const t = demys();
  assert.throws(() => densityDistance(t, t), (e: unknown) => e instanceof ConfigError && /seed/.test(e.message));
  assert.throws(() => densityDistance(t, t, { seed: 1, nX: 5 } as never), (e: unknown) => e instanceof ConfigError && /nX/.test(e.message));
  assert.throws(() => densityDistance(t, t, { seed: 1, nx: 1 }), (e: unknown) => e instanceof ConfigError && /nx/.test(e.message));
  const n2: Model['input'] = { type: 'normal', mean: [0, 0], cov: [[1, 0], [0, 1]], dim: 2 };
  assert.throws(() => densityDistance(single(0, 1, 0, n2), single(0, 1, 0, n2), { method: 'quadrature' }), (e: unknown) => e instanceof ConfigError && /quadrature/.test(e.message));
  assert.throws(() => densityDistance(single(0, 1, 0, n2), t, { seed: 1 }), (e: unknown) => e instanceof ModelError && /input\.dim/.test(e.message));
  const bad = withExperts(t, [t.experts[0]!, { ...t.experts[1]!, a: [1, 2] }]);
  assert.throws(() => densityDistance(bad, t, { seed: 1 }), (e: unknown) => e instanceof ModelError && /fit\.experts\[1\]\.a/.test(e.message));
  const notPd: Model['input'] = { type: 'normal', mean: [0, 0], cov: [[1, 2], [2, 1]], dim: 2 };
  assert.throws(() => densityDistance(single(0, 1, 0, notPd), single(0, 1, 0, notPd), { seed: 1 }), (e: unknown) => e instanceof ModelError && /positive definite/.test(e.message));
});

test('densityDistance(fit, truth) with nx = 2000 runs in well under 1 s', () => {
  const f = nearDemys();
  const t = demys();
  densityDistance(f, t, { seed: 1, nx: 50 }); // warm-up
  const t0 = performance.now();
  densityDistance(f, t, { seed: 1, nx: 2000 });
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${ms} ms`);
});
