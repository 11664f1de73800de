/**
 * The GPU sampler: draws X, Z and Y of many replicates at once, from the same counter-based
 * streams as the CPU sampler (sampling/sample.ts): replicate j uses rngs[j].derive(SAMPLE_TAG), and
 * point r reads Philox blocks (r, b) of it, in the layout of rng/stream-layout.ts. Words are bit-identical to the CPU's; uniforms are
 * those words rounded to f32, so X and Y agree with the CPU to f32 precision and Z agrees except
 * where f32 rounding flips a comparison of u with the cumulative gate weights.
 * The sample stays on the GPU (for the batched EM) and can be read back.
 */
import type { Dataset } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { modelGate } from '../models/model-gate.js';
import type { Model } from '../models/types.js';
import type { Rng } from '../rng/rng.js';
import { SAMPLE_TAG } from '../rng/stream-layout.js';
import { covarianceFactor } from '../sampling/input.js';
import { gateKernelSpec, type GpuBatchData } from './batched-em.js';
import { bufferBudget, type GpuBuffer, type GpuContext } from './context.js';
import { addFunctions } from './functions.js';
import { gateFunctions, gateParamCount, sampleInputSource, sampleLabelSource, sampleResponseSource, PHILOX_FUNCTIONS, type SamplerInput } from './source.js';

/** A batch of samples on the GPU: X and Y per coordinate as [D][n] (GpuBatchData), and Z. */
export interface GpuSample extends GpuBatchData {
  Z: GpuBuffer;
}

/** The 16-bit halves of each replicate's sampling-stream key (k0, k1, s0, s1), 8 per replicate. */
export function streamKeyHalves(rngs: readonly Rng[]): Float32Array {
  const keys = new Float32Array(8 * rngs.length);
  rngs.forEach((rng, j) => {
    const s = rng.derive(SAMPLE_TAG);
    [s.k0, s.k1, s.s0, s.s1].forEach((word, t) => {
      keys[8 * j + 2 * t] = word & 0xffff;
      keys[8 * j + 2 * t + 1] = word >>> 16;
    });
  });
  return keys;
}

function samplerInput(model: Model): SamplerInput {
  const input = model.input;
  if (input.type === 'normal') {
    // the CPU sampler's factor (sampling/input.ts), as rows for the kernel source
    const d = input.dim;
    const flat = covarianceFactor(input.cov, 'input.cov');
    return { type: 'normal', mean: input.mean, L: Array.from({ length: d }, (_, p) => Array.from(flat.subarray(p * d, (p + 1) * d))), dim: d };
  }
  return input;
}

/**
 * Draw samples of size n for each replicate rng, on the GPU.
 * @returns the sample resident on the GPU (pass it to the batched EM, read it with readSamples)
 */
export async function sampleOnGpu(ctx: GpuContext, model: Model, n: number, rngs: readonly Rng[]): Promise<GpuSample> {
  const D = rngs.length;
  if (D < 1) throw new ConfigError('replicates: none given; need at least one Rng');
  if (4 * D * n > ctx.maxBufferBytes) {
    throw new ConfigError(
      `replicates x n = ${D} x ${n}: a GPU sample needs ${4 * D * n} bytes per coordinate; this GPU allows ${ctx.maxBufferBytes} per buffer; sample at most ${maxReplicates(ctx, n)} replicates at a time`,
    );
  }
  const d = model.input.dim;
  const k = model.experts.length;
  const { gate, theta } = modelGate(model);
  const spec = gateKernelSpec(gate);
  const input = samplerInput(model);
  addFunctions(ctx, [...PHILOX_FUNCTIONS, ...gateFunctions(spec)]);
  const keys = streamKeyHalves(rngs);
  const settings = { immutable: true };
  const X: GpuBuffer[] = [];
  for (let p = 0; p < d; p++) {
    const kernel = ctx.gpu.createKernel(sampleInputSource(input, p, n), settings).setOutput([n, D]).setPipeline(true);
    X.push((await kernel(keys)) as GpuBuffer);
    kernel.destroy?.();
  }
  const P = gateParamCount(spec);
  const gateMeta = new Float32Array(P + 1);
  gateMeta.set(theta.subarray(0, P));
  const tau = (model.gate as { tau?: number }).tau ?? 1;
  gateMeta[P] = 1 / tau;
  const labels = ctx.gpu.createKernel(sampleLabelSource(spec, input), settings).setOutput([n, D]).setPipeline(true);
  const Z = (await labels(...X, keys, gateMeta)) as GpuBuffer;
  labels.destroy?.();
  const expertMeta = new Float32Array(k * (d + 2));
  model.experts.forEach((e, i) => {
    expertMeta.set(e.a, i * (d + 2));
    expertMeta[i * (d + 2) + d] = e.b;
    expertMeta[i * (d + 2) + d + 1] = Math.sqrt(e.nu);
  });
  const responses = ctx.gpu.createKernel(sampleResponseSource(spec, input), settings).setOutput([n, D]).setPipeline(true);
  const Y = (await responses(...X, Z, keys, expertMeta)) as GpuBuffer;
  responses.destroy?.();
  return { n, d, D, X, Y, Z };
}

/** The most replicates of size n one GPU sample may hold (one buffer per coordinate). */
export function maxReplicates(ctx: GpuContext, n: number): number {
  return Math.max(1, Math.floor(bufferBudget(ctx) / (4 * n)));
}

/** Read a GPU sample back as host datasets (values are the f32 ones, widened to f64). */
export async function readSamples(sampleBatch: GpuSample): Promise<Dataset[]> {
  const { n, d, D } = sampleBatch;
  const rows = async (buffer: GpuBuffer) => (await buffer.toArray()) as Float32Array[];
  const Xs = await Promise.all(sampleBatch.X.map((x) => rows(x as GpuBuffer)));
  const Ys = await rows(sampleBatch.Y as GpuBuffer);
  const Zs = await rows(sampleBatch.Z);
  return Array.from({ length: D }, (_, j) => {
    const X = new Float64Array(n * d);
    for (let p = 0; p < d; p++) {
      const col = Xs[p]![j]!;
      for (let r = 0; r < n; r++) X[r * d + p] = col[r]!;
    }
    return { n, d, X, Y: Float64Array.from(Ys[j]!), Z: Int32Array.from(Zs[j]!) };
  });
}

/** Release a GPU sample's buffers. */
export function releaseSample(sampleBatch: GpuSample): void {
  for (const buffer of [...sampleBatch.X, sampleBatch.Y, sampleBatch.Z]) (buffer as GpuBuffer).delete();
}
