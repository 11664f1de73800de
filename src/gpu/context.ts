/**
 * Opening WebGPU for gpu.js in Node. gpu.js finds WebGPU through `navigator.gpu`; in Node the npm
 * package `webgpu` (Dawn) provides it. Loaded lazily, so the CPU path never loads the 130 MB
 * native module. On a machine without a Vulkan driver `requestAdapter()` answers null: then the
 * GPU backend is unavailable and `auto` takes the CPU (../../shared/toolchain.md).
 */
import { GatelabError } from '../errors.js';

/** The GPU backend was asked for and cannot run here (no adapter, or WebGPU failed to load). */
export class BackendUnavailableError extends GatelabError {}

/** A gpu.js instance in webgpu mode on one adapter. */
export interface GpuContext {
  /** the gpu.js GPU instance (mode 'webgpu') */
  readonly gpu: GpuJs;
  /** the adapter's name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (mesa)" */
  readonly adapterName: string;
  /** the largest storage buffer one kernel argument or output may have, in bytes */
  readonly maxBufferBytes: number;
  /** Release the device; the process can exit afterwards. */
  destroy(): void;
}

/** The part of gpu.js's API gatelab uses (gpu.js ships no TypeScript types for webgpu mode). */
export interface GpuJs {
  createKernel(source: string, settings: Record<string, unknown>): GpuKernel;
  addFunction(source: string | ((...args: number[]) => number), settings: Record<string, unknown>): void;
  destroy(): void;
}
export interface GpuKernel {
  (...args: unknown[]): Promise<unknown>;
  setOutput(output: number[]): GpuKernel;
  setPipeline(flag: boolean): GpuKernel;
  destroy?(): void;
}
/** A GPU-resident array (a kernel's output with pipeline on). */
export interface GpuBuffer {
  toArray(): Promise<unknown>;
  delete(): void;
}

const ADAPTER_TIMEOUT_MS = 20000;

/** The bytes one batch's largest buffer may use: 90% of the device's limit, a margin for alignment. */
export function bufferBudget(ctx: GpuContext): number {
  return 0.9 * ctx.maxBufferBytes;
}

interface Probe {
  adapterName: string | null;
  /** a software adapter (Mesa lavapipe/llvmpipe, SwiftShader): runs the GPU path on the CPU */
  software: boolean;
  maxBufferBytes: number;
  reason: string;
}
let probed: Promise<Probe> | undefined;

function adapterLabel(info: Record<string, unknown> | undefined): string {
  if (!info) return 'unknown adapter';
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const name = text(info.description) ?? text(info.device) ?? 'unknown adapter';
  const vendor = text(info.vendor);
  return vendor && !name.toLowerCase().includes(vendor.toLowerCase()) ? `${name} (${vendor})` : name;
}

async function probeOnce(): Promise<Probe> {
  let webgpu: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    return { adapterName: null, software: false, maxBufferBytes: 0, reason: `the npm package "webgpu" did not load (${(e as Error).message.split('\n')[0]})` };
  }
  Object.assign(globalThis, webgpu.globals);
  const gpuApi = webgpu.create([]) as {
    requestAdapter(): Promise<{ info?: Record<string, unknown>; limits?: Record<string, number> } | null>;
  };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: gpuApi }, configurable: true, writable: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ADAPTER_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const adapter = await Promise.race([gpuApi.requestAdapter(), timeout]);
    if (adapter === 'timeout') return { adapterName: null, software: false, maxBufferBytes: 0, reason: `WebGPU did not answer within ${ADAPTER_TIMEOUT_MS / 1000} s` };
    if (!adapter) return { adapterName: null, software: false, maxBufferBytes: 0, reason: 'WebGPU found no adapter (no GPU, and no Vulkan driver such as Mesa lavapipe)' };
    const info = adapter.info ?? {};
    const name = adapterLabel(info);
    const software = info.architecture === 'software' || info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(name);
    // gpu.js asks the device for the adapter's maxStorageBufferBindingSize (its context.js)
    const limits = adapter.limits ?? {};
    const maxBufferBytes = Math.min(limits.maxStorageBufferBindingSize ?? 134217728, limits.maxBufferSize ?? Infinity);
    return { adapterName: name, software, maxBufferBytes, reason: '' };
  } catch (e) {
    return { adapterName: null, software: false, maxBufferBytes: 0, reason: `WebGPU failed: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether a WebGPU adapter is there, and its name (probed once per process).
 * @returns `{ adapterName }` or `{ adapterName: null, reason }`
 */
export function probeWebGpu(): Promise<Probe> {
  probed ??= probeOnce();
  return probed;
}

/**
 * Open gpu.js in webgpu mode. Throws BackendUnavailableError (one line, with the reason) where no
 * adapter answers; never hangs (the adapter request has a timeout).
 */
export async function openGpu(): Promise<GpuContext> {
  const probe = await probeWebGpu();
  if (!probe.adapterName) throw new BackendUnavailableError(`backend "gpu": ${probe.reason}; use --backend cpu (or auto)`);
  const { GPU } = (await import('gpu.js')) as unknown as { GPU: new (settings: Record<string, unknown>) => GpuJs };
  const gpu = new GPU({ mode: 'webgpu' });
  return {
    gpu,
    adapterName: probe.adapterName,
    maxBufferBytes: probe.maxBufferBytes,
    destroy: () => gpu.destroy(),
  };
}
