import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { parseDatasetCsv } from '../src/data/index.js';
import { logDensity } from '../src/likelihood/index.js';
import { DEMYS } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gatelab-cli-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const demys = file('demys.json', JSON.stringify(DEMYS));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function spawnCli(...argv: string[]) {
  const r = spawnSync(process.execPath, ['bin/gatelab.js', ...argv], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('gatelab (spawned) samples, fits and scores end to end with exit code 0', () => {
  const data = join(dir, 'd.csv');
  const fit = join(dir, 'f.json');
  assert.equal(spawnCli('sample', '--model', demys, '--n', '2000', '--seed', '3', '--out', data).code, 0);
  const f = spawnCli('fit', '--data', data, '--experts', '2', '--gate', demys, '--near-truth', demys, '--noise', '0.1', '--seed', '1', '--out', fit);
  assert.equal(f.code, 0, f.err);
  const loss = spawnCli('loss', '--truth', demys, '--fit', fit);
  assert.equal(loss.code, 0, loss.err);
  const parsed = JSON.parse(loss.out);
  assert.equal(parsed.kind, 'D1');
  assert.deepEqual(Object.keys(parsed), ['kind', 'raw', 'aligned', 'cells', 'errors']);
});

test('gatelab (spawned) prints one error line and no stack trace on bad input, exit code 1', () => {
  const bad = file('bad-nu.json', JSON.stringify({ ...DEMYS, experts: [DEMYS.experts[0], { ...DEMYS.experts[1], nu: -0.2 }] }));
  const r = spawnCli('sample', '--model', bad, '--n', '10', '--seed', '1');
  assert.equal(r.code, 1);
  assert.equal(r.err, `error: ${bad}: experts[1].nu: -0.2 is not a variance; must be > 0\n`);
});

test('gatelab --help lists every command; gatelab <cmd> --help describes every flag', async () => {
  const top = await run('--help');
  assert.equal(top.code, 0);
  for (const c of ['sample', 'fit', 'density', 'loss', 'demo']) assert.match(top.out, new RegExp(`\\b${c}\\b`));
  const flags: Record<string, string[]> = {
    sample: ['--model', '--n', '--seed', '--out'],
    density: ['--model', '--points'],
    fit: ['--data', '--experts', '--gate', '--start', '--near-truth', '--noise', '--shrink', '--restarts', '--seed', '--method', '--tau', '--tol', '--abs-tol', '--max-iter', '--identifiability', '--out'],
    loss: ['--truth', '--fit'],
  };
  for (const [command, list] of Object.entries(flags)) {
    const h = await run(command, '--help');
    assert.equal(h.code, 0);
    for (const flag of list) assert.ok(h.out.includes(flag), `${command} --help lacks ${flag}`);
  }
});

test('gatelab sample gives the same bytes for the same seed, header x1,y,z', async () => {
  const a = await run('sample', '--model', demys, '--n', '500', '--seed', '42');
  const b = await run('sample', '--model', demys, '--n', '500', '--seed', '42');
  const c = await run('sample', '--model', demys, '--n', '500', '--seed', '43');
  assert.equal(a.out, b.out);
  assert.notEqual(a.out, c.out);
  assert.equal(a.out.split('\n')[0], 'x1,y,z');
  const data = parseDatasetCsv(a.out);
  assert.ok(data.Z!.every((z) => z === 0 || z === 1));
});

test('gatelab density prints logp values that round-trip to the library float64 values', async () => {
  const sampled = await run('sample', '--model', demys, '--n', '300', '--seed', '7');
  const points = file('p.csv', sampled.out);
  const r = await run('density', '--model', demys, '--points', points);
  assert.equal(r.code, 0);
  const lines = r.out.trim().split('\n');
  assert.equal(lines[0], 'logp');
  const data = parseDatasetCsv(sampled.out);
  const expected = logDensity(DEMYS, data.X, data.Y, data.n);
  assert.deepEqual(Float64Array.from(lines.slice(1), Number), expected);
});

test('gatelab fit writes the model-file shape plus fit {loglik, iterations, stopReason, seconds}', async () => {
  const sampled = await run('sample', '--model', demys, '--n', '1000', '--seed', '8');
  const data = file('fit-data.csv', sampled.out);
  const gate = file('gate.json', '{"type":"softmax"}');
  const out = join(dir, 'fitted.json');
  for (const extra of [[], ['--method', 'mle'], ['--restarts', '3', '--seed', '2'], ['--start', demys]]) {
    const r = await run('fit', '--data', data, '--experts', '2', '--gate', gate, ...extra, '--out', out);
    assert.equal(r.code, 0, r.err);
    const fitted = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(Object.keys(fitted), ['gate', 'experts', 'input', 'fit']);
    for (const key of ['loglik', 'iterations', 'stopReason', 'seconds']) assert.ok(key in fitted.fit, key);
    assert.equal(fitted.experts.length, 2);
    assert.ok(fitted.fit.seconds >= 0 && fitted.fit.seconds < 60);
  }
});

const csvGood = () => file('good.csv', 'x1,y\n0.1,1\n0.2,2\n0.3,3\n');
const badCases: [string, () => string[], RegExp, number][] = [
  ['bad JSON', () => ['sample', '--model', file('bad.json', '{"gate": '), '--n', '5', '--seed', '1'], /bad\.json: is not valid JSON/, 1],
  ['a negative variance', () => ['sample', '--model', file('nu.json', JSON.stringify({ ...DEMYS, experts: [DEMYS.experts[0], { ...DEMYS.experts[1], nu: -1 }] })), '--n', '5', '--seed', '1'], /experts\[1\]\.nu: -1 is not a variance; must be > 0/, 1],
  ['K out of range (model)', () => ['sample', '--model', file('k.json', JSON.stringify({ ...DEMYS, gate: { type: 'topk', K: 3 } })), '--n', '5', '--seed', '1'], /gate\.K: 3 exceeds the number of experts \(2\)/, 1],
  ['K out of range (fit gate)', () => ['fit', '--data', csvGood(), '--experts', '2', '--gate', file('g3.json', '{"type":"topk","K":5}'), '--out', join(dir, 'x.json')], /gate\.K: 5 exceeds the number of experts \(2\)/, 1],
  ['a dimension mismatch', () => ['density', '--model', demys, '--points', file('d2.csv', 'x1,x2,y\n1,2,3\n')], /has 2 input columns; the model has dimension 1/, 1],
  ['a malformed CSV row', () => ['density', '--model', demys, '--points', file('short.csv', 'x1,y\n1,2\n3\n')], /line 3: has 1 fields; must have 2/, 1],
  ['NaN in the data', () => ['fit', '--data', file('nan.csv', 'x1,y\n0.1,NaN\n'), '--experts', '1', '--gate', file('g.json', '{"type":"softmax"}'), '--out', join(dir, 'y.json')], /line 2, column y: "NaN" is not a finite number/, 1],
  ['a missing file', () => ['density', '--model', join(dir, 'nope.json'), '--points', csvGood()], /--model: cannot read .*nope\.json.*\(ENOENT\)/, 1],
  ['an unknown flag', () => ['sample', '--model', demys, '--n', '5', '--seed', '1', '--bogus'], /sample: --bogus is not a flag here \(flags: --model, --n, --seed, --out, --backend\)/, 2],
  ['a missing flag', () => ['sample', '--model', demys, '--n', '5'], /sample: --seed is required/, 2],
  ['a bad --n', () => ['sample', '--model', demys, '--n', '2.5', '--seed', '1'], /--n: "2\.5" is not allowed; must be an integer >= 1/, 2],
  ['a negative --seed', () => ['sample', '--model', demys, '--n', '5', '--seed', '-3'], /--seed: "-3" is not allowed/, 2],
  ['two start options', () => ['fit', '--data', csvGood(), '--experts', '2', '--gate', demys, '--start', demys, '--restarts', '2', '--out', join(dir, 'z.json')], /--start and --restarts both given/, 2],
  ['a bad --method', () => ['fit', '--data', csvGood(), '--experts', '2', '--gate', demys, '--method', 'sgd', '--out', join(dir, 'z.json')], /--method: "sgd" is not a fitting method; must be "em" \(default\) or "mle"/, 2],
  ['an unknown command', () => ['frobnicate'], /"frobnicate" is not a command/, 2],
  ['near-truth without noise', () => ['fit', '--data', csvGood(), '--experts', '2', '--gate', demys, '--near-truth', demys, '--seed', '1', '--out', join(dir, 'z.json')], /fit: --noise is required/, 2],
];
for (const [name, argv, message, code] of badCases) {
  test(`gatelab rejects ${name}: exit ${code}, one line naming the field`, async () => {
    const r = await run(...argv());
    assert.equal(r.code, code, r.err);
    assert.match(r.err, /^error: /);
    assert.equal(r.err.trimEnd().split('\n').length, 1, `more than one line: ${r.err}`);
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /\n\s+at /);
  });
}
