/**
 * A sweep on the GPU backend: the same tasks and seeds as on the CPU, rows of the same shape with
 * backend 'gpu', and rates whose bootstrap intervals overlap the CPU run's (quick demys-exact).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyseRates } from '../../src/analysis/index.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { withGpu } from './helpers.js';

const file = 'experiments/demys-exact.json';
// the authors' relative rule with plain EM on both backends: it keeps this sweep short on a
// software adapter (converged default-rule fits are compared in em.test.ts)
const raw = JSON.parse(readFileSync(file, 'utf8'));
delete raw.fit.scoreTol;
const config = parseExperimentConfig({ ...raw, fit: { ...raw.fit, stop: 'relative', tol: 1e-6, accelerate: 'none' } }, file);

test('demys-exact (quick) on the GPU and the CPU: same tasks, rows of one shape, overlapping rate intervals', async (t) => {
  await withGpu(t, async (ctx) => {
    const tmp = mkdtempSync(join(tmpdir(), 'gatelab-gpu-sweep-'));
    await runSweep(config, 'quick', join(tmp, 'gpu'), { backend: { kind: 'gpu', note: '', ctx } });
    await runSweep(config, 'quick', join(tmp, 'cpu'), { workers: 2, backend: { kind: 'cpu', note: '' } });
    const gpu = readStore(join(tmp, 'gpu')).rows;
    const cpu = readStore(join(tmp, 'cpu')).rows;
    const byKey = new Map(cpu.map((r) => [r.key, r]));
    assert.equal(gpu.length, cpu.length);
    for (const row of gpu) {
      const twin = byKey.get(row.key)!;
      assert.equal(row.status, 'ok', row.error);
      assert.equal(row.backend, 'gpu');
      assert.equal(twin.backend, 'cpu');
      assert.equal(row.seed, twin.seed);
      assert.deepEqual(Object.keys(row).sort(), Object.keys(twin).sort());
      assert.deepEqual(Object.keys(row.quantities!).sort(), Object.keys(twin.quantities!).sort());
    }
    const rg = analyseRates(gpu, config, 'quick');
    const rc = analyseRates(cpu, config, 'quick');
    let compared = 0;
    for (const a of rg) {
      const b = rc.find((r) => r.quantity === a.quantity && r.statistic === a.statistic)!;
      if (a.ciLow === null || b.ciLow === null) continue;
      compared++;
      assert.ok(a.ciLow <= b.ciHigh! && b.ciLow <= a.ciHigh!, `${a.quantity} ${a.statistic}: GPU [${a.ciLow}, ${a.ciHigh}] vs CPU [${b.ciLow}, ${b.ciHigh}]`);
    }
    assert.ok(compared >= 10, `compared ${compared} rate intervals`);
  });
});
