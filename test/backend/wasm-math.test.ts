/**
 * The vector exp and log of backend/wasm-math.ts against Math.exp and Math.log over the whole
 * float64 range (fixed seed): dense random sampling, subnormal results and inputs, the underflow
 * to 0 and overflow to Infinity thresholds, NaN, +-Infinity, +-0.
 *
 * Tolerance: the proven bounds of wasm-math.ts (exp 1.5 ulp, 2.0 ulp for subnormal results; log
 * 1.5 ulp) plus 1 ulp for the reference itself (V8's Math.exp and Math.log are fdlibm's, error
 * < 1 ulp), in ulps of the smaller of the two results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmMathArray, wasmSimdAvailable } from '../../src/backend/wasm-math.js';
import { Rng } from '../../src/rng/index.js';

const bits = new BigUint64Array(1);
const asDouble = new Float64Array(bits.buffer);

/** The spacing of float64 numbers at |v| (2^-1074 for subnormals and 0). */
function ulp(v: number): number {
  asDouble[0] = Math.abs(v);
  const e = Number(bits[0]! >> 52n);
  return e === 0 ? 2 ** -1074 : 2 ** (e - 1075);
}

/** Largest error in ulps; non-finite or zero references must be matched exactly (Object.is, or 0 within the bound). */
function worstUlps(x: Float64Array, got: Float64Array, ref: (v: number) => number): { worst: number; at: number; mismatches: string[] } {
  let worst = 0;
  let at = NaN;
  const mismatches: string[] = [];
  for (let j = 0; j < x.length; j++) {
    const r = ref(x[j]!);
    const g = got[j]!;
    if (Object.is(r, g)) continue;
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      mismatches.push(`f(${x[j]}) = ${g}, reference ${r}`);
      continue;
    }
    const e = Math.abs(g - r) / ulp(Math.min(Math.abs(g), Math.abs(r)));
    if (e > worst) {
      worst = e;
      at = x[j]!;
    }
  }
  return { worst, at, mismatches };
}

test('WebAssembly SIMD128 is available (Node >= 16.4)', () => {
  assert.equal(wasmSimdAvailable(), true);
});

test('vector exp: within 1.5 + 1 ulp of Math.exp on [-800, 800] (normal results), 2.0 + 1 on subnormal ones; 0 and Infinity where Math.exp has them', () => {
  const rng = new Rng(20140);
  const N = 1 << 19;
  const x = new Float64Array(4 * N);
  for (let j = 0; j < N; j++) {
    x[j] = -800 + 1600 * rng.uniform(); // the whole range, both ends beyond the thresholds
    x[N + j] = (2 * rng.uniform() - 1) * 0.75; // around 0, where the reduction is trivial
    x[2 * N + j] = -745.2 + 37 * rng.uniform(); // subnormal results and the underflow edge
    x[3 * N + j] = 709 + rng.uniform(); // the overflow edge
  }
  const y = wasmMathArray('exp', x);
  const normal: number[] = [];
  const subnormal: number[] = [];
  for (let j = 0; j < x.length; j++) (Math.exp(x[j]!) < 2 ** -1022 ? subnormal : normal).push(j);
  assert.ok(subnormal.length > N / 2, `${subnormal.length} subnormal results sampled`);
  for (const [rows, bound] of [[normal, 1.5 + 1], [subnormal, 2.0 + 1]] as const) {
    const xs = Float64Array.from(rows, (j) => x[j]!);
    const ys = Float64Array.from(rows, (j) => y[j]!);
    const { worst, at, mismatches } = worstUlps(xs, ys, Math.exp);
    assert.deepEqual(mismatches, []);
    assert.ok(worst <= bound, `worst ${worst} ulp at x = ${at}`);
  }
  // the tails: exactly 0 below the underflow threshold, Infinity above the overflow one
  let zeros = 0;
  let infinities = 0;
  for (let j = 0; j < x.length; j++) {
    if (y[j] === 0) zeros++;
    if (y[j] === Infinity) infinities++;
  }
  assert.ok(zeros > 1000 && infinities > 1000, `${zeros} zeros, ${infinities} infinities`);
});

test('vector exp: special values and thresholds exactly', () => {
  const cases: [number, number][] = [
    [0, 1],
    [-0, 1],
    [NaN, NaN],
    [Infinity, Infinity],
    [-Infinity, 0],
    [1e300, Infinity],
    [-1e300, 0],
    [Number.MAX_VALUE, Infinity],
    [-Number.MAX_VALUE, 0],
    [5e-324, 1],
    [-5e-324, 1],
    [709.782712893384, Math.exp(709.782712893384)], // the largest finite result
    [709.7827128933841, Infinity],
    [-745.1332191019411, Math.exp(-745.1332191019411)], // 2^-1074: the smallest subnormal
    [-745.1332191019412, 0],
    [-745.14, 0],
  ];
  const y = wasmMathArray('exp', Float64Array.from(cases, (c) => c[0]));
  cases.forEach(([x, expected], j) => {
    if (Number.isFinite(expected) && expected !== 0 && expected !== 1) assert.ok(Math.abs(y[j]! - expected) <= 2.5 * ulp(expected), `exp(${x}) = ${y[j]}, expected ${expected}`);
    else assert.ok(Object.is(y[j], expected), `exp(${x}) = ${y[j]}, expected ${expected}`);
  });
  assert.equal(Math.exp(-745.1332191019411), 5e-324, 'the reference agrees on the threshold');
});

test('expZeroFast (the kernels\' exp): bit for bit the vector exp everywhere, special values and the zero threshold included', () => {
  const rng = new Rng(4242);
  const x = Float64Array.from({ length: 20000 }, (_, j) => (j % 2 === 0 ? -760 + 40 * rng.uniform() : 1600 * rng.uniform() - 800));
  const edges = [-745.2, -745.2000000000001, -745.1999999999999, -745.1332191019411, -745.1332191019412, -708, -Infinity, Infinity, NaN, 0, -0, -1e300, 1e300];
  const all = Float64Array.from([...x, ...edges]);
  const a = wasmMathArray('exp', all);
  const b = wasmMathArray('expZeroFast', all);
  all.forEach((v, j) => assert.ok(Object.is(a[j], b[j]), `exp(${v}): ${a[j]} vs ${b[j]}`));
  assert.ok(b.some((v) => v > 0 && v < 2 ** -1022) && b.some((v, j) => v === 0 && all[j]! > -745.2), 'subnormal results and zeros above the threshold sampled');
});

test('vector log: within 1.5 + 1 ulp of Math.log over all positive doubles (random bit patterns, subnormals included)', () => {
  const rng = new Rng(20141);
  const N = 1 << 20;
  const x = new Float64Array(N + (N >> 1));
  for (let j = 0; j < N; j++) {
    // uniform over bit patterns of positive finite doubles: every binade equally often
    bits[0] = (BigInt(Math.floor(rng.uniform() * 0x7ff00000)) << 32n) | BigInt(Math.floor(rng.uniform() * 2 ** 32));
    x[j] = asDouble[0]!;
  }
  for (let j = 0; j < N >> 1; j++) x[N + j] = 0.5 + 1.5 * rng.uniform(); // around 1, where log is small
  const y = wasmMathArray('log', x);
  let subnormalInputs = 0;
  for (let j = 0; j < N; j++) if (x[j]! < 2 ** -1022) subnormalInputs++;
  assert.ok(subnormalInputs > 100, `${subnormalInputs} subnormal inputs`);
  const { worst, at, mismatches } = worstUlps(x, y, Math.log);
  assert.deepEqual(mismatches, []);
  assert.ok(worst <= 1.5 + 1, `worst ${worst} ulp at x = ${at}`);
});

test('vector log: special values exactly', () => {
  const cases: [number, number][] = [
    [1, 0],
    [0, -Infinity],
    [-0, -Infinity],
    [-1, NaN],
    [-5e-324, NaN],
    [NaN, NaN],
    [Infinity, Infinity],
    [-Infinity, NaN],
    [2, Math.log(2)],
    [0.5, -Math.log(2)],
    [5e-324, Math.log(5e-324)],
    [Number.MAX_VALUE, Math.log(Number.MAX_VALUE)],
    [2 ** -1022, Math.log(2 ** -1022)],
  ];
  const y = wasmMathArray('log', Float64Array.from(cases, (c) => c[0]));
  cases.forEach(([x, expected], j) => {
    if (Number.isFinite(expected) && expected !== 0) assert.ok(Math.abs(y[j]! - expected) <= 2.5 * ulp(expected), `log(${x}) = ${y[j]}, expected ${expected}`);
    else assert.ok(Object.is(y[j], expected), `log(${x}) = ${y[j]}, expected ${expected}`);
  });
});
