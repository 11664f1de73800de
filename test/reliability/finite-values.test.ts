/**
 * Issue 12, item 8: density printed NaN where the answer is -Infinity (every expert underflows at
 * a far point), and sample wrote Infinity for x when the input was uniform on [-1e308, 1e308]
 * (then density rejected the file sample wrote). Now: -Infinity; the too-wide input is refused
 * when the model is read; a drawn value that overflows is a clear error, never written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError, NumericalError } from '../../src/errors.js';
import { logDensity } from '../../src/likelihood/density.js';
import { parseModel } from '../../src/models/validate.js';
import { Rng } from '../../src/rng/rng.js';
import { sample } from '../../src/sampling/sample.js';
import { assertOneLineError, cli, DEMYS_FILE, tempDir } from './helpers.js';

const demysJson = JSON.parse(readFileSync(DEMYS_FILE, 'utf8')) as Record<string, unknown>;

test('density at a point far from every expert is -Infinity, not NaN (library and CLI)', async () => {
  const model = parseModel(demysJson);
  const X = Float64Array.from([0.5, 0.5, 1e307, 0.5]);
  const Y = Float64Array.from([1e155, -1e200, 0, 1]);
  const values = logDensity(model, X, Y, 4);
  assert.deepEqual([...values.subarray(0, 3)], [-Infinity, -Infinity, -Infinity]);
  assert.ok(Number.isFinite(values[3]!));
  const dir = tempDir('far');
  const points = join(dir, 'far.csv');
  writeFileSync(points, 'x1,y\n0.5,1e155\n0.5,1\n');
  const r = await cli('density', '--model', DEMYS_FILE, '--points', points);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines[1], '-Infinity');
  assert.ok(Number.isFinite(Number(lines[2])));
  assert.doesNotMatch(r.out, /NaN/);
});

test('density is never NaN on random far points of random models', () => {
  const rng = new Rng(12);
  for (let trial = 0; trial < 200; trial++) {
    const k = 1 + rng.integer(4);
    const experts = Array.from({ length: k }, () => ({
      beta0: 20 * rng.normal(),
      beta1: [20 * rng.normal()],
      a: [10 ** (6 * rng.uniform()) * rng.normal()],
      b: 10 ** (6 * rng.uniform()) * rng.normal(),
      nu: 10 ** (-6 + 8 * rng.uniform()),
    }));
    const model = parseModel({ gate: { type: 'softmax' }, experts });
    const n = 20;
    const X = Float64Array.from({ length: n }, () => 10 ** (300 * rng.uniform()) * rng.normal());
    const Y = Float64Array.from({ length: n }, () => 10 ** (300 * rng.uniform()) * rng.normal());
    const values = logDensity(model, X, Y, n);
    assert.ok(values.every((v) => !Number.isNaN(v) && v !== Infinity), `trial ${trial}: ${[...values]}`);
  }
});

test('a uniform input on [-1e308, 1e308] is refused when the model is read (high - low overflows)', async () => {
  const wide = { ...demysJson, input: { type: 'uniform', low: -1e308, high: 1e308, dim: 1 } };
  assert.throws(() => parseModel(wide), (e: unknown) => e instanceof ModelError && /input: \[-1e\+308, 1e\+308\] is too wide \(high - low overflows float64\)/.test((e as Error).message));
  assert.doesNotThrow(() => parseModel({ ...demysJson, input: { type: 'uniform', low: -8e307, high: 8e307, dim: 1 } }));
  const dir = tempDir('wide');
  const file = join(dir, 'wide.json');
  writeFileSync(file, JSON.stringify(wide));
  assertOneLineError(await cli('sample', '--model', file, '--n', '3', '--seed', '1', '--backend', 'cpu'), /wide\.json: input: .* is too wide/);
});

test('a drawn y that overflows float64 is a NumericalError naming the point; nothing is written', async () => {
  const model = parseModel({ gate: { type: 'softmax' }, experts: [{ beta0: 0, beta1: [0], a: [1e300], b: 0, nu: 1 }], input: { type: 'uniform', low: -1e10, high: 1e10 } });
  assert.throws(() => sample(model, 5, new Rng(1)), (e: unknown) => e instanceof NumericalError && /^sample: point 1 has y = -?Infinity/.test((e as Error).message));
  const dir = tempDir('overflow');
  const file = join(dir, 'm.json');
  writeFileSync(file, JSON.stringify(model));
  const out = join(dir, 's.csv');
  assertOneLineError(await cli('sample', '--model', file, '--n', '5', '--seed', '1', '--backend', 'cpu', '--out', out), /sample: point 1 has y = -?Infinity \(float64 overflow/);
  assert.throws(() => readFileSync(out), /ENOENT/);
  // a sample that can be written reads back: every value finite, density finite or -Infinity
  const ok = await cli('sample', '--model', DEMYS_FILE, '--n', '50', '--seed', '2', '--backend', 'cpu', '--out', out);
  assert.equal(ok.code, 0, ok.err);
  const d = await cli('density', '--model', DEMYS_FILE, '--points', out);
  assert.equal(d.code, 0, d.err);
});
