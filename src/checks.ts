/**
 * The small value checks that model-file parsers share (models/validate.ts and each gate's spec
 * parser in gates/). Every failure is a ModelError naming the JSON path, the value and what is
 * allowed, e.g. "gate.tau: -1 is not a temperature; must be > 0".
 */
import { ModelError, show } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** v as a JSON object, or a ModelError naming `path`. */
export function object(v: unknown, path: string): JsonObject {
  if (!isObject(v)) throw new ModelError(`${path}: ${show(v)} is not an object; must be a JSON object`);
  return v;
}

/** v as a finite number, or a ModelError naming `path`. */
export function finite(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelError(`${path}: ${show(v)} is not a finite number; must be a finite number`);
  }
  return v;
}

/** v as a finite number > 0 ("is not <what>; must be > 0" otherwise). */
export function positive(v: unknown, path: string, what: string): number {
  const x = finite(v, path);
  if (!(x > 0)) throw new ModelError(`${path}: ${show(x)} is not ${what}; must be > 0`);
  return x;
}

/** v as an array of finite numbers of the given length (any length when undefined). */
export function vector(v: unknown, path: string, length: number | undefined): number[] {
  if (!Array.isArray(v)) throw new ModelError(`${path}: ${show(v)} is not an array; must be an array of numbers`);
  if (length !== undefined && v.length !== length) {
    throw new ModelError(`${path}: has length ${v.length}; must have length ${length} (the input dimension d)`);
  }
  return v.map((x, i) => finite(x, `${path}[${i}]`));
}

/** A ModelError naming the first key of `o` not in `allowed`. */
export function noUnknownKeys(o: JsonObject, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      const where = path ? `${path}.${key}` : key;
      throw new ModelError(`${where}: unknown field; allowed here: ${allowed.join(', ')}`);
    }
  }
}
