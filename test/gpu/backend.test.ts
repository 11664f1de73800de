/**
 * Backend choice: `auto` falls back to the CPU with a one-line note, `gpu` without an adapter is a
 * one-line error (exit 1), never a crash or a hang. A machine without an adapter is simulated by
 * pointing the Vulkan loader at no driver (VK_ICD_FILENAMES), so this runs everywhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { resolveBackend, validateBackendChoice } from '../../src/compute/backend-choice.js';
import { ConfigError } from '../../src/errors.js';
import { probeWebGpu } from '../../src/gpu/context.js';

const noDriver = { ...process.env, VK_ICD_FILENAMES: '/nonexistent-icd.json', VK_DRIVER_FILES: '/nonexistent-icd.json' };
const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, ['bin/gatelab.js', ...args], { env, encoding: 'utf8', timeout: 60000 });
const sampleArgs = ['sample', '--model', 'test/fixtures/demys.json', '--n', '5', '--seed', '3'];

test('--backend gpu where WebGPU finds no adapter: one-line error, exit 1, no hang', () => {
  const r = cli([...sampleArgs, '--backend', 'gpu'], noDriver);
  assert.equal(r.status, 1, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^error: backend "gpu": WebGPU found no adapter .*; use --backend cpu/);
  assert.equal(r.stdout, '');
});

test('--backend auto where WebGPU finds no adapter: the CPU, said in one line; the same output as --backend cpu', () => {
  const auto = cli(sampleArgs, noDriver);
  const cpu = cli([...sampleArgs, '--backend', 'cpu'], process.env);
  assert.equal(auto.status, 0, auto.stderr);
  assert.match(auto.stderr, /^backend: cpu \(auto: WebGPU found no adapter/m);
  assert.match(cpu.stderr, /^backend: cpu \(float64\)$/m);
  assert.equal(auto.stdout, cpu.stdout);
});

test('--backend: a bad value is a usage error naming the allowed values', () => {
  const r = cli([...sampleArgs, '--backend', 'tpu'], process.env);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --backend: "tpu" is not a backend; must be one of cpu, gpu, auto$/m);
  assert.throws(() => validateBackendChoice('GPU'), ConfigError);
  assert.equal(validateBackendChoice(undefined), 'auto');
});

test('auto takes a hardware adapter and passes over a software one (lavapipe)', async (t) => {
  const probe = await probeWebGpu();
  if (!probe.adapterName) {
    t.skip(`no WebGPU adapter: ${probe.reason}`);
    return;
  }
  const backend = await resolveBackend('auto');
  assert.equal(backend.kind, probe.software ? 'cpu' : 'gpu', backend.note);
  if (backend.kind === 'gpu') backend.ctx.destroy();
  assert.ok(backend.note.includes(probe.adapterName), backend.note);
});

test('the GPU backend refuses a plug-in gate it has no kernels for, saying so', async () => {
  const { gateKernelSpec } = await import('../../src/gpu/batched-em.js');
  const { SoftmaxGate } = await import('../../src/gates/softmax.js');
  const plugin = { type: 'custom', k: 2, d: 1, nParams: 4, logTauIndex: -1 } as unknown as import('../../src/gates/types.js').Gate;
  assert.throws(() => gateKernelSpec(plugin), (e: Error) => e instanceof ConfigError && /gate type "custom" has no GPU kernels .*use --backend cpu/.test(e.message));
  assert.equal(gateKernelSpec(new SoftmaxGate(2, 1)).type, 'softmax');
  // a registered gate whose definition has no `gpu` member is refused the same way
  const { gateDefinition } = await import('../../src/gates/registry.js');
  const definition = gateDefinition('softmax') as { gpu?: unknown };
  const gpu = definition.gpu;
  try {
    delete definition.gpu;
    assert.throws(() => gateKernelSpec(new SoftmaxGate(2, 1)), (e: Error) => e instanceof ConfigError && /gate type "softmax" has no GPU kernels .*use --backend cpu/.test(e.message));
  } finally {
    definition.gpu = gpu;
  }
});
