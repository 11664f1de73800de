/**
 * The selection search with the host's fast scan (EmMachine.selectionScan, selection-scan.ts)
 * against the search that runs an E-step per trial (the same machine behind a host without the
 * capability, as the GPU engine's host is): on the top-K experiments' truths, from seeded
 * near-truth starts, both take the same rounds to the same point (log-likelihood within 1e-8
 * relative, same stopReason and EM maps). The scan's L agrees with the E-step's to ~1e-14
 * relative (selection-scan.test.ts), so the two searches choose the same trials unless two
 * trials tie to that level.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CpuBackend } from '../../src/backend/index.js';
import { EmMachine, emDriver, finishRun, gateMStepOptions, ROUNDING_TOLERANCE, type EmHost, type EngineResult } from '../../src/fitting/em.js';
import { fitMoE, packState } from '../../src/fitting/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { resolveStopping, type FitOptions } from '../../src/fitting/types.js';
import type { PackedState } from '../../src/fitting/state.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { taskFitOptions } from '../../src/sweeps/run-task.js';

const ROUNDING = { relative: ROUNDING_TOLERANCE, label: 'rounding' };

/** runEM's loop on an EmMachine; `scan: false` hides the machine's selection scan from the driver. */
function run(data: Dataset, state: PackedState, options: FitOptions, scan: boolean): { result: EngineResult; estepsAnswered: number } {
  const stopping = resolveStopping(options);
  const machine = new EmMachine(data, state, stopping, new CpuBackend(), gateMStepOptions(options));
  const host: EmHost = scan
    ? machine
    : {
        state: machine.state,
        getVector: () => machine.getVector(),
        setVector: (v) => machine.setVector(v),
        invalidate: () => machine.invalidate(),
        get polished() {
          return machine.polished;
        },
        set polished(p) {
          machine.polished = p;
        },
      };
  const driver = emDriver(host, stopping, ROUNDING);
  let estepsAnswered = 0;
  let next = driver.next();
  while (!next.done) {
    if (next.value.op === 'estep') estepsAnswered++;
    next = driver.next(machine.answer(next.value));
  }
  return { result: finishRun(next.value, machine.floorHits, stopping, ROUNDING), estepsAnswered };
}

/** The four top-K experiments as their sweeps fit them, and topk-exact's data under other gates (K = 1, ranked by the logit). */
const CASES: { name: string; gate?: FitOptions['gate'] }[] = [
  { name: 'topk-exact' },
  { name: 'topk-over' },
  { name: 'topk-over-too-sparse' },
  { name: 'topk1-practice' },
  { name: 'topk-exact', gate: { type: 'topk', K: 1, rankBy: 'slope' } },
  { name: 'topk-exact', gate: { type: 'topk', K: 2, rankBy: 'logit' } },
];

test('selection search: the fast scan takes the same rounds to the same fit as an E-step per trial', () => {
  let moved = 0;
  for (const { name, gate } of CASES) {
    const file = `experiments/${name}.json`;
    const config = parseExperimentConfig(JSON.parse(readFileSync(file, 'utf8')), file);
    const sweep = taskFitOptions(config, 'full');
    const options: FitOptions = { ...sweep, gate: gate ?? sweep.gate, maxIterations: 3000 };
    const n = name === 'topk1-practice' ? 20000 : 3000;
    for (const [seed, noise] of [[1, 0.1], [2, 0.3]] as const) {
      const data = sample(config.truth, n, new Rng(100 + seed));
      const truth = gate ? { ...config.truth, gate } : config.truth;
      const start = fitMoE(data, { ...options, maxIterations: 0 }, { type: 'nearTruth', truth, noise, seed }).model;
      const fast = run(data, packState(start, options), options, true);
      const slow = run(data, packState(start, options), options, false);
      const label = `${name}${gate ? ` as ${JSON.stringify(gate)}` : ''} seed ${seed} noise ${noise}`;
      assert.deepEqual(fast.result.selectionSearch?.rounds, slow.result.selectionSearch?.rounds, `${label}: rounds`);
      assert.equal(fast.result.stopReason, slow.result.stopReason, `${label}: stopReason`);
      assert.equal(fast.result.iterations, slow.result.iterations, `${label}: EM maps`);
      const rel = Math.abs(fast.result.loglik - slow.result.loglik) / Math.abs(slow.result.loglik);
      assert.ok(rel <= 1e-8, `${label}: L ${fast.result.loglik} vs ${slow.result.loglik}`);
      const gain = Math.abs(fast.result.selectionSearch!.gain - slow.result.selectionSearch!.gain);
      assert.ok(gain <= 1e-8 * Math.abs(slow.result.loglik), `${label}: gain`);
      // the fast path answers only EM's E-steps and one or two per round, not 60 per coordinate
      assert.ok(fast.estepsAnswered < slow.estepsAnswered, `${label}: E-steps ${fast.estepsAnswered} vs ${slow.estepsAnswered}`);
      moved += fast.result.selectionSearch!.rounds;
    }
  }
  // some of the searches did move a boundary (the comparison covers accepted rounds too)
  assert.ok(moved >= 1, `rounds in all: ${moved}`);
});
