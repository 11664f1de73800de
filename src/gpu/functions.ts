/** Helper functions added to a gpu.js instance once (gpu.addFunction), by source text. */
import type { GpuContext } from './context.js';

export interface KernelFunction {
  source: string;
  /** gpu.addFunction settings (argument and return types) */
  settings: Record<string, unknown>;
}

const added = new WeakMap<object, Set<string>>();

/** Add each function to ctx's gpu.js instance unless it was added before. */
export function addFunctions(ctx: GpuContext, functions: readonly KernelFunction[]): void {
  let set = added.get(ctx.gpu);
  if (!set) added.set(ctx.gpu, (set = new Set()));
  for (const { source, settings } of functions) {
    if (set.has(source)) continue;
    ctx.gpu.addFunction(source, settings);
    set.add(source);
  }
}
