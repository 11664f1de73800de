/**
 * Issue 12, item 5: `export --parquet` overwrote anything: DIR/rows.jsonl (the results store, from
 * a typo), a device file (as root). It refuses a store file, anything but a regular file, and an
 * existing file unless --force; nothing is written when it refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults } from '../../src/sweeps/merged-store.js';
import { assertOneLineError, cli, DEMYS_FILE, tinyResults } from './helpers.js';

test('export --parquet DIR/rows.jsonl (or config.json, or a link to them) is refused; the store is intact', async () => {
  const { dir } = await tinyResults('export-store');
  const rows = readFileSync(join(dir, 'rows.jsonl'));
  const config = readFileSync(join(dir, 'config.json'));
  symlinkSync(join(dir, 'rows.jsonl'), join(dir, 'link.parquet'));
  for (const target of ['rows.jsonl', 'config.json', 'link.parquet']) {
    const r = await cli('export', dir, '--parquet', join(dir, target), '--force');
    assertOneLineError(r, target === 'link.parquet' ? /--parquet: .*link\.parquet" is a file of the results store/ : new RegExp(`--parquet: .*${target.replace('.', '\\.')}" is a file of the results store`));
  }
  assert.deepEqual(readFileSync(join(dir, 'rows.jsonl')), rows);
  assert.deepEqual(readFileSync(join(dir, 'config.json')), config);
  assert.equal(readResults(dir).rows.length, 4);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp')), [], 'no temporary file left');
});

test('export --parquet onto a device, a folder or a symbolic link is refused, even with --force', async () => {
  const { dir } = await tinyResults('export-device');
  const other = join(dir, '..', 'other.txt');
  writeFileSync(other, 'keep me\n');
  symlinkSync(other, join(dir, '..', 'link.parquet'));
  const cases: [string, RegExp][] = [
    ['/dev/null', /"\/dev\/null" is a character device, not a regular file/],
    [join(dir, '..'), /is a folder, not a regular file/],
    [join(dir, '..', 'link.parquet'), /is a symbolic link, not a regular file/],
  ];
  for (const [target, pattern] of cases) {
    const r = await cli('export', dir, '--parquet', target, '--force');
    assertOneLineError(r, pattern);
  }
  assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still the device');
  assert.equal(readFileSync(other, 'utf8'), 'keep me\n');
});

test('export --parquet onto an existing file needs --force; with it, the file is replaced', async () => {
  const { dir } = await tinyResults('export-force');
  const file = join(dir, '..', 'out.parquet');
  writeFileSync(file, 'an old file\n');
  const refused = await cli('export', dir, '--parquet', file);
  assertOneLineError(refused, /--parquet: ".*out\.parquet" exists; give a new file name, or add --force to replace it/);
  assert.equal(readFileSync(file, 'utf8'), 'an old file\n');
  const forced = await cli('export', dir, '--parquet', file, '--force');
  assert.equal(forced.code, 0, forced.err);
  assert.equal(readFileSync(file).subarray(0, 4).toString(), 'PAR1');
  const fresh = join(dir, '..', 'fresh.parquet');
  const first = await cli('export', dir, '--parquet', fresh);
  assert.equal(first.code, 0, first.err);
  assert.ok(existsSync(fresh));
});

test('no command writes over a results store: sample --out and fit --out DIR/rows.jsonl are refused too', async () => {
  const { dir } = await tinyResults('out-store');
  const rows = readFileSync(join(dir, 'rows.jsonl'));
  const sampled = await cli('sample', '--model', DEMYS_FILE, '--n', '10', '--seed', '1', '--backend', 'cpu', '--out', join(dir, 'rows.jsonl'));
  assertOneLineError(sampled, /--out: ".*rows\.jsonl" is a file of the results store .*; writing it would destroy results/);
  const data = join(dir, '..', 'd.csv');
  assert.equal((await cli('sample', '--model', DEMYS_FILE, '--n', '50', '--seed', '1', '--backend', 'cpu', '--out', data)).code, 0);
  const fitted = await cli('fit', '--data', data, '--experts', '2', '--gate', DEMYS_FILE, '--max-iter', '5', '--backend', 'cpu', '--out', join(dir, 'config.json'));
  assertOneLineError(fitted, /--out: ".*config\.json" is a file of the results store/);
  assert.deepEqual(readFileSync(join(dir, 'rows.jsonl')), rows);
  assert.equal(readResults(dir).rows.length, 4);
});
