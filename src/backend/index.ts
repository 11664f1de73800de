export type { Backend, FitBuffers } from './types.js';
export { CPU_KERNELS, CpuBackend, defaultCpuKernels, validateCpuKernels, type CpuBackendOptions, type CpuKernels } from './cpu.js';
