/**
 * The f32 activations of the GPU kernels (gates/activations.ts ACTIVATION_GPU) against the float64
 * ones of the CPU (ACTIVATION_FUNCTIONS, normalCdf), on the device: every activation's sigma,
 * sigma', sigma'' (tanh, sigmoid, gelu, identity, relu), and gelu's f32 normal CDF against
 * normalCdf over [-10, 10]. Arguments are f32 values, so that only the kernel's own error is measured.
 *
 * Tolerances, in f32 ulps of 2^-24: WGSL allows exp an error of (3 + 2|x|) ulp (so the sigmoid's
 * e^-|v| carries up to 3 + 2|v| ulp, gelu's e^(-v^2/2) up to 3 + v^2), the other operations a few
 * ulp each; 16 ulp covers those. tanh is held to an absolute 16 ulp (WGSL derives its accuracy from
 * sinh/cosh, not a relative bound).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVATION_FUNCTIONS, ACTIVATION_GPU, ACTIVATIONS, normalCdf, normalPdf, type Activation } from '../../src/gates/activations.js';
import { addFunctions } from '../../src/gpu/functions.js';
import { int } from '../../src/gpu/source.js';
import { withGpu } from './helpers.js';

const ULP = 2 ** -24;

/** f32 arguments: [-10, 10] in steps of 1/64, and large ones (overflow of a naive e^-v, saturation). */
const V = Float32Array.from([
  ...Array.from({ length: 1281 }, (_, j) => (j - 640) / 64),
  ...[17, 20, 30, 50, 88, 89, 100, 1000].flatMap((v) => [v, -v]),
]);

/**
 * The float64 value of sigma, sigma', sigma'' and the size of the terms each is made of (the
 * scale of its f32 rounding): |sigma| etc. itself, except where the f32 form sums terms.
 */
function reference(a: Activation, v: number): { value: number[]; size: number[] } {
  const f = ACTIVATION_FUNCTIONS[a];
  const value = [f.value(v), f.derivative(v), f.second(v)];
  if (a === 'gelu') {
    const cdf = normalCdf(v);
    const pdf = normalPdf(v);
    return { value, size: [Math.abs(v) * cdf, cdf + Math.abs(v) * pdf, pdf * (2 + v * v)] };
  }
  if (a === 'sigmoid') {
    // sigma' = sigma(v) sigma(-v) and sigma'' = sigma' (sigma(-v) - sigma(v)) in float64, as the
    // f32 code forms them: the CPU's sigma (1 - sigma) loses digits to 1 - sigma for v > 0 (relative
    // 1e-3 at v = 30, sigma' = 0 from v = 37), where the f32 form keeps them; the difference
    // sigma(-v) - sigma(v) carries an absolute ulp
    const sp = f.value(v);
    const sm = f.value(-v);
    const ds = sp * sm;
    const dds = ds * (sm - sp);
    return { value: [sp, ds, dds], size: [sp, ds, Math.abs(dds) + 2 * ds] };
  }
  return { value, size: value.map(Math.abs) };
}

/** The allowed |GPU - CPU| at v for an output whose f32 terms have the given size. */
function tolerance(a: Activation, v: number, size: number): number {
  switch (a) {
    case 'identity':
    case 'relu':
      return 0; // exact in f32
    case 'tanh':
      return 16 * ULP * (1 + size);
    case 'sigmoid':
      // e^-|v| to (3 + 2|v|) ulp; below 2^-126 f32 may flush to 0
      return (16 + 2 * Math.min(Math.abs(v), 90)) * ULP * size + 2 ** -126;
    case 'gelu':
      // Phi to (16 + v^2) ulp of its tail (see the Phi test), e^(-v^2/2) to (3 + v^2) ulp
      return (16 + Math.min(v * v, 200)) * ULP * size + 2 ** -126;
  }
}

for (const a of ACTIVATIONS) {
  test(`GPU activation ${a}: sigma, sigma', sigma'' equal the CPU's to f32 precision, finite for |v| up to 1000`, async (t) => {
    await withGpu(t, async (ctx) => {
      const code = ACTIVATION_GPU[a];
      addFunctions(ctx, code.functions);
      const source = [
        'function(V) {',
        int('w', 'this.thread.y'),
        'let v = V[this.thread.x];',
        code.code('v', { s: 'a0', ds: 'a1', dds: 'a2' }),
        'let out = a0;',
        'if (w == 1) { out = a1; }',
        'if (w == 2) { out = a2; }',
        'return out;',
        '}',
      ].join('\n');
      const kernel = ctx.gpu.createKernel(source, {}).setOutput([V.length, 3]);
      const rows = (await kernel(V)) as Float32Array[];
      kernel.destroy?.();
      for (let j = 0; j < V.length; j++) {
        const v = V[j]!;
        const { value, size } = reference(a, v);
        for (let w = 0; w < 3; w++) {
          const gpu = rows[w]![j]!;
          assert.ok(Number.isFinite(gpu), `${a}: output ${w} at v = ${v} is ${gpu}`);
          const tol = tolerance(a, v, size[w]!);
          assert.ok(Math.abs(gpu - value[w]!) <= tol, `${a}: output ${w} at v = ${v}: GPU ${gpu} vs CPU ${value[w]} (tolerance ${tol.toExponential(2)})`);
        }
      }
    });
  });
}

test("GPU normal CDF (gelu's erfc approximation) against normalCdf on [-10, 10]: tail relative error within (16 + v^2) 2^-24", async (t) => {
  await withGpu(t, async (ctx) => {
    addFunctions(ctx, ACTIVATION_GPU.gelu.functions);
    // every 1/1024 of [-10, 10]: f32 arguments, so the error is the kernel's alone
    const X = Float32Array.from({ length: 20481 }, (_, j) => (j - 10240) / 1024);
    const kernel = ctx.gpu.createKernel('function(V) { return gatelabPhi(V[this.thread.x]); }', {}).setOutput([X.length]);
    const out = (await kernel(X)) as Float32Array;
    kernel.destroy?.();
    let worst = 0;
    for (let j = 0; j < X.length; j++) {
      const v = X[j]!;
      const cpu = normalCdf(v);
      const tail = Math.min(cpu, 1 - cpu);
      // the tail Phi(-|v|) relatively (erfcc: 1.2e-7; f32 exp of -v^2/2: up to (3 + v^2) ulp),
      // plus, for v > 0, the rounding of 1 - tail (half an ulp of 1)
      const err = Math.abs(out[j]! - cpu);
      const tol = (16 + v * v) * ULP * tail + (v > 0 ? ULP : 0);
      assert.ok(err <= tol, `Phi(${v}): GPU ${out[j]} vs CPU ${cpu} (relative to the tail ${(err / tail).toExponential(2)})`);
      if (v <= 0) worst = Math.max(worst, err / tail);
    }
    t.diagnostic(`largest relative error of the lower tail: ${worst.toExponential(2)}`);
  });
});
