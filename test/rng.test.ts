import { test } from 'node:test';
import assert from 'node:assert/strict';
import { philox4x32, Rng } from '../src/rng/index.js';

const hex = (w: Uint32Array) => Array.from(w, (x) => x.toString(16).padStart(8, '0')).join(' ');

test('philox4x32 reproduces the Random123 known-answer vectors (10 rounds)', () => {
  const out = new Uint32Array(4);
  philox4x32(0, 0, 0, 0, 0, 0, out);
  assert.equal(hex(out), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
  assert.equal(hex(out), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
  assert.equal(hex(out), 'd16cfe09 94fdcceb 5001e420 24126ea1');
});

test('Rng(seed) gives the same stream for the same seed and a different one for another seed', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 10 }, () => a.uniform());
  const xb = Array.from({ length: 10 }, () => b.uniform());
  const xc = Array.from({ length: 10 }, () => c.uniform());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

test('Rng.derive(tag) is deterministic and gives distinct streams per tag', () => {
  const root = new Rng(7);
  const s1 = root.derive(1).uniform(), s1b = new Rng(7).derive(1).uniform(), s2 = root.derive(2).uniform();
  assert.equal(s1, s1b);
  assert.notEqual(s1, s2);
});

test('Rng.uniform() has mean 1/2 and variance 1/12; normal() has mean 0 and variance 1', () => {
  const rng = new Rng(2024);
  const n = 200000;
  let s = 0, ss = 0, zs = 0, zss = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u > 0 && u < 1);
    s += u; ss += u * u;
    const z = rng.normal();
    zs += z; zss += z * z;
  }
  // 5 standard errors: sd(u) = 0.2887, sd(u^2 mean) ~ 0.298; sd(z) = 1, sd(z^2) = sqrt(2)
  assert.ok(Math.abs(s / n - 0.5) < 5 * 0.2887 / Math.sqrt(n));
  assert.ok(Math.abs(ss / n - 1 / 3) < 5 * 0.298 / Math.sqrt(n));
  assert.ok(Math.abs(zs / n) < 5 / Math.sqrt(n));
  assert.ok(Math.abs(zss / n - 1) < 5 * Math.SQRT2 / Math.sqrt(n));
});

test('new Rng(seed) rejects seeds that are not integers in [0, 2^53)', () => {
  assert.throws(() => new Rng(-1), /seed: -1 is not a valid seed/);
  assert.throws(() => new Rng(1.5), /seed: 1.5/);
  assert.throws(() => new Rng(NaN), /seed: NaN/);
});
