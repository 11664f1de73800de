import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preferredResults } from '../../src/sweeps/results-variant.js';

test('preferredResults: the full variant where its store exists, else the quick one, saying why; a variant asked for is kept', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatelab-variant-'));
  // the experiment config beside the results folder: <parent of root>/experiments/<name>.json
  const configFile = join(root, '..', 'experiments', 'demo.json');
  assert.deepEqual(preferredResults('demo', 'auto', root), { variant: 'quick', dir: join(root, 'demo-quick'), reason: 'no full results', configFile });
  // an empty folder is not a store
  mkdirSync(join(root, 'demo'));
  assert.equal(preferredResults('demo', 'auto', root).variant, 'quick');
  writeFileSync(join(root, 'demo', 'config.json'), '{}');
  assert.deepEqual(preferredResults('demo', 'auto', root), { variant: 'full', dir: join(root, 'demo'), reason: 'full results present', configFile });
  assert.deepEqual(preferredResults('demo', 'quick', root), { variant: 'quick', dir: join(root, 'demo-quick'), reason: 'asked for', configFile });
  assert.equal(preferredResults('other', 'full', root).dir, join(root, 'other'));
});
