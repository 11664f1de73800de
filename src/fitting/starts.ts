/**
 * Starting values (spec: fitting.md, "Starts").
 *
 * nearTruth: a random surjective map pi from the k fitted experts onto the k* true experts (each
 *   true expert gets at least one; with pinLast, pi(k) = k*, see below), then every parameter = its true counterpart + N(0, s^2):
 *   beta0, each coordinate of beta1 and a, b and nu, and tau when it is fitted (perturbTau). A
 *   perturbed variance is reflected at 0 (nu = |nu* + e|, floored at nuMin; tau likewise, >= 1e-3). s is fixed (default) or shrinks as s n^-exponent (the
 *   [DEMYS] authors' code uses exponent 0.083): the label says which, since that makes the measured
 *   rate partly a property of the start.
 *   pinLast is used for the reference convention under a gate where fixing beta1_k = 0 is an
 *   assumption (the activation gate): a start that put another true expert in the pinned slot
 *   could never reach the truth.
 * random: data-driven, no truth needed: k-means++ on the standardised (X, Y), a few Lloyd steps,
 *   least squares per cluster for (a, b, nu), and a softmax gate fitted to the smoothed cluster
 *   memberships (one gate M-step) for (beta0, beta1).
 */
import { CpuBackend } from '../backend/cpu.js';
import type { Dataset } from '../data/dataset.js';
import { ConfigError, show } from '../errors.js';
import { gatingOf } from '../gates/gating.js';
import { createGate, gateDefinition, specTau } from '../gates/index.js';
import { solveDamped } from '../numerics/cholesky.js';
import { gateTau, type Expert, type GateSpec, type Model } from '../models/types.js';
import type { Rng } from '../rng/rng.js';
import { gateMStep } from './gate-mstep.js';

export interface NearTruthStart {
  type: 'nearTruth';
  truth: Model;
  /** noise standard deviation s > 0 */
  noise: number;
  /** optional: s_n = noise * n^-shrinkExponent */
  shrinkExponent?: number;
}

/** A perturbed copy of the truth with k experts. Returns the start and its label. */
export function nearTruthStart(
  spec: NearTruthStart,
  k: number,
  n: number,
  gate: GateSpec,
  rng: Rng,
  nuMin = 1e-10,
  perturbTau = false,
  pinLast = false,
): { model: Model; label: string } {
  const truth = spec.truth;
  const kStar = truth.experts.length;
  if (!(spec.noise >= 0) || !Number.isFinite(spec.noise)) {
    throw new ConfigError(`noise: ${show(spec.noise)} is not a noise level; must be a finite number >= 0`);
  }
  if (k < kStar) {
    throw new ConfigError(`k: ${k} is below the number of true experts (${kStar}); a near-truth start needs k >= ${kStar}`);
  }
  const s = spec.shrinkExponent === undefined ? spec.noise : spec.noise * Math.pow(n, -spec.shrinkExponent);
  // surjective map: every true expert once, then k - k* uniform extra draws, all shuffled. With
  // pinLast the last fitted expert stays on the last true expert (the reference expert of a gate
  // whose reference pin is an assumption, not an invariance) and the others are shuffled.
  const free = pinLast ? kStar - 1 : kStar;
  const slots = pinLast ? k - 1 : k;
  const map: number[] = Array.from({ length: free }, (_, j) => j);
  for (let i = free; i < slots; i++) map.push(rng.integer(kStar));
  for (let i = slots - 1; i > 0; i--) {
    const j = rng.integer(i + 1);
    [map[i], map[j]] = [map[j]!, map[i]!];
  }
  if (pinLast) map.push(kStar - 1);
  // the gating fields are the fit gate's (GateDefinition.gating): the truth's expert in that form
  // (adopt), perturbed by the gate (linear: beta0, beta1; gaussian: beta0, c and the Cholesky
  // factor of Gamma, so Gamma stays positive definite), then a, b, nu
  const gating = gatingOf(gateDefinition(gate.type));
  const d = truth.input.dim;
  const experts: Expert[] = map.map((j) => {
    const t = truth.experts[j]!;
    return {
      ...gating.perturb(gating.adopt(t, `truth.experts[${j}]`, d), s, () => rng.normal()),
      a: t.a.map((v) => v + s * rng.normal()),
      b: t.b + s * rng.normal(),
      nu: Math.max(Math.abs(t.nu + s * rng.normal()), nuMin),
    };
  });
  const label =
    spec.shrinkExponent === undefined
      ? `nearTruth(s=${spec.noise})`
      : `nearTruth(s=${spec.noise}*n^-${spec.shrinkExponent}, shrinking: the rate depends on the start)`;
  const trueTau = gateTau(truth.gate);
  let startGate = gate.type === truth.gate.type && trueTau !== undefined ? { ...gate, tau: trueTau } : gate;
  const startTau = specTau(startGate);
  if (perturbTau && startTau !== undefined) {
    // tau is a fitted parameter: perturbed like the others (reflected at 0); otherwise a start at
    // tau* would never leave it along the temperature gate's invariant ray
    startGate = { ...startGate, tau: Math.max(Math.abs(startTau + s * rng.normal()), 1e-3) } as GateSpec;
  }
  return { model: { gate: startGate as GateSpec, experts, input: truth.input }, label };
}


/** Noise of one parameter block of the [DEMYS] authors' start: sd = scale * n^-shrinkExponent. */
export interface BlockNoise {
  /** sd at n = 1 (>= 0) */
  scale: number;
  /** the sd shrinks as n^-shrinkExponent (>= 0) */
  shrinkExponent: number;
}

/** The [DEMYS] authors' block noise defaults (meteoritsSim ParamNMoE initParam, nearTrue = TRUE). */
export const DEMYS_NOISE = {
  gate: { scale: 0.005, shrinkExponent: 0.083 },
  experts: { scale: 0.05, shrinkExponent: 0.083 },
  variance: { scale: 0.005, shrinkExponent: 0.25 },
} as const satisfies Record<string, BlockNoise>;

/**
 * The [DEMYS] authors' `nearTrue` start (meteoritsSim `ParamNMoE$initParam(nearTrue = TRUE)`, as
 * called by CRPE-SGaME; docs/spec/demys-authors.md):
 * - map: uniform over the maps pi of the k fitted experts onto the k* true experts with
 *   pi(k) = k* (the **last fitted expert always on the reference expert**) that cover every true
 *   expert (their code draws with replacement and rejects until covered; drawn here exactly,
 *   slot by slot, so any k and k* run in O(k k*));
 * - gate: for each fitted expert i < k, one scalar e_i ~ N(0, s_gate^2) added to the intercept and
 *   to every slope coordinate of its true expert's gate (a fitted expert on the reference starts at
 *   the reference gate + e_i); the last fitted expert is the reference (no noise);
 * - experts: one scalar N(0, s_experts^2) per fitted expert added to b and every coordinate of a;
 * - variance: nu_i = base + |N(0, s_variance^2)|, base the true variance (`varianceStart:
 *   'variance'`, default) or, their quirk, the true standard deviation used as a variance
 *   (`'standardDeviation'`: 0.3 and 0.4 for the [DEMYS] truth, 3.3x and 2.5x the true variances);
 *   floored at nuMin.
 * Each block's sd is scale * n^-shrinkExponent (defaults {@link DEMYS_NOISE}). Draws per fitted
 * expert in their order: gate, experts, variance. Softmax gates only (their model).
 */
export interface DemysNearTrueStart {
  type: 'demysNearTrue';
  truth: Model;
  gate?: BlockNoise;
  experts?: BlockNoise;
  variance?: BlockNoise;
  /** the base of the starting variance (default 'variance'; 'standardDeviation' is their quirk) */
  varianceStart?: 'variance' | 'standardDeviation';
}

/** The sd of a block at sample size n. */
export function blockSd(noise: BlockNoise, n: number): number {
  return noise.scale * Math.pow(n, -noise.shrinkExponent);
}

function checkBlockNoise(v: BlockNoise | undefined, name: string): BlockNoise | undefined {
  if (v === undefined) return undefined;
  const ok = (x: unknown, max: number) => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= max;
  if (typeof v !== 'object' || v === null || !ok(v.scale, 100) || !ok(v.shrinkExponent, 10)) {
    throw new ConfigError(`${name}: ${show(v)} is not a block noise; must be {scale: a number in [0, 100], shrinkExponent: a number in [0, 10]}`);
  }
  return v;
}

/**
 * A uniform draw of the map of the authors' start: k fitted experts onto k* true ones (0-based),
 * the last on k* - 1, every true expert covered. Slot by slot: with r slots left and u of the
 * required experts 0..k*-2 still uncovered, an uncovered one is drawn with probability
 * u N(r-1, u-1) / N(r, u), N(r, u) = u N(r-1, u-1) + (k* - u) N(r-1, u) the number of ways to fill
 * r slots covering u given experts (log space: no overflow).
 */
export function demysStartMap(k: number, kStar: number, rng: Rng): number[] {
  const slots = k - 1;
  const need = kStar - 1;
  const logAdd = (a: number, b: number) => (a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));
  // lN[r][u] = log N(r, u)
  const lN: number[][] = [Array.from({ length: need + 1 }, (_, u) => (u === 0 ? 0 : -Infinity))];
  for (let r = 1; r <= slots; r++) {
    lN.push(Array.from({ length: need + 1 }, (_, u) => logAdd(u > 0 ? Math.log(u) + lN[r - 1]![u - 1]! : -Infinity, kStar - u > 0 ? Math.log(kStar - u) + lN[r - 1]![u]! : -Infinity)));
  }
  const uncovered = Array.from({ length: need }, (_, j) => j);
  const covered = [kStar - 1];
  const map: number[] = [];
  for (let r = slots; r >= 1; r--) {
    const u = uncovered.length;
    const pNew = u === 0 ? 0 : Math.exp(Math.log(u) + lN[r - 1]![u - 1]! - lN[r]![u]!);
    if (u > 0 && (u === r || rng.uniform() < pNew)) {
      const j = uncovered.splice(rng.integer(u), 1)[0]!;
      covered.push(j);
      map.push(j);
    } else {
      map.push(covered[rng.integer(covered.length)]!);
    }
  }
  map.push(kStar - 1);
  return map;
}

/** The [DEMYS] authors' `nearTrue` start ({@link DemysNearTrueStart}). Returns the start and its label. */
export function demysNearTrueStart(spec: DemysNearTrueStart, k: number, n: number, gate: GateSpec, rng: Rng, nuMin = 1e-10): { model: Model; label: string } {
  const truth = spec.truth;
  const kStar = truth.experts.length;
  if (gate.type !== 'softmax' || truth.gate.type !== 'softmax') {
    throw new ConfigError(`start.type: "demysNearTrue" is the [DEMYS] authors' start for softmax gates; the fit gate is ${gate.type} and the true gate ${truth.gate.type}`);
  }
  if (k < kStar) throw new ConfigError(`k: ${k} is below the number of true experts (${kStar}); a near-truth start needs k >= ${kStar}`);
  const noise = {
    gate: checkBlockNoise(spec.gate, 'start.gate') ?? DEMYS_NOISE.gate,
    experts: checkBlockNoise(spec.experts, 'start.experts') ?? DEMYS_NOISE.experts,
    variance: checkBlockNoise(spec.variance, 'start.variance') ?? DEMYS_NOISE.variance,
  };
  const varianceStart = spec.varianceStart ?? 'variance';
  if (varianceStart !== 'variance' && varianceStart !== 'standardDeviation') {
    throw new ConfigError(`start.varianceStart: ${show(varianceStart)} is not allowed; must be "variance" (default) or "standardDeviation" (the [DEMYS] authors' quirk)`);
  }
  const sGate = blockSd(noise.gate, n);
  const sExperts = blockSd(noise.experts, n);
  const sVariance = blockSd(noise.variance, n);
  const map = demysStartMap(k, kStar, rng);
  const experts: Expert[] = map.map((j, i) => {
    const t = truth.experts[j]!;
    const eg = i < k - 1 ? sGate * rng.normal() : 0;
    const ee = sExperts * rng.normal();
    const ev = Math.abs(sVariance * rng.normal());
    const base = varianceStart === 'standardDeviation' ? Math.sqrt(t.nu) : t.nu;
    return { beta0: t.beta0 + eg, beta1: t.beta1!.map((v) => v + eg), a: t.a.map((v) => v + ee), b: t.b + ee, nu: Math.max(base + ev, nuMin) };
  });
  const block = (b: BlockNoise) => `${b.scale} n^-${b.shrinkExponent}`;
  const label =
    `demysNearTrue(last on reference; gate ${block(noise.gate)}, experts ${block(noise.experts)}, variance +|N(0, (${block(noise.variance)})^2)|` +
    `${varianceStart === 'standardDeviation' ? '; quirk: true sd as starting variance' : ''}; shrinking: the rate depends on the start)`;
  return { model: { gate, experts, input: truth.input }, label };
}

/** Data-driven start: k-means++ on standardised (X, Y), Lloyd steps, per-cluster least squares. */
export function randomStart(data: Dataset, k: number, gate: GateSpec, rng: Rng): Model {
  const { n, d, X, Y } = data;
  if (n < k) throw new ConfigError(`k: ${k} experts need at least ${k} data points; the data has ${n}`);
  const dim = d + 1;
  // standardise columns
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  const col = (r: number, c: number) => (c < d ? X[r * d + c]! : Y[r]!);
  for (let c = 0; c < dim; c++) {
    let s = 0;
    let ss = 0;
    for (let r = 0; r < n; r++) {
      s += col(r, c);
      ss += col(r, c) * col(r, c);
    }
    mean[c] = s / n;
    sd[c] = Math.sqrt(Math.max(ss / n - (s / n) ** 2, 1e-24)) || 1;
  }
  const P = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) for (let c = 0; c < dim; c++) P[r * dim + c] = (col(r, c) - mean[c]!) / sd[c]!;
  const dist2 = (r: number, C: Float64Array, j: number) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += (P[r * dim + c]! - C[j * dim + c]!) ** 2;
    return s;
  };
  // k-means++ seeding
  const C = new Float64Array(k * dim);
  const first = rng.integer(n);
  C.set(P.subarray(first * dim, first * dim + dim), 0);
  const best = new Float64Array(n).fill(Infinity);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let r = 0; r < n; r++) {
      best[r] = Math.min(best[r]!, dist2(r, C, j - 1));
      total += best[r]!;
    }
    let u = rng.uniform() * total;
    let pick = n - 1;
    for (let r = 0; r < n; r++) {
      u -= best[r]!;
      if (u <= 0) {
        pick = r;
        break;
      }
    }
    C.set(P.subarray(pick * dim, pick * dim + dim), j * dim);
  }
  // Lloyd steps
  const label = new Int32Array(n);
  for (let step = 0; step < 20; step++) {
    let changed = 0;
    for (let r = 0; r < n; r++) {
      let bj = 0;
      let bd = Infinity;
      for (let j = 0; j < k; j++) {
        const dd = dist2(r, C, j);
        if (dd < bd) {
          bd = dd;
          bj = j;
        }
      }
      if (label[r] !== bj) changed++;
      label[r] = bj;
    }
    const count = new Float64Array(k);
    C.fill(0);
    for (let r = 0; r < n; r++) {
      count[label[r]!]!++;
      for (let c = 0; c < dim; c++) C[label[r]! * dim + c] = C[label[r]! * dim + c]! + P[r * dim + c]!;
    }
    for (let j = 0; j < k; j++) {
      if (count[j]! > 0) for (let c = 0; c < dim; c++) C[j * dim + c] = C[j * dim + c]! / count[j]!;
      else {
        // an empty cluster is reseeded at one random row (one draw: both ends of the slice)
        const row = rng.integer(n);
        C.set(P.subarray(row * dim, row * dim + dim), j * dim);
      }
    }
    if (changed === 0 && step > 0) break;
  }
  // smoothed memberships: 0.9 on the cluster, the rest spread
  const R = new Float64Array(n * k);
  const off = k > 1 ? 0.1 / (k - 1) : 0;
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) R[r * k + j] = k === 1 ? 1 : label[r] === j ? 0.9 : off;
  // experts: weighted least squares of y on (x, 1) per cluster
  const m = d + 1;
  const experts: Expert[] = [];
  for (let j = 0; j < k; j++) {
    const A = new Float64Array(m * m);
    const rhs = new Float64Array(m);
    let sw = 0;
    for (let r = 0; r < n; r++) {
      const w = R[r * k + j]!;
      sw += w;
      for (let p = 0; p < m; p++) {
        const zp = p < d ? X[r * d + p]! : 1;
        rhs[p] = rhs[p]! + w * zp * Y[r]!;
        for (let q = 0; q < m; q++) A[p * m + q] = A[p * m + q]! + w * zp * (q < d ? X[r * d + q]! : 1);
      }
    }
    const coef = solveDamped(A, rhs, m);
    let ss = 0;
    for (let r = 0; r < n; r++) {
      let mu = coef[d]!;
      for (let p = 0; p < d; p++) mu += coef[p]! * X[r * d + p]!;
      ss += R[r * k + j]! * (Y[r]! - mu) ** 2;
    }
    experts.push({ beta0: 0, beta1: new Array(d).fill(0), a: Array.from(coef.subarray(0, d)), b: coef[d]!, nu: Math.max(ss / sw, 1e-6) });
  }
  // gate: a gate with its own data-driven form (the gaussian gate: weights, centroids and
  // covariances of the clusters in x) takes it from the memberships
  const own = gatingOf(gateDefinition(gate.type)).fromMemberships;
  if (own) {
    const gating = own(X, n, d, R, k);
    return { gate, experts: experts.map((e, j) => ({ ...gating[j]!, a: e.a, b: e.b, nu: e.nu })), input: { type: 'uniform', low: 0, high: 1, dim: d } };
  }
  // else a softmax gate fitted to the memberships (a temperature gate's logits are divided by tau)
  const softmax = createGate({ type: 'softmax' }, k, d);
  const theta = new Float64Array(softmax.nParams);
  // reference expert (the last) pinned at 0
  const pinned = (j: number) => j === k - 1 || (j >= k + (k - 1) * d && j < k + k * d);
  const free = Int32Array.from({ length: softmax.nParams }, (_, j) => j).filter((j) => !pinned(j));
  gateMStep(softmax, new CpuBackend(), theta, X, n, R, new Float64Array(n * k), free, { maxSteps: 20, tol: 1e-8 });
  const scale = gateDefinition(gate.type).startScale(gate);
  const { beta0, beta1 } = softmax.unpack(theta);
  experts.forEach((e, j) => {
    e.beta0 = beta0[j]! * scale;
    e.beta1 = beta1[j]!.map((v) => v * scale);
  });
  return { gate, experts, input: { type: 'uniform', low: 0, high: 1, dim: d } };
}
