/**
 * Architecture: imports under src/ run only downward in the layer order below, there is no
 * import cycle between folders, and none among the files of src/cli/. Type-only imports count
 * (a type import is still an arrow a reader has to follow). The checker (checker.ts) is unit
 * tested on a tiny fake tree first, so that a pass means something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkImports, findCycles, importSpecifiers } from './checker.js';

/**
 * The layers of src/, lowest first: a file may import its own folder and the folders listed
 * before it. 'base' is errors.ts, files.ts and checks.ts; 'index' is src/index.ts.
 * - numerics imports nothing of gatelab: plain numbers in and out.
 * - gates below models: a model's gate spec is defined by its gate (gates/registry.ts) and
 *   models/types.ts re-exports it.
 * - backend (the CPU kernels) below fitting, which runs EM/MLE on them; gpu (the GPU engine and
 *   sampler) above fitting, whose state, M-step and stopping rule it reuses; compute (the CPU/GPU
 *   choice, sampleMany, fitMany) above both, because it dispatches to either.
 * - losses above compute only by convention (it imports neither engine); selection (choosing k:
 *   criteria, the dendrogram of mixing measures) fits through fitting; sweeps run tasks on a
 *   chosen backend (and the selection sweep); analysis reads sweep results; plots draw analyses; the CLI calls everything.
 */
export const LAYERS = [
  'base',
  'rng',
  'numerics',
  'gates',
  'models',
  'experts',
  'data',
  'sampling',
  'likelihood',
  'backend',
  'fitting',
  'gpu',
  'compute',
  'losses',
  'selection',
  'sweeps',
  'analysis',
  'plots',
  'cli',
  'index',
] as const;

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|js|mjs|cjs)$/.test(e.name) ? [p] : [];
  });
}

test('the import checker finds what it must (a fake tree: an upward import, folder and file cycles)', () => {
  // the parser: multi-line, type-only, inline type, export-from, side-effect and dynamic imports,
  // and nothing from comments or from `export const`
  const src = [
    "import { a,\n  b } from './x.js';",
    "import type { T } from '../t.js';",
    "import { type U, type V } from '../u.js';",
    "export { w } from './w.js';",
    "export * from './all.js';",
    "import './side.js';",
    "const m = await import('./dyn.js');",
    " * import { doc } from './not-code.js';",
    "export const s = 'from \\'./fake.js\\'';",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(src), [
    { spec: './x.js', typeOnly: false },
    { spec: '../t.js', typeOnly: true },
    { spec: '../u.js', typeOnly: true },
    { spec: './w.js', typeOnly: false },
    { spec: './all.js', typeOnly: false },
    { spec: 'node:fs', typeOnly: false },
    { spec: './side.js', typeOnly: false },
    { spec: './dyn.js', typeOnly: false },
  ]);
  const files = new Map([
    ['src/errors.ts', ''],
    ['src/low/a.ts', "import type { B } from '../high/b.js';\nimport { E } from '../errors.js';"],
    ['src/high/b.ts', "import { A } from '../low/a.js';"],
    ['src/high/c.ts', "import { D } from './d.js';"],
    ['src/high/d.ts', "import { C } from './c.js';"],
    ['src/index.ts', "export * from './high/b.js';"],
    ['src/stray/s.ts', ''],
  ]);
  const report = checkImports(files, ['base', 'low', 'high', 'index'], ['high']);
  assert.deepEqual(report.upward, ["src/low/a.ts imports type '../high/b.js' (low imports high, which is above it in the layer order)"]);
  assert.deepEqual(report.folderCycles, [{ members: ['high', 'low'], path: ['high', 'low', 'high'] }]);
  assert.deepEqual(report.fileCycles, [{ members: ['src/high/c.ts', 'src/high/d.ts'], path: ['src/high/c.ts', 'src/high/d.ts', 'src/high/c.ts'] }]);
  assert.deepEqual(report.unknown, ['src/stray/s.ts (folder stray is not in the layer order)']);
  // a clean tree passes
  const clean = checkImports(new Map([['src/low/a.ts', "import { E } from '../errors.js';"], ['src/high/b.ts', "import { A } from '../low/a.js';"]]), ['base', 'low', 'high']);
  assert.deepEqual(clean, { upward: [], unknown: [], folderCycles: [], fileCycles: [] });
  assert.deepEqual(findCycles(new Map([['a', new Set(['a'])]])), [{ members: ['a'], path: ['a', 'a'] }]);
  // a circle of four with a shortcut: the group has all four, the path is a shortest circle
  const four = new Map([['a', new Set(['b'])], ['b', new Set(['c', 'a'])], ['c', new Set(['d'])], ['d', new Set(['a'])]]);
  assert.deepEqual(findCycles(four), [{ members: ['a', 'b', 'c', 'd'], path: ['a', 'b', 'a'] }]);
});

test('imports under src/ run only down the layer order, with no cycle between folders or among src/cli files', () => {
  const files = new Map(
    sourceFiles(join(root, 'src')).map((p) => [relative(root, p).split(sep).join('/'), readFileSync(p, 'utf8')] as const),
  );
  assert.ok(files.size > 50, `read ${files.size} files under src/`);
  const report = checkImports(files, LAYERS, ['cli']);
  const problems = [
    ...report.unknown.map((u) => `not in the layer order: ${u}`),
    ...report.upward.map((u) => `upward import: ${u}`),
    ...report.folderCycles.map((c) => `folder cycle among ${c.members.join(', ')}: ${c.path.join(' -> ')}`),
    ...report.fileCycles.map((c) => `file cycle among ${c.members.join(', ')}: ${c.path.join(' -> ')}`),
  ];
  assert.deepEqual(problems, [], `layer order (lowest first): ${LAYERS.join(' < ')}\n${problems.join('\n')}`);
});
