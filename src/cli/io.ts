/** File reading for the CLI, with errors that name the file. */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseDatasetCsv } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { ConfigError, GatelabError, ModelError } from '../errors.js';
import { parseModel } from '../models/validate.js';
import type { Model } from '../models/types.js';

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
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelError(`${path}: is not valid JSON (${(e as Error).message})`);
  }
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

export function writeText(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new ConfigError(`--out: cannot write ${JSON.stringify(path)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
