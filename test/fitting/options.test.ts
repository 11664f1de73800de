/**
 * The fit options table (src/fitting/options.ts): validation, defaults, the CLI's flags and help
 * and the docs are all read from FIT_OPTIONS, so this suite checks each of them against it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { validateFitOptions, type FitOptions } from '../../src/fitting/index.js';
import { resolveStopping } from '../../src/fitting/types.js';
import { FIT_DEFAULTS, FIT_OPTIONS, fitFlagsHelp, fitOptionsFromFlags, fitOptionsMarkdown, type FitOptionSpec } from '../../src/fitting/options.js';
import { join } from 'node:path';
import { assertOneLineError, cli, DEMYS_FILE, tempDir } from '../reliability/helpers.js';

const BASE: FitOptions = { k: 2, gate: { type: 'softmax' } };
/** The options an option needs beside it to apply (tol and relativeLag need the relative rule; tau free needs a temperature gate). */
function context(spec: FitOptionSpec): FitOptions {
  const base: FitOptions = spec.key === 'tau' ? { k: 2, gate: { type: 'temperature', tau: 1 } } : spec.key === 'relativeLag' ? { ...BASE, stop: 'relative' } : { ...BASE };
  return spec.onlyWhen ? ({ ...base, [spec.onlyWhen.key]: spec.onlyWhen.value } as FitOptions) : base;
}

const checked = FIT_OPTIONS.filter((o) => o.domain.kind !== 'custom');

/** Values inside an option's domain. */
function inside(spec: FitOptionSpec): fc.Arbitrary<unknown> {
  const d = spec.domain;
  switch (d.kind) {
    case 'choice':
      return fc.constantFrom(...d.values);
    case 'number':
      return d.maxOpen !== undefined
        ? fc.double({ min: d.min, max: d.maxOpen, noNaN: true, minExcluded: true, maxExcluded: true })
        : fc.double({ min: d.min, max: 1e6, noNaN: true, minExcluded: d.minOpen });
    case 'integer':
      return fc.integer({ min: d.min, max: 1e6 });
    case 'boolean':
      return fc.boolean();
    default:
      return fc.constant(undefined);
  }
}

/** Values outside it (wrong type, out of range, NaN, infinities). */
function outside(spec: FitOptionSpec): fc.Arbitrary<unknown> {
  const d = spec.domain;
  const wrongType = d.kind === 'choice' ? fc.oneof(fc.integer(), fc.constant(null)) : fc.oneof(fc.string(), fc.constant(null), fc.constant({}));
  switch (d.kind) {
    case 'choice':
      return fc.oneof(wrongType, fc.string().filter((s) => !d.values.includes(s)));
    case 'number':
      return fc.oneof(wrongType, fc.constantFrom(NaN, Infinity, -Infinity), fc.double({ max: d.min, noNaN: true }).filter((v) => (d.minOpen ? v <= d.min : v < d.min)), ...(d.maxOpen !== undefined ? [fc.double({ min: d.maxOpen, max: 1e9, noNaN: true })] : []));
    case 'integer':
      return fc.oneof(wrongType, fc.integer({ max: d.min - 1 }), fc.double({ min: d.min + 0.01, max: d.min + 0.99, noNaN: true }));
    case 'boolean':
      return fc.oneof(fc.integer(), fc.string(), fc.constant(null));
    default:
      return fc.constant(undefined);
  }
}

for (const spec of checked) {
  test(`fit option ${spec.key}: every value in its domain is accepted, every other is a ConfigError naming ${spec.key}`, () => {
    fc.assert(
      fc.property(inside(spec), (v) => {
        validateFitOptions({ ...context(spec), [spec.key]: v } as FitOptions);
      }),
      { numRuns: 40, seed: 1301 },
    );
    fc.assert(
      fc.property(outside(spec), (v) => {
        assert.throws(
          () => validateFitOptions({ ...context(spec), [spec.key]: v } as FitOptions),
          (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${spec.key}: `) && / must be /.test(e.message),
        );
      }),
      { numRuns: 40, seed: 1302 },
    );
  });
}

test('options that apply under one stopping rule only are refused under the other, naming the option', () => {
  for (const spec of FIT_OPTIONS.filter((o) => o.onlyWhen)) {
    const other = spec.onlyWhen!.value === 'score' ? 'relative' : 'score';
    const value = spec.domain.kind === 'number' ? spec.domain.min + 1e-3 : undefined;
    assert.throws(() => validateFitOptions({ ...BASE, stop: other, [spec.key]: value } as FitOptions), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${spec.key}: applies to the stopping rule "${spec.onlyWhen!.value}" only`));
  }
});

test('the resolved defaults are the table\'s', () => {
  const r = resolveStopping(BASE);
  for (const key of ['stop', 'scoreTol', 'tol', 'absTol', 'accelerate', 'polish', 'selectionSearch', 'maxIterations'] as const) assert.equal(r[key], FIT_DEFAULTS[key], key);
  // a choice's first value is its default, as the messages say ("a" (default) or "b")
  for (const o of FIT_OPTIONS) if (o.domain.kind === 'choice') assert.equal(o.default, o.domain.values[0], o.key);
});

test('fitOptionsFromFlags: every flag of the table parses to its option, bad values name the flag', () => {
  const flags = Object.fromEntries(checked.filter((o) => o.flag).map((o) => [o.flag!.name, o.domain.kind === 'choice' ? o.domain.values[1]! : o.domain.kind === 'number' && o.domain.maxOpen ? '0.5' : '3']));
  const parsed = fitOptionsFromFlags(flags) as Record<string, unknown>;
  for (const o of checked.filter((s) => s.flag)) assert.equal(String(parsed[o.key]), flags[o.flag!.name], o.key);
  assert.throws(() => fitOptionsFromFlags({ 'score-tol': 'abc' }), { name: 'ConfigError', message: /^--score-tol: "abc" is not allowed; must be a finite number > 0$/ });
  assert.throws(() => fitOptionsFromFlags({ 'max-iter': '2.5' }), { name: 'ConfigError', message: /^--max-iter: 2.5 is not allowed; must be an integer >= 0$/ });
  assert.throws(() => fitOptionsFromFlags({ accelerate: 'daarem' }), { name: 'ConfigError', message: /^--accelerate: "daarem" is not an accelerator; must be "squarem" \(default\) or "none"$/ });
});

test('gatelab fit --help shows every flag of the table with its default; docs/fitting.md holds the table', async () => {
  const help = await cli('fit', '--help');
  for (const o of FIT_OPTIONS.filter((s) => s.flag)) assert.ok(help.out.includes(`--${o.flag!.name}`), `fit --help lacks --${o.flag!.name}`);
  assert.ok(help.out.includes(fitFlagsHelp()));
  const docs = readFileSync(new URL('../../docs/fitting.md', import.meta.url), 'utf8');
  assert.ok(docs.includes(`<!-- fit-options -->\n${fitOptionsMarkdown()}\n<!-- /fit-options -->`), 'docs/fitting.md: the options table is stale; run node --import tsx scripts/options-docs.ts');
});

test('gatelab fit refuses a bad option flag as a usage error (exit code 2) naming the flag; a good one reaches the fit', async () => {
  const dir = tempDir('options');
  const data = join(dir, 'd.csv');
  assert.equal((await cli('sample', '--model', DEMYS_FILE, '--n', '200', '--seed', '3', '--out', data)).code, 0);
  const fit = (...flags: string[]) => cli('fit', '--data', data, '--experts', '2', '--gate', DEMYS_FILE, '--backend', 'cpu', '--out', join(dir, 'f.json'), ...flags);
  assertOneLineError(await fit('--gate-steps', '0'), /^error: --gate-steps: 0 is not allowed; must be an integer >= 1$/, 2);
  assertOneLineError(await fit('--nu-min-factor', '1'), /^error: --nu-min-factor: 1 is not allowed; must be in \(0, 1\)/, 2);
  assert.equal((await fit('--max-iter', '3', '--gate-steps', '2')).code, 0);
  const written = JSON.parse(readFileSync(join(dir, 'f.json'), 'utf8'));
  assert.ok(written.fit.iterations <= 3, `iterations ${written.fit.iterations}`);
});
