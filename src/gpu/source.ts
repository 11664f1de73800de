/**
 * Kernel sources for gpu.js (webgpu mode), generated per gate and shape. Generated, not written by
 * hand, because gpu.js kernels cannot loop over a per-fit array of experts cheaply: k and d are baked
 * in as literals and the per-expert code is unrolled. The gate's own math (its logits and their
 * derivatives in theta) comes from its definition's `gpu` member (gates/gpu-code.ts); everything a
 * softmax over logits has in common is written here once.
 *
 * gpu.js traps this code works around (../../shared/toolchain.md, verified here):
 *  - a local initialised from an integer expression is emitted as f32; a variable that is somewhere
 *    incremented with `++` is emitted as i32. `int(name, expr)` declares i32 locals that way.
 *  - literals >= 2^31 do not compile: the Philox constants are written as signed decimals.
 *  - every float is f32: there is no Infinity. A dropped expert's log-weight is the sentinel
 *    DROPPED (exp(DROPPED) = 0 in f32), recognised by `lg < DROPPED_TEST`.
 */
import type { GateGpuCode, GpuNames } from '../gates/gpu-code.js';
import { inputWords, labelWord, responseWord, wordBlock, wordPair, WORDS_PER_NORMAL, WORDS_PER_UNIFORM } from '../rng/stream-layout.js';
import type { KernelFunction } from './functions.js';

/** The least responsibility of a kept expert whose f64 responsibility is positive (a normal f32). */
const R_FLOOR = '1e-37';

/** Log-weight of an expert a sparse gate drops (exp underflows to exactly 0 in f32). */
export const DROPPED = -99999.5;
const DROPPED_TEST = -99999.0;

/** What a kernel needs to know of a gate (gpu/batched-em.ts gateKernelSpec builds it). */
export interface GateKernelSpec {
  /** the gate type */
  type: string;
  k: number;
  d: number;
  /** experts kept at each x (k: dense; code.K) */
  K: number;
  /** theta has log tau at index k + k d */
  tauFree: boolean;
  /** the gate's f32 code (its definition's gpu member) */
  code: GateGpuCode;
}

/**
 * The names gate code uses in every kernel: theta of the fit at meta[o ..] (MetaLayout; the
 * sampler puts it at o = 0), the point's coordinates x0.., 1/tau in `iv`.
 */
const NAMES: GpuNames = { theta: (j) => `meta[o + ${j}]`, x: (p) => `x${p}`, invTau: 'iv' };

/** Length of the packed gate parameter vector (gates/types.ts). */
export function gateParamCount(g: GateKernelSpec): number {
  // a gate whose theta is not (beta0, beta1, log tau) says its length (gaussian)
  return g.code.nParams ?? g.k + g.k * g.d + (g.tauFree ? 1 : 0);
}

/**
 * Every per-fit number and the statistic tables travel in one array `meta` (WebGPU allows 8
 * storage buffers per kernel by default): fit f's block at f W is [active, data index, 1/tau,
 * theta (P), experts (k (d + 2): a, b, nu per expert)]; the expert statistics table starts at
 * tabE = F W, the gate-pass table at tabG = tabE + 3 SE.
 */
export interface MetaLayout {
  W: number;
  P: number;
  tabE: number;
  tabG: number;
}
export function metaLayout(g: GateKernelSpec, F: number): MetaLayout {
  const P = gateParamCount(g);
  const W = 3 + P + g.k * (g.d + 2);
  return { W, P, tabE: F * W, tabG: F * W + expertStatTable(g).length };
}
const fitPrelude = (W: number, fAxis: 'y' | 'z') => [
  int('f', `this.thread.${fAxis}`),
  int('fb', `f * ${W}`),
  'if (meta[fb] < 0.5) { return 0.0; }',
  int('di', 'meta[fb + 1]'),
  'let iv = meta[fb + 2];',
  int('o', 'fb + 3'),
];

/** An i32 local (see the module comment). */
export function int(name: string, expr: string): string {
  return `let ${name} = 0; ${name}++; ${name} = ${expr};`;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------------------------------------
// Philox4x32-10 (same rounds as rng/philox.ts; 16-bit halves for the high words of the products)

const MULHI = `function gatelabMulhi(a, b) {
  ${int('al', 'a & 65535')} ${int('ah', 'a >>> 16')} ${int('bl', 'b & 65535')} ${int('bh', 'b >>> 16')}
  ${int('t', 'al * bl')} ${int('u', 'ah * bl + (t >>> 16)')} ${int('v', 'al * bh + (u & 65535)')}
  ${int('h', 'ah * bh + (u >>> 16) + (v >>> 16)')}
  return h;
}`;

/** Ten Philox rounds on (x0..x3) with key (key0, key1); M0, M1, W0, W1 as signed decimals. */
const PHILOX_ROUNDS = `
  ${int('x0', 'c0')} ${int('x1', 'c1')} ${int('x2', 'c2')} ${int('x3', 'c3')} ${int('key0', 'k0')} ${int('key1', 'k1')}
  for (let round = 0; round < 10; round++) {
    ${int('hi0', 'gatelabMulhi(-766435501, x0)')} ${int('hi1', 'gatelabMulhi(-845247145, x2)')}
    ${int('lo0', '-766435501 * x0')} ${int('lo1', '-845247145 * x2')}
    x0 = hi1 ^ x1 ^ key0; x1 = lo1; x2 = hi0 ^ x3 ^ key1; x3 = lo0;
    key0 = key0 + -1640531527; key1 = key1 + -1150833019;
  }`;

/** Word w (0..3) of the Philox block at counter (c0..c3), key (k0, k1). */
const PHILOX_WORD = `function gatelabPhiloxWord(c0, c1, c2, c3, k0, k1, w) {${PHILOX_ROUNDS}
  ${int('out', 'x0')}
  if (w == 1) { out = x1; }
  if (w == 2) { out = x2; }
  if (w == 3) { out = x3; }
  return out;
}`;

/**
 * The uniform of words (2 pair, 2 pair + 1) of one block, as rng/philox.ts uniformFromWords forms
 * it, ((w0 >>> 5) 2^26 + (w1 >>> 6) + 0.5) / 2^53, rounded to f32.
 */
const PHILOX_UNIFORM = `function gatelabPhiloxUniform(c0, c1, c2, c3, k0, k1, pair) {${PHILOX_ROUNDS}
  ${int('wa', 'x0')} ${int('wb', 'x1')}
  if (pair == 1) { wa = x2; wb = x3; }
  ${int('ha', 'wa >>> 5')} ${int('hb', 'wb >>> 6')}
  return ha * 0.000000007450580596923828 + (hb + 0.5) * 0.00000000000000011102230246251565;
}`;

/** The helper functions (gpu.addFunction sources) with their integer signatures. */
export const PHILOX_FUNCTIONS: KernelFunction[] = [
  { source: MULHI, settings: { argumentTypes: { a: 'Integer', b: 'Integer' }, returnType: 'Integer' } },
  {
    source: PHILOX_WORD,
    settings: {
      argumentTypes: { c0: 'Integer', c1: 'Integer', c2: 'Integer', c3: 'Integer', k0: 'Integer', k1: 'Integer', w: 'Integer' },
      returnType: 'Integer',
    },
  },
  {
    source: PHILOX_UNIFORM,
    settings: {
      argumentTypes: { c0: 'Integer', c1: 'Integer', c2: 'Integer', c3: 'Integer', k0: 'Integer', k1: 'Integer', pair: 'Integer' },
      returnType: 'Float',
    },
  },
];

/** Helper functions a gate's kernels need (gpu.addFunction sources). */
export function gateFunctions(g: GateKernelSpec): KernelFunction[] {
  return [...g.code.functions];
}

// ---------------------------------------------------------------------------------------------
// Gate: per point, the logits u_i, kept flags kp_i and log-weights lg_i

/**
 * Code computing, for the point with coordinates x0..x{d-1}, gate parameters meta[o + ...] and
 * 1/tau in `iv`:  u{i} (the logit, and the gate's helper locals: its `logit` emitter), kp{i} (1
 * kept, 0 dropped), lg{i} = log G_i (DROPPED if dropped).
 */
export function gateCode(g: GateKernelSpec): string {
  const { k, K, code } = g;
  const lines: string[] = [];
  for (const i of range(k)) {
    lines.push(code.logit(i, NAMES));
    lines.push(`let kp${i} = 1.0;`);
  }
  if (K < k) {
    if (!code.rank) throw new Error(`gate ${g.type}: K = ${K} < k = ${k} needs a ranking score (GateGpuCode.rank)`);
    // keep the K largest ranking scores; ties go to the lower index (gates/linear-gate.ts)
    for (const i of range(k)) lines.push(`let q${i} = ${code.rank(i, NAMES)};`);
    for (const i of range(k)) {
      lines.push(`let bt${i} = 0.0;`);
      for (const j of range(k)) {
        if (j === i) continue;
        lines.push(`if (q${j} ${j < i ? '>=' : '>'} q${i}) { bt${i} += 1.0; }`);
      }
      lines.push(`if (bt${i} > ${K - 0.5}) { kp${i} = 0.0; }`);
    }
  }
  lines.push(`let mx = ${DROPPED};`);
  for (const i of range(k)) lines.push(`if (kp${i} > 0.5) { mx = Math.max(mx, u${i}); }`);
  lines.push('let se = 0.0;');
  for (const i of range(k)) lines.push(`if (kp${i} > 0.5) { se += Math.exp(u${i} - mx); }`);
  lines.push('let lz = mx + Math.log(se);');
  for (const i of range(k)) lines.push(`let lg${i} = ${DROPPED}; if (kp${i} > 0.5) { lg${i} = u${i} - lz; }`);
  return lines.join('\n');
}

/** Read the point's coordinates x0..x{d-1} from the per-coordinate inputs X0..X{d-1}[di][row]. */
function readX(d: number, row: string): string {
  return range(d)
    .map((p) => `let x${p} = X${p}[di][${row}];`)
    .join(' ');
}
const xArgs = (d: number) => range(d).map((p) => `X${p}`);

// ---------------------------------------------------------------------------------------------
// EM kernels

/**
 * E-step, output [k + 1, n, F] (x = expert or k, y = point, z = fit): R_ni for x < k, and the
 * point's log-likelihood log sum_i G_i N(y | a_i.x + b_i, nu_i) for x = k. Fits with act[f] = 0
 * are skipped (0). Arguments: X0.., Y (data [D][n]) and meta (see MetaLayout).
 */
export function eStepSource(g: GateKernelSpec, F: number): string {
  const { k, d } = g;
  const { W, P } = metaLayout(g, F);
  const w = d + 2;
  const lines = [
    `function(${[...xArgs(d), 'Y', 'meta'].join(', ')}) {`,
    ...fitPrelude(W, 'z'),
    int('r', 'this.thread.y'),
    int('i', 'this.thread.x'),
    readX(d, 'r'),
    'let y = Y[di][r];',
    gateCode(g),
    int('e', `o + ${P}`),
  ];
  for (const i of range(k)) {
    const b = `e + ${i * w}`;
    const mean = [`meta[${b} + ${d}]`, ...range(d).map((p) => `meta[${b} + ${p}] * x${p}`)].join(' + ');
    lines.push(`let rs${i} = y - (${mean}); let nu${i} = meta[${b} + ${d + 1}];`);
    lines.push(`let t${i} = lg${i} - 0.5 * (1.8378770664093453 + Math.log(nu${i})) - rs${i} * rs${i} / (2.0 * nu${i});`);
  }
  lines.push(`let mt = t0;`);
  for (const i of range(k).slice(1)) lines.push(`mt = Math.max(mt, t${i});`);
  lines.push(`let sm = ${range(k).map((i) => `Math.exp(t${i} - mt)`).join(' + ')};`);
  lines.push('let ll = mt + Math.log(sm);');
  lines.push('let out = ll;');
  // R_i > 0 wherever it is positive in f64 (kept, log R_i > -745): floored at 1e-37 where f32
  // underflows, so that the gate pass refuses a step that drops such an expert, as the CPU does
  for (const i of range(k)) {
    lines.push(`if (i == ${i}) { out = Math.exp(t${i} - ll); if (kp${i} > 0.5 && t${i} - ll > -745.0) { out = Math.max(out, ${R_FLOOR}); } }`);
  }
  lines.push('return out;', '}');
  return lines.join('\n');
}

/** Gate log-weights, output [k, n, F]: log G_i(x_n; theta_f) (DROPPED where dropped). */
export function logWeightsSource(g: GateKernelSpec, F: number): string {
  const { k, d } = g;
  const lines = [
    `function(${[...xArgs(d), 'meta'].join(', ')}) {`,
    ...fitPrelude(metaLayout(g, F).W, 'z'),
    int('r', 'this.thread.y'),
    int('i', 'this.thread.x'),
    readX(d, 'r'),
    gateCode(g),
    `let out = lg0;`,
  ];
  for (const i of range(k).slice(1)) lines.push(`if (i == ${i}) { out = lg${i}; }`);
  lines.push('return out;', '}');
  return lines.join('\n');
}

/**
 * Compensated (Kahan) addition of `term` to `acc`: the error of a chunk's f32 sum stays at a few
 * ulp of the sum instead of growing with the chunk length.
 */
const KAHAN_ADD = 'let yk = term - comp; let tk = acc + yk; comp = (tk - acc) - yk; acc = tk;';

/** Points per partial sum: one thread sums this many points in f32; the host finishes in f64. */
export const CHUNK = 256;

/**
 * Start of a reduction kernel with output [S C, F]: thread (s C + c, f) sums statistic s over
 * chunk c of fit f; `names` receive the statistic's three table entries at meta[tab + 3 s ..].
 */
function reductionPrelude(W: number, C: number, tab: number, names: [string, string, string]): string[] {
  return [
    ...fitPrelude(W, 'y'),
    int('t', 'this.thread.x'),
    int('s', `Math.floor(t / ${C})`),
    int('c', `t - s * ${C}`),
    ...names.map((name, q) => int(name, `meta[${tab} + 3 * s + ${q}]`)),
  ];
}
/** The loop over a chunk's points, with the compensated accumulator (closed by the caller). */
const CHUNK_LOOP = ['let acc = 0.0; let comp = 0.0;', `for (let j = 0; j < ${CHUNK}; j++) {`, 'let term = 0.0;'];

/**
 * Expert statistics and the log-likelihood, output [S C, F] with S = k (m m + m + 1) + 1 and
 * C = ceil(n / CHUNK) chunks: thread (s C + c, f) sums statistic s over chunk c. Statistic s is
 * described by tab[3 s .. 3 s + 2] = (expert, a, b): sum_n R_n,expert Z_a Z_b with
 * Z = (x_1..x_d, 1, residual at the current expert parameters); expert = k: sum_n log p(y_n|x_n).
 */
export function expertStatsSource(g: GateKernelSpec, n: number, F: number): string {
  const { k, d } = g;
  const { W, P, tabE } = metaLayout(g, F);
  const w = d + 2;
  const C = Math.ceil(n / CHUNK);
  const z = (name: string, idx: string) =>
    `let ${name} = res; if (${idx} == ${d}) { ${name} = 1.0; } ${range(d)
      .map((p) => `if (${idx} == ${p}) { ${name} = x${p}; }`)
      .join(' ')}`;
  return [
    `function(${[...xArgs(d), 'Y', 'R', 'meta'].join(', ')}) {`,
    ...reductionPrelude(W, C, tabE, ['ei', 'ta', 'tb']),
    int('e', `o + ${P} + ei * ${w}`),
    ...CHUNK_LOOP,
    int('r', `c * ${CHUNK} + j`),
    `if (r < ${n}) {`,
    `if (ei == ${k}) { term = R[f][r][${k}]; } else {`,
    readX(d, 'r'),
    `let res = Y[di][r] - (meta[e + ${d}] ${range(d)
      .map((p) => `+ meta[e + ${p}] * x${p}`)
      .join(' ')});`,
    z('za', 'ta'),
    z('zb', 'tb'),
    'term = R[f][r][ei] * za * zb;',
    '}',
    '}',
    KAHAN_ADD,
    '}',
    'return acc;',
    '}',
  ].join('\n');
}

/**
 * The gate's M-step quantities at theta_f, output [S C, F], S = 2 + P + P(P+1)/2, from the
 * responsibilities R and the log-weights LG at theta_f (logWeightsSource):
 *   kind 0: Q = sum_n sum_i R_ni log G_ni;  kind 1: the number of (n, i) with R_ni > 0 and G_ni = 0
 *   (then Q = -Infinity);  kind 2: dQ/dtheta_a = sum_n sum_i (R_ni - G_ni) du_i/dtheta_a;
 *   kind 3: d2Q/dtheta_a dtheta_b = sum_n [ -sum_i G_i J_ia J_ib + (sum_i G_i J_ia)(sum_i G_i J_ib)
 *           + sum_i (R_i - G_i) d2u_i/dtheta_a dtheta_b ],   J_ia = du_i/dtheta_a,
 * the formulas of gates/logit-gate.ts, with J and d2u from the gate's `jacobian` and `second`
 * emitters (its jacobianRow and secondTerm in f32). tab[3 s ..] = (kind, a, b), b >= a.
 */
export function gatePassSource(g: GateKernelSpec, n: number, F: number): string {
  const { k, d, code } = g;
  const { W, tabG } = metaLayout(g, F);
  const C = Math.ceil(n / CHUNK);
  // J_ia as a local: the entry whose index is a (0 elsewhere)
  const jac = (v: 'a' | 'b', i: number): string => {
    const name = `j${v}${i}`;
    const parts = [`let ${name} = 0.0;`];
    for (const { index, value } of code.jacobian(i, NAMES)) parts.push(`if (${v} == ${index}) { ${name} = ${value}; }`);
    return parts.join(' ');
  };
  const pair = (x: number, y: number) => `((a == ${x} && b == ${y}) || (a == ${y} && b == ${x}))`;
  const second = (i: number): string => {
    const name = `sd${i}`;
    const parts = [`let ${name} = 0.0;`];
    for (const { a, b, value } of code.second(i, NAMES)) parts.push(`if (${a === b ? `a == ${a} && b == ${b}` : pair(a, b)}) { ${name} = ${value}; }`);
    return parts.join(' ');
  };
  const lines = [
    `function(${[...xArgs(d), 'R', 'LG', 'meta'].join(', ')}) {`,
    ...reductionPrelude(W, C, tabG, ['kind', 'a', 'b']),
    ...CHUNK_LOOP,
    int('r', `c * ${CHUNK} + j`),
    `if (r < ${n}) {`,
    readX(d, 'r'),
  ];
  // what the gate's derivatives read at theta (cheap; the exponentials of G come from LG)
  for (const i of range(k)) {
    lines.push(code.derivatives(i, NAMES));
    lines.push(`let lw${i} = LG[f][r][${i}]; let g${i} = 0.0; if (lw${i} > ${DROPPED_TEST}) { g${i} = Math.exp(lw${i}); }`);
    lines.push(`let rr${i} = R[f][r][${i}];`);
  }
  lines.push('if (kind == 0) {');
  for (const i of range(k)) lines.push(`if (rr${i} > 0.0 && lw${i} > ${DROPPED_TEST}) { term += rr${i} * lw${i}; }`);
  lines.push('}', 'if (kind == 1) {');
  for (const i of range(k)) lines.push(`if (rr${i} > 0.0 && lw${i} < ${DROPPED_TEST}) { term += 1.0; }`);
  lines.push('}', 'if (kind == 2) {');
  for (const i of range(k)) lines.push(jac('a', i), `term += (rr${i} - g${i}) * ja${i};`);
  lines.push('}', 'if (kind == 3) {', 'let sa = 0.0; let sb = 0.0; let sab = 0.0; let s2 = 0.0;');
  for (const i of range(k)) {
    lines.push(jac('a', i), jac('b', i), second(i));
    lines.push(`sa += g${i} * ja${i}; sb += g${i} * jb${i}; sab += g${i} * ja${i} * jb${i}; s2 += (rr${i} - g${i}) * sd${i};`);
  }
  lines.push('term = sa * sb - sab + s2;', '}');
  lines.push('}', KAHAN_ADD, '}', 'return acc;', '}');
  return lines.join('\n');
}

/** The statistic tables (3 numbers per statistic) of expertStatsSource and gatePassSource. */
export function expertStatTable(g: GateKernelSpec): Float32Array {
  const m = g.d + 1;
  const rows: number[] = [];
  for (const i of range(g.k)) {
    for (const a of range(m)) for (const b of range(m)) rows.push(i, a, b); // Szz
    for (const a of range(m)) rows.push(i, a, m); // Szr
    rows.push(i, m, m); // Srr
  }
  rows.push(g.k, 0, 0); // log-likelihood
  return Float32Array.from(rows);
}

export function gatePassTable(g: GateKernelSpec): Float32Array {
  const P = gateParamCount(g);
  const rows: number[] = [0, 0, 0, 1, 0, 0];
  for (const a of range(P)) rows.push(2, a, 0);
  for (const a of range(P)) for (let b = a; b < P; b++) rows.push(3, a, b);
  return Float32Array.from(rows);
}

// ---------------------------------------------------------------------------------------------
// Sampler kernels (the stream layout of rng/stream-layout.ts, shared with sampling/sample.ts:
// point r reads Philox blocks (r, b) of its replicate's sampling stream; inputs, then one uniform
// for Z, then one normal for Y; the word offsets below are interpolated from that file)

/** The sampling-stream key of replicate j as 16-bit halves in keys[8 j ..] (exact in f32). */
const streamKeys = [
  int('j', 'this.thread.y'),
  int('r', 'this.thread.x'),
  ...['pk0', 'pk1', 'ps0', 'ps1'].flatMap((name, t) => [
    int(`${name}l`, `keys[j * 8 + ${2 * t}]`),
    int(`${name}h`, `keys[j * 8 + ${2 * t + 1}]`),
    int(name, `(${name}h << 16) | ${name}l`),
  ]),
];

/** f32 uniform from the (even) word index w of the point's sequence. */
const uniformAt = (w: number) => `gatelabPhiloxUniform(r, ${wordBlock(w)}, ps0, ps1, pk0, pk1, ${wordPair(w)})`;
/** Box-Muller normal from the uniforms at words w and w + 2 (cosine branch, as on the CPU). */
const normalAt = (w: number) => `(Math.sqrt(-2.0 * Math.log(${uniformAt(w)})) * Math.cos(6.283185307179586 * ${uniformAt(w + WORDS_PER_UNIFORM)}))`;

/** The sampler's input design (models/types.ts InputSpec, with the normal's Cholesky factor). */
export type SamplerInput =
  | { type: 'uniform'; low: number; high: number; dim: number }
  | { type: 'grid'; low: number; high: number; dim: 1 }
  | { type: 'normal'; mean: number[]; L: number[][]; dim: number };

/** Number of uint32 words the inputs of one point use (rng/stream-layout.ts). */
const samplerInputWords = (input: SamplerInput): number => inputWords(input.type, input.dim);

const lit = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v));

/** Coordinate p of the inputs, output [n, D] (x = point, y = replicate). Argument: keys. */
export function sampleInputSource(input: SamplerInput, p: number, n: number): string {
  let body: string;
  if (input.type === 'uniform') body = `return ${lit(input.low)} + ${lit(input.high - input.low)} * ${uniformAt(WORDS_PER_UNIFORM * p)};`;
  else if (input.type === 'grid') body = n === 1 ? `return ${lit(input.low)};` : `return ${lit(input.low)} + ${lit(input.high - input.low)} * (r / ${lit(n - 1)});`;
  else {
    const terms = range(p + 1).map((q) => `${lit(input.L[p]![q]!)} * ${normalAt(WORDS_PER_NORMAL * q)}`);
    body = `return ${lit(input.mean[p]!)} + ${terms.join(' + ')};`;
  }
  return ['function(keys) {', ...streamKeys, body, '}'].join('\n');
}

/**
 * Labels Z, output [n, D]: the first expert i with G_1 + ... + G_i > u (skipping zero weights;
 * the last positive one if rounding leaves u beyond the sum). Arguments: X0.., keys, meta with
 * the true gate parameters theta (P) and 1/tau at meta[P].
 */
export function sampleLabelSource(g: GateKernelSpec, input: SamplerInput): string {
  const { k, d } = g;
  const P = gateParamCount(g);
  const lines = [
    `function(${[...xArgs(d), 'keys', 'meta'].join(', ')}) {`,
    ...streamKeys,
    int('di', 'j'),
    readX(d, 'r'),
    int('o', '0'),
    `let iv = meta[${P}];`,
    gateCode(g),
    `let u = ${uniformAt(labelWord(samplerInputWords(input)))};`,
    'let label = -1.0; let cum = 0.0; let lastPositive = 0.0;',
  ];
  for (const i of range(k)) {
    lines.push(`let g${i} = 0.0; if (lg${i} > ${DROPPED_TEST}) { g${i} = Math.exp(lg${i}); }`);
    lines.push(`if (label < 0.0 && g${i} > 0.0) { lastPositive = ${i}.0; cum += g${i}; if (u < cum) { label = ${i}.0; } }`);
  }
  lines.push('if (label < 0.0) { label = lastPositive; }', 'return label;', '}');
  return lines.join('\n');
}

/**
 * Responses Y, output [n, D]: a_Z.x + b_Z + sqrt(nu_Z) eps. Arguments: X0.., Z, keys, meta with
 * per expert (a (d), b, sd) at meta[i (d + 2)].
 */
export function sampleResponseSource(g: GateKernelSpec, input: SamplerInput): string {
  const { k, d } = g;
  const w = d + 2;
  const lines = [
    `function(${[...xArgs(d), 'Z', 'keys', 'meta'].join(', ')}) {`,
    ...streamKeys,
    int('di', 'j'),
    readX(d, 'r'),
    int('z', 'Z[j][r]'),
    int('e', `z * ${w}`),
    `let mean = meta[e + ${d}]${range(d)
      .map((p) => ` + meta[e + ${p}] * x${p}`)
      .join('')};`,
    `return mean + meta[e + ${d + 1}] * ${normalAt(responseWord(samplerInputWords(input)))};`,
    '}',
  ];
  void k;
  return lines.join('\n');
}

/** Raw Philox words (as 16-bit halves, exact in f32) of blocks (r, b) for tests: output [4 B, n, 2]. */
export function philoxWordsSource(): string {
  return [
    'function(keys) {',
    int('half', 'this.thread.z'),
    int('r', 'this.thread.y'),
    int('t', 'this.thread.x'),
    int('b', 't >> 2'),
    int('w', 't & 3'),
    ...['pk0', 'pk1', 'ps0', 'ps1'].flatMap((name, q) => [
      int(`${name}l`, `keys[${2 * q}]`),
      int(`${name}h`, `keys[${2 * q + 1}]`),
      int(name, `(${name}h << 16) | ${name}l`),
    ]),
    int('v', 'gatelabPhiloxWord(r, b, ps0, ps1, pk0, pk1, w)'),
    int('out', 'v & 65535'),
    'if (half == 1) { out = v >>> 16; }',
    'return out;',
    '}',
  ].join('\n');
}
