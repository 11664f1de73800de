/**
 * node --import tsx scripts/plateau-polish.ts: the measurement behind docs/fitting.md "Not (yet)
 * done": an over-specified [DEMYS] fit (k = 3, n = 3e4, seed 3) where EM with SQUAREM stalls, then
 * L-BFGS on the full likelihood from that point. About 2 minutes.
 */
import { fitMoE } from '../src/fitting/index.js';
import { DEMYS_MODEL } from '../src/models/index.js';
import { Rng } from '../src/rng/index.js';
import { sample } from '../src/sampling/index.js';

const truth = DEMYS_MODEL;
const data = sample(truth, 30000, new Rng(3));
const em = fitMoE(data, { k: 3, gate: { type: 'softmax' } }, { type: 'nearTruth', truth, noise: 0.1, seed: 103 });
const at = fitMoE(data, { k: 3, gate: { type: 'softmax' }, maxIterations: 0 }, { type: 'given', model: em.model });
console.log(`EM (SQUAREM, score rule): L = ${em.fit.loglik.toFixed(4)}, ${em.fit.stopReason} after ${em.fit.iterations} EM maps, T there = ${at.fit.certificate}`);
const polish = fitMoE(data, { k: 3, gate: { type: 'softmax' }, method: 'mle', maxIterations: 2000 }, { type: 'given', model: em.model });
console.log(`L-BFGS from there: L gain ${(polish.fit.loglik - em.fit.loglik).toFixed(3)} nats, ${polish.fit.stopReason} after ${polish.fit.iterations} iterations`);
console.log('variances:', polish.model.experts.map((e) => e.nu.toFixed(4)).join(', '));
