/**
 * Export the merged rows of a results folder (every shard) as one Parquet file, one row per task,
 * flat columns: the task and fit fields, `shard` (the store the row was read from: `main` or
 * `<i>-of-<N>`), one DOUBLE column per quantity name (`D1`, `beta1[1]`, ...; null where a row does
 * not define it), and the fitted model, the Voronoi cells and the warnings as JSON text; key-value
 * metadata names the quantity columns and carries the config (read back by import-parquet.ts). Written by
 * hyparquet-writer (pure JavaScript, Snappy-compressed); read by DuckDB, pyarrow/pandas and R arrow.
 */
import { lstatSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { parquetWriteBuffer, type BasicType, type ColumnSource } from 'hyparquet-writer';
import { ConfigError } from '../errors.js';
import { tempSibling, writeAdvice } from '../files.js';
import type { MergedResults } from './merged-store.js';
import { storeOfFile } from './store.js';
import type { SweepRow } from './types.js';

type Value = string | number | bigint | boolean | null;

interface ColumnSpec {
  name: string;
  type: BasicType;
  get: (row: SweepRow, shard: string) => Value;
  /** a quantity column (from the row's quantities) */
  quantity?: boolean;
}

const field =
  (name: keyof SweepRow) =>
  (row: SweepRow): Value => {
    const v = row[name];
    return v === undefined ? null : (v as Value);
  };
const json =
  (name: keyof SweepRow) =>
  (row: SweepRow): Value =>
    row[name] === undefined ? null : JSON.stringify(row[name]);

/** The fixed columns, in order (the quantities follow, then any row field not listed here). */
const FIXED: ColumnSpec[] = [
  { name: 'experiment', type: 'STRING', get: field('experiment') },
  { name: 'variant', type: 'STRING', get: field('variant') },
  { name: 'key', type: 'STRING', get: field('key') },
  { name: 'n', type: 'INT32', get: field('n') },
  { name: 'replicate', type: 'INT32', get: field('replicate') },
  { name: 'seed', type: 'INT64', get: (r) => BigInt(r.seed) },
  { name: 'status', type: 'STRING', get: field('status') },
  { name: 'error', type: 'STRING', get: field('error') },
  { name: 'loglik', type: 'DOUBLE', get: field('loglik') },
  { name: 'iterations', type: 'INT32', get: field('iterations') },
  { name: 'stopReason', type: 'STRING', get: field('stopReason') },
  { name: 'converged', type: 'BOOLEAN', get: field('converged') },
  { name: 'seconds', type: 'DOUBLE', get: field('seconds') },
  { name: 'shard', type: 'STRING', get: (_, shard) => shard },
  { name: 'start', type: 'STRING', get: field('start') },
  { name: 'lossKind', type: 'STRING', get: field('lossKind') },
  { name: 'hellingerSE', type: 'DOUBLE', get: field('hellingerSE') },
  { name: 'tvSE', type: 'DOUBLE', get: field('tvSE') },
  { name: 'warnings', type: 'STRING', get: json('warnings') },
  { name: 'cells', type: 'STRING', get: json('cells') },
  { name: 'model', type: 'STRING', get: json('model') },
];
const HANDLED = new Set<string>([...FIXED.map((c) => c.name), 'quantities']);
/** The fixed columns' names, in order (the reader, import-parquet.ts, maps them back). */
export const FIXED_COLUMNS: readonly string[] = FIXED.map((c) => c.name);
/** Key-value metadata: the JSON list of the quantity columns. */
export const PARQUET_QUANTITIES_KEY = 'gatelab.quantities';
/** Key-value metadata: the store's config.json text ({config, variant}) the rows were made with. */
export const PARQUET_STORE_KEY = 'gatelab.store';

/** A column for a row field not in FIXED (e.g. added later): its type from the values seen. */
function extraColumn(name: string, rows: SweepRow[]): ColumnSpec {
  const values = rows.map((r) => (r as unknown as Record<string, unknown>)[name]).filter((v) => v !== undefined && v !== null);
  const all = (t: string) => values.every((v) => typeof v === t);
  const get = (r: SweepRow): Value => {
    const v = (r as unknown as Record<string, unknown>)[name];
    if (v === undefined || v === null) return null;
    return typeof v === 'object' ? JSON.stringify(v) : (v as Value);
  };
  if (values.length > 0 && all('number')) return { name, type: 'DOUBLE', get };
  if (values.length > 0 && all('boolean')) return { name, type: 'BOOLEAN', get };
  return { name, type: 'STRING', get: (r) => (get(r) === null ? null : String(get(r))) };
}

/** The columns of an export: fixed fields, quantities (in order of first appearance), extras. */
export function exportColumns(rows: SweepRow[]): ColumnSpec[] {
  const quantities = new Set<string>();
  const extras = new Set<string>();
  for (const row of rows) {
    for (const q of Object.keys(row.quantities ?? {})) quantities.add(q);
    for (const k of Object.keys(row)) if (!HANDLED.has(k)) extras.add(k);
  }
  const qColumns: ColumnSpec[] = [...quantities].map((q) => ({
    name: q,
    type: 'DOUBLE',
    quantity: true,
    get: (r) => r.quantities?.[q] ?? null,
  }));
  return [...FIXED, ...qColumns, ...[...extras].filter((e) => !quantities.has(e)).sort().map((e) => extraColumn(e, rows))];
}

/**
 * The Parquet bytes of merged results (see the module comment for the columns), with key-value
 * metadata for the reader (import-parquet.ts): the quantity columns, and the config and variant
 * where given.
 */
export function resultsToParquet(results: Pick<MergedResults, 'rows' | 'source'> & Partial<Pick<MergedResults, 'config' | 'variant'>>): ArrayBuffer {
  const columns = exportColumns(results.rows);
  const quantities = columns.filter((c) => c.quantity).map((c) => c.name);
  const kvMetadata = [{ key: PARQUET_QUANTITIES_KEY, value: JSON.stringify(quantities) }];
  if (results.config && results.variant) kvMetadata.push({ key: PARQUET_STORE_KEY, value: JSON.stringify({ config: results.config, variant: results.variant }) });
  const columnData: ColumnSource[] = columns.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: true,
    data: results.rows.map((r) => c.get(r, results.source.get(r.key) ?? 'main')),
  }));
  return parquetWriteBuffer({ columnData, kvMetadata, createdBy: 'gatelab export (hyparquet-writer)' });
}

/** What kind of file system entry a path is, for a refusal (undefined: a regular file). */
function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Check the target of an export before anything is computed: never a file of a results store,
 * never something other than a regular file (a device, a link, a folder: the rename would replace
 * it), and an existing file only with `force`.
 */
export function checkExportTarget(file: string, force = false): void {
  const store = storeOfFile(file);
  if (store !== undefined) {
    throw new ConfigError(`--parquet: ${JSON.stringify(file)} is a file of the results store ${JSON.stringify(store)}; replacing it would destroy results: give a new file name, e.g. results.parquet`);
  }
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch {
    return; // a new file
  }
  const kind = notRegular(st);
  if (kind) throw new ConfigError(`--parquet: ${JSON.stringify(file)} is ${kind}, not a regular file; give a new file name (export never replaces anything else)`);
  if (!force) throw new ConfigError(`--parquet: ${JSON.stringify(file)} exists; give a new file name, or add --force to replace it`);
}

/**
 * Write merged results to a Parquet file (atomically: a temporary file renamed into place).
 * Refuses what checkExportTarget refuses (an existing file only with `force`).
 */
export function exportParquet(results: Pick<MergedResults, 'rows' | 'source'> & Partial<Pick<MergedResults, 'config' | 'variant'>>, file: string, options: { force?: boolean } = {}): { rows: number; columns: number; bytes: number } {
  checkExportTarget(file, options.force);
  const buffer = resultsToParquet(results);
  const tmp = tempSibling(file);
  try {
    writeFileSync(tmp, new Uint8Array(buffer), { flag: 'wx' });
    checkExportTarget(file, options.force); // it may have appeared meanwhile
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`--parquet: cannot write ${JSON.stringify(file)} (${(e as NodeJS.ErrnoException).code ?? 'error'}); ${writeAdvice((e as NodeJS.ErrnoException).code)}`);
  }
  return { rows: results.rows.length, columns: exportColumns(results.rows).length, bytes: buffer.byteLength };
}
