/**
 * Generated float64 kernels of the gate M-step for LogitGate subclasses (the fast path of
 * LogitGate.objective and LogitGate.hessian): one function per (gate, k, d, tau mode), unrolled
 * over the experts and each expert's local coordinates, with theta, x, the per-expert derivatives
 * and the accumulators as scalar locals (no call, array or allocation per point: see
 * linear-kernel.ts for why V8 rewards this). The gate writes the per-expert statements
 * ({@link FastGateCode}); the kernels here are the same for every gate:
 *   objective: Q = sum_n sum_i R_ni (u_ni - lse_n),  grad = sum_n sum_i D_ni du_ni/dtheta,
 *              D_ni = R_ni - G_ni sum_j R_nj,  G = softmax(u)
 *   Hessian:   H = sum_n [ -J_n' (diag G_n - G_n G_n') J_n + sum_i (R_ni - G_ni) d2u_ni/dtheta2 ]
 * with the same per-term float64 operations as LogitGate.referenceObjective/referenceHessian;
 * only the order of the sums over points and experts differs (the Hessian is accumulated in a
 * local (k w) x (k w) upper triangle and scattered into H once, so it is exactly symmetric).
 */

/**
 * What a gate supplies for its generated kernels. Expert i has w local coordinates a = 0..w-1 at
 * theta indices `index(i, a)` (beta0_i first, log tau last when free). In the statements, the
 * locals `t<j>` hold theta[j], `x<p>` the point's x_p, `inv` 1/tau. The kernels' own names, which
 * a gate's locals must not take: t, x, u, j, w, e, G, g, h followed by digits, and D, c, ca, m,
 * best, s, rowR, linear, sInv, q, o, xo, r, r0, r1, bo, buf, n, inv, wantGrad, wantG.
 */
export interface FastGateCode {
  /** names the code (gate, its settings, k, d, tau mode): kernels are compiled once per key */
  key: string;
  /** local coordinates per expert */
  w: number;
  /** theta index of expert i's local coordinate a (0 <= a < w) */
  index(i: number, a: number): number;
  /**
   * Optional: the statements of expert i that call functions (an activation, log sigma), defining
   * the locals `names` (suffixed by i) from t, x and inv. The Hessian kernel runs them in a first
   * pass over a chunk of points and keeps the names in a buffer, so that its accumulation loop has
   * no call (a call spills every live accumulator: measured 3x slower with tanh); the objective
   * kernel runs them in place, before `values`. `logit`: the objective's call (it may compute what
   * the logit needs too).
   */
  stage?(i: number, logit: boolean): { code: string; names: string[] };
  /**
   * Statements defining (with `const`/`let`, names suffixed by i; after the staged locals) the
   * jacobian `j<i>_<a>` = du_i/dtheta at local a, for a < w, and, when `logit`, the logit `u<i>`,
   * at the current point.
   */
  values(i: number, logit: boolean): string;
  /**
   * The second-derivative term D d2u_i/dtheta2 of expert i, with the local `D` = R_ni - G_ni and
   * the locals of `values(i)`: statements, then the entries (local a <= b) to add, each an
   * expression. None for logits linear in theta.
   */
  second(i: number): { code: string; entries: { a: number; b: number; value: string }[] };
  /** functions the statements call, by name (passed to the generated function as arguments) */
  helpers: Readonly<Record<string, (v: number) => number>>;
}

/** The generated objective: Q, with grad and G written when given. */
export type FastObjectiveKernel = (theta: Float64Array, X: Float64Array, n: number, R: Float64Array, grad: Float64Array | null, G: Float64Array | null, inv: number) => number;
/** The generated Hessian (H overwritten, nParams x nParams). */
export type FastHessianKernel = (theta: Float64Array, X: Float64Array, n: number, G: Float64Array, H: Float64Array, R: Float64Array, inv: number) => void;

/**
 * The widest local matrix (k w, the number of local coordinates of all experts) that gets
 * generated kernels; wider gates keep the reference path. The Hessian kernel's size grows as
 * (k w)^2 / 2 accumulators, and V8 stops optimising it well before the stack limits of
 * linear-kernel.ts: measured (activation identity, tau free, d = 1, n = 1e5, ms per Hessian call,
 * fast vs reference) k = 4 (k w = 12): 15 vs 200-300; k = 8 (24): 55-100 vs 900-1100, after a
 * first two calls of 1.5-3 s while V8 compiles; k = 12 (36): 2700-3300 vs 1700-2400 (never
 * optimised: its bytecode is over V8's size limit for optimisation). 24 keeps every measured win.
 */
export const MAX_FAST_WIDTH = 24;

/**
 * Calls of a new kernel on one made-up point before its first use. V8 records type feedback only
 * once a function has run a while (lazy feedback allocation): a kernel first called on 1e5 points
 * got its feedback during the loop, was compiled on the stack (OSR) without feedback for the code
 * after the loop (the scatter into H or grad), and deoptimised there on every later call (10x
 * slower, measured). A few short calls first give every site its feedback.
 */
const PRIMING_CALLS = 16;

/** Points per chunk of the Hessian's staged first pass (its buffer stays in L1). */
const HESSIAN_CHUNK = 128;

/** A point for the priming calls: equal weights, all responsibility on expert 0 (every branch runs). */
function primer(k: number, d: number, nParams: number) {
  const G = new Float64Array(k).fill(1 / k);
  const R = new Float64Array(k);
  R[0] = 1;
  return { theta: new Float64Array(nParams), X: new Float64Array(d), G, R, grad: new Float64Array(nParams), H: new Float64Array(nParams * nParams) };
}

/** compiled kernels by `${kind}:${FastGateCode.key}` (a fit creates its gate anew; the code is the same) */
const compiled = new Map<string, FastObjectiveKernel | FastHessianKernel>();

const range = (m: number) => Array.from({ length: m }, (_, i) => i);

/** theta into the locals t0, t1, ... (read once per call) */
function prelude(nParams: number): string[] {
  return range(nParams).map((j) => `const t${j} = theta[${j}];`);
}

function loadPoint(d: number): string {
  return [`const xo = r * ${d};`, ...range(d).map((p) => `const x${p} = X[xo + ${p}];`)].join('\n');
}

/**
 * Source of the objective kernel: the arithmetic of LogitGate.referenceObjective per point (so Q
 * and G are the same numbers when u is), the gradient in local accumulators, scattered at the end.
 * @param code the gate's statements
 * @param k experts, >= 1
 * @param d input dimension, >= 1
 * @param nParams theta's length
 * @example fastObjectiveSource(code, 2, 1, 5) // the body of (theta, X, n, R, grad, G, inv) => Q
 */
export function fastObjectiveSource(code: FastGateCode, k: number, d: number, nParams: number): string {
  const { w } = code;
  const Ks = range(k);
  const Ws = range(w);
  const lines = prelude(nParams);
  const add = (s: string) => lines.push(s);
  for (const i of Ks) for (const a of Ws) add(`let g${i}_${a} = 0;`);
  add('let q = 0;');
  add('const wantGrad = grad !== null;');
  add('const wantG = G !== null;');
  add('if (wantGrad) grad.fill(0);');
  add('for (let r = 0; r < n; r++) {');
  add(loadPoint(d));
  add(`const o = r * ${k};`);
  for (const i of Ks) {
    if (code.stage) add(code.stage(i, true).code);
    add(code.values(i, true));
  }
  // the largest logit's exp(u - m) is exp(0) = 1 exactly: one exponential fewer per point
  add('let m = -Infinity; let best = -1;');
  for (const i of Ks) add(`if (u${i} > m) { m = u${i}; best = ${i}; }`);
  add('let s = 0; let rowR = 0; let linear = 0;');
  for (const i of Ks) {
    add(`const w${i} = R[o + ${i}];`);
    add(`if (w${i} > 0) linear += w${i} * u${i};`);
    add(`rowR += w${i};`);
    add(`const e${i} = best === ${i} ? 1 : Math.exp(u${i} - m);`);
    add(`s += e${i};`);
  }
  add('q += linear - rowR * (m + Math.log(s));');
  add('const sInv = 1 / s;');
  for (const i of Ks) {
    add(`const G${i} = e${i} * sInv;`);
    add(`if (wantG) G[o + ${i}] = G${i};`);
  }
  add('if (!wantGrad) continue;');
  for (const i of Ks) {
    add(`{ const D = w${i} - G${i} * rowR; if (D !== 0) {`);
    for (const a of Ws) add(`g${i}_${a} += D * j${i}_${a};`);
    add('} }');
  }
  add('}');
  add('if (wantGrad) {');
  for (const i of Ks) for (const a of Ws) add(`grad[${code.index(i, a)}] += g${i}_${a};`);
  add('}');
  add('return q;');
  return lines.join('\n');
}

/**
 * Source of the Hessian kernel: per point and expert pair the terms of
 * LogitGate.referenceHessian (c = G_i - G_i^2 or -G_i G_j, then (c j_a) j_b), the second term
 * where D = R - G != 0, on the upper triangle of the local (k w) x (k w) matrix.
 * @param code the gate's statements
 * @param k experts, >= 1
 * @param d input dimension, >= 1
 * @param nParams theta's length
 * @example fastHessianSource(code, 2, 1, 5) // the body of (theta, X, n, G, H, R, inv) => void, with `buf` and the helpers in scope
 */
export function fastHessianSource(code: FastGateCode, k: number, d: number, nParams: number): string {
  const { w } = code;
  const kw = k * w;
  const Ks = range(k);
  const Ws = range(w);
  const lines = prelude(nParams);
  const add = (s: string) => lines.push(s);
  const acc = (p: number, q: number) => (p <= q ? `h${p}_${q}` : `h${q}_${p}`);
  for (let p = 0; p < kw; p++) for (let q = p; q < kw; q++) add(`let h${p}_${q} = 0;`);
  add('H.fill(0);');
  const staged = Ks.map((i) => (code.stage ? code.stage(i, false) : { code: '', names: [] }));
  const names = staged.flatMap((st) => st.names);
  if (names.length > 0) {
    // first pass over a chunk: the calls, into buf (CHUNK x names); then the accumulation loop
    add(`for (let r0 = 0; r0 < n; r0 += ${HESSIAN_CHUNK}) {`);
    add(`const r1 = Math.min(n, r0 + ${HESSIAN_CHUNK});`);
    add('for (let r = r0; r < r1; r++) {');
    add(loadPoint(d));
    add(`const bo = (r - r0) * ${names.length};`);
    for (const st of staged) add(st.code);
    names.forEach((name, e) => add(`buf[bo + ${e}] = ${name};`));
    add('}');
    add('for (let r = r0; r < r1; r++) {');
    add(`const bo = (r - r0) * ${names.length};`);
    names.forEach((name, e) => add(`const ${name} = buf[bo + ${e}];`));
  } else add('for (let r = 0; r < n; r++) {');
  add(loadPoint(d));
  add(`const o = r * ${k};`);
  for (const i of Ks) add(`const G${i} = G[o + ${i}];`);
  for (const i of Ks) add(code.values(i, false));
  for (const i of Ks) {
    // a dropped expert (G = 0, R = 0) contributes nothing, as in the reference
    add(`if (G${i} !== 0) {`);
    add(`{ const c = G${i} - G${i} * G${i}; if (c !== 0) {`);
    for (const a of Ws) {
      add(`{ const ca = c * j${i}_${a};`);
      for (const b of Ws.slice(a)) add(`${acc(i * w + a, i * w + b)} -= ca * j${i}_${b};`);
      add('}');
    }
    add('} }');
    for (const j of Ks.slice(i + 1)) {
      add(`{ const c = -G${i} * G${j}; if (c !== 0) {`);
      for (const a of Ws) {
        add(`{ const ca = c * j${i}_${a};`);
        for (const b of Ws) add(`${acc(i * w + a, j * w + b)} -= ca * j${j}_${b};`);
        add('}');
      }
      add('} }');
    }
    const second = code.second(i);
    if (second.entries.length > 0) {
      add(`{ const D = R[o + ${i}] - G${i}; if (D !== 0) {`);
      add(second.code);
      for (const e of second.entries) add(`${acc(i * w + e.a, i * w + e.b)} += ${e.value};`);
      add('} }');
    }
    add('}');
  }
  add('}');
  if (names.length > 0) add('}');
  // scatter: an upper entry and its mirror; two local coordinates with one theta index (log tau
  // of two experts) add both orders into the same entry, as the full local matrix would
  for (let p = 0; p < kw; p++) {
    const ip = code.index(Math.floor(p / w), p % w);
    for (let q = p; q < kw; q++) {
      const iq = code.index(Math.floor(q / w), q % w);
      add(`H[${ip * nParams + iq}] += h${p}_${q};`);
      if (q !== p) add(`H[${iq * nParams + ip}] += h${p}_${q};`);
    }
  }
  return lines.join('\n');
}

/**
 * Compile the objective kernel of a gate's code.
 * @param code the gate's statements ({@link FastGateCode})
 * @param k experts, >= 1
 * @param d input dimension, >= 1
 * @param nParams theta's length
 * @example compileFastObjective(code, 2, 1, 5)(theta, X, n, R, grad, G, 1 / tau) // => Q
 */
export function compileFastObjective(code: FastGateCode, k: number, d: number, nParams: number): FastObjectiveKernel {
  const key = `objective:${code.key}`;
  const cached = compiled.get(key);
  if (cached) return cached as FastObjectiveKernel;
  const names = Object.keys(code.helpers);
  const make = new Function(...names, `return function fastObjective(theta, X, n, R, grad, G, inv) {\n${fastObjectiveSource(code, k, d, nParams)}\n};`);
  const kernel = make(...names.map((name) => code.helpers[name])) as FastObjectiveKernel;
  const p = primer(k, d, nParams);
  for (let t = 0; t < PRIMING_CALLS; t++) kernel(p.theta, p.X, 1, p.R, p.grad, p.G, 1);
  compiled.set(key, kernel);
  return kernel;
}

/**
 * Compile the Hessian kernel of a gate's code.
 * @param code the gate's statements ({@link FastGateCode})
 * @param k experts, >= 1
 * @param d input dimension, >= 1
 * @param nParams theta's length
 * @example compileFastHessian(code, 2, 1, 5)(theta, X, n, G, H, R, 1 / tau) // H written
 */
export function compileFastHessian(code: FastGateCode, k: number, d: number, nParams: number): FastHessianKernel {
  const key = `hessian:${code.key}`;
  const cached = compiled.get(key);
  if (cached) return cached as FastHessianKernel;
  const names = Object.keys(code.helpers);
  const staged = code.stage ? range(k).reduce((t, i) => t + code.stage!(i, false).names.length, 0) : 0;
  const make = new Function(...names, 'buf', `return function fastHessian(theta, X, n, G, H, R, inv) {\n${fastHessianSource(code, k, d, nParams)}\n};`);
  const kernel = make(...names.map((name) => code.helpers[name]), new Float64Array(HESSIAN_CHUNK * staged)) as FastHessianKernel;
  const p = primer(k, d, nParams);
  for (let t = 0; t < PRIMING_CALLS; t++) kernel(p.theta, p.X, 1, p.G, p.H, p.R, 1);
  compiled.set(key, kernel);
  return kernel;
}
