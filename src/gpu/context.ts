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

/** A probe's answer from the adapter's info and limits (in this process or in probeQuietly's child). */
function probeFromAdapter(info: Record<string, unknown>, limits: Record<string, number | undefined>): Probe {
  const name = adapterLabel(info);
  const software = info.architecture === 'software' || info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(name);
  // gpu.js asks the device for the adapter's maxStorageBufferBindingSize (its context.js)
  const maxBufferBytes = Math.min(limits.maxStorageBufferBindingSize ?? 134217728, limits.maxBufferSize ?? Infinity);
  return { adapterName: name, software, maxBufferBytes, reason: '' };
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
    return probeFromAdapter(adapter.info ?? {}, adapter.limits ?? {});
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
 * The probe run in a child process, for `auto`: Dawn writes its warnings ("Couldn't load
 * Vulkan", "maxDynamic... artificially reduced") to the process's own stderr from native code,
 * where this process cannot silence them; in a child they are discarded, so a run that ends up
 * on the CPU prints nothing of WebGPU. It costs about 30 ms. Where no child can be started or the
 * package cannot be located (a bundle), it falls back to the probe in this process.
 */
const CHILD_PROBE = `
const fields = ['vendor', 'architecture', 'device', 'description', 'isFallbackAdapter'];
let answer;
try {
  const webgpu = await import(process.argv[1]);
  Object.assign(globalThis, webgpu.globals);
  const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ timeout: true })); process.exit(0); }, Number(process.argv[2]));
  const adapter = await webgpu.create([]).requestAdapter();
  clearTimeout(timer);
  if (!adapter) answer = { adapter: null };
  else {
    const info = {};
    for (const f of fields) if (adapter.info && adapter.info[f] !== undefined) info[f] = adapter.info[f];
    const limits = { maxStorageBufferBindingSize: adapter.limits?.maxStorageBufferBindingSize, maxBufferSize: adapter.limits?.maxBufferSize };
    answer = { adapter: { info, limits } };
  }
} catch (e) {
  answer = { error: String((e && e.message) || e).split('\\n')[0] };
}
process.stdout.write(JSON.stringify(answer));
process.exit(0);
`;

let quietlyProbed: Promise<Probe> | undefined;

async function probeInChild(): Promise<Probe | undefined> {
  let url: string;
  try {
    url = import.meta.resolve('webgpu');
  } catch {
    return undefined;
  }
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD_PROBE, url, String(ADAPTER_TIMEOUT_MS)],
      { timeout: ADAPTER_TIMEOUT_MS + 10000, maxBuffer: 1 << 20, env: process.env },
      (error, stdout) => {
        let answer: { adapter?: { info: Record<string, unknown>; limits: Record<string, number | undefined> } | null; timeout?: boolean; error?: string };
        try {
          answer = JSON.parse(stdout) as typeof answer;
        } catch {
          resolve(error ? { adapterName: null, software: false, maxBufferBytes: 0, reason: `the WebGPU probe failed (${error.message.split('\n')[0]})` } : undefined);
          return;
        }
        if (answer.timeout) resolve({ adapterName: null, software: false, maxBufferBytes: 0, reason: `WebGPU did not answer within ${ADAPTER_TIMEOUT_MS / 1000} s` });
        else if (answer.error !== undefined) resolve({ adapterName: null, software: false, maxBufferBytes: 0, reason: `the npm package "webgpu" did not load, or WebGPU failed (${answer.error})` });
        else if (!answer.adapter) resolve({ adapterName: null, software: false, maxBufferBytes: 0, reason: 'WebGPU found no adapter (no GPU, and no Vulkan driver such as Mesa lavapipe)' });
        else resolve(probeFromAdapter(answer.adapter.info, answer.adapter.limits));
      },
    );
  });
}

/**
 * As probeWebGpu, without loading WebGPU into this process (see CHILD_PROBE): for `auto`, which
 * loads it only when the answer is a hardware adapter (then openGpu probes here again).
 */
export function probeWebGpuQuietly(): Promise<Probe> {
  quietlyProbed ??= probeInChild().then((p) => p ?? probeWebGpu());
  return quietlyProbed;
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
