/**
 * The dendrogram of mixing measures of one over-specified fit (docs/selection.md; arXiv
 * 2510.12744): starting from the K fitted atoms, merge the pair with the smallest merge distance
 * (merge.ts; ties: the lowest pair of positions), K - 1 times. Each level kappa = K..1 keeps its
 * merged model (masses add, parameters mass-weighted; no refit), its log-likelihood on the data,
 * the height of the merge leaving it and its DIC (dic.ts); the DIC's argmin is the chosen k.
 *
 * Defined for gates whose definition gives `mixingTemperature` (a softmax of linear logits over
 * every expert: softmax, temperature). For any other gate `dendrogram` throws a ModelError naming
 * the gate, and `dendrogramSupport` says why (selectK then reports `dendrogram: null`).
 */
import type { Dataset } from '../data/dataset.js';
import { ModelError } from '../errors.js';
import { GATE_TYPES, gateDefinition } from '../gates/registry.js';
import { logLikelihood } from '../likelihood/density.js';
import type { GateSpec, Model } from '../models/types.js';
import { defaultOmega, dicValue } from './dic.js';
import { mergeAtoms, mergeDistance, type Atom, type MergeDistanceOptions } from './merge.js';

export interface DendrogramOptions extends MergeDistanceOptions {
  /** omega_n of the DIC (default log n) */
  omega?: number;
}

/** One level of the dendrogram: kappa atoms. */
export interface DendrogramLevel {
  k: number;
  /** the merged model (the fit itself at k = K) */
  model: Model;
  /** its log-likelihood on the data */
  loglik: number;
  /** height of the merge leaving this level (kappa -> kappa - 1); null at kappa = 1 */
  height: number | null;
  /** DIC(kappa); null at kappa = 1 */
  dic: number | null;
  /** the fitted atoms (0-based) in each atom of the level, in the level's expert order */
  atoms: number[][];
}

/** One merge, in the node numbering of scipy's linkage: leaves 0..K-1, merge t makes node K + t. */
export interface DendrogramMerge {
  left: number;
  right: number;
  node: number;
  height: number;
  /** fitted atoms under the new node */
  size: number;
  /** the level it leaves */
  fromK: number;
}

export interface Dendrogram {
  /** the gate's temperature tau of the masses exp(beta0 / tau) */
  tau: number;
  omega: number;
  exponents: [number, number];
  slope: boolean;
  /** the fitted atoms with a label of their parameters */
  leaves: { index: number; label: string }[];
  merges: DendrogramMerge[];
  /** kappa = K down to 1 */
  levels: DendrogramLevel[];
  /** argmin of the DIC over kappa = 2..K (ties: the smaller kappa); null for K = 1 */
  chosen: number | null;
}

/**
 * Why the dendrogram does not apply to a gate, or null when it does.
 * @example dendrogramSupport({ type: 'topk', K: 2, rankBy: 'slope' }) // => "the topk gate ..."
 */
export function dendrogramSupport(spec: GateSpec): string | null {
  const def = gateDefinition(spec.type);
  if (def.mixingTemperature) return null;
  return `the ${spec.type} gate has no exact merge of two atoms (only a softmax of linear logits over every expert has one: masses exp(beta0 / tau) add); the dendrogram of mixing measures is defined for the ${GATE_TYPES.filter((t) => gateDefinition(t).mixingTemperature).join(' and ')} gates`;
}

const fmt = (v: number) => (Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toPrecision(3) : v.toFixed(3).replace(/\.?0+$/, ''));

/** A short label of an atom's parameters, e.g. "1: p 0.31, beta1 25, a -20, b 15, nu 0.09". */
function atomLabel(i: number, atom: Atom, logTotal: number): string {
  return `${i + 1}: p ${fmt(Math.exp(atom.logMass - logTotal))}, beta1 ${atom.beta1.map(fmt).join(',')}, a ${atom.a.map(fmt).join(',')}, b ${fmt(atom.b)}, nu ${fmt(atom.nu)}`;
}

function logSumExp(values: number[]): number {
  const m = Math.max(...values);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(values.reduce((s, v) => s + Math.exp(v - m), 0));
}

function levelModel(atoms: Atom[], tau: number, template: Model): Model {
  return {
    gate: template.gate,
    experts: atoms.map((t) => ({ beta0: tau * t.logMass, beta1: [...t.beta1], a: [...t.a], b: t.b, nu: t.nu })),
    input: template.input,
  };
}

/**
 * The dendrogram of mixing measures of a fitted model on its data (see the module comment).
 * @param model the over-specified fit (K experts) under a softmax or temperature gate
 * @param data the data it was fitted to (each level's log-likelihood is evaluated on it)
 * @param options.exponents (r1, r2) of the merge distance, default [2, 1]; options.slope
 *   (default true) includes dbeta1; options.omega the DIC's omega_n (default log n)
 * @throws ModelError naming `model.gate.type` for a gate without an exact merge
 * @example dendrogram(fit.model, data).chosen // => 2 on well-separated data from a k* = 2 truth
 */
export function dendrogram(model: Model, data: Dataset, options: DendrogramOptions = {}): Dendrogram {
  const reason = dendrogramSupport(model.gate);
  if (reason) throw new ModelError(`dendrogram: model.gate.type: ${reason}`);
  const tau = gateDefinition(model.gate.type).mixingTemperature!(model.gate as never);
  const omega = options.omega ?? defaultOmega(data.n);
  if (!(Number.isFinite(omega) && omega > 0)) throw new ModelError(`dendrogram: omega: ${omega} is not allowed; must be a finite number > 0`);
  const exponents = options.exponents ?? [2, 1];
  if (!exponents.every((r) => Number.isFinite(r) && r > 0)) throw new ModelError(`dendrogram: exponents: ${JSON.stringify(exponents)} is not allowed; must be two numbers > 0`);
  const slope = options.slope ?? true;
  // dendrogramSupport admits only softmax-family gates (mixingTemperature): linear gating, beta1 present
  let atoms: Atom[] = model.experts.map((e, i) => ({ logMass: e.beta0 / tau, beta1: [...e.beta1!], a: [...e.a], b: e.b, nu: e.nu, leaves: [i] }));
  const logTotal = logSumExp(atoms.map((t) => t.logMass)); // preserved by every merge
  const leaves = atoms.map((t, i) => ({ index: i, label: atomLabel(i, t, logTotal) }));
  let nodes = atoms.map((_, i) => i);
  const K = atoms.length;
  const levels: DendrogramLevel[] = [];
  const merges: DendrogramMerge[] = [];
  for (let kappa = K; kappa >= 1; kappa--) {
    const levelFit = levelModel(atoms, tau, model);
    const loglik = logLikelihood(levelFit, data);
    let height: number | null = null;
    let pair: [number, number] | null = null;
    if (kappa >= 2) {
      let best = Infinity;
      for (let i = 0; i < atoms.length; i++) {
        for (let j = i + 1; j < atoms.length; j++) {
          const h = mergeDistance(atoms[i]!, atoms[j]!, logTotal, tau, { exponents, slope });
          if (h < best || pair === null) {
            best = h;
            pair = [i, j];
          }
        }
      }
      height = best;
    }
    levels.push({
      k: kappa,
      model: levelFit,
      loglik,
      height,
      dic: height === null ? null : dicValue(height, loglik, data.n, omega),
      atoms: atoms.map((t) => t.leaves),
    });
    if (pair) {
      const [i, j] = pair;
      const merged = mergeAtoms(atoms[i]!, atoms[j]!);
      const node = K + merges.length;
      merges.push({ left: nodes[i]!, right: nodes[j]!, node, height: height!, size: merged.leaves.length, fromK: kappa });
      atoms = [...atoms.filter((_, t) => t !== i && t !== j), merged];
      nodes = [...nodes.filter((_, t) => t !== i && t !== j), node];
    }
  }
  let chosen: number | null = null;
  let bestDic = Infinity;
  for (const level of levels) {
    // levels run from K down: <= keeps the smaller kappa on a tie
    if (level.dic !== null && Number.isFinite(level.dic) && level.dic <= bestDic) {
      bestDic = level.dic;
      chosen = level.k;
    }
  }
  return { tau, omega, exponents, slope, leaves, merges, levels, chosen };
}
