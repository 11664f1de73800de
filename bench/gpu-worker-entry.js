// Registers tsx so that the TypeScript worker of bench/gpu.bench.ts loads.
import { register } from 'tsx/esm/api';

register();
await import('./gpu-cpu-worker.ts');
