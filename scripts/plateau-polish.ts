/**
 * node --import tsx scripts/plateau-polish.ts: the measurement behind docs/fitting.md "Polish of
 * a stalled run": an over-specified [DEMYS] fit (k = 3, n = 3e4, seed 3) where EM with SQUAREM
 * stalls; what EM can still do from there, and what the BHHH polish (the default) and L-BFGS on
 * the full likelihood do. About 3 minutes on one core.
 */
import { fitMoE, type FitOptions } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';

const truth = DEMYS_MODEL;
const data = sample(truth, 30000, new Rng(3));
const base: FitOptions = { k: 3, gate: { type: 'softmax' } };
const start = { type: 'nearTruth' as const, truth, noise: 0.1, seed: 103 };
const variances = (m: { experts: { nu: number }[] }): string => m.experts.map((e) => e.nu.toFixed(4)).join(', ');
const em = fitMoE(data, { ...base, polish: 'none' }, start);
const at = fitMoE(data, { ...base, maxIterations: 0 }, { type: 'given', model: em.model });
console.log(`EM (SQUAREM, score rule, polish none): L = ${em.fit.loglik.toFixed(4)}, ${em.fit.stopReason} after ${em.fit.iterations} EM maps, T there = ${at.fit.certificate}`);
// the EM map there: one plain EM map, and SQUAREM with a gate M-step tolerance at the float64 floor
const one = fitMoE(data, { ...base, stop: 'relative', tol: 0, absTol: 1e-300, accelerate: 'none', maxIterations: 1 }, { type: 'given', model: em.model });
console.log(`one plain EM map from there: L change ${(one.fit.loglik - em.fit.loglik).toExponential(3)} nats (the gate M-step's predicted gain is below gateTol |Q|)`);
const tight = fitMoE(data, { ...base, stop: 'relative', tol: 0, absTol: 1e-300, gateTol: 1e-15, maxIterations: 5000 }, { type: 'given', model: em.model });
console.log(`SQUAREM with gateTol 1e-15 from there: L gain ${(tight.fit.loglik - em.fit.loglik).toExponential(3)} nats, then L changes by exactly 0 after ${tight.fit.iterations} EM maps`);
const polished = fitMoE(data, base, start);
console.log(`default (SQUAREM, then the BHHH polish): L gain ${(polished.fit.loglik - em.fit.loglik).toFixed(3)} nats over the stall, ${polished.fit.stopReason}, T = ${polished.fit.certificate}, ${polished.fit.polish?.steps} BHHH steps, ${polished.fit.seconds.toFixed(1)} s; variances ${variances(polished.model)}`);
const lbfgs = fitMoE(data, { ...base, method: 'mle', maxIterations: 2000 }, { type: 'given', model: em.model });
console.log(`L-BFGS from the stall: L gain ${(lbfgs.fit.loglik - em.fit.loglik).toFixed(3)} nats, ${lbfgs.fit.stopReason} after ${lbfgs.fit.iterations} iterations; variances ${variances(lbfgs.model)}`);
