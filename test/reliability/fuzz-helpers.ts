/**
 * Shared pieces of the fuzz suite (issue 12, "make it a property"): fast-check settings (a fixed
 * seed and fixed run counts, so every run tries the same cases), arbitraries for awkward values
 * and JSON mutations, and the property itself:
 *
 *   every call either succeeds with finite numbers (or a documented -Infinity), or throws a
 *   GatelabError whose message names the field or row; never another exception, never NaN.
 *
 * A Tally counts what each suite tried (accepted, refused by error class) for the test log.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GatelabError } from '../../src/errors.js';

/** The seed of every fuzz suite (change it to explore; failures print their own seed and path). */
export const FUZZ_SEED = 20240612;

/**
 * How many times the suite's fixed run counts are multiplied: 1 in CI; FUZZ_SCALE=10 explores
 * ten times as many cases (same seed: the first cases are the CI ones).
 */
export const FUZZ_SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);

/** fast-check parameters: fixed seed, fixed number of runs, no time-based interruption. */
export function fuzzParams(numRuns: number, seedOffset = 0): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED + seedOffset, numRuns: Math.round(numRuns * FUZZ_SCALE), includeErrorInReport: true };
}

/** What a suite tried: accepted calls, refused calls by error class. */
export class Tally {
  accepted = 0;
  readonly refused = new Map<string, number>();
  readonly notes = new Map<string, number>();
  /** the first messages of each error class (for the log) */
  readonly examples = new Map<string, string[]>();
  get total(): number {
    let t = this.accepted;
    for (const v of this.refused.values()) t += v;
    return t;
  }
  refuse(e: GatelabError): void {
    this.refused.set(e.name, (this.refused.get(e.name) ?? 0) + 1);
    const list = this.examples.get(e.name) ?? [];
    if (list.length < 2) list.push(e.message.length > 160 ? `${e.message.slice(0, 157)}...` : e.message);
    this.examples.set(e.name, list);
  }
  /** Lines for the test log: the counts, then example messages. */
  lines(name: string): string[] {
    return [`${name}: ${this}`, ...[...this.examples].flatMap(([k, list]) => list.map((m) => `  e.g. ${k}: ${m}`))];
  }
  note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }
  toString(): string {
    const refused = [...this.refused].map(([k, v]) => `${k} ${v}`).join(', ');
    const notes = [...this.notes].map(([k, v]) => `${k} ${v}`).join(', ');
    return `${this.total} calls: ${this.accepted} accepted, refused: ${refused || 'none'}${notes ? `; ${notes}` : ''}`;
  }
}

/** A JSON-ish path: `a.b[2].c` (the form gatelab's messages name fields in). */
export const PATH = String.raw`[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*|\[\d+\])*`;

/**
 * Run `f`; a thrown error must be a GatelabError (anything else fails the property, with the
 * error's class, message and first stack line), whose message matches `names` (it names the field
 * or row). Returns the value, or undefined when refused.
 */
export function typedOutcome<T>(f: () => T, names: RegExp, tally: Tally, label = 'call'): { value: T } | undefined {
  let value: T;
  try {
    value = f();
  } catch (e) {
    checkTyped(e, names, label);
    tally.refuse(e as GatelabError);
    return undefined;
  }
  tally.accepted++;
  return { value };
}

/** As typedOutcome, for async calls. */
export async function typedOutcomeAsync<T>(f: () => Promise<T>, names: RegExp, tally: Tally, label = 'call'): Promise<{ value: T } | undefined> {
  let value: T;
  try {
    value = await f();
  } catch (e) {
    checkTyped(e, names, label);
    tally.refuse(e as GatelabError);
    return undefined;
  }
  tally.accepted++;
  return { value };
}

function checkTyped(e: unknown, names: RegExp, label: string): void {
  if (!(e instanceof GatelabError)) {
    const err = e as Error;
    assert.fail(`${label}: threw ${err?.constructor?.name ?? typeof e} (not a GatelabError): ${err?.message ?? String(e)}\n${String(err?.stack ?? '').split('\n').slice(1, 4).join('\n')}`);
  }
  assert.match(e.message, names, `${label}: ${e.name} does not name the field or row: ${e.message}`);
}

/**
 * The first number in `value` (objects, arrays, typed arrays) that is NaN, or an infinity that
 * `allowInfinity(path, v)` does not allow; undefined when there is none.
 */
export function badNumber(value: unknown, allowInfinity: (path: string, v: number) => boolean = () => false, path = ''): string | undefined {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return `${path || 'value'} is NaN`;
    if (!Number.isFinite(value) && !allowInfinity(path, value)) return `${path || 'value'} is ${value}`;
    return undefined;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = value as unknown as ArrayLike<number>;
    for (let i = 0; i < arr.length; i++) {
      const bad = badNumber(Number(arr[i]), allowInfinity, `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = badNumber(value[i], allowInfinity, `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const bad = badNumber(v, allowInfinity, path ? `${path}.${k}` : k);
      if (bad) return bad;
    }
  }
  return undefined;
}

export function assertNoBadNumber(value: unknown, label: string, allowInfinity?: (path: string, v: number) => boolean): void {
  const bad = badNumber(value, allowInfinity);
  assert.equal(bad, undefined, `${label}: ${bad}`);
}

// ---------------------------------------------------------------------------------------------
// arbitraries

/** Awkward numbers: ordinary ones, zeros of both signs, subnormals, huge, non-finite. */
export const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 50 }) },
  { weight: 2, arbitrary: fc.double({ noNaN: false }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0, -0, 1, -1, 0.5, 2, 3, 1e-300, 5e-324, -5e-324, 1e-12, 1e12, 1e154, 1e155, 1e300, -1e300, 1e308,
      Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 31, 2 ** 53, NaN, Infinity, -Infinity,
    ),
  },
);

/** Finite awkward numbers (as a CSV or a sampler could hold). */
export const weirdFinite: fc.Arbitrary<number> = weirdNumber.filter(Number.isFinite);

/** Keys no gatelab file uses (identifier-like, so a message can name them). */
export const unknownKey = fc.constantFrom('foo', 'Nu', 'beta', 'experts2', 'k_', 'type2', 'extra', '__proto', 'constructorX');

/** Values of every JSON type (and a few non-JSON ones a library caller could pass). */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: weirdNumber },
  { weight: 2, arbitrary: fc.constantFrom('', 'abc', '1', '0.5', 'NaN', 'softmax', 'topk', 'uniform', 'normal', 'em', 'score', 'quick', 'D1', 'a[9]', '-1') },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, undefined) },
  { weight: 2, arbitrary: fc.array(weirdNumber, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom({}, [], [[]], { type: 'softmax' }, { linspace: [2, 10, 3] }, [[1, 0], [0, 1]], { a: 1 }) },
);

/** Every path of a JSON value, root first: [] for the root, then keys / indices. */
export function jsonPaths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...prefix, i], out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) jsonPaths(x, [...prefix, k], out);
  return out;
}

export const showPath = (p: (string | number)[]) => p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || '(root)';

/** 'number' replaces the at-th number of the value (its leaves that are numbers) by `value`. */
export type MutationOp = 'replace' | 'delete' | 'addKey' | 'duplicate' | 'empty' | 'scale' | 'stringify' | 'wrap' | 'nest' | 'number';

export interface Mutation {
  /** index into jsonPaths (mod their count) */
  at: number;
  op: MutationOp;
  value: unknown;
  key: string;
  factor: number;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<MutationOp>('replace', 'replace', 'replace', 'delete', 'addKey', 'duplicate', 'empty', 'scale', 'scale', 'stringify', 'wrap', 'nest'),
  value: weirdValue,
  key: unknownKey,
  factor: fc.constantFrom(-1, 0, 1e-300, 1e300, 10, 0.5, 1.5, NaN, Infinity, 1e6, 2),
});

/** Apply mutations to a deep copy of `base`; returns the copy and the paths touched. */
export function mutate(base: unknown, mutations: Mutation[]): { value: unknown; touched: string[] } {
  let root: unknown = structuredClone(base);
  const touched: string[] = [];
  for (const m of mutations) {
    let paths = jsonPaths(root);
    if (m.op === 'number') {
      const numeric = paths.filter((p) => typeof p.reduce((o: unknown, k) => (o as Record<string | number, unknown>)[k], root) === 'number');
      if (numeric.length === 0) continue;
      paths = numeric;
    }
    const path = paths[m.at % paths.length]!;
    touched.push(`${m.op} ${showPath(path)}`);
    const parent = path.length === 0 ? undefined : (path.slice(0, -1).reduce((o: unknown, k) => (o as Record<string | number, unknown>)[k], root) as Record<string | number, unknown>);
    const last = path[path.length - 1];
    const current = parent === undefined ? root : parent[last!];
    const set = (v: unknown) => {
      if (parent === undefined) root = v;
      else parent[last!] = v;
    };
    switch (m.op) {
      case 'replace':
      case 'number':
        set(m.value);
        break;
      case 'delete':
        if (parent === undefined) root = undefined;
        else if (Array.isArray(parent)) parent.splice(last as number, 1);
        else delete parent[last!];
        break;
      case 'addKey':
        if (typeof current === 'object' && current !== null && !Array.isArray(current)) (current as Record<string, unknown>)[m.key] = m.value;
        else if (Array.isArray(current)) current.push(m.value);
        else set(m.value);
        break;
      case 'duplicate':
        if (Array.isArray(current) && current.length > 0) current.push(structuredClone(current[0]));
        else if (Array.isArray(parent)) parent.push(structuredClone(current));
        else set([current, current]);
        break;
      case 'empty':
        set(Array.isArray(current) ? [] : typeof current === 'object' && current !== null ? {} : typeof current === 'string' ? '' : 0);
        break;
      case 'scale':
        set(typeof current === 'number' ? current * m.factor : m.value);
        break;
      case 'stringify':
        set(JSON.stringify(current) ?? 'undefined');
        break;
      case 'wrap':
        set([current]);
        break;
      case 'nest': {
        let v: unknown = current;
        for (let i = 0; i < 70; i++) v = [v];
        set(v);
        break;
      }
    }
  }
  return { value: root, touched };
}

/** 1..max mutations. */
export const mutations = (max: number) => fc.array(mutation, { minLength: 1, maxLength: max });

/** Mutations that replace a number of the value by another finite one (plausible or awkward). */
export const numericMutations = (max: number) =>
  fc.array(
    fc.record({
      at: fc.nat(),
      op: fc.constant<MutationOp>('number'),
      value: fc.oneof(fc.double({ min: -1000, max: 1000, noNaN: true }), weirdFinite, fc.integer({ min: -3, max: 10 })),
      key: unknownKey,
      factor: fc.constant(1),
    }),
    { minLength: 1, maxLength: max },
  );

/**
 * Run a property: fc.assert with fuzzParams (a failure shrinks and reports its counterexample
 * and seed). With FUZZ_EXPLORE=1 in the environment, every case runs and the distinct failures
 * (messages with numbers blanked) are printed with their counts and a first example, instead of
 * stopping at the first: for finding every bug at once, not for CI.
 */
export function runProperty<Ts extends [unknown, ...unknown[]]>(
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => void,
  numRuns: number,
  seedOffset: number,
): void {
  if (!process.env.FUZZ_EXPLORE) {
    fc.assert(fc.property(...(arbs as unknown as [fc.Arbitrary<unknown>]), predicate as (...a: unknown[]) => void), fuzzParams(numRuns, seedOffset));
    return;
  }
  const cases = fc.sample(fc.tuple(...(arbs as unknown as [fc.Arbitrary<unknown>])), fuzzParams(numRuns, seedOffset));
  const failures = new Map<string, { count: number; example: string; message: string }>();
  for (const c of cases) {
    try {
      predicate(...(c as unknown as Ts));
    } catch (e) {
      const message = String((e as Error).message ?? e).split('\n')[0]!;
      const key = message.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, '#').slice(0, 200);
      const entry = failures.get(key) ?? { count: 0, example: fc.stringify(c).slice(0, 6000), message };
      entry.count++;
      failures.set(key, entry);
    }
  }
  for (const [key, f] of failures) console.log(`FUZZ FAILURE x${f.count}: ${key}\n  message: ${f.message}\n  case: ${f.example}\n`);
  assert.equal(failures.size, 0, `${failures.size} distinct failures (FUZZ_EXPLORE)`);
}

/** A decimal of ordinary magnitude in [min, max] (steps of 1/100; no subnormals, no huge values). */
export const decimal = (min: number, max: number) => fc.integer({ min: Math.round(min * 100), max: Math.round(max * 100) }).map((v) => v / 100);

/**
 * Invalid or edge values of ordinary magnitude (wrong types, NaN, infinities, negatives, zeros,
 * fractions): what a typo or a bad default gives, without float64 extremes.
 */
export const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, -0, 0.5, 1.5, 2, 7, 100, -3.25) },
  { weight: 2, arbitrary: decimal(-10, 10) },
  { weight: 2, arbitrary: fc.constantFrom('', 'abc', '1', 'NaN', 'softmax', 'em', null, true, false, undefined, [], {}, [1, 2], { type: 'softmax' }) },
);

/** Mutations that replace a number of the value by an ordinary decimal in [-50, 50]. */
export const ordinaryNumericMutations = (max: number) =>
  fc.array(
    fc.record({ at: fc.nat(), op: fc.constant<MutationOp>('number'), value: fc.oneof(decimal(-50, 50), fc.integer({ min: -3, max: 10 })), key: unknownKey, factor: fc.constant(1) }),
    { minLength: 1, maxLength: max },
  );

/** As runProperty, for an async predicate of one arbitrary. */
export async function runAsyncProperty<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, numRuns: number, seedOffset: number): Promise<void> {
  if (!process.env.FUZZ_EXPLORE) {
    await fc.assert(fc.asyncProperty(arb, predicate), fuzzParams(numRuns, seedOffset));
    return;
  }
  const failures = new Map<string, { count: number; example: string; message: string }>();
  for (const c of fc.sample(arb, fuzzParams(numRuns, seedOffset))) {
    try {
      await predicate(c as T);
    } catch (e) {
      const message = String((e as Error).message ?? e).split('\n').slice(0, 3).join(' | ');
      const key = message.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, '#').replace(/\/tmp\/\S+/g, 'TMP').slice(0, 160);
      const entry = failures.get(key) ?? { count: 0, example: fc.stringify(c).slice(0, 3000), message };
      entry.count++;
      failures.set(key, entry);
    }
  }
  for (const [key, f] of failures) console.log(`FUZZ FAILURE x${f.count}: ${key}\n  message: ${f.message}\n  case: ${f.example}\n`);
  assert.equal(failures.size, 0, `${failures.size} distinct failures (FUZZ_EXPLORE)`);
}
