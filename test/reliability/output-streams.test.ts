/**
 * Issue 12, items 2 and 3: a closed pipe (`gatelab sample ... | head -1`) ends the command quietly,
 * as Unix filters do (it was an EPIPE stack trace); and sample streams its CSV in bounded memory
 * (it built one string: an n the flag accepts aborted with V8's heap trace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetToCsv } from '../../src/data/csv.js';
import type { Model } from '../../src/models/types.js';
import { parseModel } from '../../src/models/validate.js';
import { Rng } from '../../src/rng/rng.js';
import { sample, sampleChunks, sampleRange } from '../../src/sampling/sample.js';
import { BIN, cli, DEMYS_FILE, errorLines, ROOT, spawnCli, tempDir } from './helpers.js';

const demys = parseModel(JSON.parse(readFileSync(DEMYS_FILE, 'utf8')));

/** Run `gatelab ARGS | head -1` in bash; the exit status and stderr of gatelab, and what head printed. */
function intoHead(args: string[]): { status: number; err: string; out: string } {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const script = `'${process.execPath}' '${BIN}' ${quoted} 2>"$ERR" | head -1; echo "status=\${PIPESTATUS[0]}"`;
  const dir = tempDir('pipe');
  const errFile = join(dir, 'err.txt');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ERR: errFile }, timeout: 60_000 });
  const status = Number(/status=(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  return { status, err: readFileSync(errFile, 'utf8'), out: r.stdout.split('\n')[0]! };
}

test('sample | head -1: the header, exit 0, nothing on stderr but the backend line (no EPIPE trace)', () => {
  const r = intoHead(['sample', '--model', DEMYS_FILE, '--n', '200000', '--seed', '1', '--backend', 'cpu']);
  assert.equal(r.out, 'x1,y,z');
  assert.deepEqual(errorLines(r.err), [], r.err);
  assert.equal(r.status, 0, r.err);
});

test('density | head -1: the header, exit 0, no EPIPE trace', () => {
  const dir = tempDir('pipe-density');
  const points = join(dir, 'p.csv');
  const lines = ['x1,y'];
  for (let i = 0; i < 200_000; i++) lines.push(`${(i % 1000) / 1000},${i % 7}`);
  writeFileSync(points, lines.join('\n') + '\n');
  const r = intoHead(['density', '--model', DEMYS_FILE, '--points', points]);
  assert.equal(r.out, 'logp');
  assert.deepEqual(errorLines(r.err), [], r.err);
  assert.equal(r.status, 0, r.err);
});

test('sampleRange / sampleChunks: the pieces, concatenated, are the sample (grid, uniform, normal inputs)', () => {
  const models: Model[] = [
    demys,
    { ...demys, input: { type: 'grid', low: -1, high: 2, dim: 1 } as Model['input'] },
    parseModel({ ...JSON.parse(readFileSync(DEMYS_FILE, 'utf8')), input: { type: 'normal', mean: [0.5], cov: [[0.04]] } }),
  ];
  for (const model of models) {
    const whole = sample(model, 1000, new Rng(7));
    const pieces = [...sampleChunks(model, 1000, new Rng(7), 300)];
    assert.deepEqual(pieces.map((p) => p.n), [300, 300, 300, 100]);
    const cat = (f: (p: (typeof pieces)[number]) => ArrayLike<number>) => pieces.flatMap((p) => Array.from(f(p)));
    assert.deepEqual(cat((p) => p.X), Array.from(whole.X));
    assert.deepEqual(cat((p) => p.Y), Array.from(whole.Y));
    assert.deepEqual(cat((p) => p.Z!), Array.from(whole.Z!));
    const middle = sampleRange(model, 1000, new Rng(7), 417, 5);
    assert.deepEqual(Array.from(middle.Y), Array.from(whole.Y.subarray(417, 422)));
  }
});

test('gatelab sample writes the same bytes as datasetToCsv, to --out and to standard output, across pieces', async () => {
  const dir = tempDir('bytes');
  const file = join(dir, 's.csv');
  const n = 70_000; // more than one 65536-point piece
  const expected = datasetToCsv(sample(demys, n, new Rng(5)));
  const toFile = await cli('sample', '--model', DEMYS_FILE, '--n', String(n), '--seed', '5', '--backend', 'cpu', '--out', file);
  assert.equal(toFile.code, 0, toFile.err);
  assert.equal(readFileSync(file, 'utf8'), expected);
  const toStdout = await cli('sample', '--model', DEMYS_FILE, '--n', String(n), '--seed', '5', '--backend', 'cpu');
  assert.equal(toStdout.out, expected);
});

test('gatelab sample --n 1000000 runs in a 32 MB heap, to a file and to standard output (streamed; the whole CSV string took more)', () => {
  const dir = tempDir('memory');
  const file = join(dir, 'big.csv');
  const n = 1_000_000;
  const args = ['sample', '--model', DEMYS_FILE, '--n', String(n), '--seed', '3', '--backend', 'cpu'];
  const r = spawnCli([...args, '--out', file], { nodeArgs: ['--max-old-space-size=32'] });
  assert.equal(r.code, 0, r.err.slice(0, 2000));
  const text = readFileSync(file, 'utf8');
  assert.equal(text.length, statSync(file).size);
  assert.equal(text.split('\n').length, n + 2); // header, n rows, final newline
  // its first rows are the library's sample's (a uniform design's points do not depend on n)
  const head = datasetToCsv(sample(demys, 50, new Rng(3)));
  assert.equal(text.slice(0, head.length), head);
  const outFile = join(dir, 'stdout.csv');
  const fd = openSync(outFile, 'w');
  try {
    const s = spawnSync(process.execPath, ['--max-old-space-size=32', BIN, ...args], { cwd: ROOT, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 120_000 });
    assert.equal(s.status, 0, String(s.stderr).slice(0, 2000));
  } finally {
    closeSync(fd);
  }
  assert.equal(readFileSync(outFile, 'utf8'), text);
});

test('gatelab sample --n above 2^31 is a usage error naming the limit', async () => {
  const r = await cli('sample', '--model', DEMYS_FILE, '--n', String(2 ** 31 + 1), '--seed', '1', '--backend', 'cpu');
  assert.equal(r.code, 2);
  assert.match(r.err, /^error: --n: 2147483649 is not allowed; must be an integer in 1\.\.2147483648/);
});
