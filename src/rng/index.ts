export { Rng, validateSeed } from './rng.js';
export { philox4x32, uniformFromWords } from './philox.js';
export {
  inputWords,
  labelWord,
  pointBlocks,
  responseWord,
  SAMPLE_TAG,
  wordBlock,
  wordPair,
  LABEL_WORDS,
  RESPONSE_WORDS,
  WORDS_PER_BLOCK,
  WORDS_PER_NORMAL,
  WORDS_PER_UNIFORM,
} from './stream-layout.js';
