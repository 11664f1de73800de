/**
 * Fuzz suite (issue 12), sweep configs: mutations of experiments/demys-exact.json (and of the
 * tiny test config) through parseExperimentConfig; for accepted configs the task grid of both
 * variants, and one task run at a small n (sample, fit, losses; EM maps and density points capped
 * so that it stays fast). The property: a config of finite numbers whose tasks run to rows
 * without NaN (a task may fail, but never with an internal error), or a ConfigError that names
 * the JSON path; never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { MAX_TASKS, parseExperimentConfig, resolveNGrid } from '../../src/sweeps/config.js';
import { nonFiniteField, runTask, taskRow } from '../../src/sweeps/run-task.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';
import type { ExperimentConfig } from '../../src/sweeps/types.js';
import { assertNoBadNumber, FUZZ_SCALE, mutate, mutations, numericMutations, PATH, runProperty, Tally, typedOutcome } from './fuzz-helpers.js';
import { ROOT } from './helpers.js';

const SOURCE = 'config';
/** "config: fit.k: ...", "config: variants.quick.n[0]: ...", "config.foo: unknown field", "config: 5 is not an object ..." */
const NAMES_PATH = new RegExp(`^config(: ${PATH}: |\\.${PATH}: unknown field|: .* is not an object)`);

const BASES: unknown[] = [
  JSON.parse(readFileSync(join(ROOT, 'experiments', 'demys-exact.json'), 'utf8')),
  JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'tiny-sweep.json'), 'utf8')),
];

const mutated = fc.tuple(fc.nat({ max: BASES.length - 1 }), fc.oneof({ weight: 3, arbitrary: mutations(3) }, { weight: 2, arbitrary: numericMutations(3) }), fc.nat()).map(([b, ms, taskSeed]) => ({
  raw: mutate(BASES[b], ms).value,
  taskSeed,
}));

/** The config with one task's budget capped (EM maps, starts, density points), for a fast task. */
function capped(config: ExperimentConfig): ExperimentConfig {
  const quick = config.variants.quick;
  return {
    ...config,
    variants: {
      ...config.variants,
      quick: { ...quick, maxIterations: Math.min(quick.maxIterations ?? 20, 20), restarts: Math.min(quick.restarts ?? 1, 2), densityPoints: Math.min(quick.densityPoints ?? 0, 40) },
    },
    start: { ...config.start, restarts: Math.min(config.start.restarts ?? 1, 2) },
    fit: { ...config.fit, maxIterations: Math.min(config.fit.maxIterations ?? 20, 20) },
  };
}

const RUNS = 2500;
const TASKS = 250;

test(`fuzz: ${RUNS * FUZZ_SCALE} seeded mutations of experiments/demys-exact.json and the tiny config through parseExperimentConfig (${TASKS * FUZZ_SCALE} accepted ones run a task): 0 failures`, (t) => {
  const tally = new Tally();
  const tasks = new Tally();
  let ran = 0;
  const failures: string[] = [];
  runProperty(
    [mutated],
    ({ raw, taskSeed }) => {
      const parsed = typedOutcome(() => parseExperimentConfig(raw, SOURCE), NAMES_PATH, tally, 'parseExperimentConfig');
      if (!parsed) return;
      const config = parsed.value;
      assertNoBadNumber(config, 'accepted config');
      // an accepted config survives a round trip through JSON (it is stored in config.json)
      assert.deepEqual(parseExperimentConfig(JSON.parse(JSON.stringify(config)), SOURCE), parseExperimentConfig(JSON.parse(JSON.stringify(config)), SOURCE));
      JSON.parse(JSON.stringify(parseExperimentConfig(JSON.parse(JSON.stringify(config)), SOURCE)));
      for (const variant of ['quick', 'full'] as const) {
        const v = config.variants[variant];
        const grid = resolveNGrid(v.n);
        assert.ok(grid.every((n) => Number.isInteger(n) && n >= 2));
        assert.ok(grid.length * v.replicates <= MAX_TASKS);
        if (grid.length * v.replicates <= 5000) {
          const all = sweepTasks(config, variant);
          assert.equal(new Set(all.map((x) => x.key)).size, all.length, 'task keys are distinct');
          assert.ok(all.every((x) => Number.isSafeInteger(x.seed) && x.seed >= 0));
        }
      }
      if (ran >= TASKS * FUZZ_SCALE) return;
      ran++;
      const row = runTask(capped(config), 'quick', { key: 'n=60/r=0', n: 60, replicate: 0, seed: taskSeed });
      if (row.status === 'failed') {
        tasks.note('failed');
        if (failures.length < 4) failures.push(row.error ?? '');
        assert.doesNotMatch(row.error ?? '', /internal error/, `task of an accepted config: ${row.error}`);
      } else {
        tasks.accepted++;
        assert.ok(Number.isFinite(row.loglik), `task loglik ${row.loglik} (${row.stopReason})`);
        assertNoBadNumber(row.model, 'task model');
        assertNoBadNumber(row.quantities, 'task quantities');
        for (const key of ['hellingerSE', 'tvSE', 'certificate', 'lastChange'] as const) assertNoBadNumber(row[key], `task ${key}`);
      }
    },
    RUNS,
    30,
  );
  tally.lines('parseExperimentConfig').forEach((l) => t.diagnostic(l));
  t.diagnostic(`tasks run: ${ran}, ${tasks.accepted} ok, ${tasks.notes.get('failed') ?? 0} failed (typed)`);
  for (const f of failures) t.diagnostic(`  e.g. failed task: ${f.length > 200 ? `${f.slice(0, 197)}...` : f}`);
  assert.ok(tally.accepted > RUNS / 10, String(tally));
});

test('fuzz findings, fixed: configs that validated but could not be stored or run are refused up front; a non-finite fit result is a failed row', () => {
  const tiny = BASES[1] as Record<string, unknown>;
  const edit = (f: (c: Record<string, any>) => void) => {
    const c = structuredClone(tiny) as Record<string, any>;
    f(c);
    return () => parseExperimentConfig(c, SOURCE);
  };
  // a subnormal true variance: the default floor 0.01 x nu underflowed to 0 (config.json then held
  // nuMin 0, which no later read accepts)
  assert.throws(edit((c) => (c.truth.experts[0].nu = 5.4e-323)), /^ConfigError: config: fit\.nuMin: the default variance floor .* underflows to 0; set fit\.nuMin/);
  assert.doesNotThrow(edit((c) => ((c.truth.experts[0].nu = 5.4e-323), (c.fit.nuMin = 1e-4))));
  // exp(beta0) of the truth overflows: every task's loss failed
  assert.throws(edit((c) => (c.truth.experts[1].beta0 = 1000)), /^ConfigError: config: truth\.experts\[1\]\.beta0: 1000 is not allowed; exp\(beta0\) overflows/);
  // restarts without bound ran out of memory (every start is made up front)
  assert.throws(edit((c) => (c.start.restarts = 1e12)), /^ConfigError: config: start\.restarts: 1000000000000 is not allowed; must be an integer in 1\.\.1000/);
  assert.throws(edit((c) => (c.variants.quick.restarts = 1001)), /variants\.quick\.restarts: 1001 is not allowed/);
  // values JSON cannot hold (written as null into config.json)
  assert.throws(edit((c) => (c.variants.quick.fitRange = [200, Infinity])), /variants\.quick\.fitRange: \[200,null\] is not \[nLow, nHigh\]/);
  assert.throws(edit((c) => (c.start.shrinkExponent = Infinity)), /start\.shrinkExponent: Infinity is not allowed; must be a finite number >= 0/);

  // a fit whose log-likelihood is -Infinity is recorded as failed, not as ok with loglik null
  const config = parseExperimentConfig(tiny, SOURCE);
  const task = sweepTasks(config, 'quick')[0]!;
  const fit = { loglik: -Infinity, iterations: 3, stopReason: 'numericalFailure', stopRule: '', certificate: null, lastChange: null, nuMin: 1e-3, seconds: 0, method: 'em', start: 'given', nuFloorHits: [], decreases: 0, warnings: [] };
  const row = taskRow(config, 'quick', task, { model: config.truth, fit } as never, 'cpu');
  assert.equal(row.status, 'failed');
  assert.match(row.error!, /^the fit's loglik is -Infinity \(stopReason numericalFailure\): rows hold finite numbers only/);
  assert.equal(nonFiniteField({ ...row, quantities: { D1: 0.1, 'b[1]': null } }), undefined);
  assert.deepEqual(nonFiniteField({ ...row, quantities: { D1: NaN } }), { field: 'quantities.D1', value: NaN });
});
