export { sample, SAMPLE_TAG } from './sample.js';
