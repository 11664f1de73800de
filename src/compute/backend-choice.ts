/**
 * Which backend runs: `cpu` (the float64 reference, everywhere), `gpu` (gpu.js on WebGPU; an error
 * where no adapter answers) or `auto` (the GPU where WebGPU finds a hardware adapter, else the
 * CPU). `auto` passes over a software adapter (Mesa's lavapipe, which CI installs so that the GPU
 * path is tested): it runs the same kernels on the CPU, slower than the CPU backend and in f32;
 * `--backend gpu` still uses it.
 * The choice is made once, here; nothing above the backend branches on it except to pass it on.
 * It lives in compute/, above both engines (fitting/ on the CPU kernels of backend/, and gpu/),
 * because the GPU engine reuses fitting's state and rules: neither engine imports the choice.
 */
import { ConfigError, show } from '../errors.js';
import { createGate, type GateSpec } from '../gates/index.js';
import { gateKernelSpec } from '../gpu/batched-em.js';
import { openGpu, probeWebGpuQuietly, type GpuContext } from '../gpu/context.js';

export type BackendChoice = 'cpu' | 'gpu' | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['cpu', 'gpu', 'auto'];

/** A resolved backend: the CPU, or an open GPU context. */
export type ComputeBackend = { kind: 'cpu'; note: string } | { kind: 'gpu'; note: string; ctx: GpuContext };

export function validateBackendChoice(v: unknown, name = 'backend'): BackendChoice {
  if (v === undefined) return 'auto';
  if (typeof v !== 'string' || !(BACKEND_CHOICES as readonly string[]).includes(v)) {
    throw new ConfigError(`${name}: ${show(v)} is not a backend; must be one of ${BACKEND_CHOICES.join(', ')}`);
  }
  return v as BackendChoice;
}

/**
 * Resolve a choice. `note` is the one line to show a user, e.g. "backend: gpu (NVIDIA H100)" or
 * "backend: cpu (auto: WebGPU found no adapter ...)".
 * @throws BackendUnavailableError for `gpu` where no adapter answers
 */
export async function resolveBackend(choice: BackendChoice = 'auto'): Promise<ComputeBackend> {
  if (choice === 'cpu') return { kind: 'cpu', note: 'backend: cpu (float64)' };
  if (choice === 'auto') {
    // probed in a child process: where the answer is the CPU, WebGPU never loads here, so none
    // of Dawn's native warnings reach the terminal
    const probe = await probeWebGpuQuietly();
    if (!probe.adapterName) return { kind: 'cpu', note: `backend: cpu (auto: ${probe.reason})` };
    if (probe.software) return { kind: 'cpu', note: `backend: cpu (auto: the WebGPU adapter is a software one, ${probe.adapterName}; --backend gpu uses it)` };
  }
  const ctx = await openGpu();
  return { kind: 'gpu', note: `backend: gpu (${ctx.adapterName})`, ctx };
}

/** Release a resolved backend (the GPU device), so that the process can exit. */
export function releaseBackend(backend: ComputeBackend): void {
  if (backend.kind === 'gpu') backend.ctx.destroy();
}

/**
 * Why a fit with this gate (and stopping rule) runs on the CPU only, or undefined when the GPU
 * backend has kernels for it (gpu/batched-em.ts gateKernelSpec decides) and can certify its fits. For `auto` (take the CPU) and `gpu` (refuse).
 * @example cpuOnlyGate({ type: 'softmax' }, 2, 1) // => undefined
 */
export function cpuOnlyGate(spec: GateSpec, k: number, d: number, stop: 'score' | 'relative' = 'score'): string | undefined {
  let gate;
  try {
    gate = createGate(spec, k, d);
    gateKernelSpec(gate);
  } catch {
    return `the ${spec.type} gate has no GPU kernels`;
  }
  // at a selection tie f32 cannot resolve, the float64 certificate need not fall below scoreTol
  if (gate.selective && stop === 'score') return `the score rule under a selective ${spec.type} gate needs float64 selections (or set stop "relative" for the GPU)`;
  return undefined;
}
