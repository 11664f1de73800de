/**
 * Samples of many replicates at once, on the chosen backend. Replicate j is exactly
 * `sample(model, n, rngs[j])` on the CPU; on the GPU it comes from the same Philox streams (see
 * gpu/sampler.ts: identical words, values to f32 precision).
 */
import type { ComputeBackend } from './backend-choice.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../models/types.js';
import type { Rng } from '../rng/rng.js';
import { maxReplicates, readSamples, releaseSample, sampleOnGpu, type GpuSample } from '../gpu/sampler.js';
import { sample } from '../sampling/sample.js';

export interface SampleBatch {
  datasets: Dataset[];
  /** the sample kept on the GPU (GPU backend with keepOnGpu), for fitMany */
  gpu?: GpuSample;
}

/**
 * Draw one sample of size n per replicate generator.
 * @param keepOnGpu keep the GPU copy for the fitter (release it with releaseSampleBatch)
 */
export async function sampleMany(model: Model, n: number, rngs: readonly Rng[], backend: ComputeBackend, keepOnGpu = false): Promise<SampleBatch> {
  if (backend.kind === 'cpu') return { datasets: rngs.map((rng) => sample(model, n, rng)) };
  if (keepOnGpu) {
    const onGpu = await sampleOnGpu(backend.ctx, model, n, rngs); // a clear error if it cannot fit
    return { datasets: await readSamples(onGpu), gpu: onGpu };
  }
  // read back in groups that fit the device's buffers
  const datasets: Dataset[] = [];
  const group = maxReplicates(backend.ctx, n);
  for (let first = 0; first < rngs.length; first += group) {
    const onGpu = await sampleOnGpu(backend.ctx, model, n, rngs.slice(first, first + group));
    try {
      datasets.push(...(await readSamples(onGpu)));
    } finally {
      releaseSample(onGpu);
    }
  }
  return { datasets };
}

export function releaseSampleBatch(batch: SampleBatch): void {
  if (batch.gpu) releaseSample(batch.gpu);
}
