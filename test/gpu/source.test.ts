/**
 * The generated kernel sources without a GPU. gpu.js kernels are JavaScript functions, so each
 * source can be run here as plain JavaScript, in float64, one thread at a time: the kernels built
 * from every registered gate's `gpu` emitters (gates/gpu-code.ts) must then give the float64 gate's
 * log-weights, Q, gradient and Hessian up to float64 rounding (the gelu activation: up to its erfc
 * approximation, relative 1.2e-7). The f32 behaviour on a device is test/gpu/em.test.ts and
 * test/conformance/gates.test.ts; this checks the emitted formulas everywhere, GPU or not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGate, type Gate } from '../../src/gates/index.js';
import { gateKernelSpec } from '../../src/gpu/batched-em.js';
import { gateFunctions, gatePassSource, gatePassTable, logWeightsSource, metaLayout, type GateKernelSpec } from '../../src/gpu/source.js';
import { Rng } from '../../src/rng/rng.js';
import { registryExamples, type GateExampleCase } from '../helpers.js';

const k = 3;
const n = 300;

type Example = GateExampleCase;
const EXAMPLES = registryExamples(k);

type Kernel = (this: { thread: { x: number; y: number; z: number } }, ...args: unknown[]) => number;

/** The kernel source as a JavaScript function, with the gate's helper functions in scope. */
function compile(source: string, spec: GateKernelSpec): Kernel {
  const helpers = gateFunctions(spec)
    .map((f) => f.source)
    .join('\n');
  return new Function(`${helpers}\nreturn ${source};`)() as Kernel;
}

/** Run every thread of a kernel with output [X, Y, Z] (Z = 1 for 2-d outputs): out[z][y][x]. */
function run(kernel: Kernel, output: [number, number, number], args: unknown[]): number[][][] {
  const [X, Y, Z] = output;
  return Array.from({ length: Z }, (_, z) => Array.from({ length: Y }, (_, y) => Array.from({ length: X }, (_, x) => kernel.call({ thread: { x, y, z } }, ...args))));
}

function setup(e: Example, d: number) {
  const gate = createGate(e.spec, k, d, { tau: e.tau });
  const rng = new Rng(31 + d);
  const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
  if (gate.logTauIndex >= 0) theta[gate.logTauIndex] = Math.log(0.7);
  const X = Float64Array.from({ length: n * d }, () => -1 + 2 * rng.uniform());
  const spec = gateKernelSpec(gate);
  const tau = gate.logTauIndex >= 0 ? Math.exp(theta[gate.logTauIndex]!) : ((e.spec as { tau?: number }).tau ?? 1);
  // one fit: [active, data index, 1/tau, theta], float64 here (the device rounds it to f32)
  const layout = metaLayout(spec, 1);
  const meta = new Float64Array(layout.tabG + gatePassTable(spec).length);
  meta.set([1, 0, 1 / tau, ...theta]);
  meta.set(gatePassTable(spec), layout.tabG);
  // per-coordinate inputs [D = 1][n]
  const Xp = Array.from({ length: d }, (_, p) => [Float64Array.from({ length: n }, (_, r) => X[r * d + p]!)]);
  return { gate, theta, X, spec, meta, Xp };
}

/** Responsibilities positive exactly where the gate keeps an expert (rows sum to 1). */
function responsibilities(gate: Gate, theta: Float64Array, X: Float64Array): { R: Float64Array; G: Float64Array } {
  const G = new Float64Array(n * k);
  gate.weights(theta, X, n, G);
  const rng = new Rng(5);
  const R = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += R[r * k + i] = G[r * k + i]! > 0 ? rng.uniform() + 0.05 : 0;
    for (let i = 0; i < k; i++) R[r * k + i] = R[r * k + i]! / s;
  }
  return { R, G };
}

const tolerance = (e: Example) => (e.spec.type === 'activation' && e.spec.activation === 'gelu' ? 1e-6 : 1e-11);

test('every registered gate has GPU code, and every generated kernel source parses', () => {
  for (const e of EXAMPLES) {
    for (const d of [1, 2]) {
      const { spec } = setup(e, d);
      compile(logWeightsSource(spec, 2), spec);
      compile(gatePassSource(spec, n, 2), spec);
    }
  }
});

for (const e of EXAMPLES) {
  for (const d of [1, 2]) {
    test(`generated kernels in float64, ${e.name}, d = ${d}: the gate's log-weights, Q, gradient and Hessian`, () => {
      const { gate, theta, X, spec, meta, Xp } = setup(e, d);
      const tol = tolerance(e);
      // log-weights, output [k, n, F = 1]
      const LG = run(compile(logWeightsSource(spec, 1), spec), [k, n, 1], [...Xp, meta]);
      const cpu = new Float64Array(n * k);
      gate.logWeights(theta, X, n, cpu);
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < k; i++) {
          const lg = LG[0]![r]![i]!;
          if (lg < -99999) assert.equal(cpu[r * k + i], -Infinity, `row ${r}, expert ${i} dropped by the kernel only`);
          else assert.ok(Math.abs(lg - cpu[r * k + i]!) <= tol * (1 + Math.abs(cpu[r * k + i]!)), `row ${r}, expert ${i}: kernel ${lg} vs gate ${cpu[r * k + i]}`);
        }
      }
      // the gate pass, output [S C, F = 1]: chunk partials of Q, the count of R > 0 at G = 0, grad, H
      const { R, G } = responsibilities(gate, theta, X);
      const R3 = [Array.from({ length: n }, (_, r) => Array.from(R.subarray(r * k, (r + 1) * k)))];
      const S = gatePassTable(spec).length / 3;
      const C = Math.ceil(n / 256);
      const rows = run(compile(gatePassSource(spec, n, 1), spec), [S * C, 1, 1], [...Xp, R3, LG, meta])[0]![0]!;
      const sums = Array.from({ length: S }, (_, s) => rows.slice(s * C, (s + 1) * C).reduce((a, b) => a + b, 0));
      const P = gate.nParams;
      const grad = new Float64Array(P);
      const H = new Float64Array(P * P);
      const Q = gate.objective(theta, X, n, R, grad, null);
      gate.hessian!(theta, X, n, G, H, R);
      assert.equal(sums[1], 0, 'no responsibility on a dropped expert');
      assert.ok(Math.abs(sums[0]! - Q) <= tol * n * (1 + Math.abs(Q / n)), `Q: kernel ${sums[0]} vs gate ${Q}`);
      // sums of n terms of size up to about 10 (|x| <= 1, theta standard normal): float64 rounding,
      // or gelu's erfc, relative to that
      const scale = n * 10;
      for (let a = 0; a < P; a++) assert.ok(Math.abs(sums[2 + a]! - grad[a]!) <= tol * scale, `dQ/dtheta[${a}]: kernel ${sums[2 + a]} vs gate ${grad[a]}`);
      let t = 2 + P;
      for (let a = 0; a < P; a++) {
        for (let b = a; b < P; b++, t++) {
          assert.ok(Math.abs(sums[t]! - H[a * P + b]!) <= tol * scale, `d2Q/dtheta[${a}]dtheta[${b}]: kernel ${sums[t]} vs gate ${H[a * P + b]}`);
        }
      }
    });
  }
}

test('a gate code that keeps K < k experts must say how it ranks them', () => {
  const spec = gateKernelSpec(createGate({ type: 'topk', K: 1, rankBy: 'slope' }, 2, 1));
  const { rank: _rank, ...code } = spec.code;
  assert.throws(() => logWeightsSource({ ...spec, code }, 1), /K = 1 < k = 2 needs a ranking score/);
});
