import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetToCsv, parseDatasetCsv } from '../src/data/index.js';
import { DataError } from '../src/errors.js';

test('datasetToCsv then parseDatasetCsv gives back the same float64 values bit for bit', () => {
  const X = Float64Array.of(0.1, 1 / 3, -2.5e-300, 123456789.123456789, Math.PI, -0);
  const Y = Float64Array.of(Math.E, 1e308, -1e-310, 0.30000000000000004, 7, 5e-324);
  const Z = Int32Array.of(0, 1, 2, 0, 1, 2);
  const back = parseDatasetCsv(datasetToCsv({ n: 6, d: 1, X, Y, Z }));
  assert.deepEqual(Buffer.from(back.X.buffer), Buffer.from(X.buffer));
  assert.deepEqual(Buffer.from(back.Y.buffer), Buffer.from(Y.buffer));
  assert.deepEqual(back.Z, Z);
});

const cases: [string, string, RegExp][] = [
  ['a bad header', 'a,b\n1,2\n', /line 1 \(header\): "a,b" is not a data header; must be x1,...,xd,y/],
  ['a non-number', 'x1,y\n1,2\n3,abc\n', /line 3, column y: "abc" is not a finite number/],
  ['NaN', 'x1,y\nNaN,2\n', /line 2, column x1: "NaN" is not a finite number/],
  ['a short row', 'x1,x2,y\n1,2,3\n1,2\n', /line 3: has 2 fields; must have 3/],
  ['an empty cell', 'x1,y\n,2\n', /line 2, column x1: "" is not a finite number/],
  ['no rows', 'x1,y\n', /no data rows/],
  ['an empty file', '', /empty file/],
];
for (const [name, text, message] of cases) {
  test(`parseDatasetCsv rejects ${name} with a DataError naming line and column`, () => {
    assert.throws(() => parseDatasetCsv(text, 'D.csv'), (e: unknown) => e instanceof DataError && message.test((e as Error).message));
  });
}

test('parseDatasetCsv checks the number of input columns against the model', () => {
  assert.throws(() => parseDatasetCsv('x1,x2,y\n1,2,3\n', 'P.csv', 1), /has 2 input columns; the model has dimension 1/);
});
