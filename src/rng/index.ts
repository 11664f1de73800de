export { Rng, validateSeed } from './rng.js';
export { philox4x32, uniformFromWords } from './philox.js';
