/** Synthetic sweep rows and configs for the analysis tests (not a test file itself). */
import { Rng } from '../../src/rng/rng.js';
import type { Prediction, SweepRow, VariantConfig } from '../../src/sweeps/types.js';
import type { RatesConfig } from '../../src/analysis/index.js';

/** n = round(linspace(lo, hi, count)), as numpy.round(numpy.linspace(...)) for non-half values. */
export function linspace(lo: number, hi: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(lo + ((hi - lo) * i) / (count - 1)));
}

/** One ok, converged row of experiment 'synthetic', variant 'full'. */
export function row(n: number, replicate: number, quantities: Record<string, number | null>, extra: Partial<SweepRow> = {}): SweepRow {
  return {
    experiment: 'synthetic',
    variant: 'full',
    key: `n${n}-r${replicate}`,
    n,
    replicate,
    seed: 0,
    status: 'ok',
    stopReason: 'converged',
    converged: true,
    quantities,
    ...extra,
  };
}

/**
 * Rows whose quantity `name` is C * n^exponent * exp(sigma * z), z standard normal from
 * new Rng(seed).derive(n, replicate): a power law with lognormal noise (the mean and the median
 * over replicates both follow C' n^exponent exactly in expectation / in population).
 */
export function powerRows(opts: {
  ns: readonly number[];
  replicates: number;
  exponent: number;
  seed: number;
  C?: number;
  sigma?: number;
  name?: string;
}): SweepRow[] {
  const { ns, replicates, exponent, seed, C = 2, sigma = 0.5, name = 'D1' } = opts;
  const root = new Rng(seed);
  const rows: SweepRow[] = [];
  for (const n of ns) {
    for (let r = 0; r < replicates; r++) {
      const z = root.derive(n, r).normal();
      rows.push(row(n, r, { [name]: C * n ** exponent * Math.exp(sigma * z) }));
    }
  }
  return rows;
}

/** A config of experiment 'synthetic' with the same fit range in both variants. */
export function config(predictions: Record<string, Prediction>, fitRange: [number, number] = [1, 1e9], seed = 1): RatesConfig {
  const variant = (): VariantConfig => ({ n: [100], replicates: 1, fitRange: [fitRange[0], fitRange[1]] });
  return { name: 'synthetic', seed, variants: { quick: variant(), full: variant() }, predictions };
}

/** Deep-freeze a value so a test fails if the code under test mutates its input. */
export function frozen<T>(x: T): T {
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) frozen(v);
    Object.freeze(x);
  }
  return x;
}

/** Every number in a JSON-like value is finite (no NaN, no Infinity); null is allowed. */
export function allFinite(x: unknown): boolean {
  if (typeof x === 'number') return Number.isFinite(x);
  if (Array.isArray(x)) return x.every(allFinite);
  if (x && typeof x === 'object') return Object.values(x).every(allFinite);
  return true;
}

/** OLS slope by the textbook formula (independent of the code under test). */
export function olsSlope(x: readonly number[], y: readonly number[]): number {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxy / sxx;
}
