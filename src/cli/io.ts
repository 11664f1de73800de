/**
 * File reading and writing for the CLI, with errors that name the file: reading JSON, models and
 * data; writing outputs (atomically where the target is a regular file, never over a results
 * store); streaming CSV in bounded memory to a file or to standard output.
 */
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { formatNumber, parseDatasetCsv } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { ConfigError, GatelabError, ModelError } from '../errors.js';
import { fsCode, isFsError, tempSibling, writeAdvice, writeAll } from '../files.js';
import { MAX_JSON_DEPTH, nestedDeeperThan, parseModel } from '../models/validate.js';
import type { Model } from '../models/types.js';
import { storeOfFile } from '../sweeps/store.js';

/** The reader of standard output went away (`gatelab sample ... | head`): stop quietly. */
export class OutputClosed extends Error {
  constructor() {
    super('standard output was closed by its reader');
  }
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${what}: cannot read ${JSON.stringify(path)} (${code ?? 'error'}); give an existing file`);
  }
}

export function readJson(path: string, what: string): unknown {
  const text = readText(path, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`${path}: is not valid JSON (${(e as Error).message})`);
  }
  if (nestedDeeperThan(value)) {
    throw new ModelError(`${path}: is nested more than ${MAX_JSON_DEPTH} levels deep; gatelab's files (models, gates, experiment configs) are a few levels deep`);
  }
  return value;
}

/** Read and validate a model file; errors are prefixed with the file name. */
export function readModel(path: string, what: string): Model {
  const json = readJson(path, what);
  try {
    return parseModel(json);
  } catch (e) {
    if (e instanceof GatelabError) throw new ModelError(`${path}: ${e.message}`);
    throw e;
  }
}

export function readDataset(path: string, what: string, expectedDim?: number): Dataset {
  return parseDatasetCsv(readText(path, what), path, expectedDim);
}

/**
 * Refuse an output path that is a file of a results store (rows.jsonl, config.json, ...): no
 * command may overwrite a store, whatever the typo.
 */
export function refuseStoreFile(path: string, what: string): void {
  const store = storeOfFile(path);
  if (store !== undefined) {
    throw new ConfigError(`${what}: ${JSON.stringify(path)} is a file of the results store ${JSON.stringify(store)}; writing it would destroy results: choose another file name`);
  }
}

/** An output file being written (see openOutput). */
export interface OutputFile {
  write(text: string): void;
  /** make it durable and put it in place */
  finish(): void;
  /** give up: remove what was written (a regular file keeps its old content) */
  abort(): void;
}

/**
 * Open an output file. A regular file (or a new one) is written to a temporary file beside it
 * and renamed into place on finish, so an interrupted or failed write (a full disk) leaves the
 * old file, never half a file; anything else (/dev/null, a named pipe, /dev/stdout) is written
 * in place. A file of a results store is refused.
 */
export function openOutput(path: string, what = '--out'): OutputFile {
  refuseStoreFile(path, what);
  let regular = true;
  try {
    const st = lstatSync(path);
    if (st.isDirectory()) throw new ConfigError(`${what}: ${JSON.stringify(path)} is a folder; give a file name`);
    regular = st.isFile();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new ConfigError(`${what}: cannot write ${JSON.stringify(path)} (${fsCode(e)}); a part of the path is a file: choose a file in an existing folder`);
    }
    // ENOENT: a new file (a missing folder is reported by the open below)
  }
  let target = regular ? tempSibling(path) : path;
  const fail = (e: unknown, action = 'write'): never => {
    if (!isFsError(e)) throw e;
    throw new ConfigError(`${what}: cannot ${action} ${JSON.stringify(path)} (${fsCode(e)}); ${writeAdvice(e.code)}`);
  };
  let fd = -1;
  try {
    fd = openSync(target, regular ? 'wx' : 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(regular && (code === 'EACCES' || code === 'EPERM') && existsSync(path))) fail(e);
    // a writable file in a folder where no new file may be made: write it in place
    regular = false;
    target = path;
    try {
      fd = openSync(path, 'w');
    } catch (e2) {
      fail(e2);
    }
  }
  const close = () => {
    if (fd >= 0) {
      const f = fd;
      fd = -1;
      closeSync(f);
    }
  };
  return {
    write(text) {
      try {
        writeAll(fd, text);
      } catch (e) {
        fail(e);
      }
    },
    finish() {
      try {
        if (regular) fsyncSync(fd);
        close();
        if (regular) renameSync(target, path);
      } catch (e) {
        fail(e);
      }
    },
    abort() {
      try {
        close();
      } catch {
        // closing is best effort here
      }
      if (regular) {
        try {
          unlinkSync(target);
        } catch {
          // nothing to remove
        }
      }
    },
  };
}

/** Write a whole text file (atomically for a regular file; see openOutput). */
export function writeText(path: string, text: string, what = '--out'): void {
  const out = openOutput(path, what);
  try {
    out.write(text);
    out.finish();
  } catch (e) {
    out.abort();
    throw e;
  }
}

/** The sink the CLI writes through (commands.ts Io): out/err, and flush to wait for a slow reader. */
export interface OutputSink {
  out: (text: string) => void;
  /** resolves when the output has room again; rejects with OutputClosed when its reader is gone */
  flush?: () => Promise<void>;
}

/**
 * Write text pieces to a file (`path`) or to the CLI's standard output, in bounded memory: each
 * piece is written (and, on standard output, drained) before the next is made.
 */
export async function writeStream(path: string | undefined, io: OutputSink, pieces: Iterable<string>, what = '--out'): Promise<void> {
  if (path === undefined) {
    for (const piece of pieces) {
      io.out(piece);
      await io.flush?.();
    }
    return;
  }
  const out = openOutput(path, what);
  try {
    for (const piece of pieces) out.write(piece);
    out.finish();
  } catch (e) {
    out.abort();
    throw e;
  }
}

/** The CSV header of a data set: `x1,...,xd,y[,z]`. */
export function csvHeader(d: number, withZ: boolean): string {
  return [...Array.from({ length: d }, (_, p) => `x${p + 1}`), 'y', ...(withZ ? ['z'] : [])].join(',') + '\n';
}

/** The CSV rows of a data set (as data/csv.ts datasetToCsv writes them, without the header). */
export function csvRows(data: Dataset): string {
  const { n, d, X, Y, Z } = data;
  const lines: string[] = [];
  for (let r = 0; r < n; r++) {
    let line = '';
    for (let p = 0; p < d; p++) line += formatNumber(X[r * d + p]!) + ',';
    line += formatNumber(Y[r]!);
    if (Z) line += ',' + (Z[r]! + 1);
    lines.push(line);
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** A data set's rows in pieces of `chunk` rows (for a sample drawn whole, e.g. on the GPU). */
export function* datasetPieces(data: Dataset, chunk = 65536): Generator<Dataset> {
  const { n, d } = data;
  for (let first = 0; first < n; first += chunk) {
    const end = Math.min(n, first + chunk);
    yield { n: end - first, d, X: data.X.subarray(first * d, end * d), Y: data.Y.subarray(first, end), ...(data.Z ? { Z: data.Z.subarray(first, end) } : {}) };
  }
}
