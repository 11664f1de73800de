/**
 * The WebAssembly SIMD kernels (backend/wasm-estep.ts) against the float64 JavaScript reference
 * kernels (backend/estep-kernel.ts), k = 2, 3, 4 and d = 1, 2, on random inputs with extreme
 * logits (softmax weights of logits scaled by 1, 100 and 700: weights down to subnormal and exact
 * zeros), dropped experts (G = 0), rows for the underflow fallback, and an odd n (the last point
 * runs through the JS kernel).
 *
 * Tolerances, u = 2^-53. Per point the two kernels do the same operations on the same inputs
 * except exp: the vector exp is within 1.5 ulp of e^t and Math.exp within 1 ulp, so the two differ
 * by at most 2.5 ulp <= 5 u relative. Then p_i = g_i e^t (one rounding, at most u more), s = the
 * sum of k such p (k - 1 roundings), 1/s and p/s (one each): R differs by at most
 * (6 + 6 + (k - 1) + 2) u = (13 + k) u relative; we allow (16 + 2k) u for second-order terms.
 * A subnormal p carries 2.5 ulps of 2^-1074 absolute, divided by s >= 1e-280: 1e-42 absolute.
 * The WASM kernel sets an R that would be subnormal to 0 (wasm-estep.ts): < 2^-1022 absolute,
 * inside the same 1e-42; it never stores a subnormal R (but for an odd last point, which runs
 * through the JS kernel).
 * Sums over n points (L, statistics) are accumulated in another order (two lanes): recursive
 * summation errs by at most (n - 1) u sum |terms| each way, so a statistic S = sum_n R_n v_n
 * (v = z_p z_q, z_p e, e^2) may differ by (tolR + 2 n u + 3 u) sum_n R_n |v_n|; L = sum_n
 * (M_n + log s_n) by n (8 + k) u (the log s_n) + 2 n u sum_n (|log p_n| + 650) (M_n and the flushed
 * log-products, |log s_n| <= 645 where s_n >= 1e-280). Fallback rows are computed by the same
 * function from bit-identical residuals: equal exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend, defaultCpuKernels, validateCpuKernels } from '../../src/backend/index.js';
import { eStepKernel, type EStepKernel } from '../../src/backend/estep-kernel.js';
import { MAX_BYTES, tryWorkspace, wasmEStepKernel, wasmGatePass } from '../../src/backend/wasm-workspace.js';
import { createGate } from '../../src/gates/index.js';
import { newtonKernel } from '../../src/gates/linear-kernel.js';
import { ConfigError } from '../../src/errors.js';
import { expertStatsSize, packExperts } from '../../src/experts/index.js';
import { fitMoE } from '../../src/fitting/index.js';
import { Rng } from '../../src/rng/index.js';
import { sample } from '../../src/sampling/index.js';
import { DEMYS } from '../helpers.js';

const u = 2 ** -53;

function inputs(k: number, d: number, n: number, seed: number) {
  const rng = new Rng(seed);
  const X = Float64Array.from({ length: n * d }, () => 4 * rng.uniform() - 2);
  const beta = Float64Array.from({ length: k * (d + 1) }, () => rng.normal());
  const A = Float64Array.from({ length: k * d }, () => 2 * rng.normal());
  const B = Float64Array.from({ length: k }, () => rng.normal());
  const nu = Float64Array.from({ length: k }, () => 0.05 + rng.uniform());
  const C = nu.map((v) => -0.5 * (Math.log(2 * Math.PI) + Math.log(v)));
  const H = nu.map((v) => 0.5 / v);
  const Y = new Float64Array(n);
  const G = new Float64Array(n * k);
  const logits = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    const scale = [1, 100, 700][r % 3]!;
    let mx = -Infinity;
    for (let i = 0; i < k; i++) {
      let v = beta[i * (d + 1)]!;
      for (let p = 0; p < d; p++) v += beta[i * (d + 1) + 1 + p]! * X[r * d + p]!;
      logits[i] = scale * v;
      // a dropped expert (a top-K gate's zero) on every 5th row
      if (r % 5 === 1 && i === r % k) logits[i] = -Infinity;
      mx = Math.max(mx, logits[i]!);
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += G[r * k + i] = Math.exp(logits[i]! - mx);
    for (let i = 0; i < k; i++) G[r * k + i] = G[r * k + i]! / s;
    // y: near a random expert's mean, or far from all (every 11th row), where a kept expert of
    // weight ~1e-300 explains y best: the row's sum underflows and the fallback runs
    const j = Math.floor(rng.uniform() * k);
    let mean = B[j]!;
    for (let p = 0; p < d; p++) mean += A[j * d + p]! * X[r * d + p]!;
    Y[r] = r % 11 === 5 ? 1e4 * (1 + rng.uniform()) : mean + Math.sqrt(nu[j]!) * rng.normal();
    if (r % 11 === 5) {
      // the widest expert explains a far y best: give it a weight of about 1e-300
      let wide = 0;
      for (let i = 1; i < k; i++) if (nu[i]! > nu[wide]!) wide = i;
      for (let i = 0; i < k; i++) G[r * k + i] = i === wide ? 1e-300 * (0.5 + rng.uniform()) : 1 / (k - 1);
    }
  }
  return { X, Y, G, A, B, C, H, nu };
}

type Inputs = ReturnType<typeof inputs>;

function run(kernel: EStepKernel, k: number, d: number, n: number, inp: Inputs) {
  const R = new Float64Array(n * k);
  const stats = new Float64Array(k * expertStatsSize(d));
  const rows: number[] = [];
  const fallback = (row: number, residuals: Float64Array) => {
    rows.push(row);
    let mx = -Infinity;
    const v = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      v[i] = Math.log(inp.G[row * k + i]!) + inp.C[i]! - residuals[i]! * residuals[i]! * inp.H[i]!;
      if (v[i]! > mx) mx = v[i]!;
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += R[row * k + i] = Math.exp(v[i]! - mx);
    for (let i = 0; i < k; i++) R[row * k + i] = R[row * k + i]! / s;
    return mx + Math.log(s);
  };
  const L = kernel(n, inp.X, inp.Y, inp.G, inp.A, inp.B, inp.C, inp.H, R, stats, fallback);
  return { L, R, stats, rows };
}

for (const k of [2, 3, 4]) {
  for (const d of [1, 2]) {
    test(`WASM E-step kernel equals the JS reference within the exp bound (k = ${k}, d = ${d}, extreme logits, fallback rows, odd n)`, () => {
      const n = 2001;
      const inp = inputs(k, d, n, 100 * k + d);
      const js = run(eStepKernel(k, d), k, d, n, inp);
      const wasm = run(wasmEStepKernel(k, d), k, d, n, inp);
      // the fallback ran on the same rows, and there are some; exact there
      assert.ok(js.rows.length >= n / 11 - 1, `${js.rows.length} fallback rows`);
      assert.deepEqual(wasm.rows, js.rows);
      const fallbackRows = new Set(js.rows);
      const tolR = (16 + 2 * k) * u;
      let subnormalG = 0;
      let zeroG = 0;
      let subnormalR = 0;
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < k; i++) {
          const a = wasm.R[r * k + i]!;
          const b = js.R[r * k + i]!;
          if (fallbackRows.has(r)) assert.equal(a, b, `fallback row ${r}`);
          else {
            assert.ok(Math.abs(a - b) <= tolR * Math.abs(b) + 1e-42, `R[${r}, ${i}] = ${a} vs ${b}`);
            // (the odd last point runs through the JS kernel)
            if (r < n - 1) assert.ok(!(a > 0 && a < 2 ** -1022), `R[${r}, ${i}] = ${a} is subnormal`);
            if (b > 0 && b < 2 ** -1022) subnormalR++;
          }
          const g = inp.G[r * k + i]!;
          if (g === 0) zeroG++;
          else if (g < 2 ** -1022) subnormalG++;
        }
      }
      assert.ok(zeroG > n / 10 && subnormalG > 0, `inputs: ${zeroG} zero and ${subnormalG} subnormal gate weights`);
      assert.ok(subnormalR > 0, 'some reference responsibilities are subnormal (the WASM kernel\'s zeros)');
      // statistics: scale sum_n R |v| per entry, with the residuals at the current parameters
      const m = d + 1;
      const size = expertStatsSize(d);
      const scale = new Float64Array(k * size);
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < k; i++) {
          const w = js.R[r * k + i]!;
          let e = inp.Y[r]! - inp.B[i]!;
          for (let p = 0; p < d; p++) e -= inp.A[i * d + p]! * inp.X[r * d + p]!;
          const zz = (p: number) => (p < d ? inp.X[r * d + p]! : 1);
          for (let p = 0; p < m; p++) {
            for (let q = 0; q < m; q++) scale[i * size + p * m + q] = scale[i * size + p * m + q]! + w * Math.abs(zz(p) * zz(q));
            scale[i * size + m * m + p] = scale[i * size + m * m + p]! + w * Math.abs(zz(p) * e);
          }
          scale[i * size + m * m + m] = scale[i * size + m * m + m]! + w * e * e;
        }
      }
      const tolS = tolR + 2 * n * u + 3 * u;
      for (let j = 0; j < k * size; j++) {
        assert.ok(Math.abs(wasm.stats[j]! - js.stats[j]!) <= tolS * scale[j]!, `stats[${j}] = ${wasm.stats[j]} vs ${js.stats[j]} (scale ${scale[j]})`);
      }
      // L: sum_n (|log p_n| + 650) from the reference kernel row by row
      let terms = 0;
      const one = eStepKernel(k, d);
      const r1 = new Float64Array(k);
      const s1 = new Float64Array(k * size);
      for (let r = 0; r < n; r++) {
        const Ln = one(1, inp.X.subarray(r * d, r * d + d), inp.Y.subarray(r, r + 1), inp.G.subarray(r * k, r * k + k), inp.A, inp.B, inp.C, inp.H, r1, s1, (_row, res) => {
          const v = Array.from({ length: k }, (_, i) => Math.log(inp.G[r * k + i]!) + inp.C[i]! - res[i]! * res[i]! * inp.H[i]!);
          const mx = Math.max(...v);
          return mx + Math.log(v.reduce((acc, t) => acc + Math.exp(t - mx), 0));
        });
        terms += Math.abs(Ln) + 650;
      }
      const tolL = n * (8 + k) * u + 2 * n * u * terms;
      assert.ok(Math.abs(wasm.L - js.L) <= tolL, `L ${wasm.L} vs ${js.L} (tolerance ${tolL})`);
    });
  }
}

test('rows with sums near 1e-280 in a row: the log-product is flushed before it underflows (both kernels)', () => {
  // each row: expert 1 (weight ~1e-270, wide) explains y = 40 best, expert 0 (weight ~1) not at all:
  // s ~ 1e-270 >= 1e-280 takes the fast path; 50 such rows multiply to 1e-13500
  const k = 2, d = 1, n = 51;
  const X = new Float64Array(n);
  const Y = new Float64Array(n).fill(40);
  const G = new Float64Array(n * k);
  for (let r = 0; r < n; r++) G.set([1, 1e-270], r * k);
  const A = Float64Array.of(0, 0), B = Float64Array.of(0, 40);
  const nu = [1e-4, 1];
  const C = Float64Array.from(nu, (v) => -0.5 * (Math.log(2 * Math.PI) + Math.log(v)));
  const H = Float64Array.from(nu, (v) => 0.5 / v);
  // log p per row: log(1e-270) + C_1 (expert 0's term is e^-8e6 smaller)
  const expected = n * (Math.log(1e-270) + C[1]!);
  for (const kernel of [eStepKernel(k, d), wasmEStepKernel(k, d)]) {
    const L = kernel(n, X, Y, G, A, B, C, H, new Float64Array(n * k), new Float64Array(k * expertStatsSize(d)), () => {
      throw new Error('no fallback expected: s ~ 1e-270');
    });
    // n log terms of size 622 each, summed in float64: a few ulps of |expected|
    assert.ok(Math.abs(L - expected) <= 1e-12 * Math.abs(expected), `${L} vs ${expected}`);
  }
});

test('WASM kernel: X and Y are copied when other arrays come (a kernel reused across datasets)', () => {
  const k = 3, d = 1, n = 400;
  const kernel = wasmEStepKernel(k, d);
  for (const seed of [1, 2, 1]) {
    const inp = inputs(k, d, n - seed, seed); // n - seed: the layout also changes size
    const a = run(kernel, k, d, n - seed, inp);
    const b = run(eStepKernel(k, d), k, d, n - seed, inp);
    assert.ok(Math.abs(a.L - b.L) <= 1e-12 * Math.abs(b.L), `seed ${seed}: ${a.L} vs ${b.L}`);
  }
});

test('CpuBackend kernels option: default wasm (SIMD available, agreement check), js on request, typed errors otherwise', () => {
  assert.equal(defaultCpuKernels(), 'wasm');
  assert.equal(new CpuBackend().kernels, 'wasm');
  assert.equal(new CpuBackend({ kernels: 'js' }).kernels, 'js');
  assert.equal(validateCpuKernels(undefined), 'wasm');
  assert.throws(() => new CpuBackend({ kernels: 'gpu' as never }), (e: unknown) => e instanceof ConfigError && /kernels: "gpu" is not a CPU kernel set; must be one of wasm, js/.test(e.message));
  assert.throws(() => new CpuBackend(null as never), ConfigError);
  assert.throws(() => validateCpuKernels(3, 'cpu.kernels'), /cpu\.kernels: 3 is not/);
  // the backend's E-step runs the chosen kernels: js gives the JS kernel's numbers bit for bit
  const data = sample(DEMYS, 501, new Rng(3));
  const k = 2;
  const G = new Float64Array(501 * k).fill(0.5);
  const experts = packExperts(DEMYS.experts, 1);
  const none = () => {
    throw new Error('no fallback expected');
  };
  const out = (backend: CpuBackend) => {
    const R = new Float64Array(501 * k);
    const stats = new Float64Array(k * expertStatsSize(1));
    return { L: backend.eStep(data, G, experts, R, stats, none), R };
  };
  const js = out(new CpuBackend({ kernels: 'js' }));
  const wasm = out(new CpuBackend({ kernels: 'wasm' }));
  const C = experts.nu.map((v) => -0.5 * (Math.log(2 * Math.PI) + Math.log(v)));
  const H = experts.nu.map((v) => 0.5 / v);
  const R = new Float64Array(501 * k);
  const L = eStepKernel(k, 1)(501, data.X, data.Y, G, experts.a, experts.b, C, H, R, new Float64Array(k * expertStatsSize(1)), none);
  assert.equal(js.L, L);
  assert.deepEqual(js.R, R);
  assert.ok(Math.abs(wasm.L - L) <= 1e-12 * Math.abs(L));
});

test('a fit with the WASM kernels reaches the JS kernels\' maximum (DEMYS, k = 2, n = 3000)', () => {
  const data = sample(DEMYS, 3000, new Rng(7));
  const start = { type: 'nearTruth' as const, truth: DEMYS, noise: 0.1, seed: 3 };
  const opts = { k: 2, gate: { type: 'softmax' as const } };
  const js = fitMoE(data, opts, start, new CpuBackend({ kernels: 'js' }));
  const wasm = fitMoE(data, opts, start, new CpuBackend({ kernels: 'wasm' }));
  assert.equal(js.fit.stopReason, 'converged');
  assert.equal(wasm.fit.stopReason, 'converged');
  // both stop with the score statistic T <= scoreTol = 1e-3 nats (an estimate of the remaining
  // gain) at the same maximum: their L differ by at most about 2 scoreTol
  assert.ok(Math.abs(js.fit.loglik - wasm.fit.loglik) <= 2e-3, `${js.fit.loglik} vs ${wasm.fit.loglik}`);
});

/**
 * The WASM gate pass (backend/wasm-gate.ts) against the JS Newton kernel (gates/linear-kernel.ts,
 * K = k). Per point the same operations except exp: G = e^(u - max)/S differs by < (16 + 2k) u
 * relative as R above (plus 2.5 subnormal ulps absolute, S >= 1). linear = sum R u: identical
 * terms, another summation order: 2 n u sum |R u|. lseSum = sum (max + log S): n (8 + k) u +
 * 2 n u sum (|max| + log k + 650). grad = scale sum (R - G) z: |scale| (tolG sum G |z| + 2 n u
 * sum |R - G| |z| + u). H = -scale^2 sum c z z' with c = G_i (delta_ij - G_j): c differs by at
 * most (3 tolG + 2u) G_i (1 + G_j) absolute (no relative bound: G_i - G_i^2 cancels near 1), so
 * scale^2 ((3 tolG + 2 n u + 3 u) sum G_i (1 + G_j) |z_a z_b|). The WASM pass sums the diagonal
 * blocks as minus the off-diagonal ones of their row (c_ii = sum_(j != i) G_i G_j where the row of
 * G sums to 1): per point that differs from G_i - G_i^2 by G_i |1 - sum_j G_j| <= (k + 1) u G_i
 * plus k roundings of G_i G_j, inside the same bound (3 tolG >= 48 u).
 * 'trial' is 'evaluate' without grad and H: the same linear, lseSum and G, grad and H untouched.
 */
for (const k of [2, 3, 4]) {
  for (const d of [1, 2]) {
    test(`WASM gate pass equals the JS Newton kernel within the exp bound (k = ${k}, d = ${d}, logits up to +-700, odd n)`, () => {
      const n = 1001;
      const P = k + k * d;
      const rng = new Rng(7000 + 10 * k + d);
      const X = Float64Array.from({ length: n * d }, () => 4 * rng.uniform() - 2);
      const R = new Float64Array(n * k);
      for (let r = 0; r < n; r++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += R[r * k + i] = r % 4 === 0 && i === 0 ? 0 : rng.uniform();
        for (let i = 0; i < k; i++) R[r * k + i] = R[r * k + i]! / sum;
      }
      const pass = wasmGatePass(k, d);
      let subnormal = 0;
      for (const size of [1, 30, 150, 300]) {
        // |u| up to about 700 at size 150 (|x| <= 2): weights down to subnormal and 0
        const theta = Float64Array.from({ length: P }, () => size * rng.normal());
        const scale = 1.25;
        const tolG = (16 + 2 * k) * u;
        // reference weights (the 'weights' variant) and the other variants from them
        const Gjs = new Float64Array(n * k);
        const Gw = new Float64Array(n * k);
        const lseJs = newtonKernel(k, d, k, 'slope', 'weights')(theta, X, n, Gjs, Gjs, Gjs, Gjs, scale).lseSum;
        const lseW = pass('weights', theta, X, n, Gw, Gw, Gw, Gw, scale).lseSum;
        for (let j = 0; j < n * k; j++) {
          assert.ok(Math.abs(Gw[j]! - Gjs[j]!) <= tolG * Gjs[j]! + 2.5 * 2 ** -1074, `G[${j}] = ${Gw[j]} vs ${Gjs[j]} (size ${size})`);
          if (Gjs[j]! > 0 && Gjs[j]! < 2 ** -1022) subnormal++;
        }
        // scales of the sums
        let lseTerms = 0, linTerms = 0;
        const gradScale = new Float64Array(P);
        const hScale = new Float64Array(P * P);
        const idx = (i: number, a: number) => (a === 0 ? i : k + i * d + (a - 1));
        for (let r = 0; r < n; r++) {
          const z = (a: number) => (a === 0 ? 1 : X[r * d + a - 1]!);
          let mx = -Infinity;
          for (let i = 0; i < k; i++) {
            let v = theta[i]!;
            for (let p = 0; p < d; p++) v += theta[k + i * d + p]! * X[r * d + p]!;
            const ui = scale * v;
            mx = Math.max(mx, ui);
            linTerms += R[r * k + i]! * Math.abs(ui);
            const gi = Gjs[r * k + i]!;
            for (let a = 0; a <= d; a++) {
              gradScale[idx(i, a)] = gradScale[idx(i, a)]! + (tolG * gi + 2 * n * u * Math.abs(R[r * k + i]! - gi)) * Math.abs(z(a));
              for (let j = 0; j < k; j++) {
                for (let b = 0; b <= d; b++) {
                  const at = idx(i, a) * P + idx(j, b);
                  hScale[at] = hScale[at]! + gi * (1 + Gjs[r * k + j]!) * Math.abs(z(a) * z(b));
                }
              }
            }
          }
          lseTerms += Math.abs(mx) + Math.log(k) + 650;
        }
        const tolLse = n * (8 + k) * u + 2 * n * u * lseTerms;
        assert.ok(Math.abs(lseW - lseJs) <= tolLse, `lseSum ${lseW} vs ${lseJs}`);
        for (const variant of ['evaluate', 'fromWeights', 'trial'] as const) {
          const G1 = Gjs.slice();
          const G2 = Gjs.slice();
          const g1 = new Float64Array(P), g2 = new Float64Array(P), H1 = new Float64Array(P * P), H2 = new Float64Array(P * P);
          const a = newtonKernel(k, d, k, 'slope', variant)(theta, X, n, R, G1, g1, H1, scale);
          const b = pass(variant, theta, X, n, R, G2, g2, H2, scale);
          assert.ok(Math.abs(a.linear - b.linear) <= 2 * n * u * linTerms, `${variant} linear ${b.linear} vs ${a.linear}`);
          if (variant === 'trial') {
            // the JS 'trial' is the JS 'evaluate' less its derivatives, bit for bit
            const G3 = Gjs.slice();
            const e = newtonKernel(k, d, k, 'slope', 'evaluate')(theta, X, n, R, G3, new Float64Array(P), new Float64Array(P * P), scale);
            assert.deepEqual([a.linear, a.lseSum], [e.linear, e.lseSum]);
            assert.deepEqual(G1, G3);
            assert.ok(Math.abs(a.lseSum - b.lseSum) <= tolLse);
            for (let j = 0; j < n * k; j++) assert.ok(Math.abs(G2[j]! - G1[j]!) <= tolG * G1[j]! + 2.5 * 2 ** -1074);
            for (const out of [g1, g2, H1, H2]) assert.ok(out.every((v) => v === 0), 'trial leaves grad and H untouched');
            continue;
          }
          if (variant === 'evaluate') {
            assert.ok(Math.abs(a.lseSum - b.lseSum) <= tolLse);
            for (let j = 0; j < n * k; j++) assert.ok(Math.abs(G2[j]! - G1[j]!) <= tolG * G1[j]! + 2.5 * 2 ** -1074);
          } else {
            assert.ok(Number.isNaN(b.lseSum));
            assert.deepEqual(G2, Gjs, 'fromWeights leaves G as it is');
          }
          for (let j = 0; j < P; j++) assert.ok(Math.abs(g2[j]! - g1[j]!) <= scale * (gradScale[j]! + u * Math.abs(g1[j]!)), `${variant} grad[${j}] ${g2[j]} vs ${g1[j]}`);
          for (let j = 0; j < P * P; j++) {
            assert.ok(Math.abs(H2[j]! - H1[j]!) <= scale * scale * (3 * tolG + 2 * n * u + 3 * u) * hScale[j]!, `${variant} H[${j}] ${H2[j]} vs ${H1[j]} (size ${size})`);
          }
        }
      }
      assert.ok(subnormal > 0, 'subnormal weights sampled');
    });
  }
}

test('CpuBackend with wasm kernels: gate passes in WASM for linear gates keeping all experts, the gate\'s own JS kernels otherwise', () => {
  const n = 300, d = 1;
  const rng = new Rng(11);
  const X = Float64Array.from({ length: n }, () => 2 * rng.uniform() - 1);
  const wasm = new CpuBackend({ kernels: 'wasm' });
  const js = new CpuBackend({ kernels: 'js' });
  for (const [spec, k, exact, tauFree] of [
    [{ type: 'softmax' }, 3, false, false],
    [{ type: 'temperature', tau: 0.4 }, 2, false, false],
    [{ type: 'temperature', tau: 0.7 }, 2, false, true], // tau free: weights only (no Newton pass)
    [{ type: 'topk', K: 2, rankBy: 'slope' }, 3, true, false], // selective: the JS kernel, bit for bit
  ] as const) {
    const gate = createGate(spec as never, k, d, { tau: tauFree ? 'free' : 'known' });
    const theta = Float64Array.from({ length: gate.nParams }, () => rng.normal());
    const G1 = new Float64Array(n * k), G2 = new Float64Array(n * k);
    js.gateWeights(gate, theta, X, n, G1);
    wasm.gateWeights(gate, theta, X, n, G2);
    for (let j = 0; j < n * k; j++) {
      if (exact) assert.equal(G2[j], G1[j]);
      else assert.ok(Math.abs(G2[j]! - G1[j]!) <= (16 + 2 * k) * u * G1[j]! + 1e-323, `${spec.type}: G[${j}] ${G2[j]} vs ${G1[j]}`);
    }
    if (!gate.newtonPass) {
      assert.throws(() => wasm.gateNewtonPass(gate, theta, X, n, G1, G1, new Float64Array(gate.nParams), new Float64Array(gate.nParams ** 2), 'evaluate'), /not provided/);
      continue;
    }
    const P = gate.nParams;
    const R = G1.map((g, j) => (j % k === 0 ? 0.5 * g + 0.5 / k : 0.5 * g + 0.5 / k));
    const out = (backend: CpuBackend) => {
      const G = new Float64Array(n * k), grad = new Float64Array(P), H = new Float64Array(P * P);
      const q = backend.gateNewtonPass(gate, theta, X, n, R, G, grad, H, 'evaluate');
      return { q, grad, H };
    };
    const a = out(js), b = out(wasm);
    const close = (x: number, y: number) => (exact ? x === y : Math.abs(x - y) <= 1e-12 * (Math.abs(y) + 1));
    assert.ok(close(b.q.linear, a.q.linear) && close(b.q.lseSum, a.q.lseSum), spec.type);
    a.grad.forEach((v, j) => assert.ok(close(b.grad[j]!, v), `${spec.type} grad`));
    a.H.forEach((v, j) => assert.ok(close(b.H[j]!, v), `${spec.type} H`));
  }
});

test('EM with the fit buffers in WASM memory (in place) equals EM with copies, bit for bit', async () => {
  const { packState, runEM } = await import('../../src/fitting/index.js');
  const data = sample(DEMYS, 3001, new Rng(9));
  const start = fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: 0 }, { type: 'nearTruth', truth: DEMYS, noise: 0.1, seed: 4 }).model;
  const options = { k: 3, gate: { type: 'softmax' as const }, maxIterations: 40 };
  const inPlace = new CpuBackend({ kernels: 'wasm' });
  assert.ok(inPlace.fitBuffers(data, 3) !== null, 'the wasm backend hands out fit buffers');
  // the same kernels, with the fit buffers hidden: the engine allocates plain arrays and every
  // kernel call copies them in and out of WASM memory
  const copying = new CpuBackend({ kernels: 'wasm' });
  (copying as { fitBuffers: unknown }).fitBuffers = () => null;
  const a = runEM(data, packState(start, options), options, inPlace);
  const b = runEM(data, packState(start, options), options, copying);
  assert.equal(a.iterations, b.iterations);
  assert.deepEqual(a.trace, b.trace);
  assert.equal(new CpuBackend({ kernels: 'js' }).fitBuffers(data, 3), null);
});

test('a fit too large for one WASM memory gets plain arrays (the JS kernels), not an error', () => {
  // 1e8 points at k = 3, d = 1 need 8.8 GB of buffers, above MAX_BYTES = 2 GiB (checked before allocating)
  assert.equal(tryWorkspace(3, 1, 1e8), null);
  assert.ok(tryWorkspace(3, 1, 1000) !== null);
  assert.equal(MAX_BYTES, 2 ** 31);
  const huge = { n: 1e8, d: 1, X: new Float64Array(0), Y: new Float64Array(0) };
  assert.equal(new CpuBackend({ kernels: 'wasm' }).fitBuffers(huge, 3), null);
});

test('ties: duplicated experts and gate rows (split starts of over-specified fits) give the JS kernels\' numbers', () => {
  for (const k of [2, 3, 4]) {
    const d = 1, n = 501;
    const inp = inputs(k, d, n, 900 + k);
    // expert 1 := expert 0 (equal log-densities: ties at the maximum or below it)
    inp.A[1] = inp.A[0]!;
    inp.B[1] = inp.B[0]!;
    inp.C[1] = inp.C[0]!;
    inp.H[1] = inp.H[0]!;
    const js = run(eStepKernel(k, d), k, d, n, inp);
    const wasm = run(wasmEStepKernel(k, d), k, d, n, inp);
    assert.deepEqual(wasm.rows, js.rows);
    const tolR = (16 + 2 * k) * u;
    for (let j = 0; j < n * k; j++) assert.ok(Math.abs(wasm.R[j]! - js.R[j]!) <= tolR * js.R[j]! + 1e-42, `k = ${k}: R[${j}] ${wasm.R[j]} vs ${js.R[j]}`);
    // gate rows 0 and 1 equal: u_0 = u_1 everywhere, tied at the maximum where they lead
    const P = k + k * d;
    const rng = new Rng(77 + k);
    const theta = Float64Array.from({ length: P }, () => 2 * rng.normal());
    theta[1] = theta[0]!;
    theta[k + 1] = theta[k]!;
    const X = Float64Array.from({ length: n }, () => 2 * rng.uniform() - 1);
    const G1 = new Float64Array(n * k), G2 = new Float64Array(n * k);
    newtonKernel(k, d, k, 'slope', 'weights')(theta, X, n, G1, G1, G1, G1, 1);
    wasmGatePass(k, d)('weights', theta, X, n, G2, G2, G2, G2, 1);
    for (let j = 0; j < n * k; j++) assert.ok(Math.abs(G2[j]! - G1[j]!) <= tolR * G1[j]! + 1e-323, `k = ${k}: G[${j}] ${G2[j]} vs ${G1[j]}`);
    for (let r = 0; r < n; r++) assert.equal(G2[r * k]!, G2[r * k + 1]!, 'tied experts get equal weights');
  }
});

test('the certificate\'s sums in WASM equal the reference loop (g and J to the summation order; k = 3, d = 1 and 2, odd n)', async () => {
  const { packState } = await import('../../src/fitting/index.js');
  const { scoreStatistic, CertificateWorkspace } = await import('../../src/fitting/certificate.js');
  const D2: typeof DEMYS = {
    gate: { type: 'softmax' },
    experts: [
      { beta0: 1, beta1: [2, -1], a: [1, 0.5], b: 0, nu: 0.2 },
      { beta0: -0.5, beta1: [-1, 2], a: [-1, 1], b: 1, nu: 0.3 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 2 },
  };
  for (const truth of [DEMYS, D2]) {
    const n = 2001;
    const data = sample(truth, n, new Rng(12));
    const options = { k: 3, gate: { type: 'softmax' as const } };
    const start = fitMoE(data, { ...options, maxIterations: 0 }, { type: 'nearTruth', truth, noise: 0.2, seed: 5 }).model;
    const state = packState(start, options);
    const backend = new CpuBackend({ kernels: 'wasm' });
    const buffers = backend.fitBuffers(data, 3)!;
    backend.gateWeights(state.gate, state.theta, data.X, n, buffers.G);
    const stats = new Float64Array(3 * expertStatsSize(data.d));
    backend.eStep(data, buffers.G, state.experts, buffers.R, stats, () => {
      throw new Error('no fallback expected');
    });
    let calls = 0;
    const counting = Object.assign(Object.create(backend) as CpuBackend, {
      scoreSums: (...args: Parameters<CpuBackend['scoreSums']>) => {
        calls++;
        return backend.scoreSums(...args);
      },
    });
    const wasm = scoreStatistic(data, state, buffers.R, buffers.G, 1e-10, new CertificateWorkspace(state), counting);
    const js = scoreStatistic(data, state, buffers.R, buffers.G, 1e-10, new CertificateWorkspace(state));
    assert.equal(calls, 1);
    // scales sum_n |s_n,u| and sum_n |s_n,u s_n,v| from the reference one point at a time
    const ws1 = new CertificateWorkspace(state);
    const P = ws1.P;
    const gScale = new Float64Array(P);
    const JScale = new Float64Array(P * P);
    for (let r = 0; r < n; r++) {
      const one = { n: 1, d: data.d, X: data.X.subarray(r * data.d, r * data.d + data.d), Y: data.Y.subarray(r, r + 1) };
      scoreStatistic(one, state, buffers.R.subarray(r * 3, r * 3 + 3), buffers.G.subarray(r * 3, r * 3 + 3), 1e-10, ws1);
      for (let t = 0; t < P; t++) gScale[t] = gScale[t]! + Math.abs(ws1.g[t]!);
      for (let t = 0; t < P * P; t++) JScale[t] = JScale[t]! + Math.abs(ws1.J[t]!);
    }
    // the same per-point terms summed in another order: 2 n u sum |terms| (recursive summation, both ways)
    for (let t = 0; t < P; t++) assert.ok(Math.abs(wasm.score[t]! - js.score[t]!) <= 2 * n * u * gScale[t]!, `g[${t}] ${wasm.score[t]} vs ${js.score[t]}`);
    const Jw = new CertificateWorkspace(state);
    scoreStatistic(data, state, buffers.R, buffers.G, 1e-10, Jw, backend);
    const Jj = new CertificateWorkspace(state);
    scoreStatistic(data, state, buffers.R, buffers.G, 1e-10, Jj);
    for (let t = 0; t < P * P; t++) assert.ok(Math.abs(Jw.J[t]! - Jj.J[t]!) <= 2 * n * u * JScale[t]!, `J[${t}] ${Jw.J[t]} vs ${Jj.J[t]}`);
    assert.equal(wasm.used, js.used);
  }
});

test('EM with the E-step fused with the gate\'s first Newton pass equals EM with the two passes, bit for bit (k = 2 and 3, d = 1 and 2, odd n, SQUAREM and plain)', async () => {
  const { packState, runEM } = await import('../../src/fitting/index.js');
  const D2: typeof DEMYS = {
    gate: { type: 'softmax' },
    experts: [
      { beta0: 1, beta1: [2, -1], a: [1, 0.5], b: 0, nu: 0.2 },
      { beta0: -0.5, beta1: [-1, 2], a: [-1, 1], b: 1, nu: 0.3 },
    ],
    input: { type: 'uniform', low: -1, high: 1, dim: 2 },
  };
  for (const [truth, k, accelerate] of [[DEMYS, 2, 'squarem'], [DEMYS, 3, 'none'], [D2, 3, 'squarem']] as const) {
    const data = sample(truth, 2001, new Rng(21));
    const options = { k, gate: { type: 'softmax' as const }, maxIterations: 30, accelerate };
    const start = fitMoE(data, { ...options, maxIterations: 0 }, { type: 'nearTruth', truth, noise: 0.1, seed: 6 }).model;
    const fusedBackend = new CpuBackend({ kernels: 'wasm' });
    let fusedCalls = 0;
    const fusedPass = fusedBackend.eStepWithGatePass.bind(fusedBackend);
    fusedBackend.eStepWithGatePass = (...args) => {
      const out = fusedPass(...args);
      if (out) fusedCalls++;
      return out;
    };
    const twoPass = new CpuBackend({ kernels: 'wasm' });
    (twoPass as { eStepWithGatePass: unknown }).eStepWithGatePass = undefined;
    const a = runEM(data, packState(start, options), options, fusedBackend);
    const b = runEM(data, packState(start, options), options, twoPass);
    assert.equal(fusedCalls, a.evaluations, "every E-step fused");
    assert.equal(a.iterations, b.iterations);
    assert.deepEqual(a.trace, b.trace, `k = ${k}, ${accelerate}`);
  }
});

test('gate weights with their log-normaliser sum (after SQUAREM\'s jumps) leave EM\'s numbers as they are, bit for bit (wasm and js kernels)', async () => {
  const { packState, runEM } = await import('../../src/fitting/index.js');
  const data = sample(DEMYS, 2001, new Rng(31));
  const options = { k: 3, gate: { type: 'softmax' as const }, maxIterations: 40 };
  const start = fitMoE(data, { ...options, maxIterations: 0 }, { type: 'nearTruth', truth: DEMYS, noise: 0.1, seed: 8 }).model;
  for (const kernels of ['wasm', 'js'] as const) {
    const withLse = new CpuBackend({ kernels });
    let lseCalls = 0;
    const lse = withLse.gateWeightsLse.bind(withLse);
    withLse.gateWeightsLse = (...args) => {
      const v = lse(...args);
      if (Number.isFinite(v)) lseCalls++;
      return v;
    };
    const without = new CpuBackend({ kernels });
    (without as { gateWeightsLse: unknown }).gateWeightsLse = undefined;
    const evaluatePasses = [0, 0];
    const count = (backend: CpuBackend, slot: 0 | 1) => {
      const pass = backend.gateNewtonPass.bind(backend);
      backend.gateNewtonPass = (...args) => {
        if (args[8] === 'evaluate') evaluatePasses[slot]!++;
        return pass(...args);
      };
    };
    count(withLse, 0);
    count(without, 1);
    const a = runEM(data, packState(start, options), options, withLse);
    const b = runEM(data, packState(start, options), options, without);
    assert.ok(lseCalls >= 3 && a.extrapolations.accepted >= 3, `${lseCalls} weights with lseSum, ${a.extrapolations.accepted} extrapolations`);
    assert.deepEqual(a.trace, b.trace, kernels);
    // each M-step after a jump starts from the weights instead of an 'evaluate' pass
    assert.ok(evaluatePasses[0]! < evaluatePasses[1]!, `evaluate passes ${evaluatePasses[0]} < ${evaluatePasses[1]}`);
  }
});
