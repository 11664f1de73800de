/**
 * node --import tsx scripts/gate-ray.ts [experiment] [n] [seed]: the measurement behind
 * docs/fitting.md "Compact parameter space". Refits one task of a sweep (default: the
 * demys-over4 full task n = 1000, replicate 6, seed 6515406960394938, whose gate left the box) as
 * the sweep does (its start, restarts and fit options), then walks the expert whose gate left
 * the box along its ray: the same switch point x0 = -beta0 / beta1 with slopes 10 ... 1e7, every
 * other parameter held at the fit. L rising to the fit's value as the slope grows is the
 * likelihood climbing to a hard switch with no maximum inside any box. Then the same task fitted
 * with the box as a constraint (fit option gateBound = 1000 and 100): the maximum over the box,
 * its certificate and the coordinate on the face. A few seconds.
 */
import { readFileSync } from 'node:fs';
import { fitMoE } from '../src/fitting/index.js';
import { logLikelihood } from '../src/likelihood/index.js';
import { GATE_BOUND, gateBoundExcess, gateBoxFace } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';
import { parseExperimentConfig } from '../src/sweeps/config.js';
import { taskFitOptions, taskStart } from '../src/sweeps/run-task.js';

const name = process.argv[2] ?? 'demys-over4';
const n = Number(process.argv[3] ?? 1000);
const seed = Number(process.argv[4] ?? 6515406960394938);
const file = `experiments/${name}.json`;
const config = parseExperimentConfig(JSON.parse(readFileSync(file, 'utf8')), file);
const data = sample(config.truth, n, new Rng(seed));
// the fit without the box, whatever the config says (demys-over4 and topk-over set fit.gateBound)
const { gateBound: _bound, ...unboxed } = taskFitOptions(config, 'full');
const result = fitMoE(data, unboxed, taskStart(config, { key: 'ray', n, replicate: 0, seed }, 'full'));
const excess = gateBoundExcess(result.model);
console.log(`${name}, n = ${n}, seed ${seed}: L = ${result.fit.loglik.toFixed(4)} (${result.fit.stopReason}); restarts' L: ${(result.fit.restarts ?? []).map((l) => l?.toFixed(4)).join(', ')}`);
if (excess === undefined || result.model.gate.type !== 'softmax') {
  console.log(`the fitted gate is inside the box |beta| <= ${GATE_BOUND} (or not a softmax gate): nothing to walk`);
} else {
  const e = result.model.experts[excess.expert]!;
  const slope = e.beta1![0]!;
  const x0 = -e.beta0 / slope;
  console.log(`expert ${excess.expert + 1}: beta0 = ${e.beta0.toPrecision(4)}, beta1 = ${slope.toPrecision(4)}, switch at x0 = ${x0.toFixed(5)}`);
  console.log('| gate slope | L at the same switch point |');
  console.log('|---|---|');
  for (const s of [10, 30, 100, 300, GATE_BOUND, 3000, 1e4, 1e5, 1e7]) {
    const m = structuredClone(result.model);
    m.experts[excess.expert]!.beta1 = [Math.sign(slope) * s, ...e.beta1!.slice(1)];
    m.experts[excess.expert]!.beta0 = -Math.sign(slope) * s * x0;
    console.log(`| ${s} | ${logLikelihood(m, data).toFixed(4)} |`);
  }
}

console.log('\nwith the box as a constraint (fit option gateBound):');
console.log('| gateBound | L | stop | T | starts converged | on the face | gate of that expert (beta0, beta1) |');
console.log('|---|---|---|---|---|---|---|');
for (const bound of [GATE_BOUND, 100]) {
  const r = fitMoE(data, { ...taskFitOptions(config, 'full'), gateBound: bound }, taskStart(config, { key: 'ray', n, replicate: 0, seed }, 'full'));
  const face = gateBoxFace(r.model, bound);
  const e = face ? r.model.experts[face.expert]! : undefined;
  const stops = r.fit.restartStops ?? [r.fit.stopReason];
  console.log(
    `| ${bound} | ${r.fit.loglik.toFixed(4)} | ${r.fit.stopReason} | ${r.fit.certificate?.toExponential(2) ?? '-'} | ${stops.filter((s) => s === 'converged').length} of ${stops.length} | ` +
      `${face ? `expert ${face.expert + 1} ${face.field} = ${face.value}` : 'none'} | ${e ? `${e.beta0.toPrecision(4)}, ${(e.beta1 ?? []).map((b) => b.toPrecision(4)).join(' ')}` : '-'} |`,
  );
}
