/**
 * The fit options, declared once: each option's domain, default and description live in
 * FIT_OPTIONS, and the option checks of validateFitOptions (fit.ts), the defaults of
 * resolveStopping and the gate M-step, the `gatelab fit` flags with their help text and value
 * checks (cli/commands.ts), and the options table of docs/fitting.md (a test compares it) are all
 * read from it. One error format for every option, from code or from a flag:
 *   `<name>: <value> is not <noun | allowed>; must be <what is allowed>`.
 */
import { ConfigError, show } from '../errors.js';
import type { FitOptions } from './types.js';

/** What values an option takes. 'custom' options are checked by their own function in fit.ts. */
export type OptionDomain =
  | { kind: 'choice'; values: readonly string[]; noun?: string }
  | { kind: 'number'; min: number; minOpen: boolean; maxOpen?: number; note?: string }
  | { kind: 'integer'; min: number }
  | { kind: 'boolean' }
  | { kind: 'custom'; allowed: string };

/** One fit option. */
export interface FitOptionSpec {
  readonly key: keyof FitOptions;
  readonly domain: OptionDomain;
  /** the default, or a sentence saying how it is computed */
  readonly default: string | number | boolean;
  /** what it does, one or two sentences */
  readonly help: string;
  /**
   * its `gatelab fit` flag (absent: from code or a config only) and the flag value's placeholder;
   * flags of 'custom' options are parsed by the command itself (a file to read, a data-dependent check)
   */
  readonly flag?: { name: string; value: string };
  /** an option that applies only under one value of another option, and what to say otherwise */
  readonly onlyWhen?: { key: keyof FitOptions; value: string; otherwise: string };
}

/** Defaults of the options that have a fixed one (the table below shows them). */
export const FIT_DEFAULTS = {
  tau: 'known',
  method: 'em',
  identifiability: 'reference',
  stop: 'score',
  scoreTol: 1e-3,
  tol: 1e-6,
  absTol: 0,
  accelerate: 'squarem',
  polish: 'bhhh',
  stallWindow: 1000,
  futility: 'none',
  selectionSearch: 'coordinate',
  maxIterations: 10000,
  nuMinFactor: 0.01,
  gateSteps: 5,
  gateTol: 1e-10,
  trace: false,
} as const;

const D = FIT_DEFAULTS;

/**
 * Every option of fitMoE / fitMany (spec: fitting.md). Order: the problem (k, gate), the model
 * settings, the stopping rule, the engine's settings.
 */
export const FIT_OPTIONS: readonly FitOptionSpec[] = [
  { key: 'k', domain: { kind: 'custom', allowed: 'an integer in 1..10000' }, default: 'required', flag: { name: 'experts', value: 'k' }, help: 'number of experts to fit' },
  {
    key: 'gate', domain: { kind: 'custom', allowed: 'a gate spec, e.g. {"type":"topk","K":2}' }, default: 'required', flag: { name: 'gate', value: 'G.json' },
    help: 'the gate family and its fixed settings (top-K K and rankBy; tau, known value or start)',
  },
  {
    key: 'tau', domain: { kind: 'choice', values: ['known', 'free'], noun: 'a temperature mode' }, default: D.tau, flag: { name: 'tau', value: 'known|free' },
    help: 'temperature fixed at the gate\'s tau, or estimated (gates with a temperature)',
  },
  {
    key: 'method', domain: { kind: 'choice', values: ['em', 'mle'], noun: 'a fitting method' }, default: D.method, flag: { name: 'method', value: 'em|mle' },
    help: 'EM, or direct maximum likelihood by L-BFGS',
  },
  {
    key: 'identifiability', domain: { kind: 'choice', values: ['reference', 'free'] }, default: D.identifiability, flag: { name: 'identifiability', value: 'reference|free' },
    help: 'reference: the last expert\'s beta0 and beta1 are fixed at 0 (an exact invariance except for the activation gate); free: all gating parameters are fitted',
  },
  {
    key: 'expertFamily', domain: { kind: 'custom', allowed: 'an object implementing ExpertFamily (experts/types.ts)' }, default: 'gaussianLinear',
    help: 'the experts\' family, from code only; families without fast kernels run on the CPU backend\'s generic E-step',
  },
  {
    key: 'stop', domain: { kind: 'choice', values: ['score', 'relative'], noun: 'a stopping rule' }, default: D.stop, flag: { name: 'stop', value: 'score|relative' },
    help: 'score: stop when the score statistic T = 1/2 g\'J^-1 g, an estimate of the nats still to gain, is <= scoreTol; relative: the [DEMYS] authors\' rule |L_t - L_t-1| <= tol |L_t-1| (it stops over-specified fits near the start)',
  },
  {
    key: 'scoreTol', domain: { kind: 'number', min: 0, minOpen: true }, default: D.scoreTol, flag: { name: 'score-tol', value: 'e' },
    help: 'the score rule\'s tolerance, in nats',
    onlyWhen: { key: 'stop', value: 'score', otherwise: 'the rule is "relative" (set tol)' },
  },
  {
    key: 'tol', domain: { kind: 'number', min: 0, minOpen: false }, default: D.tol, flag: { name: 'tol', value: 't' },
    help: 'the relative rule\'s relative tolerance',
    onlyWhen: { key: 'stop', value: 'relative', otherwise: 'the rule is "score" (set scoreTol, in nats), or set stop: "relative"' },
  },
  {
    key: 'absTol', domain: { kind: 'number', min: 0, minOpen: false }, default: 'off', flag: { name: 'abs-tol', value: 't' },
    help: 'the relative rule also stops when |L_t - L_t-1| <= absTol',
    onlyWhen: { key: 'stop', value: 'relative', otherwise: 'the rule is "score" (set scoreTol, in nats), or set stop: "relative"' },
  },
  {
    key: 'relativeLag', domain: { kind: 'boolean' }, default: false,
    help: 'the relative rule under EM: return the parameters one EM map past the point where the rule held, as the [DEMYS] authors\' loop does (it records L before the M-step); the best start is chosen at the stop (CPU only)',
  },
  {
    key: 'accelerate', domain: { kind: 'choice', values: ['squarem', 'none'], noun: 'an accelerator' }, default: D.accelerate, flag: { name: 'accelerate', value: 'squarem|none' },
    help: 'SQUAREM with a monotone safeguard, or plain EM (MLE ignores it)',
  },
  {
    key: 'polish', domain: { kind: 'choice', values: ['bhhh', 'none'], noun: 'a polish' }, default: D.polish, flag: { name: 'polish', value: 'bhhh|none' },
    help: 'bhhh: a stalled EM run is polished by Newton steps with the outer-product information until T <= scoreTol (not for selective gates); none: it stops as stalled',
  },
  {
    key: 'stallWindow', domain: { kind: 'integer', min: 2 }, default: D.stallWindow, flag: { name: 'stall-window', value: 'w' },
    help: 'the stall rule (score rule): a run whose L rose by less than 1e-2 scoreTol over the last w EM maps while T > scoreTol is stalled (then polished); checked every w/2 maps from 1.5 w on',
  },
  {
    key: 'futility', domain: { kind: 'choice', values: ['none', 'budget'], noun: 'a futility rule' }, default: D.futility, flag: { name: 'futility', value: 'none|budget' },
    help: 'none: only the 1e-2 scoreTol stall rule; budget: the stall rule also fires when the last stallWindow maps\' gain, extrapolated over the maps left (maxIterations), is below T - scoreTol (the run would end as maxIterations; it is polished instead; only with polish bhhh and a gate that is not selective)',
  },
  {
    key: 'selectionSearch', domain: { kind: 'choice', values: ['coordinate', 'none'], noun: 'a search' }, default: D.selectionSearch, flag: { name: 'selection-search', value: 'coordinate|none' },
    help: 'top-K with K < k: EM alternates with a search of the likelihood across the selection boundaries, which EM cannot cross; none: EM keeps the start\'s selections',
  },
  {
    key: 'gateBound', domain: { kind: 'number', min: 0, minOpen: true }, default: 'none (no box; sweeps count a fit beyond 1000 as not converged)', flag: { name: 'gate-bound', value: 'B' },
    help: 'the compact parameter space of the theorems for the gate: EM keeps every beta0 and beta1 entry in [-B, B] (projected Newton and SQUAREM steps; a coordinate on the box\'s face whose score points outward is held and left out of the certificate, a constrained maximum); method em only',
  },
  {
    key: 'maxIterations', domain: { kind: 'integer', min: 0 }, default: D.maxIterations, flag: { name: 'max-iter', value: 'm' },
    help: 'at most this many EM-map evaluations (EM) or L-BFGS iterations (MLE)',
  },
  {
    key: 'nuMin', domain: { kind: 'number', min: 0, minOpen: true }, default: 'nuMinFactor x the smallest variance of the truth (near-truth starts), the start, or the first random start', flag: { name: 'nu-min', value: 'v' },
    help: 'variance floor nu_min (the compact parameter space of the theorems); hitting it is reported',
  },
  {
    key: 'nuMinFactor', domain: { kind: 'number', min: 0, minOpen: true, maxOpen: 1, note: 'a fraction of the reference variance' }, default: D.nuMinFactor, flag: { name: 'nu-min-factor', value: 'f' },
    help: 'the default floor\'s factor; ignored when nuMin is given',
  },
  {
    key: 'gateSteps', domain: { kind: 'integer', min: 1 }, default: D.gateSteps, flag: { name: 'gate-steps', value: 's' },
    help: 'gate M-step: at most this many Newton / L-BFGS steps per EM iteration',
  },
  {
    key: 'gateTol', domain: { kind: 'number', min: 0, minOpen: false }, default: D.gateTol, flag: { name: 'gate-tol', value: 't' },
    help: 'gate M-step: stop when the predicted gain in Q is below gateTol max(1, |Q|)',
  },
  { key: 'trace', domain: { kind: 'boolean' }, default: D.trace, help: 'keep the log-likelihood of every iteration in the result' },
];

/** The option keys fitMoE accepts. */
export const FIT_OPTION_KEYS: readonly string[] = FIT_OPTIONS.map((o) => o.key);

/** What the domain allows, in words (the end of every error message). */
export function allowedText(domain: OptionDomain): string {
  switch (domain.kind) {
    case 'choice':
      return domain.values.map((v, i) => `"${v}"${i === 0 ? ' (default)' : ''}`).join(' or ');
    case 'number': {
      if (domain.maxOpen !== undefined) return `in (${domain.min}, ${domain.maxOpen})${domain.note ? ` (${domain.note})` : ''}`;
      return `a finite number ${domain.minOpen ? '>' : '>='} ${domain.min}`;
    }
    case 'integer':
      return `an integer >= ${domain.min}`;
    case 'boolean':
      return 'true or false';
    case 'custom':
      return domain.allowed;
  }
}

/** Whether v is in the domain ('custom' domains are checked elsewhere: always true here). */
function inDomain(domain: OptionDomain, v: unknown): boolean {
  switch (domain.kind) {
    case 'choice':
      return typeof v === 'string' && domain.values.includes(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && (domain.minOpen ? v > domain.min : v >= domain.min) && (domain.maxOpen === undefined || v < domain.maxOpen);
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= domain.min;
    case 'boolean':
      return typeof v === 'boolean';
    case 'custom':
      return true;
  }
}

/**
 * Check one option's value against its domain; ConfigError in the one format otherwise.
 * @param spec the option (an entry of FIT_OPTIONS)
 * @param v its value (undefined is not checked: the default applies)
 * @param name the name in the message (default the option's key; the CLI passes `--flag`)
 * @example checkOption(fitOption('accelerate'), 'daarem') // throws 'accelerate: "daarem" is not an accelerator; must be "squarem" (default) or "none"'
 */
export function checkOption(spec: FitOptionSpec, v: unknown, name: string = spec.key): void {
  if (v === undefined || inDomain(spec.domain, v)) return;
  const noun = spec.domain.kind === 'choice' && spec.domain.noun ? spec.domain.noun : 'allowed';
  throw new ConfigError(`${name}: ${show(v)} is not ${noun}; must be ${allowedText(spec.domain)}`);
}

/** The spec of one option by key. */
export function fitOption(key: keyof FitOptions): FitOptionSpec {
  const spec = FIT_OPTIONS.find((o) => o.key === key);
  if (!spec) throw new Error(`fit options: no option ${String(key)}`);
  return spec;
}

/**
 * Check every option with a domain and the options that apply only under another option's value
 * (unknown keys are rejected by the caller). Throws ConfigError naming the option.
 * @example checkFitOptionValues({ k: 2, gate: { type: 'softmax' }, tol: 1e-6 }) // throws: tol applies to the "relative" rule only
 */
export function checkFitOptionValues(options: FitOptions): void {
  for (const spec of FIT_OPTIONS) {
    const v = options[spec.key];
    checkOption(spec, v);
    if (v !== undefined && spec.onlyWhen) {
      const { key, value, otherwise } = spec.onlyWhen;
      const actual = options[key] ?? FIT_DEFAULTS[key as keyof typeof FIT_DEFAULTS];
      if (actual !== value) throw new ConfigError(`${spec.key}: applies to the stopping rule "${value}" only; ${otherwise}`);
    }
  }
}

/**
 * The table's flags, for parseFlags: all of them (`gatelab fit`) or those of the given options
 * (a command that takes a few fit options, e.g. `gatelab select`).
 */
export function fitFlagSpec(keys?: readonly (keyof FitOptions)[]): Record<string, { type: 'string' }> {
  return Object.fromEntries(valueFlags(keys).map((o) => [o.flag!.name, { type: 'string' as const }]));
}

/** The options whose flag this module parses: those with a flag and a checked domain (of `keys`, when given). */
function valueFlags(keys?: readonly (keyof FitOptions)[]): FitOptionSpec[] {
  return FIT_OPTIONS.filter((o) => o.flag && o.domain.kind !== 'custom' && (!keys || keys.includes(o.key)));
}

/**
 * The fit options given as `gatelab fit` flags (string values, as parseFlags returns them), each
 * checked against its domain with the flag's name in the message.
 * @example fitOptionsFromFlags({ 'max-iter': '50', accelerate: 'none' }) // => { accelerate: 'none', maxIterations: 50 }
 */
export function fitOptionsFromFlags(values: Record<string, string | boolean | undefined>, keys?: readonly (keyof FitOptions)[]): Partial<FitOptions> {
  const out: Record<string, unknown> = {};
  for (const spec of valueFlags(keys)) {
    const raw = values[spec.flag!.name];
    if (raw === undefined) continue;
    const text = String(raw);
    const numeric = spec.domain.kind === 'number' || spec.domain.kind === 'integer';
    const v = numeric ? (text.trim() === '' ? NaN : Number(text)) : text;
    if (numeric && Number.isNaN(v)) throw new ConfigError(`--${spec.flag!.name}: ${show(text)} is not allowed; must be ${allowedText(spec.domain)}`);
    checkOption(spec, v, `--${spec.flag!.name}`);
    out[spec.key] = v;
  }
  return out as Partial<FitOptions>;
}

/** A default as the help and docs show it: small numbers in exponent form (1e-6, not 0.000001). */
export function showDefault(v: string | number | boolean): string {
  return typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

const HELP_COLUMN = 23;
const HELP_WIDTH = 100;

/**
 * The help lines of the table's flags: `  --flag v` then what it does and its default, wrapped at
 * 100 columns with the text from `column` (default 23; a long flag gets a line of its own).
 */
export function fitFlagsHelp(keys?: readonly (keyof FitOptions)[], column: number = HELP_COLUMN): string {
  const lines: string[] = [];
  for (const spec of valueFlags(keys)) {
    const head = `  --${spec.flag!.name} ${spec.flag!.value}`;
    const body = wrapWords(`${spec.help} (default ${showDefault(spec.default)})`.split(' '), HELP_WIDTH - column);
    if (head.length < column - 1) lines.push(head.padEnd(column) + body[0], ...body.slice(1).map((l) => ' '.repeat(column) + l));
    else lines.push(head, ...body.map((l) => ' '.repeat(column) + l));
  }
  return lines.join('\n');
}

/** The usage fragment of the table's flags, `[--tau known|free] [--method em|mle] ...`, wrapped for a usage block (12-column indent). */
export function fitFlagsUsage(): string {
  const items = valueFlags().map((o) => `[--${o.flag!.name} ${o.flag!.value}]`);
  return wrapWords(items, HELP_WIDTH - 12).join(`\n${' '.repeat(12)}`);
}

/** The options as a Markdown table (docs/fitting.md holds this text; a test compares them). */
export function fitOptionsMarkdown(): string {
  const rows = FIT_OPTIONS.map((o) => `| \`${o.key}\` | ${o.flag ? `\`--${o.flag.name}\`` : ''} | ${allowedText(o.domain).replace(/\|/g, '\\|')} | ${showDefault(o.default)} | ${o.help.replace(/\|/g, '\\|')} |`);
  return ['| option | flag | allowed | default | what it does |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** Words into lines of at most `width` characters (a longer word stands alone). */
function wrapWords(words: readonly string[], width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  out.push(line);
  return out;
}
