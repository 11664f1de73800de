/**
 * GPU tests run where WebGPU finds an adapter (a GPU, or Mesa's lavapipe, which .ci/run installs)
 * and skip with a message elsewhere. GATELAB_REQUIRE_GPU=1 (set by .ci/run) turns a missing adapter
 * into a failure, so that CI cannot pass by skipping them.
 */
import { after, type TestContext } from 'node:test';
import { openGpu, probeWebGpu, type GpuContext } from '../../src/gpu/context.js';

let shared: Promise<GpuContext | string> | undefined;

function sharedGpu(): Promise<GpuContext | string> {
  shared ??= (async () => {
    const probe = await probeWebGpu();
    if (!probe.adapterName) {
      if (process.env.GATELAB_REQUIRE_GPU === '1') throw new Error(`GATELAB_REQUIRE_GPU=1 but ${probe.reason}`);
      return `GPU test skipped: ${probe.reason}`;
    }
    const ctx = await openGpu();
    after(() => ctx.destroy());
    return ctx;
  })();
  return shared;
}

/** Run body with the file's GPU context, or skip the test with the reason. */
export async function withGpu(t: TestContext, body: (ctx: GpuContext) => Promise<void>): Promise<void> {
  const ctx = await sharedGpu();
  if (typeof ctx === 'string') {
    t.skip(ctx);
    return;
  }
  await body(ctx);
}
