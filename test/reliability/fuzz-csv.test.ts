/**
 * Fuzz suite (issue 12), CSV data: random CSV text (good and bad headers, numbers in every
 * spelling, missing and extra fields, CRLF, blank lines, z labels) through parseDatasetCsv, and
 * random Dataset objects through validateDataset. The property: a data set of finite values that
 * round-trips through datasetToCsv bit for bit, or a DataError that names the line (and column),
 * or the header; never another exception, never NaN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { datasetToCsv, parseDatasetCsv } from '../../src/data/csv.js';
import { validateDataset } from '../../src/data/dataset.js';
import { DataError } from '../../src/errors.js';
import { assertNoBadNumber, FUZZ_SCALE, runProperty, Tally, typedOutcome, weirdNumber } from './fuzz-helpers.js';

const SOURCE = 'P.csv';
/** "P.csv, line 3, column x2: ...", "P.csv, line 1 (header): ...", "P.csv: empty file ..." */
const NAMES_LINE = /^P\.csv(, line \d+( \(header\)|, column (x\d+|y|z))?: |: (empty file|no data rows))/;
/** validateDataset: "row 3, column x1: ..." or "data.n: ..." */
const NAMES_ROW = /^(row \d+, column (x\d+|y): |data\.(n|d|X|Y): )/;

const numberCell = fc.oneof(
  { weight: 10, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }).map(String) },
  { weight: 3, arbitrary: weirdNumber.map(String) },
  { weight: 2, arbitrary: fc.integer({ min: -1000, max: 1000 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '', ' ', 'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '1e400', '-1e400', '1e-400', '0x1F', '0b11', '0o7', '1_0', '+5', '.5', '5.', '1e', '--1',
      'abc', ' 7 ', '"3"', '١', '\t2', '-0', '0.1.2', '1,5', '1e308', '4.9e-324', "'1'", 'true', 'null',
    ),
  },
);
const zCell = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 1, max: 5 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1.5', '1e300', '2147483647', '2147483648', '4294967297', '', 'x', ' 2 ', '1e0', '9007199254740993') },
);

interface CsvCase {
  text: string;
  expectedDim?: number;
}

const csvCase: fc.Arbitrary<CsvCase> = fc
  .record({
    d: fc.integer({ min: 1, max: 4 }),
    z: fc.boolean(),
    headerKind: fc.constantFrom('good', 'good', 'good', 'good', 'good', 'bad'),
    badHeader: fc.constantFrom('', 'x,y', 'x1,x2', 'y', 'x1,y,w', 'x2,y', 'X1,Y', 'x1;y', 'x1,y,z,z', 'z', ' x1 , y ', 'x1,,y', '\ufeffx1,y'),
    rows: fc.integer({ min: 0, max: 8 }),
    widthDelta: fc.oneof(fc.constant(new Array<number>(8).fill(0)), fc.array(fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 1), { minLength: 8, maxLength: 8 })),
    cells: fc.array(numberCell, { minLength: 48, maxLength: 48 }),
    zs: fc.array(zCell, { minLength: 8, maxLength: 8 }),
    crlf: fc.boolean(),
    trailing: fc.constantFrom('', '\n', '\n\n', '\n \n', '\r\n'),
    blankMid: fc.boolean(),
    expectedDim: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 2 }),
    dimAsHeader: fc.boolean(),
    clean: fc.boolean(),
    goodCells: fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), weirdNumber.filter(Number.isFinite)).map(String), { minLength: 48, maxLength: 48 }),
  })
  .map((c) => {
    const header = c.headerKind === 'good' ? [...Array.from({ length: c.d }, (_, p) => `x${p + 1}`), 'y', ...(c.z ? ['z'] : [])].join(',') : c.badHeader;
    const lines = [header];
    let cell = 0;
    for (let r = 0; r < c.rows; r++) {
      const width = c.d + 1 + c.widthDelta[r]!;
      const fields = Array.from({ length: Math.max(0, width) }, () => (c.clean ? c.goodCells : c.cells)[cell++ % c.cells.length]!);
      if (c.z) fields.push(c.zs[r]!);
      lines.push(fields.join(','));
      if (c.blankMid && r === 1) lines.push('');
    }
    const expectedDim = c.dimAsHeader ? c.d : c.expectedDim;
    return { text: lines.join(c.crlf ? '\r\n' : '\n') + c.trailing, ...(expectedDim !== undefined ? { expectedDim } : {}) };
  });

const RUNS = 4000;

test(`fuzz: ${RUNS * FUZZ_SCALE} seeded CSV files through parseDatasetCsv (and back through datasetToCsv): 0 failures`, (t) => {
  const tally = new Tally();
  runProperty(
    [csvCase],
    ({ text, expectedDim }) => {
      const parsed = typedOutcome(() => parseDatasetCsv(text, SOURCE, expectedDim), NAMES_LINE, tally, 'parseDatasetCsv');
      if (!parsed) return;
      const data = parsed.value;
      assert.ok(Number.isInteger(data.n) && data.n >= 1 && Number.isInteger(data.d) && data.d >= 1);
      if (expectedDim !== undefined) assert.equal(data.d, expectedDim);
      assert.equal(data.X.length, data.n * data.d);
      assert.equal(data.Y.length, data.n);
      assertNoBadNumber(data.X, 'X');
      assertNoBadNumber(data.Y, 'Y');
      if (data.Z) assert.ok([...data.Z].every((z) => Number.isInteger(z) && z >= 0), `Z: ${[...data.Z]}`);
      validateDataset(data);
      const again = parseDatasetCsv(datasetToCsv(data), SOURCE);
      assert.deepEqual([...again.X].map((v) => Object.is(v, -0) ? '-0' : v), [...data.X].map((v) => Object.is(v, -0) ? '-0' : v));
      assert.deepEqual([...again.Y].map((v) => Object.is(v, -0) ? '-0' : v), [...data.Y].map((v) => Object.is(v, -0) ? '-0' : v));
      assert.deepEqual(again.Z && [...again.Z], data.Z && [...data.Z]);
    },
    RUNS,
    10,
  );
  tally.lines('parseDatasetCsv').forEach((l) => t.diagnostic(l));
  assert.ok(tally.accepted > RUNS / 10, String(tally));
});

test(`fuzz: ${2000 * FUZZ_SCALE} seeded Dataset objects (NaN, infinities, wrong shapes) through validateDataset: 0 failures`, (t) => {
  const tally = new Tally();
  const arb = fc.record({
    n: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, -1, 1.5, NaN, Infinity)),
    d: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, -1, 2.5, NaN)),
    xs: fc.array(fc.oneof({ weight: 8, arbitrary: fc.double({ min: -5, max: 5, noNaN: true }) }, { weight: 1, arbitrary: weirdNumber }), { maxLength: 16 }),
    ys: fc.array(fc.oneof({ weight: 8, arbitrary: fc.double({ min: -5, max: 5, noNaN: true }) }, { weight: 1, arbitrary: weirdNumber }), { maxLength: 6 }),
    exact: fc.boolean(),
  });
  runProperty(
    [arb],
    ({ n, d, xs, ys, exact }) => {
      const nn = Number.isInteger(n) && n > 0 ? n : 1;
      const dd = Number.isInteger(d) && d > 0 ? d : 1;
      const X = Float64Array.from(exact ? Array.from({ length: nn * dd }, (_, i) => xs[i % Math.max(1, xs.length)] ?? 0) : xs);
      const Y = Float64Array.from(exact ? Array.from({ length: nn }, (_, i) => ys[i % Math.max(1, ys.length)] ?? 0) : ys);
      const ok = typedOutcome(() => validateDataset({ n, d, X, Y }), NAMES_ROW, tally, 'validateDataset');
      if (ok) {
        assertNoBadNumber(ok.value.X, 'X');
        assertNoBadNumber(ok.value.Y, 'Y');
      }
    },
    2000,
    11,
  );
  tally.lines('validateDataset').forEach((l) => t.diagnostic(l));
});

test('fuzz findings, fixed: a z label above 2^31 - 1 is refused (it wrapped to a negative index); a byte-order mark is skipped', () => {
  for (const z of ['9007199254740993', '2147483648', '1e300']) {
    assert.throws(
      () => parseDatasetCsv(`x1,y,z\n0.5,1,${z}\n`, SOURCE),
      (e: unknown) => e instanceof DataError && e.message === `P.csv, line 2, column z: "${z}" is not an expert index; must be an integer in 1..2147483647`,
    );
  }
  assert.deepEqual([...parseDatasetCsv('x1,y,z\n0.5,1,2147483647\n', SOURCE).Z!], [2147483646]);
  const bom = parseDatasetCsv('\ufeffx1,y\r\n0.5,1\r\n', SOURCE);
  assert.equal(bom.d, 1);
  assert.deepEqual([...bom.Y], [1]);
});
