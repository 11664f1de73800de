import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { readResults } from '../../src/sweeps/merged-store.js';
import { shardDir, shardTasks, taskCost } from '../../src/sweeps/shard.js';
import { formatStatus, sweepStatus } from '../../src/sweeps/status.js';
import { ResultsStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { sweepTasks } from '../../src/sweeps/tasks.js';

const configFile = 'test/fixtures/tiny-sweep.json';
const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);

test('sweepStatus: done per n and per shard, failed tasks with their error, ETA from the finished tasks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-status-'));
  const all = sweepTasks(config, 'quick');
  await runSweep(config, 'quick', dir, { workers: 2, shard: { index: 1, count: 3 } });
  // shard 2 of 3: one task failed
  const second = shardTasks(all, { index: 2, count: 3 });
  const store = ResultsStore.open(shardDir(dir, { index: 2, count: 3 }), config, 'quick');
  const failedTask = second[0]!;
  store.append({ experiment: config.name, variant: 'quick', ...failedTask, status: 'failed', error: 'EM diverged (test)', seconds: 0.5 });
  store.close();

  const results = readResults(dir);
  const s = sweepStatus(results);
  const first = shardTasks(all, { index: 1, count: 3 });
  assert.equal(s.total, all.length);
  assert.equal(s.done, first.length + 1);
  assert.deepEqual(
    s.byN.map((r) => [r.n, r.done, r.total]),
    [...new Set(all.map((t) => t.n))].map((n) => [n, [...first, failedTask].filter((t) => t.n === n).length, all.filter((t) => t.n === n).length]),
  );
  assert.deepEqual(
    s.shards.map((x) => [x.name, x.done, x.total, x.started, x.workers]),
    [
      ['1-of-3', first.length, first.length, true, 2],
      ['2-of-3', 1, second.length, true, undefined],
      ['3-of-3', 0, shardTasks(all, { index: 3, count: 3 }).length, false, undefined],
    ],
  );
  assert.deepEqual(s.failed, [{ key: failedTask.key, source: '2-of-3', error: 'EM diverged (test)' }]);
  // ETA: the slowest shard's remaining cost / its workers (where unknown: the smallest known, 2)
  const timed = results.rows;
  const perUnit = timed.reduce((a, r) => a + r.seconds!, 0) / timed.reduce((a, r) => a + taskCost(r), 0);
  const left = (index: number) =>
    shardTasks(all, { index, count: 3 })
      .filter((t) => !results.rows.some((r) => r.key === t.key))
      .reduce((a, t) => a + taskCost(t), 0);
  assert.ok(s.eta);
  assert.equal(s.eta.parallel, 2);
  assert.ok(Math.abs(s.eta.seconds - (Math.max(left(2), left(3)) / 2) * perUnit) < 1e-9);
  assert.ok(Math.abs(s.eta.serialSeconds - ((left(2) + left(3)) / 2) * perUnit) < 1e-9);

  const text = formatStatus(s);
  assert.match(text, new RegExp(`^${config.name} \\(quick\\) in .*: ${s.done} of ${all.length} tasks done, 1 failed, ${all.length - s.done} to go`));
  assert.match(text, /1-of-3 +\d+ +\d+ +2 +done\n/);
  assert.match(text, /3-of-3 +0 +\d+ +- +not started\n/);
  assert.match(text, /failed tasks:\n {2}n=\d+\/r=\d+ \(2-of-3\): EM diverged \(test\)\n/);
  assert.match(text, /ETA: \d+s if the 2 shard\(s\) with work left run at once, each with its workers \(\d+s one after another\), at [\d.e+-]+ s per unit of n/);

  const cli = spawnSync(process.execPath, ['bin/gatelab.js', 'status', dir], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, text);
  const missing = spawnSync(process.execPath, ['bin/gatelab.js', 'status', join(dir, 'nothing')], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^error: .*nothing: is not a results folder/);
});

test('sweepStatus counts finished fits that did not converge by stopReason, and lists those whose gate left the compact box', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-status-box-'));
  const [t1, t2, t3] = sweepTasks(config, 'quick');
  const store = ResultsStore.open(dir, config, 'quick');
  const model = (beta0: number) => ({ ...config.truth, experts: config.truth.experts.map((e, i) => (i === 0 ? { ...e, beta0 } : e)) });
  const ok = { experiment: config.name, variant: 'quick' as const, status: 'ok' as const, seconds: 0.1, quantities: {} };
  store.append({ ...ok, ...t1!, stopReason: 'converged', converged: true, model: model(-8) });
  store.append({ ...ok, ...t2!, stopReason: 'converged', converged: true, model: model(7e5) });
  store.append({ ...ok, ...t3!, stopReason: 'maxIterations', converged: false, model: model(-8) });
  store.close();
  const s = sweepStatus(readResults(dir));
  assert.deepEqual(s.notConverged, { 'gate outside the box': 1, maxIterations: 1 });
  assert.deepEqual(s.outsideGateBox, [{ key: t2!.key, field: 'experts[0].beta0', value: 7e5 }]);
  const text = formatStatus(s);
  assert.match(text, /not converged \(finished fits\): 1 gate outside the box, 1 maxIterations/);
  assert.match(text, new RegExp(`gate left the compact box \\|beta\\| <= 1000 .*: 1\\n  ${t2!.key.replace(/[/=]/g, '.')}: experts\\[0\\]\\.beta0 = 7\\.00e\\+5`));
});

test('with fit.gateBound in the config, sweepStatus lists the fits on the box\'s face (converged: the constrained maxima)', () => {
  const boxed = { ...config, fit: { ...config.fit, gateBound: 50 } };
  const dir = mkdtempSync(join(tmpdir(), 'gatelab-status-face-'));
  const [t1, t2] = sweepTasks(boxed, 'quick');
  const store = ResultsStore.open(dir, boxed, 'quick');
  const model = (beta0: number) => ({ ...boxed.truth, experts: boxed.truth.experts.map((e, i) => (i === 0 ? { ...e, beta0 } : e)) });
  const ok = { experiment: boxed.name, variant: 'quick' as const, status: 'ok' as const, seconds: 0.1, quantities: {}, stopReason: 'converged' as const, converged: true };
  store.append({ ...ok, ...t1!, model: model(-8) });
  store.append({ ...ok, ...t2!, model: model(-50) });
  store.close();
  const s = sweepStatus(readResults(dir));
  assert.deepEqual(s.notConverged, {});
  assert.deepEqual(s.onGateBoxFace, { bound: 50, fits: [{ key: t2!.key, field: 'experts[0].beta0', value: -50 }] });
  assert.match(formatStatus(s), /fits on the face of the gate box \|beta\| <= 50 .*: 1\n {2}\S+: experts\[0\]\.beta0 = -50/);
  // without the option there is no such list, whatever the models
  const plainDir = mkdtempSync(join(tmpdir(), 'gatelab-status-noface-'));
  const plain = ResultsStore.open(plainDir, config, 'quick');
  plain.append({ ...ok, experiment: config.name, ...t2!, model: model(-50) });
  plain.close();
  assert.equal(sweepStatus(readResults(plainDir)).onGateBoxFace, undefined);
});
