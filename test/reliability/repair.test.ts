/**
 * Issue 12, item 12: one damaged record mid-file locked the whole store with no way out. The error
 * now points at `gatelab repair DIR`, which moves damaged records (byte for byte) to a quarantine
 * file beside the store, keeps the rest, prints what it did; a sweep then runs the missing tasks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults } from '../../src/sweeps/merged-store.js';
import { crc32 as crc32Of } from '../../src/sweeps/crc32.js';
import { scanRows } from '../../src/sweeps/repair.js';
import { readStore } from '../../src/sweeps/store.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import { assertOneLineError, cli, tinyResults } from './helpers.js';

/** Flip one byte inside line `line` (1-based) of a file; returns the damaged line's bytes. */
function damageLine(file: string, line: number): Buffer {
  const bytes = readFileSync(file);
  let start = 0;
  for (let i = 1; i < line; i++) start = bytes.indexOf(0x0a, start) + 1;
  const end = bytes.indexOf(0x0a, start);
  bytes[start + 10] = bytes[start + 10] === 0x31 ? 0x32 : 0x31; // a digit or letter changes: the CRC no longer matches
  writeFileSync(file, bytes);
  return bytes.subarray(start, end + 1);
}

test('a damaged record mid-file: rates, status, sweep name the line and point at gatelab repair', async () => {
  const { dir, configFile } = await tinyResults('repair-msg');
  damageLine(join(dir, 'rows.jsonl'), 2);
  for (const argv of [['rates', dir], ['status', dir], ['sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', dir]]) {
    assertOneLineError(await cli(...argv), /rows\.jsonl, line 2: damaged record before the end of the file .*; run gatelab repair .* to move damaged records to a quarantine file and keep the rest/);
  }
});

test('gatelab repair moves the damaged record (and a torn tail) to the quarantine, keeps the rest; sweep runs the task again', async () => {
  const { dir, config } = await tinyResults('repair');
  const rowsFile = join(dir, 'rows.jsonl');
  const before = readStore(dir).rows;
  const bad = damageLine(rowsFile, 2);
  writeFileSync(rowsFile, Buffer.concat([readFileSync(rowsFile), Buffer.from('{"key":"torn')]));
  const r = await cli('repair', dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /: moved 1 damaged record\(s\) \(line 2\) and a torn last record \(12 bytes\) to .*rows\.jsonl\.quarantine; kept 3 records\n/);
  assert.match(r.out, /quarantined tasks count as missing/);
  const quarantine = readFileSync(join(dir, 'rows.jsonl.quarantine'));
  assert.deepEqual(quarantine, Buffer.concat([bad, Buffer.from('{"key":"torn\n')]), 'every damaged byte is kept');
  const after = readResults(dir);
  assert.deepEqual(after.rows.map((x) => x.key), before.filter((_, i) => i !== 1).map((x) => x.key));
  assert.deepEqual(after.missing.map((t) => t.key), [before[1]!.key]);
  // a second repair finds nothing to do
  const again = await cli('repair', dir);
  assert.match(again.out, /intact, 3 records; nothing to repair\n.*needs no repair/s);
  // the sweep runs the quarantined task again, and the store is whole
  const summary = await runSweep(config, 'quick', dir, { workers: 1 });
  assert.equal(summary.ran, 1);
  assert.equal(readResults(dir).missing.length, 0);
});

test('gatelab repair repairs every shard; refuses a folder a live run holds, and a non-results folder', async () => {
  const { dir, config } = await tinyResults('repair-shards');
  await runSweep(config, 'quick', dir, { workers: 1, shard: { index: 1, count: 2 } }); // all done already: an empty shard store
  const shardRows = join(dir, 'shards', '1-of-2', 'rows.jsonl');
  writeFileSync(shardRows, 'garbage\n' + readFileSync(join(dir, 'rows.jsonl'), 'utf8'));
  const r = await cli('repair', dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /intact, 4 records; nothing to repair/);
  assert.match(r.out, /1-of-2 \(.*\): moved 1 damaged record\(s\) \(line 1\) to .*1-of-2\/rows\.jsonl\.quarantine; kept 4 records/);
  writeFileSync(join(dir, 'lock'), `${process.pid} ${(await import('node:os')).hostname()} test`);
  assertOneLineError(await cli('repair', dir), /is being written by process \d+/);
  assertOneLineError(await cli('repair', join(dir, 'nowhere')), /is not a results folder/);
  assert.ok(existsSync(join(dir, 'lock')), 'a live lock is left alone');
});

test('scanRows: intact lines kept byte for byte, damaged lines by number', () => {
  const good = (json: string) => `${json}\t${crc32Of(json)}\n`;
  const text = good('{"key":"a"}') + 'x\ty\n' + good('{"key":"b"}') + good('[1]') + 'tail';
  const { kept, damaged, torn } = scanRows(Buffer.from(text));
  assert.deepEqual(kept.map((b) => b.toString()), [good('{"key":"a"}'), good('{"key":"b"}')]);
  assert.deepEqual(damaged.map((d) => d.line), [2, 4]);
  assert.equal(torn?.toString(), 'tail');
});

test('gatelab --help lists repair; gatelab repair --help says what it does', async () => {
  const top = await cli('--help');
  assert.match(top.out, /\n {2}repair +move damaged records of a results store to a quarantine file/);
  const help = await cli('repair', '--help');
  assert.match(help.out, /rows\.jsonl\.quarantine/);
});
