/**
 * The selection search's fast log-likelihood (src/fitting/selection-scan.ts) against the E-step's
 * L (EmMachine: the CPU backend's gate weights and E-step) at the search's own trial points: every
 * free gate coordinate, both directions, the 30 geometric steps h = 1e-7 (|v_j| + 1) 2^t (the
 * small ones cross no boundary, the large ones change the selected set of most points).
 *
 * Tolerance: both are float64 sums of n per-point terms formed differently (the E-step in
 * probability space with a log-space fallback, the scan by log-add-exp and a running product of
 * ratios), so each term agrees to a few ulps of its magnitude and the sums to about
 * sqrt(n) eps max|L_n| typically, n eps max|L_n| at worst. Measured here (n = 1500): at most 4e-15
 * relative (printed as a diagnostic). 1e-12 relative leaves a factor 250 and is still far below
 * any gain the search accepts (scoreTol = 1e-3 nats on |L| ~ n).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../../src/backend/index.js';
import { EmMachine, gateMStepOptions } from '../../src/fitting/em.js';
import { packMle, packState } from '../../src/fitting/index.js';
import { SelectionScan } from '../../src/fitting/selection-scan.js';
import { resolveStopping, type FitOptions } from '../../src/fitting/types.js';
import type { Model } from '../../src/models/index.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';

const TOLERANCE = 1e-12;

/** A k-expert model in dimension d with spread-out gate and expert parameters (deterministic). */
function model(k: number, d: number, K: number, rankBy: 'slope' | 'logit', seed: number, tiedSlopes = false): Model {
  const rng = new Rng(seed);
  const experts = Array.from({ length: k }, (_, i) => ({
    beta0: i === k - 1 ? 0 : 2 * rng.uniform() - 1,
    beta1: Array.from({ length: d }, () => (i === k - 1 ? 0 : 6 * rng.uniform() - 3)),
    a: Array.from({ length: d }, () => 4 * rng.uniform() - 2),
    b: 2 * rng.uniform() - 1,
    nu: 0.05 + 0.3 * rng.uniform(),
  }));
  // exact ties of the slope scores at every x: the kernel's order (lower index first) decides
  if (tiedSlopes) experts[1]!.beta1 = [...experts[0]!.beta1];
  return { gate: { type: 'topk', K, rankBy }, experts, input: { type: 'uniform', low: -1, high: 1, dim: d } };
}

const CASES: { k: number; d: number; K: number; rankBy: 'slope' | 'logit'; tied?: boolean }[] = [];
for (const k of [3, 4]) for (const d of [1, 2]) for (const K of [1, 2]) for (const rankBy of ['slope', 'logit'] as const) CASES.push({ k, d, K, rankBy });
CASES.push({ k: 3, d: 1, K: 1, rankBy: 'slope', tied: true }, { k: 4, d: 2, K: 2, rankBy: 'slope', tied: true }, { k: 4, d: 1, K: 3, rankBy: 'logit' });

for (const c of CASES) {
  test(`selection scan: L equals the E-step's L along every coordinate (k=${c.k} d=${c.d} K=${c.K} ${c.rankBy}${c.tied ? ', tied slopes' : ''})`, (t) => {
    const truth = model(c.k, c.d, c.K, c.rankBy, 11 * c.k + 3 * c.d + c.K);
    const data = sample(truth, 1500, new Rng(7 + c.k + c.d));
    const options: FitOptions = { k: c.k, gate: truth.gate };
    // evaluate away from the truth (another draw of the parameters): responsibilities spread
    const state = packState(model(c.k, c.d, c.K, c.rankBy, 100 + c.k * 7 + c.d, c.tied), options);
    const machine = new EmMachine(data, state, resolveStopping(options), new CpuBackend(), gateMStepOptions(options));
    const scan = machine.selectionScan();
    assert.ok(scan, 'a selective top-K gate has the scan');
    const backend = new CpuBackend();
    const G0 = new Float64Array(data.n * c.k);
    const G = new Float64Array(data.n * c.k);
    const v = packMle(state);
    backend.gateWeights(state.gate, state.theta, data.X, data.n, G0);
    const values = new Float64Array(30);
    const fast = new Float64Array(30);
    let worst = 0;
    let mostChanged = 0;
    for (let j = 0; j < state.free.length; j++) {
      scan.prepare(v, j);
      machine.setVector(v);
      const L0 = machine.answer({ op: 'estep' });
      assert.ok(Math.abs(scan.base - L0) <= TOLERANCE * Math.abs(L0), `base ${scan.base} vs ${L0}`);
      for (const dir of [1, -1]) {
        let h = 1e-7 * (Math.abs(v[j]!) + 1);
        for (let s = 0; s < 30; s++, h *= 2) values[s] = v[j]! + dir * h;
        scan.scan(values, fast);
        for (let s = 0; s < 30; s++) {
          const trial = Float64Array.from(v);
          trial[j] = values[s]!;
          machine.setVector(trial);
          const L = machine.answer({ op: 'estep' });
          const error = Math.abs(fast[s]! - L) / Math.abs(L);
          worst = Math.max(worst, error);
          assert.ok(error <= TOLERANCE, `coordinate ${j}, dir ${dir}, step ${s}: scan ${fast[s]} vs E-step ${L}`);
          // the single-trial form gives the same number as the batch
          if (s % 7 === 0) assert.equal(scan.logLik(values[s]!), fast[s]);
          // how many points the trial moved to another selected set
          backend.gateWeights(state.gate, state.theta, data.X, data.n, G);
          let changed = 0;
          for (let r = 0; r < data.n; r++) {
            for (let i = 0; i < c.k; i++) {
              if ((G[r * c.k + i] === 0) !== (G0[r * c.k + i] === 0)) {
                changed++;
                break;
              }
            }
          }
          mostChanged = Math.max(mostChanged, changed);
        }
      }
    }
    // the large steps did move many points across the boundaries
    assert.ok(mostChanged > data.n / 5, `most points changed: ${mostChanged}`);
    assert.ok(worst <= TOLERANCE);
    t.diagnostic(`worst relative difference ${worst.toExponential(2)}, most points moved by one trial ${mostChanged} of ${data.n}`);
  });
}

test('selection scan: experts sharing one slot of tables give the same numbers as one slot each', () => {
  const truth = model(4, 2, 2, 'logit', 5);
  const data = sample(truth, 800, new Rng(3));
  const state = packState(model(4, 2, 2, 'logit', 9), { k: 4, gate: truth.gate });
  const own = SelectionScan.for(data, state)!;
  const shared = SelectionScan.for(data, state, 1)!;
  own.refresh();
  shared.refresh();
  const v = packMle(state);
  const values = Float64Array.from([0.3, -2, 7]);
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  // every coordinate twice, so that a slot is reused and remade
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < state.free.length; j++) {
      own.prepare(v, j);
      shared.prepare(v, j);
      assert.equal(shared.base, own.base);
      own.scan(values, a);
      shared.scan(values, b);
      assert.deepEqual(b, a);
    }
  }
});

test('selection scan: absent for gates that are not a selective top-K', () => {
  const truth = model(3, 1, 3, 'slope', 1);
  const data = sample(truth, 50, new Rng(1));
  for (const gate of [{ type: 'topk', K: 3, rankBy: 'slope' } as const, { type: 'softmax' } as const]) {
    const state = packState({ ...truth, gate }, { k: 3, gate });
    assert.equal(SelectionScan.for(data, state), null);
  }
});
