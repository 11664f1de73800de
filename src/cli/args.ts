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
    throw new UsageError(`${command}: ${parseArgsMessage(e, args, flags)}; see gatelab ${command} --help`);
  }
}

/** Edit distance of two short words (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The flag a mistyped one most likely meant (a prefix, or within 2 edits), if any. */
export function closestFlag(typed: string, flags: string[]): string | undefined {
  const word = typed.replace(/^-+/, '').split('=')[0]!;
  const prefixed = flags.filter((f) => f.startsWith(word) || word.startsWith(f));
  if (prefixed.length === 1) return prefixed[0];
  const scored = flags.map((f) => ({ f, d: distance(word, f) })).sort((a, b) => a.d - b.d);
  return scored[0] && scored[0].d <= Math.min(2, Math.floor(word.length / 2)) ? scored[0].f : undefined;
}

/**
 * node:util parseArgs's errors in gatelab's words: which flag, what is wrong, what to write
 * instead (its own messages speak of "positional arguments" and "ambiguous" values).
 */
function parseArgsMessage(e: unknown, args: string[], flags: FlagSpec): string {
  const code = (e as { code?: string }).code;
  const text = e instanceof Error ? e.message : String(e);
  // Node names an option with a short form as '-h, --help': take the long name
  const option = /'(?:-\w, )?(-{1,2}[^' =,]+)/.exec(text)?.[1] ?? '?';
  const names = Object.keys(flags);
  const list = names.length > 0 ? names.map((f) => `--${f}`).join(', ') : 'none besides --help';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // a short option is reported by its letter: name the whole word that was typed
    const typed = option.startsWith('--') ? option : (args.find((a) => a.startsWith(option) && !a.startsWith('--')) ?? option);
    const guess = closestFlag(typed, names);
    const asPath = typed.startsWith('--') ? '' : `; a file or folder whose name starts with '-' can be given as ./${typed}`;
    return `${typed} is not a flag here${guess ? `; did you mean --${guess}?` : ''} (flags: ${list})${asPath}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument is ambiguous/.test(text)) {
      // the occurrence of the flag that is followed by a '-' word (a flag can be given twice)
      const at = args.findIndex((a, i) => a === option && args[i + 1]?.startsWith('-'));
      const value = at >= 0 ? args[at + 1] : undefined;
      return value !== undefined
        ? `${option} is followed by ${show(value)}, which starts with '-': if it is the value, write ${option}=${value}; if it is the next flag, give ${option} its value first`
        : `${option} needs a value`;
    }
    if (/does not take an argument/.test(text)) return `${option} is a switch and takes no value; write ${option} alone`;
    if (/argument missing/.test(text)) return `${option} needs a value, e.g. ${option} VALUE`;
  }
  return text.split('\n')[0]!.replace(/\.$/, '');
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
