/**
 * Read a Parquet export (export-parquet.ts) back into the rows of a results folder, so that
 * `gatelab rates`, `npm run figures` and the scripts read committed exports as they read stores
 * (issue 15: full results are committed in this compact form where a raw store is too large).
 *
 * The inverse of `resultsToParquet`, column by column: the fixed columns become the row's fields
 * (`seed` back to a number; `warnings`, `cells`, `model` parsed from JSON; `shard` to the source
 * map), the quantity columns the row's `quantities` (a null cell: a quantity the fit does not
 * define, kept as null, as the store writes it), the other columns the row's remaining fields.
 * A null cell of a field leaves the field out: the export writes null for an absent field and a
 * null one alike (`certificate: null` reads back absent; the analysis treats both as missing).
 *
 * Which columns are quantities, and the config the rows were made with, come from the file's
 * key-value metadata (`gatelab.quantities`, `gatelab.store`), written by exports since this
 * reader. Exports written before carry neither: their quantities are the DOUBLE columns that are
 * not a known row field (LEGACY_FIELDS), and their config is read from `experiments/<name>.json`
 * (the caller's `configFile`), which must then be the config the rows were made with.
 */
import { readFileSync } from 'node:fs';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { ConfigError, DataError } from '../errors.js';
import { parseExperimentConfig } from './config.js';
import { FIXED_COLUMNS, PARQUET_QUANTITIES_KEY, PARQUET_STORE_KEY } from './export-parquet.js';
import type { MergedResults } from './merged-store.js';
import { parseStoreMeta } from './store.js';
import { sweepTasks } from './tasks.js';
import type { SweepRow } from './types.js';

/** Row fields outside the fixed columns that exports before the metadata could hold. */
const LEGACY_FIELDS = new Set(['backend', 'certificate', 'lastChange', 'nuFloorHits', 'spikes']);
/** Fixed columns written as JSON text. */
const JSON_COLUMNS = new Set(['warnings', 'cells', 'model']);

/**
 * The results of a Parquet export as a results folder's merged results (no stores: `stores` is
 * empty; `dir` is the file). Rows in task order, `missing` the variant's tasks without a row.
 * @param file a file written by `gatelab export --parquet` (or resultsToParquet)
 * @param options.configFile the experiment config for exports without `gatelab.store` metadata
 *   (default: none, and such a file is refused naming the option)
 * @example
 *   const results = await readParquetResults('figures/demys-authors-exact/results-full.parquet', { configFile: 'experiments/demys-authors-exact.json' });
 *   analyseRates(results.rows, results.config, results.variant);
 */
export async function readParquetResults(file: string, options: { configFile?: string } = {}): Promise<MergedResults> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); give a Parquet file written by gatelab export --parquet`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(buffer);
  } catch (e) {
    throw new DataError(`${file}: is not a Parquet file (${(e as Error).message}); give a file written by gatelab export --parquet`);
  }
  const kv = new Map((metadata.key_value_metadata ?? []).map((e) => [e.key, e.value ?? '']));
  const columns = metadata.schema.slice(1).map((s) => ({ name: s.name, type: s.type }));
  for (const fixed of ['experiment', 'variant', 'key', 'n', 'replicate', 'seed', 'status']) {
    if (!columns.some((c) => c.name === fixed)) throw new DataError(`${file}: has no column ${JSON.stringify(fixed)}; it is not a gatelab results export`);
  }
  const quantitiesText = kv.get(PARQUET_QUANTITIES_KEY);
  const quantities = new Set<string>(
    quantitiesText !== undefined
      ? (JSON.parse(quantitiesText) as string[])
      : columns.filter((c) => c.type === 'DOUBLE' && !FIXED_COLUMNS.includes(c.name) && !LEGACY_FIELDS.has(c.name)).map((c) => c.name),
  );
  const objects = (await parquetReadObjects({ file: buffer })) as Record<string, unknown>[];
  const rows: SweepRow[] = [];
  const source = new Map<string, string>();
  for (const o of objects) {
    const row: Record<string, unknown> = {};
    const q: Record<string, number | null> = {};
    let anyQuantity = false;
    for (const { name } of columns) {
      const value = o[name];
      if (quantities.has(name)) {
        q[name] = value === null || value === undefined ? null : Number(value);
        anyQuantity ||= value !== null && value !== undefined;
      } else if (name === 'shard') {
        source.set(String(o.key), value === null || value === undefined ? 'main' : String(value));
      } else if (value === null || value === undefined) {
        continue;
      } else if (name === 'seed' || typeof value === 'bigint') {
        row[name] = Number(value);
      } else if (JSON_COLUMNS.has(name)) {
        row[name] = JSON.parse(String(value));
      } else row[name] = value;
    }
    // a failed task has no quantities at all (the store's row has none)
    if (anyQuantity || row.status === 'ok') row.quantities = q;
    rows.push(row as unknown as SweepRow);
  }
  const first = rows[0];
  const storeText = kv.get(PARQUET_STORE_KEY);
  let config: MergedResults['config'];
  let variant: MergedResults['variant'];
  if (storeText !== undefined) {
    ({ config, variant } = parseStoreMeta(storeText, `${file} (metadata ${PARQUET_STORE_KEY})`));
  } else {
    if (!options.configFile) throw new ConfigError(`${file}: carries no config (an export written before gatelab.store metadata); give the experiment config the rows were made with (configFile; gatelab rates --config), e.g. experiments/${first?.experiment ?? '<name>'}.json`);
    config = parseExperimentConfig(JSON.parse(readFileSync(options.configFile, 'utf8')), options.configFile);
    const v = first?.variant;
    if (v !== 'quick' && v !== 'full') throw new DataError(`${file}: its rows name no variant ("quick" or "full"); it is not a gatelab results export`);
    variant = v;
    if (first && first.experiment !== config.name) throw new ConfigError(`${file}: holds rows of ${JSON.stringify(first.experiment)}, but configFile ${options.configFile} is ${JSON.stringify(config.name)}; give that experiment's config`);
  }
  const tasks = sweepTasks(config, variant);
  const order = new Map(tasks.map((t, i) => [t.key, i]));
  rows.sort((a, b) => (order.get(a.key) ?? Infinity) - (order.get(b.key) ?? Infinity) || (a.key < b.key ? -1 : 1));
  const present = new Set(rows.map((r) => r.key));
  return { dir: file, config, variant, stores: [], rows, source, tasks, missing: tasks.filter((t) => !present.has(t.key)) };
}
