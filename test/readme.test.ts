import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

test('the README library example runs and prints a converged over-specified fit', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a ts example');
  // run it inside the repository so that `import ... from 'gatelab'` resolves to this package
  const dir = mkdtempSync(join('test', '.readme-'));
  const file = join(dir, 'example.ts');
  writeFileSync(file, block[1]!);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
  spawnSync('rm', ['-rf', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^converged D2 \[ \[ \d(, \d)? \], \[ \d(, \d)? \] \]/);
});

test('the README GPU-backend example runs (on whichever backend auto takes) and converges', () => {
  const readme = readFileSync('README.md', 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)];
  const block = blocks.find((b) => b[1]!.includes('resolveBackend'));
  assert.ok(block, 'README has the GPU-backend example');
  const dir = mkdtempSync(join('test', '.readme-'));
  const file = join(dir, 'example.ts');
  writeFileSync(file, block[1]!);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 120000 });
  spawnSync('rm', ['-rf', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^backend: (cpu|gpu) .*\[ '(cpu|gpu)', 'converged' \]/s);
});
