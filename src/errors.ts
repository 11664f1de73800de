/**
 * Typed errors. Every error carries a message of the form
 * `<path or option>: <what is wrong> (got <value>); <what is allowed>` so that the CLI can
 * print it as one line and a user knows which field to fix.
 */

/** Base class: all gatelab errors extend it, so callers can catch them apart from bugs. */
export class GatelabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A model file or model object is invalid (names the JSON path). */
export class ModelError extends GatelabError {}

/** Data (a CSV file, an X/Y array) is malformed (names the row and column). */
export class DataError extends GatelabError {}

/** An option, a CLI flag or a config value is invalid (names the option). */
export class ConfigError extends GatelabError {}

/** A computation cannot proceed (e.g. a Voronoi cell whose rbar is unknown). */
export class NumericalError extends GatelabError {}

/** A run finished but produced nothing usable (e.g. every task of a sweep failed). */
export class RunError extends GatelabError {}

/** Render a value for an error message: JSON where possible, short. */
export function show(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    const s = JSON.stringify(value);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    // JSON.stringify refuses cycles and BigInt; String can itself overflow on deep nesting
    try {
      return String(value);
    } catch {
      return Array.isArray(value) ? '[...]' : '{...}';
    }
  }
}
