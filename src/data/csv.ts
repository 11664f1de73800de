/**
 * CSV for data sets: header `x1,...,xd,y` (optionally `,z`, 1-based expert index). Numbers are
 * written with JavaScript's shortest round-trip form, so parsing a written file gives back the
 * same float64 values bit for bit.
 */
import { DataError, show } from '../errors.js';
import type { Dataset } from './dataset.js';

/** The largest z label (1-based expert index) a CSV may hold: z - 1 must fit an Int32Array. */
export const MAX_LABEL = 2 ** 31 - 1;

/** Format a float64 so that Number(text) === value (shortest round-trip decimal). */
export function formatNumber(value: number): string {
  // String(-0) is "0": keep the sign so the bits round-trip
  return Object.is(value, -0) ? '-0' : String(value);
}

/** Dataset as CSV text: `x1,..,xd,y[,z]` with z 1-based when the dataset has labels. */
export function datasetToCsv(data: Dataset): string {
  const { n, d, X, Y, Z } = data;
  const header = [...Array.from({ length: d }, (_, p) => `x${p + 1}`), 'y', ...(Z ? ['z'] : [])].join(',');
  const lines: string[] = [header];
  for (let r = 0; r < n; r++) {
    let line = '';
    for (let p = 0; p < d; p++) line += formatNumber(X[r * d + p]!) + ',';
    line += formatNumber(Y[r]!);
    if (Z) line += ',' + (Z[r]! + 1);
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

/**
 * Parse CSV text with header `x1,...,xd,y` (an optional trailing `z` column is read as 1-based
 * labels). Errors name the line, the column and the value.
 * @param expectedDim when given, the number of x columns must equal it.
 */
export function parseDatasetCsv(text: string, source = 'data', expectedDim?: number): Dataset {
  // a byte-order mark (spreadsheets write one) is not part of the header
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new DataError(`${source}: empty file; must have a header x1,...,xd,y and at least one row`);
  const header = lines[0]!.split(',').map((h) => h.trim());
  const hasZ = header[header.length - 1] === 'z';
  const cols = hasZ ? header.slice(0, -1) : header;
  const d = cols.length - 1;
  const wanted = [...Array.from({ length: Math.max(d, 0) }, (_, p) => `x${p + 1}`), 'y'];
  if (d < 1 || cols.join(',') !== wanted.join(',')) {
    throw new DataError(
      `${source}, line 1 (header): ${show(lines[0])} is not a data header; must be x1,...,xd,y (optionally ,z), e.g. x1,y`,
    );
  }
  if (expectedDim !== undefined && d !== expectedDim) {
    throw new DataError(`${source}, line 1 (header): has ${d} input columns; the model has dimension ${expectedDim}`);
  }
  const n = lines.length - 1;
  if (n < 1) throw new DataError(`${source}: no data rows; must have at least one row after the header`);
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n);
  const Z = hasZ ? new Int32Array(n) : undefined;
  const width = header.length;
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const cells = lines[r + 1]!.split(',');
    if (cells.length !== width) {
      throw new DataError(`${source}, line ${lineNo}: has ${cells.length} fields; must have ${width} (${header.join(',')})`);
    }
    for (let c = 0; c <= d; c++) {
      const cell = cells[c]!.trim();
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        throw new DataError(`${source}, line ${lineNo}, column ${header[c]}: ${show(cell)} is not a finite number`);
      }
      if (c < d) X[r * d + c] = v;
      else Y[r] = v;
    }
    if (Z) {
      const cell = cells[width - 1]!.trim();
      const z = Number(cell);
      // z - 1 is stored as a 32-bit integer: a larger z would wrap around (to a negative index)
      if (!Number.isInteger(z) || z < 1 || z > MAX_LABEL) {
        throw new DataError(`${source}, line ${lineNo}, column z: ${show(cell)} is not an expert index; must be an integer in 1..${MAX_LABEL}`);
      }
      Z[r] = z - 1;
    }
  }
  return Z ? { n, d, X, Y, Z } : { n, d, X, Y };
}
