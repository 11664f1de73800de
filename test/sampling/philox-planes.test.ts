/**
 * The bulk uniforms of the sampler (src/sampling/philox-planes.ts): the WebAssembly SIMD kernel and
 * the JavaScript reference give, bit for bit, the uniforms of philox4x32 + uniformFromWords, for
 * keys and streams with the high bits set, counters near 2^31 and 2^32 (wrap-around), counts that
 * are not multiples of the kernel's four lanes, and several blocks per point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { philox4x32, uniformFromWords } from '../../src/rng/index.js';
import { philoxPlanes, philoxPlanesBytes, philoxPlanesJs, philoxPlaneView, philoxPlanesWasmAvailable, type StreamWords } from '../../src/sampling/philox-planes.js';

function reference(s: StreamWords, first: number, count: number, blocks: number): Float64Array {
  const U = new Float64Array(2 * blocks * count);
  const w = new Uint32Array(4);
  for (let r = 0; r < count; r++) {
    for (let b = 0; b < blocks; b++) {
      philox4x32(first + r, b, s.s0, s.s1, s.k0, s.k1, w);
      U[2 * b * count + r] = uniformFromWords(w[0]!, w[1]!);
      U[(2 * b + 1) * count + r] = uniformFromWords(w[2]!, w[3]!);
    }
  }
  return U;
}

function mismatches(a: Float64Array, b: Float64Array): number {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) bad++;
  return bad;
}

const STREAMS: StreamWords[] = [
  { k0: 0, k1: 0, s0: 0, s1: 0 },
  { k0: 0xffffffff, k1: 0xffffffff, s0: 0xffffffff, s1: 0xffffffff },
  { k0: 0x243f6a88, k1: 0x85a308d3, s0: 0x13198a2e, s1: 0x03707344 },
  { k0: 12345, k1: 0x1fffff, s0: 0x80000000, s1: 7 },
];

test('the WebAssembly Philox kernel validates and runs here (Node 20 has SIMD128)', () => {
  assert.ok(WebAssembly.validate(philoxPlanesBytes()));
  assert.equal(philoxPlanesWasmAvailable(), true);
});

for (const impl of ['auto', 'js'] as const) {
  test(`philoxPlanes (${impl}) equals philox4x32 + uniformFromWords bit for bit`, () => {
    for (const s of STREAMS) {
      for (const [first, count, blocks] of [[0, 1, 2], [0, 4099, 2], [0x7ffffff0, 37, 3], [0xfffffffe, 9, 2], [1000, 13, 1], [5, 64, 5]] as const) {
        const want = reference(s, first, count, blocks);
        const got = new Float64Array(2 * blocks * count);
        philoxPlanes(s, first, count, blocks, got, count, impl);
        assert.equal(mismatches(got, want), 0, `${impl} ${JSON.stringify(s)} first ${first} count ${count} blocks ${blocks}`);
      }
    }
  });
}

test('philoxPlaneView: stride rounded up to the four lanes, every uniform in (0, 1)', () => {
  const s = STREAMS[2]!;
  const { U, stride } = philoxPlaneView(s, 3, 10, 2);
  assert.equal(stride, 12);
  const want = new Float64Array(4 * 10);
  philoxPlanesJs(s, 3, 10, 2, want, 10);
  for (let j = 0; j < 4; j++) {
    for (let r = 0; r < 10; r++) {
      const u: number = U[j * stride + r]!;
      assert.ok(u > 0 && u < 1);
      assert.equal(u, want[j * 10 + r]);
    }
  }
});
