/**
 * Exponents of the Voronoi losses, per parameter block and per kind of cell
 * (spec: losses.md, "Over-specified loss D2" and "Temperature and activation gates").
 */
import { gateDefinition } from '../gates/registry.js';
import type { GateType } from '../models/types.js';
import { ConfigError, NumericalError, show } from '../errors.js';
import { rbar } from './rbar.js';
import { checkOptionKeys } from './validate.js';

/**
 * One exponent: a number > 0, or `'rbar'` / `'rbar/2'`, resolved per cell as rbar(|A_j|) or
 * rbar(|A_j|) / 2 (which throws a NumericalError for cells of 4 or more atoms). `'unknown'` is
 * never given by a caller: it is the default of a gate with no encoded over-specified exponents
 * (multiExponents 'none', the gaussian gate), and resolving it throws a NumericalError that asks
 * for `exponents.multi`.
 */
export type ExponentValue = number | 'rbar' | 'rbar/2' | 'unknown';

/** Exponents of one atom's term: ||dbeta1||^beta1 + ||da||^a + |db|^b + |dnu|^nu (+ |dtau|^tau). */
export interface BlockExponents {
  beta1: ExponentValue;
  a: ExponentValue;
  b: ExponentValue;
  nu: ExponentValue;
  /** used only where the gate has tau and tau was fitted (`tauFitted`) */
  tau: ExponentValue;
}

/** The same, resolved to numbers for one cell size. */
export interface NumericExponents {
  beta1: number;
  a: number;
  b: number;
  nu: number;
  tau: number;
}

/**
 * Exponent sets of the losses: `exact` for D1 (every atom), `singleton` for cells of one atom in
 * D2, `multi` for cells of two or more atoms in D2. Each is partial: missing blocks take the
 * gate's default.
 */
export interface LossExponents {
  exact?: Partial<BlockExponents>;
  singleton?: Partial<BlockExponents>;
  multi?: Partial<BlockExponents>;
}

/** Fully resolved exponent sets. */
export interface ResolvedExponents {
  exact: BlockExponents;
  singleton: BlockExponents;
  multi: BlockExponents;
}

const BLOCKS = ['beta1', 'a', 'b', 'nu', 'tau'] as const;
const ONES: BlockExponents = Object.freeze({ beta1: 1, a: 1, b: 1, nu: 1, tau: 1 });

/**
 * Default exponents by the gate's multiExponents trait (losses.md):
 * - the softmax family (softmax, topk, sigmoid): exact and singleton all 1; multi-atom cells
 *   `{beta1: 'rbar', a: 'rbar/2', b: 'rbar', nu: 'rbar/2'}` ([DEMYS] D2; tau unused: 1).
 * - the temperature family (activation, temperature): exact and singleton all 1; multi-atom cells
 *   `{beta1: 2, tau: 2, a: 2, b: 'rbar', nu: 'rbar/2'}` ([TEMP], our reading, see rates.md).
 * - 'none' (the gaussian gate, whose beta1 block is the gating atom (c, vech Gamma)): exact and
 *   singleton all 1; multi-atom cells 'unknown' (pass `exponents.multi`).
 *
 * @example
 *   defaultExponents('softmax').multi // => { beta1: 'rbar', a: 'rbar/2', b: 'rbar', nu: 'rbar/2', tau: 1 }
 */
export function defaultExponents(gate: GateType): ResolvedExponents {
  const family = gateDefinition(gate).traits.multiExponents;
  const multi: BlockExponents =
    family === 'temperature'
      ? { beta1: 2, a: 2, b: 'rbar', nu: 'rbar/2', tau: 2 }
      : family === 'none'
        ? { beta1: 'unknown', a: 'unknown', b: 'unknown', nu: 'unknown', tau: 1 }
        : { beta1: 'rbar', a: 'rbar/2', b: 'rbar', nu: 'rbar/2', tau: 1 };
  return { exact: { ...ONES }, singleton: { ...ONES }, multi };
}

function checkValue(fn: string, path: string, v: unknown): ExponentValue {
  if (v === 'rbar' || v === 'rbar/2') return v;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  throw new ConfigError(`${fn}: ${path}: not an exponent (got ${show(v)}); must be a number > 0, "rbar" or "rbar/2"`);
}

/** Merge the caller's exponents over the gate's defaults, validating every value (internal). */
export function resolveExponents(fn: string, gate: GateType, user: LossExponents | undefined): ResolvedExponents {
  const out = defaultExponents(gate);
  if (user === undefined) return out;
  checkOptionKeys(`${fn}: exponents`, user, ['exact', 'singleton', 'multi']);
  for (const set of ['exact', 'singleton', 'multi'] as const) {
    const u = user[set];
    if (u === undefined) continue;
    checkOptionKeys(`${fn}: exponents.${set}`, u, BLOCKS);
    for (const blk of BLOCKS) {
      const v = u[blk];
      if (v !== undefined) out[set][blk] = checkValue(fn, `exponents.${set}.${blk}`, v);
    }
  }
  return out;
}

/**
 * Resolve one exponent set for a cell of `m` fitted atoms: 'rbar' -> rbar(m), 'rbar/2' -> rbar(m)/2.
 * @throws {NumericalError} when a value is 'rbar' or 'rbar/2' and m >= 4 (rbar unknown)
 */
export function numericExponents(e: BlockExponents, m: number): NumericExponents {
  const r = (v: ExponentValue): number => {
    if (v === 'unknown') {
      throw new NumericalError(
        `a cell of ${m} fitted atoms has no encoded exponent for this gate (no over-specified theorem is encoded for it); pass exponents.multi (numbers > 0, "rbar" or "rbar/2") to choose them`,
      );
    }
    return v === 'rbar' ? rbar(m) : v === 'rbar/2' ? rbar(m) / 2 : v;
  };
  return { beta1: r(e.beta1), a: r(e.a), b: r(e.b), nu: r(e.nu), tau: r(e.tau) };
}
