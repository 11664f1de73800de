export { sample, sampleChunks, sampleRange, samplerPaths, SAMPLE_TAG } from './sample.js';
export { covarianceFactor, drawInput, inputSampler, sampleInputs, type InputSampler, type VariateSource } from './input.js';
