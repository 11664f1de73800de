/**
 * Flag parsing for the CLI on top of node:util parseArgs, turning its errors into one-line
 * ConfigErrors and checking numeric flags (which flag, which value, what is allowed).
 */
import { parseArgs } from 'node:util';
import { ConfigError, show } from '../errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export class UsageError extends ConfigError {}

export function parseFlags(argv: string[], flags: FlagSpec, command: string): Record<string, string | boolean | undefined> {
  const { values, positionals } = parseFlagsAndPositionals(argv, flags, command, 0);
  void positionals;
  return values;
}

/** As parseFlags, also accepting exactly `positionals` positional arguments. */
export function parseFlagsAndPositionals(
  argv: string[],
  flags: FlagSpec,
  command: string,
  expected: number,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  // `--seed -3` would read -3 as an option: join a negative number to its flag so that the value
  // check reports it properly
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-[\d.]/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const { values, positionals } = parseArgs({ args, options: { ...flags, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (positionals.length > expected) {
      throw new UsageError(`${command}: unexpected argument ${show(positionals[expected])}; see gatelab ${command} --help`);
    }
    if (positionals.length < expected) {
      throw new UsageError(`${command}: missing argument; see gatelab ${command} --help`);
    }
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`${command}: ${message}; see gatelab ${command} --help`);
  }
}

export function required(values: Record<string, string | boolean | undefined>, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${command}: --${name} is required; see gatelab ${command} --help`);
  return v;
}

export function integerFlag(value: string | undefined, name: string, min: number, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const v = Number(value);
  if (!Number.isSafeInteger(v) || v < min || value.trim() === '') {
    throw new UsageError(`--${name}: ${show(value)} is not allowed; must be an integer >= ${min}`);
  }
  return v;
}

export function numberFlag(value: string | undefined, name: string, check: (v: number) => boolean, allowed: string): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || !check(v)) {
    throw new UsageError(`--${name}: ${show(value)} is not allowed; must be ${allowed}`);
  }
  return v;
}

export function choiceFlag<T extends string>(value: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T)) {
    throw new UsageError(`--${name}: ${show(value)} is not allowed; must be one of ${choices.join(', ')}`);
  }
  return value as T;
}
