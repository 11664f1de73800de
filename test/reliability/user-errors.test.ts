/**
 * Issue 12, items 6 and 7: user-level problems got "internal error ... please report this" (or a
 * hang): an --out that is a file, under a file, on a read-only file system, in sysfs or procfs; a
 * full disk during a sweep; a results folder whose config.json is empty, truncated, {} or a
 * folder; a model file nested 100 000 levels deep. Each gets one line that says what is wrong and
 * what to do (exit 1), and `sweep --out` into /proc returns at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults } from '../../src/sweeps/merged-store.js';
import { assertOneLineError, cli, DEMYS_FILE, spawnCli, tempDir, tinyConfigFile, tinyResults } from './helpers.js';

const sampleTo = (out: string) => cli('sample', '--model', DEMYS_FILE, '--n', '20', '--seed', '1', '--backend', 'cpu', '--out', out);

test('--out that is a file, or under a file: one line naming the path (sample, fit, sweep)', async () => {
  const dir = tempDir('out-file');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x\n');
  const configFile = tinyConfigFile(dir);
  assertOneLineError(await sampleTo(join(file, 'x.csv')), /--out: cannot write ".*a-file\/x\.csv" \(ENOTDIR: a part of the path is a file, not a folder\)/);
  assertOneLineError(await sampleTo(dir), /--out: ".*" is a folder; give a file name/);
  const data = join(dir, 'd.csv');
  assert.equal((await sampleTo(data)).code, 0);
  const fit = await cli('fit', '--data', data, '--experts', '2', '--gate', DEMYS_FILE, '--max-iter', '5', '--backend', 'cpu', '--out', join(file, 'f.json'));
  assertOneLineError(fit, /--out: cannot write .*ENOTDIR/);
  assertOneLineError(await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', file), /a-file: is a file, not a folder/);
  assertOneLineError(await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', join(file, 'sub')), /"\S*a-file" is a file, not a folder/);
});

test('--out in the kernel\'s sysfs: one line (sample, sweep)', async (t) => {
  if (process.platform !== 'linux') return t.skip('Linux only');
  const dir = tempDir('sysfs');
  const configFile = tinyConfigFile(dir);
  assertOneLineError(await sampleTo('/sys/kernel/gatelab-test.csv'), /--out: cannot write "\/sys\/kernel\/gatelab-test\.csv" \(E[A-Z]+/);
  // in a child: a mkdir that loops there must not hang the test runner
  const sweep = spawnCli(['sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', '/sys/kernel/gatelab-test'], { timeout: 30_000 });
  assert.equal(sweep.signal, null, 'it must not hang (killed by the timeout)');
  assertOneLineError(sweep, /cannot create the folder "\/sys\/kernel\/gatelab-test" \(E[A-Z]+.*"\/sys" is a virtual file system of the kernel/);
});

test('sweep (and slurm) --out into /proc return at once with one line (mkdir looped for ever)', (t) => {
  if (process.platform !== 'linux') return t.skip('Linux only');
  const dir = tempDir('procfs');
  const configFile = tinyConfigFile(dir);
  for (const command of ['sweep', 'slurm']) {
    const r = spawnCli([command, configFile, '--quick', '--out', '/proc/gatelab-test/results', ...(command === 'sweep' ? ['--backend', 'cpu', '--workers', '1'] : [])], { timeout: 30_000 });
    assert.equal(r.signal, null, `${command} must not hang (killed by the timeout)`);
    assertOneLineError(r, /cannot create the folder "\/proc\/gatelab-test" \(E[A-Z]+.*"\/proc" is a virtual file system of the kernel/);
  }
});

/** Mount a tmpfs (root only); undefined where that is not possible. */
function tmpfs(dir: string, options: string): (() => void) | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return () => void spawnSync('umount', [dir]);
}

test('a read-only file system: one line (sample --out, sweep --out)', async (t) => {
  const dir = tempDir('rofs');
  const mount = join(dir, 'ro');
  const unmount = tmpfs(mount, 'size=1m,ro');
  if (!unmount) return t.skip('needs root to mount a read-only tmpfs');
  try {
    const configFile = tinyConfigFile(dir);
    assertOneLineError(await sampleTo(join(mount, 'x.csv')), /--out: cannot write .* \(EROFS: the file system is read-only\); choose a folder on a writable disk/);
    const sweep = await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', join(mount, 'results'));
    assertOneLineError(sweep, /cannot create the folder .*\(EROFS: the file system is read-only\)/);
  } finally {
    unmount();
  }
});

test('a full disk during a sweep (ENOSPC): one line; the rows written stay, and a re-run resumes', async (t) => {
  const dir = tempDir('enospc');
  const mount = join(dir, 'small');
  const unmount = tmpfs(mount, 'size=24k');
  if (!unmount) return t.skip('needs root to mount a small tmpfs');
  try {
    const configFile = tinyConfigFile(dir, 'rel-tiny', 30); // 60 rows of ~1 kB: more than 24 kB
    const out = join(mount, 'results');
    const r = await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', out);
    assertOneLineError(r, /rows\.jsonl: cannot append the row of task n=\d+\/r=\d+ \(ENOSPC: the disk is full\); free some space .* a re-run resumes/);
    const kept = readResults(out);
    assert.ok(kept.rows.length > 0 && kept.missing.length > 0, `${kept.rows.length} rows kept`);
    // no torn line was left: the store reads without a note, and resumes elsewhere
    assert.equal(kept.stores[0]!.tornBytes, 0);
    const moved = join(dir, 'moved');
    cpSync(out, moved, { recursive: true });
    rmSync(join(moved, 'lock'), { force: true });
    const resumed = await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', moved);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.err, new RegExp(`${60 - kept.rows.length} tasks run, ${kept.rows.length} already done`));
  } finally {
    unmount();
  }
});

test('a results folder whose config.json is empty, truncated, {} or a folder: one line for rates, status, export and sweep', async () => {
  const { dir, configFile } = await tinyResults('config-json');
  const good = readFileSync(join(dir, 'config.json'), 'utf8');
  const damage: [string, (file: string) => void, RegExp][] = [
    ['empty', (f) => writeFileSync(f, ''), /config\.json: is empty; it is written by gatelab sweep/],
    ['truncated', (f) => writeFileSync(f, good.slice(0, 100)), /config\.json: is not valid JSON \(.*\); it is written by gatelab sweep/],
    ['{}', (f) => writeFileSync(f, '{}'), /config\.json: variant: nothing is not "quick" or "full"/],
    ['no variants', (f) => writeFileSync(f, JSON.stringify({ config: { name: 'x', seed: 1 }, variant: 'quick' })), /config\.json: config\.variants: nothing is not an object/],
    ['a folder', (f) => mkdirSync(f), /cannot read ".*config\.json" \(EISDIR: it is a folder\)/],
  ];
  for (const [what, make, pattern] of damage) {
    const file = join(dir, 'config.json');
    rmSync(file, { recursive: true, force: true });
    make(file);
    for (const argv of [['rates', dir], ['status', dir], ['export', dir, '--parquet', join(dir, '..', `${what}.parquet`)], ['sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', dir]]) {
      const r = await cli(...argv);
      try {
        assertOneLineError(r, pattern);
      } catch (e) {
        throw new Error(`config.json ${what}, gatelab ${argv[0]}: ${(e as Error).message}`);
      }
    }
  }
  rmSync(join(dir, 'config.json'), { recursive: true, force: true });
  writeFileSync(join(dir, 'config.json'), good);
  const restored = await cli('status', dir);
  assert.equal(restored.code, 0, restored.err);
});

test('a model (or gate, or experiment) file nested 100 000 levels deep: one line naming the file', async () => {
  const dir = tempDir('deep');
  const deep = '['.repeat(100_000) + '0' + ']'.repeat(100_000);
  const model = join(dir, 'deep-model.json');
  writeFileSync(model, `{"gate":{"type":"softmax"},"experts":${deep}}`);
  const bare = join(dir, 'deep.json');
  writeFileSync(bare, deep);
  const pattern = /deep(-model)?\.json: is nested more than 64 levels deep/;
  assertOneLineError(await cli('sample', '--model', model, '--n', '5', '--seed', '1', '--backend', 'cpu'), pattern);
  assertOneLineError(await cli('sample', '--model', bare, '--n', '5', '--seed', '1', '--backend', 'cpu'), pattern);
  assertOneLineError(await cli('density', '--model', model, '--points', model), pattern);
  const data = join(dir, 'd.csv');
  writeFileSync(data, 'x1,y\n0.1,1\n0.2,2\n0.3,3\n');
  assertOneLineError(await cli('fit', '--data', data, '--experts', '2', '--gate', bare, '--out', join(dir, 'f.json')), pattern);
  assertOneLineError(await cli('sweep', bare, '--quick', '--backend', 'cpu', '--out', join(dir, 'r')), pattern);
});
