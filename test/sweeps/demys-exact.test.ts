import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseRates } from '../../src/analysis/index.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';

test('demys-exact (quick, fixed seed): the D1 slope CI contains -1/2 or its log-corrected reference', async () => {
  const file = 'experiments/demys-exact.json';
  const config = parseExperimentConfig(JSON.parse(readFileSync(file, 'utf8')), file);
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-demys-'));
  await runSweep(config, 'quick', dir, { workers: 2 });
  const rates = analyseRates(readStore(dir).rows, config, 'quick');
  const d1 = rates.find((r) => r.quantity === 'D1' && r.statistic === 'mean')!;
  // [DEMYS] Thm 1: D1 = O(sqrt(log n / n)); the slope's 95% bootstrap CI over replicates must meet
  // [reference, -1/2]. A fit or loss bug (a wrong M-step, a wrong cell, a missing alignment)
  // moves the slope far outside it (a non-convergent fit gives a slope near 0).
  const low = Math.min(d1.predicted!, d1.predictedLogCorrected!);
  const high = Math.max(d1.predicted!, d1.predictedLogCorrected!);
  assert.ok(d1.ciLow! <= high && d1.ciHigh! >= low, `D1 slope ${d1.slope} CI [${d1.ciLow}, ${d1.ciHigh}] misses [${low}, ${high}]`);
  assert.equal(d1.verdict, 'consistent');
  assert.equal(d1.nFailed, 0);
});
