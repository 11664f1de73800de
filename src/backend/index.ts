export type { Backend } from './types.js';
export { CpuBackend } from './cpu.js';
