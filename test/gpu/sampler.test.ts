/**
 * The GPU sampler against the CPU sampler (the reference): the same Philox words, Z equal except
 * where f32 rounding flips a comparison, X and Y equal to f32 precision.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseModel, Rng, sample } from '../../src/index.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { addFunctions } from '../../src/gpu/functions.js';
import { readSamples, releaseSample, sampleOnGpu, streamKeyHalves } from '../../src/gpu/sampler.js';
import { philoxWordsSource, PHILOX_FUNCTIONS } from '../../src/gpu/source.js';
import { philox4x32 } from '../../src/rng/philox.js';
import { SAMPLE_TAG } from '../../src/sampling/sample.js';
import type { Model } from '../../src/models/types.js';
import { withGpu } from './helpers.js';

test('GPU Philox4x32-10 words are bit-identical to the CPU reference', async (t) => {
  await withGpu(t, async (ctx: GpuContext) => {
    addFunctions(ctx, PHILOX_FUNCTIONS);
    const n = 600;
    const blocks = 2;
    const kernel = ctx.gpu.createKernel(philoxWordsSource(), {}).setOutput([4 * blocks, n, 2]);
    for (const seed of [0, 12345, 2 ** 53 - 1]) {
      const rng = new Rng(seed);
      const out = (await kernel(streamKeyHalves([rng]))) as Float32Array[][];
      const s = rng.derive(SAMPLE_TAG);
      const block = new Uint32Array(4);
      let mismatches = 0;
      for (let r = 0; r < n; r++) {
        for (let b = 0; b < blocks; b++) {
          philox4x32(r, b, s.s0, s.s1, s.k0, s.k1, block);
          for (let w = 0; w < 4; w++) {
            const word = (out[1]![r]![4 * b + w]! * 65536 + out[0]![r]![4 * b + w]!) >>> 0;
            if (word !== block[w]) mismatches++;
          }
        }
      }
      assert.equal(mismatches, 0, `seed ${seed}`);
    }
    kernel.destroy?.();
  });
});

const MODELS: Record<string, Model> = {
  'softmax, uniform input': parseModel({
    gate: { type: 'softmax' },
    experts: [
      { beta0: -8, beta1: [25], a: [-20], b: 15, nu: 0.09 },
      { beta0: 0, beta1: [0], a: [20], b: -5, nu: 0.16 },
    ],
    input: { type: 'uniform', low: 0, high: 1, dim: 1 },
  }),
  'top-1, normal input in 2-d': parseModel({
    gate: { type: 'topk', K: 1 },
    experts: [
      { beta0: -1, beta1: [2, 1], a: [-2, 1], b: 1.5, nu: 0.09 },
      { beta0: 0, beta1: [0, 2], a: [2, 3], b: -0.5, nu: 0.16 },
      { beta0: 1, beta1: [-2, 0], a: [1, -3], b: 1, nu: 0.5 },
    ],
    input: { type: 'normal', mean: [0.5, 0], cov: [[1, 0.3], [0.3, 2]] },
  }),
  'temperature, grid input': parseModel({
    gate: { type: 'temperature', tau: 0.5 },
    experts: [
      { beta0: 1, beta1: [-3], a: [1], b: 0, nu: 0.2 },
      { beta0: 0, beta1: [3], a: [-1], b: 1, nu: 0.1 },
    ],
    input: { type: 'grid', low: -1, high: 1, dim: 1 },
  }),
  'activation (gelu), uniform input': parseModel({
    gate: { type: 'activation', activation: 'gelu', tau: 1 },
    experts: [
      { beta0: 0.5, beta1: [3], a: [2], b: 0, nu: 0.1 },
      { beta0: 0, beta1: [-2], a: [-2], b: 1, nu: 0.2 },
      { beta0: 0, beta1: [0], a: [0], b: -1, nu: 0.3 },
    ],
    input: { type: 'uniform', low: -2, high: 2, dim: 1 },
  }),
  'normalised sigmoid, uniform input in 2-d': parseModel({
    gate: { type: 'sigmoid' },
    experts: [
      { beta0: 1, beta1: [-3, 1], a: [2, 0], b: 0, nu: 0.1 },
      { beta0: -0.5, beta1: [2, -1], a: [-2, 1], b: 1, nu: 0.2 },
      { beta0: 0, beta1: [0.5, 2], a: [0, -1], b: -1, nu: 0.3 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 2 },
  }),
};

for (const [name, model] of Object.entries(MODELS)) {
  test(`GPU sampler agrees with the CPU sampler: ${name}`, async (t) => {
    await withGpu(t, async (ctx) => {
      const n = 4000;
      const rngs = [new Rng(11), new Rng(2 ** 40 + 7), new Rng(3)];
      const onGpu = await sampleOnGpu(ctx, model, n, rngs);
      const gpu = await readSamples(onGpu);
      releaseSample(onGpu);
      const second = await sampleOnGpu(ctx, model, n, [new Rng(11), new Rng(2 ** 40 + 7), new Rng(3)]);
      const again = await readSamples(second);
      releaseSample(second);
      const d = model.input.dim;
      rngs.forEach((rng, j) => {
        const cpu = sample(model, n, rng);
        const g = gpu[j]!;
        let sameZ = 0;
        for (let r = 0; r < n; r++) {
          // X: uniforms are the same 53-bit values rounded to f32 (relative 2^-24), then one f32
          // multiply-add, or for normal inputs Box-Muller in f32: WGSL allows log 3 ulp and cos an
          // absolute 2^-11 on [-pi, pi], so |dz| <= sqrt(-2 log u) 2^-11 ~ 4 * 5e-4 per normal
          for (let p = 0; p < d; p++) {
            const x = cpu.X[r * d + p]!;
            const tol = model.input.type === 'normal' ? 4e-3 * (1 + Math.abs(x)) : 4 * 2 ** -24 * (1 + Math.abs(x));
            assert.ok(Math.abs(g.X[r * d + p]! - x) <= tol, `${name}: replicate ${j}, x[${r},${p}] ${g.X[r * d + p]} vs ${x}`);
          }
          if (g.Z![r] !== cpu.Z![r]) continue;
          sameZ++;
          // Y = a.x + b + sd eps: the X error times |a|, plus sd times the Box-Muller error above
          const e = model.experts[cpu.Z![r]!]!;
          const slope = e.a.reduce((s, a) => s + Math.abs(a), 0);
          const tolY = slope * 4e-3 * (1 + Math.abs(cpu.X[r * d]!)) + Math.sqrt(e.nu) * 4e-3 + 4 * 2 ** -24 * (1 + Math.abs(cpu.Y[r]!));
          assert.ok(Math.abs(g.Y[r]! - cpu.Y[r]!) <= tolY, `${name}: replicate ${j}, y[${r}] ${g.Y[r]} vs ${cpu.Y[r]}`);
        }
        assert.ok(sameZ / n >= 0.999, `${name}: replicate ${j}: Z equal for ${sameZ} of ${n}`);
      });
      // the same seeds give the same GPU samples, bit for bit
      assert.deepEqual(again, gpu);
    });
  });
}
