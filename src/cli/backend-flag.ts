/** The --backend flag of sample, fit and sweep: resolve once, say which backend runs, release. */
import { releaseBackend, resolveBackend, validateBackendChoice, type BackendChoice, type ComputeBackend } from '../compute/backend-choice.js';
import { UsageError } from './args.js';
import type { Io } from './command.js';

export const BACKEND_FLAG_HELP = `  --backend B      cpu (float64), gpu (gpu.js on WebGPU; an error where no adapter answers) or
                   auto (default: a hardware GPU where WebGPU finds one, else the CPU)`;

export function backendChoice(flag: unknown): BackendChoice {
  try {
    return validateBackendChoice(flag, '--backend');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * Run `body` on the chosen backend; prints one line saying which (with the adapter's name).
 * @param cpuOnly a reason the work runs on the CPU only (then auto takes the CPU, gpu is an error)
 */
export async function withBackend<T>(flag: unknown, io: Io, body: (backend: ComputeBackend) => Promise<T> | T, cpuOnly?: string): Promise<T> {
  const choice = backendChoice(flag);
  if (cpuOnly && choice === 'gpu') throw new UsageError(`--backend gpu: ${cpuOnly}; use --backend cpu`);
  const backend: ComputeBackend = cpuOnly ? { kind: 'cpu', note: `backend: cpu (${cpuOnly})` } : await resolveBackend(choice);
  io.err(`${backend.note}\n`);
  try {
    return await body(backend);
  } finally {
    releaseBackend(backend);
  }
}
