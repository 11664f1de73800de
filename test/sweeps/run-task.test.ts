import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fitMoE } from '../../src/fitting/fit.js';
import { voronoiLoss } from '../../src/losses/index.js';
import { gateBoundExcess, type Expert, type Model } from '../../src/models/index.js';
import { Rng } from '../../src/rng/rng.js';
import { sample } from '../../src/sampling/sample.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import * as taskRowModule from '../../src/sweeps/run-task.js';
import { taskRow, taskStart } from '../../src/sweeps/run-task.js';
import { shifted } from '../losses/fixtures.js';
import { tempModel } from '../helpers.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

/**
 * The demys-over3 experiment (its truth, k = 3, predictions) with the stopping options left to
 * the defaults and no density distances, a task, and a real short fit (for the row's fit fields;
 * the tests replace its model).
 */
function setup() {
  const file = 'experiments/demys-over3.json';
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  raw.fit = { k: 3, gate: { type: 'softmax' } };
  raw.variants.quick.densityPoints = 0;
  const config = parseExperimentConfig(raw, file);
  const task = { key: 'test', n: 300, replicate: 0, seed: 7 };
  const data = sample(config.truth, task.n, new Rng(task.seed));
  const result = fitMoE(data, { ...config.fit, maxIterations: 3 }, taskStart(config, task));
  return { config, task, result };
}

/** [DEMYS] truth with expert j split into atoms of the given masses and beta1 offsets. */
function splitAtom(truth: Model, j: number, parts: [mass: number, dbeta1: number][]): Expert[] {
  const e = truth.experts[j]!;
  return parts.map(([w, o]) => ({ ...e, beta0: e.beta0 + Math.log(w), beta1: [e.beta1![0]! + o] }));
}

test('taskRow quantities are the mass-weighted errors at the aligned t0 and least-squares t1, with .max diagnostics by cell size', () => {
  const { config, task, result } = setup();
  const truth = config.truth;
  // the reference expert split into masses 0.25 and 0.75 with beta1 offsets 2 and b, where
  // 0.25 * 2^3 + 0.75 * b^3 = 0 makes t1 = 0 the aligned slope shift; then shifted by (0.6, [-3])
  const b = -2 / Math.cbrt(3);
  const model: Model = shifted({ ...truth, experts: [{ ...truth.experts[0]! }, ...splitAtom(truth, 1, [[0.25, 2], [0.75, b]])] }, 0.6, [-3]);
  const row = taskRow(config, 'quick', task, { ...result, model }, 'cpu');
  assert.equal(row.status, 'ok', row.error);
  const q = row.quantities!;
  const loss = voronoiLoss(model, truth);
  assert.equal(q.D2, loss.aligned);
  assert.ok(Math.abs(loss.shift.t0 + 0.6) < 1e-12 && Math.abs(loss.shift.t1[0]! - 3) < 1e-6, JSON.stringify(loss.shift));
  // errors are at the least-squares t1 (docs/losses.md): after undoing the shift, the slope offsets
  // are 0 (expert 1, mass e^-8), 2 and b (masses 0.25, 0.75): c = their mass-weighted mean.
  // rbar(2) = 4 for beta1 in the 2-atom cell (hand computation)
  const c = (0.25 * 2 + 0.75 * b) / (1 + Math.exp(-8));
  const hand = (0.25 * (2 - c) ** 4 + 0.75 * (b - c) ** 4) ** 0.25;
  assert.ok(Math.abs(q['beta1[2]']! - hand) < 1e-5, `${q['beta1[2]']} vs ${hand}`);
  assert.equal(q['beta1[size=2]'], q['beta1[2]']);
  assert.ok(Math.abs(q['beta1[size=2].max']! - Math.max(Math.abs(2 - c), Math.abs(b - c))) < 1e-5, String(q['beta1[size=2].max']));
  for (const blk of ['a', 'b', 'nu']) {
    assert.equal(q[`${blk}[size=2]`], 0);
    assert.equal(q[`${blk}[size=2].max`], 0);
  }
  for (const [name, v] of Object.entries(q)) if (/^(mass|beta1|a|b|nu)\[\d\]$/.test(name)) {
    const j = Number(name.match(/\[(\d+)\]/)![1]) - 1;
    const blk = name.slice(0, name.indexOf('[')) as 'mass' | 'beta1' | 'a' | 'b' | 'nu';
    assert.equal(v, loss.errors.aligned[j]![blk], name);
  }
  assert.equal('parameterShift' in taskRowModule, false);
});

test('taskRow block[size=m] is the largest mass-weighted error over the cells of m atoms; an atom of mass e^-80 shows only in .max', () => {
  const { config, task, result } = setup();
  const truth = config.truth;
  const model: Model = {
    ...truth,
    experts: [
      ...splitAtom(truth, 0, [[0.5, 0.5], [0.5, -0.5]]),
      ...splitAtom(truth, 1, [[0.5, 1], [0.5, -1]]),
      { ...truth.experts[1]!, beta0: -80, beta1: [-60] },
    ],
  };
  const row = taskRow(config, 'quick', task, { ...result, model }, 'cpu');
  assert.equal(row.status, 'ok', row.error);
  const q = row.quantities!;
  const loss = voronoiLoss(model, truth);
  assert.deepEqual(loss.alignedCells.map((c) => c.length), [2, 3]);
  // cell sizes 2 and 3: the e^-80 atom makes the reference expert's cell a 3-atom cell (rbar 6)
  const e3 = loss.errors.aligned[1]!;
  assert.equal(q['beta1[size=3]'], e3.beta1);
  // both splits are symmetric, so t1 = 0; rbar(3) = 6: ((0.5 + 0.5 + e^-80 60^6) / (1 + e^-80))^(1/6) = 1
  assert.ok(Math.abs(loss.shift.t1[0]!) < 1e-6, JSON.stringify(loss.shift));
  assert.ok(Math.abs(e3.beta1! - 1) < 1e-6, String(e3.beta1));
  assert.ok(Math.abs(q['beta1[size=3].max']! - 60) < 1e-5, String(q['beta1[size=3].max']));
  assert.equal(q['beta1[size=2]'], loss.errors.aligned[0]!.beta1);
  // two cells of 2 atoms: the larger of their mass-weighted errors
  const two: Model = { ...truth, experts: [...splitAtom(truth, 0, [[0.5, 0.5], [0.5, -0.5]]), ...splitAtom(truth, 1, [[0.5, 1], [0.5, -1]])] };
  const q2 = taskRow(config, 'quick', task, { ...result, model: two }, 'cpu').quantities!;
  const l2 = voronoiLoss(two, truth);
  assert.deepEqual(l2.alignedCells.map((c) => c.length), [2, 2]);
  assert.equal(q2['beta1[size=2]'], Math.max(l2.errors.aligned[0]!.beta1!, l2.errors.aligned[1]!.beta1!));
  assert.equal(q2['beta1[size=2].max'], Math.max(l2.errors.aligned[0]!.max.beta1!, l2.errors.aligned[1]!.max.beta1!));
  assert.equal(q2['mass[size=2]'], Math.max(l2.errors.aligned[0]!.mass, l2.errors.aligned[1]!.mass));
});

test('ratioErrors: a rescaled, relabelled and shifted temperature fit has zero ratio error', async () => {
  const { ratioErrors } = await import('../../src/sweeps/run-task.js');
  const truth = tempModel({ type: 'temperature', tau: 0.5 });
  const c = 2.5; // (beta0, beta1, tau) -> c (beta0, beta1, tau), then a common beta1 shift
  const fit: Model = {
    ...truth,
    gate: { type: 'temperature', tau: 0.5 * c },
    experts: [truth.experts[1]!, truth.experts[0]!].map((e) => ({ ...e, beta0: c * e.beta0, beta1: [c * e.beta1![0]! - 0.8] })),
  };
  const errors = ratioErrors(fit, truth, [[1], [0]]);
  for (const v of errors) assert.ok(Math.abs(v!) < 1e-12, String(errors));
});

test('ratioErrors weights a multi-atom cell by mass with the given exponent (hand computation)', async () => {
  const { ratioErrors } = await import('../../src/sweeps/run-task.js');
  const truth = tempModel({ type: 'temperature', tau: 0.5 });
  const e = truth.experts[1]!;
  // true atom 1 split into masses 0.25 / 0.75 with beta1 offsets +0.3 / -0.1: the alignment c is
  // the mass-weighted mean of -offset / tau = -(0.25 * 0.3 - 0.75 * 0.1) / 0.5 / (w0 + 1) = 0
  const fit: Model = {
    ...truth,
    experts: [{ ...truth.experts[0]! }, { ...e, beta0: Math.log(0.25), beta1: [0.3] }, { ...e, beta0: Math.log(0.75), beta1: [-0.1] }],
  };
  const [r0, r1] = ratioErrors(fit, truth, [[0], [1, 2]], [1, 2]);
  assert.ok(Math.abs(r0!) < 1e-15, String(r0));
  const hand = Math.sqrt(0.25 * 0.6 ** 2 + 0.75 * 0.2 ** 2);
  assert.ok(Math.abs(r1! - hand) < 1e-14, `${r1} vs ${hand}`);
  assert.ok(Math.abs(ratioErrors(fit, truth, [[0], [1, 2]])[1]! - (0.25 * 0.6 + 0.75 * 0.2)) < 1e-14);
});

test('taskRow records a fit whose gate left the compact box as ok but not converged, with density distances, never as failed', () => {
  const { config, task, result } = setup();
  const truth = config.truth;
  const withDensity = { ...config, variants: { ...config.variants, quick: { ...config.variants.quick, densityPoints: 20 } } };
  // the stored [DEMYS] k = 4 hard switch (n = 1000, replicate 6): expert 1 takes x < 0.047 with
  // beta0 = 7e5, so its Voronoi mass exp(beta0) overflows; the density goes through log-weights
  const hard: Expert = { beta0: 693391.5327993287, beta1: [-14674192.259796347], a: [31.85], b: -5.2, nu: 0.109 };
  const model: Model = { ...truth, experts: [hard, truth.experts[0]!, truth.experts[1]!] };
  const row = taskRow(withDensity, 'quick', task, { ...result, model, fit: { ...result.fit, stopReason: 'converged' } }, 'cpu');
  assert.equal(row.status, 'ok', row.error);
  assert.equal(row.converged, false);
  assert.equal(row.stopReason, 'converged');
  assert.equal(row.quantities!.D2, undefined);
  assert.ok(Number.isFinite(row.quantities!.hellinger) && row.quantities!.hellinger! > 0, String(row.quantities!.hellinger));
  assert.ok(row.warnings!.some((w) => /Voronoi losses are undefined/.test(w)), JSON.stringify(row.warnings));
  assert.equal(row.cells, undefined);
  // the mirrored hard switch (beta0 << -709, mass 0) keeps its Voronoi quantities, as rows written
  // before the box did, and is still not converged
  const vanishing: Model = { ...truth, experts: [{ ...hard, beta0: -5.1e7, beta1: [1.05e8] }, truth.experts[0]!, truth.experts[1]!] };
  const row2 = taskRow(config, 'quick', task, { ...result, model: vanishing, fit: { ...result.fit, stopReason: 'converged' } }, 'cpu');
  assert.equal(row2.status, 'ok', row2.error);
  assert.equal(row2.converged, false);
  assert.ok(Number.isFinite(row2.quantities!.D2), JSON.stringify(row2.quantities));
});

test('taskRow stores an overflowing raw loss as null with a warning, not as a failed task (gate inside the box, beta0 > 709)', () => {
  const { config, task, result } = setup();
  const truth = config.truth;
  // a softmax gate is unchanged by adding one constant to every beta0: the reference expert split
  // in two with beta1 offsets +-5, shifted so that the largest beta0 is 708 (each exp(beta0)
  // finite, every |beta| < 1000), has a finite aligned D2 but raw terms exp(beta0) |dbeta1| that
  // sum past float64 (the failed demys-over4 task n=26827/r=17)
  const base: Model = { ...truth, experts: [{ ...truth.experts[0]! }, ...splitAtom(truth, 1, [[0.5, 5], [0.5, -5]])] };
  const model = shifted(base, 708 - Math.max(...base.experts.map((e) => e.beta0)), [0]);
  assert.equal(gateBoundExcess(model, 1000), undefined);
  assert.equal(voronoiLoss(model, truth).raw, Infinity); // the premise
  const row = taskRow(config, 'quick', task, { ...result, model, fit: { ...result.fit, stopReason: 'converged' } }, 'cpu');
  assert.equal(row.status, 'ok', row.error);
  assert.equal(row.quantities!['D2.raw'], null);
  assert.ok(Number.isFinite(row.quantities!.D2), String(row.quantities!.D2));
  assert.ok(row.warnings!.some((w) => /D2\.raw is not representable in float64 .*max beta0 708/.test(w)), JSON.stringify(row.warnings));
  assert.ok(!row.warnings!.some((w) => /Voronoi losses are undefined/.test(w)), JSON.stringify(row.warnings));
  // beta0 = 782 (inside the box |beta| <= 1000, exp(beta0) itself overflows: the failed task
  // n=1e5/r=14): the aligned quantities are those of the same model with beta0 lowered by 782
  const high = shifted(base, 782 - Math.max(...base.experts.map((e) => e.beta0)), [0]);
  const low = shifted(base, -Math.max(...base.experts.map((e) => e.beta0)), [0]);
  assert.equal(gateBoundExcess(high, 1000), undefined);
  assert.throws(() => voronoiLoss(high, truth), /exp\(beta0\) overflows/);
  const rowHigh = taskRow(config, 'quick', task, { ...result, model: high, fit: { ...result.fit, stopReason: 'converged' } }, 'cpu');
  const rowLow = taskRow(config, 'quick', task, { ...result, model: low, fit: { ...result.fit, stopReason: 'converged' } }, 'cpu');
  assert.equal(rowHigh.status, 'ok', rowHigh.error);
  assert.equal(rowHigh.converged, true);
  assert.equal(rowHigh.quantities!['D2.raw'], null);
  assert.ok(Number.isFinite(rowLow.quantities!['D2.raw']));
  for (const [name, v] of Object.entries(rowLow.quantities!)) {
    if (name !== 'D2.raw') close(rowHigh.quantities![name]!, v!, 1e-12 * (1 + Math.abs(v!)), name);
  }
  assert.ok(rowHigh.warnings!.some((w) => /D2\.raw is not representable in float64 .*max beta0 782/.test(w)), JSON.stringify(rowHigh.warnings));
  // a fit inside the box with ordinary masses gets no loss warning
  const plain = taskRow(config, 'quick', task, { ...result, model: low, fit: { ...result.fit, stopReason: 'converged' } }, 'cpu');
  assert.ok(!plain.warnings!.some((w) => /Voronoi|not representable/.test(w)), JSON.stringify(plain.warnings));
});

test('fitMoE warns when the fitted gate leaves the compact box (a hard switch), naming the expert and field; inside it, no warning', () => {
  const { config } = setup();
  const truth = config.truth;
  const data = sample(truth, 200, new Rng(3));
  const steep: Model = { ...truth, experts: [{ ...truth.experts[0]!, beta0: -2000, beta1: [6000] }, truth.experts[1]!] };
  // one EM map from a gate 80 times steeper than the truth's: the gate Newton step cannot bring it
  // back inside the box in one map (the saturated gate's gradient is ~0)
  const fit = fitMoE(data, { k: 2, gate: { type: 'softmax' }, maxIterations: 1 }, { type: 'given', model: steep });
  const excess = gateBoundExcess(fit.model)!;
  assert.ok(excess !== undefined, JSON.stringify(fit.model.experts));
  const text = `expert ${excess.expert + 1} ${excess.field} = `;
  assert.ok(fit.fit.warnings.some((w) => w.includes('leaves the box |beta| <= 1000') && w.includes(text)), JSON.stringify(fit.fit.warnings));
  const near = fitMoE(data, { k: 2, gate: { type: 'softmax' }, maxIterations: 1 }, { type: 'given', model: truth });
  assert.equal(near.fit.warnings.some((w) => w.includes('leaves the box')), false, JSON.stringify(near.fit.warnings));
});
