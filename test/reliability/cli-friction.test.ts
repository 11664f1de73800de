/**
 * Issue 12, item 13 (smaller friction): `--version`; node:util parseArgs's own messages ("argument
 * is ambiguous", "To specify a positional argument starting with a '-'...") rewritten in
 * gatelab's voice; Dawn's native warnings kept off the terminal when `auto` ends up on the CPU
 * (the probe runs in a child process); the refusal after editing a config names the field;
 * `--workers` above the core count warns; the README points inside the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { closestFlag } from '../../src/cli/args.js';
import { assertOneLineError, cli, DEMYS_FILE, errorLines, ROOT, spawnCli, tempDir, tinyConfigFile, tinyResults } from './helpers.js';

test('gatelab --version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await cli(flag);
    assert.equal(r.code, 0);
    assert.equal(r.out, `gatelab ${pkg.version}\n`);
  }
  assert.match((await cli('--help')).out, /gatelab --version/);
});

test('flag errors speak gatelab: unknown flags with a suggestion, values that start with -, switches given a value', async () => {
  const cases: [string[], RegExp][] = [
    [['sample', '--mod', 'x'], /^error: sample: --mod is not a flag here; did you mean --model\? \(flags: --model, --n, --seed, --out, --backend\); see gatelab sample --help$/],
    [['sample', '--seeed', '1'], /did you mean --seed\?/],
    [['sample', '--model', '-x'], /^error: sample: --model is followed by "-x", which starts with '-': if it is the value, write --model=-x; if it is the next flag, give --model its value first; see gatelab sample --help$/],
    [['sample', '--model'], /^error: sample: --model needs a value, e\.g\. --model VALUE; see gatelab sample --help$/],
    [['sweep', 'x.json', '--quick=yes'], /^error: sweep: --quick is a switch and takes no value; write --quick alone/],
    [['rates', '-weird-folder'], /^error: rates: -weird-folder is not a flag here \(flags: --format, --fit-range, --config\); a file or folder whose name starts with '-' can be given as \.\/-weird-folder/],
    [['status', '--foo', 'd'], /^error: status: --foo is not a flag here \(flags: none besides --help\)/],
  ];
  for (const [argv, pattern] of cases) {
    const r = await cli(...argv);
    assertOneLineError(r, pattern, 2);
    assert.doesNotMatch(r.err, /positional argument|ambiguous|Unknown option|To specify/);
  }
  assert.equal(closestFlag('--outt', ['out', 'quick']), 'out');
  assert.equal(closestFlag('--zzz', ['out', 'quick']), undefined);
});

test('auto on a machine where the CPU runs: no WebGPU/Dawn warning on stderr, only the backend line', (t) => {
  const r = spawnCli(['sample', '--model', DEMYS_FILE, '--n', '5', '--seed', '1']);
  assert.equal(r.code, 0, r.err);
  if (/^backend: gpu/m.test(r.err)) return t.skip('a hardware GPU answers here: auto runs on it (its warnings may print)');
  assert.match(r.err, /^backend: cpu \(auto: /);
  assert.deepEqual(errorLines(r.err), [], `stderr holds more than the backend line:\n${r.err}`);
});

test('a sweep into a folder of an edited config names the field that differs', async () => {
  const { dir } = await tinyResults('edited');
  const base = join(dir, '..');
  const edited = tinyConfigFile(base, 'rel-tiny', 2, (c) => ((c.fit as Record<string, unknown>).maxIterations = 250));
  assertOneLineError(
    await cli('sweep', edited, '--quick', '--backend', 'cpu', '--workers', '1', '--out', dir),
    /holds results of another config \(rel-tiny, quick\) than rel-tiny \(quick\): fit\.maxIterations: 200 in the folder, 250 in this config; use another --out, or move the folder aside/,
  );
  const other = await cli('sweep', tinyConfigFile(base, 'rel-tiny', 2), '--backend', 'cpu', '--workers', '1', '--out', dir);
  assertOneLineError(other, /than rel-tiny \(full\): variant: "quick" in the folder, "full" in this config/);
});

test('--workers above the core count warns (and the sweep runs)', async () => {
  const dir = tempDir('workers');
  const configFile = tinyConfigFile(dir);
  const many = String(availableParallelism() + 3);
  const r = await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', many, '--out', join(dir, 'out'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`warning: --workers ${many} is above the ${availableParallelism()} cores here`));
  const fine = await cli('sweep', configFile, '--quick', '--backend', 'cpu', '--workers', '1', '--out', join(dir, 'out'));
  assert.doesNotMatch(fine.err, /warning: --workers/);
});

test('README: the spec it points to ships in the repository; the allowScripts notice is explained', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.doesNotMatch(readme, /\.\.\/shared\//, 'no pointer outside the repository');
  assert.match(readme, /\(docs\/spec\/README\.md\)/);
  for (const f of ['README.md', 'models.md', 'fitting.md', 'losses.md', 'rates.md', 'experiments.md']) assert.ok(existsSync(join(ROOT, 'docs', 'spec', f)), f);
  assert.match(readme, /allowScripts/);
});
