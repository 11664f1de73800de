/**
 * The Box–Muller kernel (src/sampling/wasm-normal.ts) against the JavaScript expression
 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2): bit-identical on every lane it
 * computes (a NaN lane is one of fdlibm's rare paths, which the sampler recomputes with Math), on
 * 2^21 Philox uniforms, on the branch edges of fdlibm's log (powers of two, sqrt(2)/2, |f| near
 * 2^-20, the smallest uniform) and cos (x near n pi/4 for n = 1..8, 0.3 and 0.78125 after
 * reduction, x near 0 and 2 pi), and with rare lanes a small minority.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxMullerBytes, boxMullerEdgeCases } from '../../src/sampling/wasm-normal.js';
import { boxMullerWasmAvailable, philoxPlanesJs } from '../../src/sampling/philox-planes.js';

function run(u1: ArrayLike<number>, u2: ArrayLike<number>): Float64Array {
  const pairs = Math.ceil(u1.length / 2);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((48 * pairs) / 65536) + 1 });
  const normals = new WebAssembly.Instance(new WebAssembly.Module(boxMullerBytes()), { env: { memory } }).exports.normals as (a: number, b: number, c: number, p: number) => void;
  const v = new Float64Array(memory.buffer, 0, 6 * pairs);
  v.fill(0.5);
  v.set(u1, 0);
  v.set(u2, 2 * pairs);
  normals(0, 16 * pairs, 32 * pairs, pairs);
  return v.slice(4 * pairs, 4 * pairs + u1.length);
}

function compare(u1: ArrayLike<number>, u2: ArrayLike<number>): { bad: number; rare: number; first?: string } {
  const got = run(u1, u2);
  let bad = 0;
  let rare = 0;
  let first: string | undefined;
  for (let i = 0; i < u1.length; i++) {
    const want = Math.sqrt(-2 * Math.log(u1[i]!)) * Math.cos(2 * Math.PI * u2[i]!);
    if (Number.isNaN(got[i]!)) rare++;
    else if (!Object.is(got[i], want)) {
      bad++;
      first ??= `u1 = ${u1[i]}, u2 = ${u2[i]}: ${got[i]} vs ${want}`;
    }
  }
  return { bad, rare, first };
}

test('the Box–Muller kernel is in use here (it passed its start-up check)', () => {
  assert.ok(WebAssembly.validate(boxMullerBytes()));
  assert.equal(boxMullerWasmAvailable(), true);
});

test('Box–Muller kernel = Math.sqrt(-2 log u1) cos(2 pi u2) bit for bit on 2^21 Philox uniforms', () => {
  const n = 1 << 21;
  const U = new Float64Array(4 * n);
  philoxPlanesJs({ k0: 0x5eed, k1: 7, s0: 0xabcdef01, s1: 0x12345678 }, 0, n, 2, U, n);
  const { bad, rare, first } = compare(U.subarray(0, n), U.subarray(n, 2 * n));
  assert.equal(bad, 0, first);
  assert.ok(rare < n * 1e-4, `${rare} rare lanes`);
});

test('Box–Muller kernel on the branch edges of fdlibm log and cos', () => {
  const u1: number[] = [];
  const u2: number[] = [];
  const ulps = (x: number, m: number) => {
    const out = [x];
    let up = x;
    let down = x;
    for (let i = 0; i < m; i++) {
      up += Math.max(Number.EPSILON * up, Number.MIN_VALUE);
      down -= Math.max(Number.EPSILON * down * 0.5, Number.MIN_VALUE);
      out.push(up, down);
    }
    return out.filter((v) => v > 0 && v < 1);
  };
  const logEdges = [2 ** -53, 2 ** -40, 2 ** -20, 0.125, 0.25, 0.5, Math.SQRT1_2, 0.7071, 1 - 2 ** -20, 1 - 2 ** -21, 1 - 2 ** -19, 1 - 2 ** -53, 0.9999990463256836, 0.3, 0.6];
  const cosEdges: number[] = [2 ** -53, 2 ** -30, 1e-9, 1 - 2 ** -53, 1 - 1e-9, 0.3 / (2 * Math.PI), 0.78125 / (2 * Math.PI)];
  for (let m = 1; m <= 8; m++) cosEdges.push(m / 8, m / 8 + 0.3 / (2 * Math.PI), m / 8 - 0.3 / (2 * Math.PI), m / 8 + 0.78125 / (2 * Math.PI), m / 8 - 0.78125 / (2 * Math.PI), m / 4 - 0.05);
  const a = logEdges.flatMap((x) => ulps(x, 8));
  const b = cosEdges.flatMap((x) => ulps(x, 8));
  for (const p of a) for (const q of b) u1.push(p), u2.push(q);
  const { bad, rare, first } = compare(u1, u2);
  assert.equal(bad, 0, first);
  assert.ok(rare < u1.length, 'some lanes are computed');
  const edge = boxMullerEdgeCases();
  assert.equal(compare(edge.u1, edge.u2).bad, 0);
});
