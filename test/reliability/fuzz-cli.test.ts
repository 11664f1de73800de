/**
 * Fuzz suite (issue 12), the command line: seeded argument vectors for every command, in this
 * process (main(argv, io) with captured output). Each case starts from a working invocation of a
 * command and applies 0-3 edits (a flag dropped, a value replaced by a bad one or by a bad file:
 * missing, a folder, empty, not JSON, nested 100 000 levels, mutated; a junk flag added, a value
 * that starts with '-'). The property: exit 0 with output free of NaN (and files that read back:
 * finite numbers), or exit 1/2 with exactly one line `error: ...` that names a flag, a file or the
 * command; never "internal error", never a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { datasetToCsv } from '../../src/data/csv.js';
import type { Model } from '../../src/models/types.js';
import { parseModel } from '../../src/models/validate.js';
import { Rng } from '../../src/rng/rng.js';
import { sample } from '../../src/sampling/sample.js';
import { FUZZ_SCALE, mutate, mutations, numericMutations, PATH, runAsyncProperty, Tally } from './fuzz-helpers.js';
import { assertOneLineError, cli, DEMYS_FILE, tempDir, tinyConfigFile, tinyResults } from './helpers.js';

const D2_MODEL: Model = {
  gate: { type: 'topk', K: 2, rankBy: 'slope' },
  experts: [
    { beta0: 0.5, beta1: [1, -1], a: [0.3, 2], b: 0, nu: 0.2 },
    { beta0: -0.5, beta1: [-2, 0.5], a: [-1, 0], b: 1, nu: 0.5 },
    { beta0: 0, beta1: [0, 0], a: [0, 1], b: -1, nu: 1 },
  ],
  input: { type: 'normal', mean: [0, 1], cov: [[1, 0.3], [0.3, 2]], dim: 2 },
};

/** The fixture files every case draws from (made once). */
interface Files {
  dir: string;
  models: string[];
  badModels: string[];
  points: string[];
  badPoints: string[];
  gates: string[];
  configs: string[];
  badConfigs: string[];
  results: string[];
  badResults: string[];
  badOutputs: string[];
  fresh: () => string;
  freshDir: () => string;
}

async function makeFiles(): Promise<Files> {
  const dir = tempDir('fuzz-cli');
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const demys = parseModel(JSON.parse(readFileSync(DEMYS_FILE, 'utf8')));
  const d1 = sample(demys, 40, new Rng(1));
  const d2 = sample(D2_MODEL, 40, new Rng(2));
  let deep = '1';
  for (let i = 0; i < 100_000; i++) deep = i % 2 ? `[${deep}]` : `{"a":${deep}}`;
  mkdirSync(join(dir, 'folder'));
  mkdirSync(join(dir, 'out'));
  mkdirSync(join(dir, 'runs'));
  file('plain-file', 'x');
  const mutatedModels = fc.sample(fc.oneof(mutations(2), numericMutations(2)), { seed: 7, numRuns: 12 }).map((ms, i) => file(`mutated-${i}.json`, JSON.stringify(mutate(demys, ms).value)));
  const { dir: done, configFile } = await tinyResults('fuzz-cli-done');
  const other = tinyConfigFile(dir, 'rel-other', 2);
  const damaged = join(dir, 'damaged');
  mkdirSync(damaged);
  writeFileSync(join(damaged, 'config.json'), readFileSync(join(done, 'config.json')));
  const lines = readFileSync(join(done, 'rows.jsonl'), 'utf8').split('\n');
  lines[1] = lines[1]!.replace(/"ok"/, '"okk"');
  writeFileSync(join(damaged, 'rows.jsonl'), lines.join('\n'));
  const emptyConfig = join(dir, 'empty-config');
  mkdirSync(emptyConfig);
  writeFileSync(join(emptyConfig, 'config.json'), '');
  let counter = 0;
  return {
    dir,
    models: [DEMYS_FILE, file('d2.json', JSON.stringify(D2_MODEL)), file('temperature.json', JSON.stringify({ ...demys, gate: { type: 'temperature', tau: 0.5 } }))],
    badModels: [
      file('empty.json', ''),
      file('broken.json', '{"gate": '),
      file('deep.json', deep),
      file('object.json', '{}'),
      file('array.json', '[]'),
      file('nan.json', '{"gate":{"type":"softmax"},"experts":[{"beta0":NaN,"beta1":[0],"a":[1],"b":0,"nu":1}]}'),
      join(dir, 'missing.json'),
      join(dir, 'folder'),
      ...mutatedModels,
    ],
    points: [file('d1.csv', datasetToCsv(d1)), file('d2.csv', datasetToCsv(d2)), file('same.csv', 'x1,y\n' + '0.5,1\n'.repeat(30)), file('far.csv', 'x1,y\n0.5,1e155\n0.5,1\n-1e300,3\n')],
    badPoints: [file('bad.csv', 'x1,y\n0.5,abc\n'), file('empty.csv', ''), file('header.csv', 'x1,y\n'), file('short.csv', 'x1,y\n1\n'), file('nan.csv', 'x1,y\n0.5,NaN\n'), join(dir, 'missing.csv'), join(dir, 'folder')],
    gates: [file('softmax.json', '{"type":"softmax"}'), file('topk.json', '{"type":"topk","K":2}'), file('topk9.json', '{"type":"topk","K":9}'), file('temp-gate.json', '{"type":"temperature","tau":0.5}'), DEMYS_FILE, file('bad-gate.json', '{"type":"nope"}')],
    configs: [configFile],
    badConfigs: [other, file('bad-config.json', '{"name":"x"}'), file('config-empty.json', ''), join(dir, 'missing-config.json')],
    results: [done],
    badResults: [damaged, emptyConfig, join(dir, 'folder'), join(dir, 'plain-file'), join(dir, 'no-such-results'), '/proc/self'],
    badOutputs: [join(dir, 'folder'), join(dir, 'plain-file', 'under.json'), join(done, 'rows.jsonl'), join(done, 'config.json'), '/proc/version', join(dir, 'no-such-folder', 'deeper', 'x')],
    fresh: () => join(dir, 'out', `o${counter++}`),
    freshDir: () => join(dir, 'runs', `r${counter++}`),
  };
}

type Pool = (f: Files) => string[];
interface FlagSpec {
  good: Pool;
  bad: Pool;
}
const values = (...v: string[]): Pool => () => v;
const NUM_BAD = values('0', '-1', '1.5', 'abc', '', '1e400', 'NaN', '--', '-');

/** Per command: its flags (good and bad values), the working template, its positional argument. */
const COMMANDS: Record<string, { flags: Record<string, FlagSpec>; template: string[]; positional?: FlagSpec; switches?: string[] }> = {
  density: {
    flags: { model: { good: (f) => f.models, bad: (f) => f.badModels }, points: { good: (f) => f.points, bad: (f) => f.badPoints } },
    template: ['model', 'points'],
  },
  sample: {
    flags: {
      model: { good: (f) => f.models, bad: (f) => f.badModels },
      n: { good: values('1', '7', '200', '1e3', '0x10'), bad: values('0', '-5', '2.5', 'x', '', '2147483649', '1e400') },
      seed: { good: values('0', '1', '42', '9007199254740991'), bad: values('-1', '1.5', 'abc', '9007199254740993', '') },
      out: { good: (f) => [f.fresh()], bad: (f) => f.badOutputs },
      backend: { good: values('cpu', 'auto'), bad: values('bogus', '', 'CPU') },
    },
    template: ['model', 'n', 'seed', 'backend'],
  },
  fit: {
    flags: {
      data: { good: (f) => [f.points[0]!, f.points[0]!, f.points[1]!, f.points[2]!], bad: (f) => [...f.badPoints, f.points[3]!] },
      experts: { good: values('2', '2', '1', '3'), bad: values('0', '-1', 'abc', '100000000', '1e12', '41') },
      gate: { good: (f) => f.gates.slice(0, 5), bad: (f) => [...f.gates.slice(5), ...f.badModels.slice(0, 8)] },
      start: { good: (f) => f.models.slice(0, 1), bad: (f) => f.badModels },
      'near-truth': { good: (f) => f.models, bad: (f) => f.badModels },
      noise: { good: values('0', '0.1', '1'), bad: values('-1', 'abc', '1e300', '101', 'Infinity') },
      shrink: { good: values('0', '0.083', '1'), bad: values('-1', 'abc', 'NaN') },
      restarts: { good: values('1', '2'), bad: values('0', '1e12', '1001', 'abc') },
      seed: { good: values('0', '5'), bad: values('-1', '0.5', 'x') },
      method: { good: values('em', 'mle'), bad: values('EM', 'newton') },
      tau: { good: values('known', 'free'), bad: values('fixed') },
      stop: { good: values('score', 'relative'), bad: values('never') },
      'score-tol': { good: values('1e-3', '0.5'), bad: values('0', '-1', 'x') },
      tol: { good: values('1e-6', '0'), bad: values('-1', 'x') },
      'abs-tol': { good: values('1e-3'), bad: values('-1', 'y') },
      accelerate: { good: values('squarem', 'none'), bad: values('aitken') },
      'max-iter': { good: values('0', '1', '3', '8'), bad: values('-1', '2.5', 'z') },
      'nu-min': { good: values('1e-4', '0.01', '1e-300'), bad: values('0', '-1', 'w') },
      identifiability: { good: values('reference', 'free'), bad: values('none') },
      backend: { good: values('cpu', 'auto'), bad: values('gpu', 'bogus') },
      out: { good: (f) => [f.fresh()], bad: (f) => f.badOutputs },
    },
    template: ['data', 'experts', 'gate', 'max-iter', 'out'],
  },
  loss: { flags: { truth: { good: (f) => f.models, bad: (f) => f.badModels }, fit: { good: (f) => f.models, bad: (f) => f.badModels } }, template: ['truth', 'fit'] },
  demo: { flags: { n: { good: values('10', '50', '200'), bad: values('9', '0', 'x', '-3') }, seed: { good: values('0', '3'), bad: values('-2', 'q') } }, template: ['n'] },
  sweep: {
    flags: {
      workers: { good: values('1'), bad: values('0', '-1', 'x', '1.5') },
      out: { good: (f) => [f.freshDir(), ...f.results], bad: (f) => [...f.badResults, f.results[0]!.replace(/results$/, 'rel-tiny.json')] },
      shard: { good: values('1/2', '2/2', '1/1'), bad: values('0/2', '3/2', 'a/b', '1') },
      backend: { good: values('cpu', 'auto'), bad: values('gpu', 'bogus') },
    },
    template: ['workers', 'out'],
    positional: { good: (f) => f.configs, bad: (f) => [...f.badConfigs, ...f.badModels.slice(0, 3)] },
    switches: ['quick', 'quick', 'quick', 'no-retry'],
  },
  rates: {
    flags: { format: { good: values('md', 'csv', 'json'), bad: values('html', '') } },
    template: ['format'],
    positional: { good: (f) => f.results, bad: (f) => f.badResults },
  },
  status: { flags: {}, template: [], positional: { good: (f) => f.results, bad: (f) => f.badResults } },
  export: {
    flags: { parquet: { good: (f) => [`${f.fresh()}.parquet`], bad: (f) => f.badOutputs } },
    template: ['parquet'],
    positional: { good: (f) => f.results, bad: (f) => f.badResults },
    switches: ['force'],
  },
  repair: { flags: {}, template: [], positional: { good: (f) => [f.freshDir(), ...f.results], bad: (f) => f.badResults } },
  slurm: {
    flags: {
      array: { good: values('1', '2', '4'), bad: values('0', '99', 'x') },
      partition: { good: values('short'), bad: values('') },
      time: { good: values('1:00:00', '2-00:00:00'), bad: values('soon', '-1') },
      'cpus-per-task': { good: values('1', '2'), bad: values('0', 'x') },
      mem: { good: values('4G'), bad: values('lots') },
      out: { good: (f) => [f.freshDir(), ...f.results], bad: (f) => f.badResults },
      backend: { good: values('cpu', 'auto', 'gpu'), bad: values('bogus') },
    },
    template: ['out'],
    positional: { good: (f) => f.configs, bad: (f) => f.badConfigs },
    switches: ['quick', 'quick', 'submit'],
  },
};

type Edit =
  | { op: 'drop'; at: number }
  | { op: 'bad'; at: number; pick: number }
  | { op: 'add'; flag: number; pick: number; good: boolean }
  | { op: 'junk'; text: string; at: number }
  | { op: 'badPositional'; pick: number }
  | { op: 'noPositional' }
  | { op: 'switch'; pick: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('bad' as const), at: fc.nat(), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), flag: fc.nat(), pick: fc.nat(), good: fc.boolean() }) },
  fc.record({ op: fc.constant('junk' as const), text: fc.constantFrom('--bogus', '-x', '--', '--model=', '--n=5', '-h5', '--help=1', 'extra', '-3', '--quick=1', '--out', '---'), at: fc.nat() }),
  fc.record({ op: fc.constant('badPositional' as const), pick: fc.nat() }),
  fc.constant({ op: 'noPositional' as const }),
  fc.record({ op: fc.constant('switch' as const), pick: fc.nat() }),
);

const cliCase = fc.record({
  command: fc.constantFrom(...Object.keys(COMMANDS), 'density', 'sample', 'fit', 'fit', 'fit', 'loss', 'rates', 'status'),
  picks: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  edits: fc.oneof({ weight: 1, arbitrary: fc.constant([] as Edit[]) }, { weight: 3, arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }) }),
  start: fc.constantFrom('none', 'none', 'near-truth', 'restarts', 'start'),
});

/** The argument vector of a case (files resolved now: fresh outputs are new paths). */
function argvOf(c: { command: string; picks: number[]; edits: Edit[]; start: string }, files: Files): string[] {
  const spec = COMMANDS[c.command]!;
  const pick = (pool: string[], i: number) => pool[i % pool.length]!;
  const pairs: [string, string][] = spec.template.map((flag, i) => [flag, pick(spec.flags[flag]!.good(files), c.picks[i % c.picks.length]!)]);
  if (c.command === 'fit' && c.start !== 'none') {
    const v = (flag: string, i: number) => pick(spec.flags[flag]!.good(files), c.picks[i]!);
    const data = pairs.find(([f]) => f === 'data')![1];
    const experts = pairs.find(([f]) => f === 'experts')!;
    if (c.start === 'near-truth') {
      // a near-truth start needs a truth of the data's dimension (the d2 data goes with the d2
      // model) and at least its number of experts
      const d2 = data.endsWith('d2.csv');
      pairs.push(['near-truth', d2 ? files.models[1]! : files.models[0]!], ['noise', v('noise', 5)], ['seed', v('seed', 6)]);
      experts[1] = d2 ? '3' : '2';
    } else if (c.start === 'restarts') pairs.push(['restarts', v('restarts', 5)], ['seed', v('seed', 6)]);
    else if (!data.endsWith('d2.csv')) {
      pairs.push(['start', files.models[0]!]);
      experts[1] = '2';
    }
  }
  let positional = spec.positional ? pick(spec.positional.good(files), c.picks[7]!) : undefined;
  const extra: string[] = [];
  const switches: string[] = spec.switches && c.picks[3]! % 3 !== 0 ? [spec.switches[0]!] : [];
  for (const e of c.edits) {
    const names = Object.keys(spec.flags);
    switch (e.op) {
      case 'drop':
        if (pairs.length > 0) pairs.splice(e.at % pairs.length, 1);
        break;
      case 'bad':
        if (pairs.length > 0) {
          const i = e.at % pairs.length;
          pairs[i] = [pairs[i]![0], pick(spec.flags[pairs[i]![0]]?.bad(files) ?? NUM_BAD(files), e.pick)];
        }
        break;
      case 'add':
        if (names.length > 0) {
          const flag = names[e.flag % names.length]!;
          pairs.push([flag, pick(e.good ? spec.flags[flag]!.good(files) : spec.flags[flag]!.bad(files), e.pick)]);
        }
        break;
      case 'junk':
        extra.push(e.text);
        break;
      case 'badPositional':
        if (spec.positional) positional = pick(spec.positional.bad(files), e.pick);
        else extra.push(files.models[0]!);
        break;
      case 'noPositional':
        positional = undefined;
        break;
      case 'switch':
        if (spec.switches) switches.push(spec.switches[e.pick % spec.switches.length]!);
        break;
    }
  }
  const argv = [c.command, ...(positional !== undefined ? [positional] : []), ...pairs.flatMap(([f, v]) => [`--${f}`, v]), ...switches.map((s) => `--${s}`)];
  for (const [i, x] of extra.entries()) argv.splice(1 + ((c.picks[i]! + i) % argv.length), 0, x);
  // every sweep of a fresh folder runs in this thread (--workers 1): keep it so unless edited
  return argv;
}

/** An error line that starts with the field it is about. */
const FIELD = new RegExp(`^error: (${PATH}|row \\d+, column \\w+): `);

/** Lines of stderr that are not errors: notes, warnings, progress and summaries. */
const INFO = /^(backend: |warning: |note: |fit: |rates: |slurm: |export: |repair: |\S+ \((quick|full)(, shard \S+)?\): |\s*$)/;

function checkResult(argv: string[], r: { code: number | null; out: string; err: string }, tally: Tally): void {
  const label = `gatelab ${argv.map((a) => (/^[\w./:=-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`;
  assert.doesNotMatch(r.err, /internal error|please report/, `${label}: ${r.err}`);
  assert.doesNotMatch(r.err + r.out, /\n\s+at .*:\d+:\d+/, `${label}: a stack trace:\n${r.err}`);
  assert.ok(r.code === 0 || r.code === 1 || r.code === 2, `${label}: exit ${r.code}`);
  if (r.code !== 0) {
    const lines = r.err.split('\n').filter((l) => !INFO.test(l));
    assert.equal(lines.length, 1, `${label}: want one error line, got:\n${r.err}`);
    assert.match(lines[0]!, /^error: \S/, `${label}: ${r.err}`);
    // it names a flag, a file or folder of the command line, or the command, or starts with the
    // field it is about ("k: ...", "start: ...", "row 3, column x1: ...")
    const named =
      argv.some((a) => a.length > 1 && lines[0]!.includes(a.startsWith('--') ? a.split('=')[0]! : a)) ||
      /--[a-z]/.test(lines[0]!) ||
      lines[0]!.includes(argv[0]!) ||
      FIELD.test(lines[0]!);
    assert.ok(named, `${label}: the error names no flag, file or command: ${lines[0]}`);
    tally.refused.set(`exit ${r.code}`, (tally.refused.get(`exit ${r.code}`) ?? 0) + 1);
    const list = tally.examples.get(argv[0]!) ?? [];
    if (list.length < 2) list.push(lines[0]!.slice(0, 160));
    tally.examples.set(argv[0]!, list);
    return;
  }
  tally.accepted++;
  tally.note(argv[0]!);
  assert.doesNotMatch(r.out, /\bNaN\b/, `${label}: NaN in the output`);
  assert.doesNotMatch(r.err, /\bNaN\b/, `${label}: NaN on stderr`);
  const command = argv[0];
  const outFlag = argv.indexOf('--out');
  if (command === 'density' && !argv.includes('--help') && !argv.includes('-h')) {
    const [header, ...rows] = r.out.trim().split('\n');
    assert.equal(header, 'logp');
    for (const row of rows) assert.ok(row === '-Infinity' || Number.isFinite(Number(row)), `${label}: logp ${row}`);
  }
  if (command === 'sample' && outFlag < 0 && r.out.startsWith('x1')) {
    for (const row of r.out.trim().split('\n').slice(1)) assert.ok(row.split(',').every((v) => Number.isFinite(Number(v))), `${label}: row ${row}`);
  }
  if (command === 'fit' && outFlag >= 0 && existsSync(argv[outFlag + 1]!)) {
    const written = JSON.parse(readFileSync(argv[outFlag + 1]!, 'utf8')) as Model & { fit: { loglik: unknown } };
    parseModel({ gate: written.gate, experts: written.experts, input: written.input });
    assert.ok(typeof written.fit.loglik === 'number' && Number.isFinite(written.fit.loglik), `${label}: loglik ${written.fit.loglik}`);
  }
  if (command === 'loss' && r.out.startsWith('{')) {
    const loss = JSON.parse(r.out) as { raw: unknown; aligned: unknown };
    assert.ok(typeof loss.raw === 'number' && typeof loss.aligned === 'number', `${label}: loss ${r.out.slice(0, 100)}`);
  }
}

const RUNS = 800;

test(`fuzz: ${RUNS * FUZZ_SCALE} seeded command lines through main() (every command; bad flags, values and files): 0 failures`, async (t) => {
  const files = await makeFiles();
  const tally = new Tally();
  await runAsyncProperty(
    cliCase,
    async (c) => {
      const argv = argvOf(c, files);
      checkResult(argv, await cli(...argv), tally);
    },
    RUNS,
    40,
  );
  t.diagnostic(`${tally.total} command lines: ${tally.accepted} exit 0, ${[...tally.refused].map(([k, v]) => `${v} ${k}`).join(', ')}`);
  t.diagnostic(`exit 0 by command: ${[...tally.notes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [command, list] of tally.examples) for (const l of list) t.diagnostic(`  e.g. ${command}: ${l}`);
  assert.ok(tally.accepted > RUNS / 5, `too few successful command lines: ${tally.accepted}`);
});

test('fuzz findings, fixed: fit writes no model of nulls, bounds --experts, --restarts and --noise; loss and demo name their inputs; flag-parsing messages name the right flag and value', async () => {
  const dir = tempDir('fuzz-cli-fixed');
  const far = join(dir, 'far.csv');
  writeFileSync(far, 'x1,y\n0.5,1e155\n0.5,1\n-1e300,3\n');
  const gate = join(dir, 'gate.json');
  writeFileSync(gate, '{"type":"softmax"}');
  const out = join(dir, 'o.json');
  // was: exit 0 and a model file with "a": [null], "nu": null, "loglik": null
  const r = await cli('fit', '--data', far, '--experts', '1', '--gate', gate, '--max-iter', '0', '--out', out);
  // y = 1e155 is now refused before fitting (its square overflows); the numerical-failure path is
  // the fallback for data that passes that check
  assertOneLineError(r, /^error: (fit: em ended with numericalFailure after 0 iterations, loglik = -Infinity: nothing written to .*o\.json; check the data's scale|.*row 1, column y: 1e\+155 is too large to fit; \|y\| must be at most 1e\+150 \(rescale the data\))/);
  assert.ok(!existsSync(out));
  const data = join(dir, 'd1.csv');
  writeFileSync(data, datasetToCsv(sample(parseModel(JSON.parse(readFileSync(DEMYS_FILE, 'utf8'))), 30, new Rng(3))));
  // was: out of memory (a near-truth start of 1e8 experts, or 1e12 random starts, made up front)
  assertOneLineError(await cli('fit', '--data', data, '--experts', '100000000', '--gate', gate, '--near-truth', DEMYS_FILE, '--noise', '0.1', '--seed', '1', '--out', out), /^error: --experts: 100000000 experts need at least 100000000 data rows; .*d1\.csv has 30/, 2);
  assertOneLineError(await cli('fit', '--data', data, '--experts', '2', '--gate', gate, '--restarts', '1e12', '--seed', '1', '--out', out), /^error: --restarts: 1000000000000 is not allowed; must be an integer in 1\.\.1000/, 2);
  // as a sweep config: the start carries no information beyond noise 100 (and 1e300 gave loglik -Infinity)
  assertOneLineError(await cli('fit', '--data', data, '--experts', '2', '--gate', gate, '--near-truth', DEMYS_FILE, '--noise', '1e300', '--seed', '1', '--out', out), /^error: --noise: "1e300" is not allowed; must be a number in \[0, 100\]/, 2);
  // was: "error: voronoiLoss: fit.input.dim: ..." (a library name, no file)
  const d2 = join(dir, 'd2.json');
  writeFileSync(d2, JSON.stringify(D2_MODEL));
  assertOneLineError(await cli('loss', '--truth', DEMYS_FILE, '--fit', d2), /^error: loss \(--fit .*d2\.json, --truth .*demys\.json\): fit\.input\.dim: differs from truth\.input\.dim/);
  // was: "error: voronoiLoss: fit.experts[0].beta0: exp(beta0) overflows" for a fit on 10 points
  assertOneLineError(await cli('demo', '--n', '10'), /^error: demo: the fit of n = 10 points cannot be scored \(.*\); too few points for this model: use a larger --n/);
  // was: "-h, is a switch"
  assertOneLineError(await cli('loss', '--help=1'), /^error: loss: --help is a switch and takes no value; write --help alone/, 2);
  // was: named the value of the first --out, not of the one followed by a flag
  assertOneLineError(await cli('fit', '--out', out, '--data', data, '--out', '--max-iter', '3'), /^error: fit: --out is followed by "--max-iter", which starts with '-'/, 2);
});
