export { sample, sampleChunks, sampleRange, SAMPLE_TAG } from './sample.js';
export { sampleMany, releaseSampleBatch, type SampleBatch } from './batch.js';
