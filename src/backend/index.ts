export type { Backend } from './types.js';
export { CPU_KERNELS, CpuBackend, defaultCpuKernels, validateCpuKernels, type CpuBackendOptions, type CpuKernels } from './cpu.js';
