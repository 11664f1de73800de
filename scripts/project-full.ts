/**
 * Projected wall time of an experiment's `full` variant on W workers (not a test; issue 14): times a
 * sample of the variant's real tasks, fits time against n, and projects the whole sweep.
 *
 *   node --import tsx scripts/project-full.ts [experiments/demys-over3.json] [--replicates R]
 *        [--replicate-from R0] [--n-every E] [--n-min N] [--budget SECONDS] [--workers W]
 *        [--variant full|quick] [--save FILE.json] [--load FILE.json ...]
 *
 * - tasks: replicates R0 .. R - 1 (default 0 .. 0) at every E-th n >= N of the variant's grid
 *   (default every n), run as the sweep runs them (`runTask`'s steps: sample with the task's seed, fitMoE with the
 *   variant's fit options and starts, the row's losses and density distances; for a selection
 *   experiment, kind "select", runSelectTask's: selectK over k = 1..kMax), one at a time on
 *   this thread, in the order replicate, then n; the run stops early once --budget seconds have
 *   passed (default 840), at a task boundary; --save writes the measurements as JSON, --load adds
 *   earlier runs' measurements (of the same experiment and variant) to the models;
 * - per task: wall seconds, whether the kept fit converged, the kept start's EM maps, E-step
 *   passes over all starts (counted on the CPU backend), BHHH polish steps, how each start stopped;
 * - time model: least squares of seconds = a + b n over the measured tasks, and a power law
 *   seconds = c n^p (least squares on the logs);
 * - projection: each task of the grid (every n x every replicate) gets the per-n mean where that n
 *   was measured, the linear model elsewhere; the sum over workers, and the makespan of the sweep's
 *   own order (n, then replicate) under greedy list scheduling on W workers (tasks are independent).
 *
 * It is a projection: replicates differ (a fit that stalls and is polished costs several times one
 * that converges), and two busy workers on a 2-core machine run slower than one alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CpuBackend } from '../src/backend/index.js';
import type { Backend } from '../src/backend/types.js';
import { fitMoE } from '../src/fitting/fit.js';
import { Rng } from '../src/rng/rng.js';
import { sample } from '../src/sampling/sample.js';
import { parseExperimentConfig, resolveNGrid } from '../src/sweeps/config.js';
import { parseSelectConfig, runSelectTask, selectTasks, type SelectExperimentConfig } from '../src/sweeps/select-sweep.js';
import type { ExperimentConfig } from '../src/sweeps/types.js';
import { taskFitOptions, taskRow, taskStart } from '../src/sweeps/run-task.js';
import { sweepTasks, taskKey, taskSeed } from '../src/sweeps/tasks.js';
import type { SweepTask } from '../src/sweeps/types.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    replicates: { type: 'string' },
    'n-every': { type: 'string' },
    budget: { type: 'string' },
    workers: { type: 'string' },
    variant: { type: 'string' },
    'replicate-from': { type: 'string' },
    'n-min': { type: 'string' },
    save: { type: 'string' },
    load: { type: 'string', multiple: true },
  },
});
const file = positionals[0] ?? 'experiments/demys-over3.json';
const replicates = Number(values.replicates ?? 1);
const replicateFrom = Number(values['replicate-from'] ?? 0);
const nMin = Number(values['n-min'] ?? 0);
const every = Number(values['n-every'] ?? 1);
const budget = Number(values.budget ?? 840);
const workers = Number(values.workers ?? 2);
const variant = (values.variant ?? 'full') as 'full' | 'quick';
const raw = JSON.parse(readFileSync(file, 'utf8')) as { kind?: string };
// a selection experiment (kind "select", gatelab select-sweep): its tasks are selectK runs
const select = raw.kind === 'select' ? parseSelectConfig(raw, file) : null;
const experiment = select ? null : parseExperimentConfig(raw, file);
const config: SelectExperimentConfig | ExperimentConfig = select ?? experiment!;
const v = config.variants[variant];
const grid = resolveNGrid(v.n);
const fitOptions = experiment ? taskFitOptions(experiment, variant) : null;
const restarts = select ? (select.variants[variant].restarts ?? select.select.restarts ?? 3) : (experiment!.variants[variant].restarts ?? experiment!.start.restarts ?? 1);

/** The CPU backend with its E-step passes counted (the fused and the plain one). */
function countingBackend(): { backend: Backend; passes: () => number } {
  const backend = new CpuBackend();
  let passes = 0;
  const b = backend as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['eStep', 'eStepWithGatePass']) {
    const f = b[name];
    if (typeof f !== 'function') continue;
    const bound = f.bind(backend);
    b[name] = (...a: unknown[]) => {
      passes++;
      return bound(...a);
    };
  }
  return { backend, passes: () => passes };
}

interface Measured {
  n: number;
  replicate: number;
  seconds: number;
  /** CPU seconds of this process during the task (user + system): near the wall time on an idle core */
  cpu: number;
  converged: boolean;
  status: string;
  maps: number;
  passes: number;
  polish: number;
  stops: string;
}

/** One task exactly as runTask runs it (sample, fit, row), timed, with the counting backend. */
function runMeasured(task: SweepTask): Measured {
  if (!experiment) return runSelectMeasured(select!, task);
  const { backend, passes } = countingBackend();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const data = sample(experiment.truth, task.n, new Rng(task.seed));
  const result = fitMoE(data, fitOptions!, taskStart(experiment, task, variant), backend);
  const row = taskRow(experiment, variant, task, result, 'cpu');
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(c0);
  const stops = (result.fit.restartStops ?? [result.fit.stopReason]).map((s) => s.slice(0, 4)).join(',');
  return {
    n: task.n,
    replicate: task.replicate,
    seconds,
    cpu: (used.user + used.system) / 1e6,
    converged: result.fit.stopReason === 'converged',
    status: row.status,
    maps: result.fit.iterations,
    passes: passes(),
    polish: result.fit.polish?.steps ?? 0,
    stops,
  };
}

/**
 * One selection task as the select sweep runs it (runSelectTask: sample, selectK over k = 1..kMax),
 * timed; 'converged' when every k's kept fit converged; maps, passes and polish are not counted.
 */
function runSelectMeasured(config: SelectExperimentConfig, task: SweepTask): Measured {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const row = runSelectTask(config, variant, task);
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(c0);
  const fits = row.k ?? [];
  return {
    n: task.n,
    replicate: task.replicate,
    seconds,
    cpu: (used.user + used.system) / 1e6,
    converged: row.status === 'ok' && fits.every((f) => f.converged),
    status: row.status,
    maps: 0,
    passes: 0,
    polish: 0,
    stops: fits.map((f) => `k${f.k}:${f.converged ? 'conv' : 'not'}`).join(','),
  };
}

const nSample = grid.filter((n, i) => (i % every === 0 || i === grid.length - 1) && n >= nMin);
console.log(
  `${config.name} ${variant}: ${grid.length} n in [${grid[0]}, ${grid[grid.length - 1]}] x ${v.replicates} replicates = ${grid.length * v.replicates} tasks, ${select ? `selectK over k = 1..${select.select.kMax}, ${restarts} random starts per k, maxIterations ${v.maxIterations ?? select.select.fit?.maxIterations ?? 'default'}` : `best of ${restarts} starts, maxIterations ${fitOptions!.maxIterations ?? 'default'}, stop ${fitOptions!.stop ?? 'default'}`}; node ${process.version}`,
);
console.log(`measuring replicates ${replicateFrom}..${replicates - 1} at ${nSample.length} n (${nSample.join(', ')}), budget ${budget} s, one task at a time\n`);
runMeasured({ key: 'warm-up', n: 2000, replicate: 0, seed: 1 }); // JIT and kernel warm-up

const measured: Measured[] = [];
const tStart = performance.now();
console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min; ${cpus().length} cores)`);
console.log('| n | replicate | seconds | CPU seconds | converged | kept start: EM maps | polish steps | E-step passes, all starts | stops of the starts |');
console.log('|---|---|---|---|---|---|---|---|---|');
outer: for (let r = replicateFrom; r < replicates; r++) {
  for (const n of nSample) {
    if ((performance.now() - tStart) / 1000 >= budget) {
      console.log(`(budget of ${budget} s reached: stopped before n = ${n}, replicate ${r})`);
      break outer;
    }
    const m = runMeasured({ key: taskKey(n, r), n, replicate: r, seed: taskSeed(config.seed, n, r) });
    measured.push(m);
    console.log(`| ${m.n} | ${m.replicate} | ${m.seconds.toFixed(2)} | ${m.cpu.toFixed(2)} | ${m.converged ? 'yes' : 'no'}${m.status === 'ok' ? '' : ` (${m.status})`} | ${m.maps} | ${m.polish} | ${m.passes} | ${m.stops} |`);
  }
}
const elapsed = (performance.now() - tStart) / 1000;
if (values.save) writeFileSync(values.save, JSON.stringify({ experiment: config.name, variant, measured }, null, 1));
for (const file of values.load ?? []) {
  const earlier = JSON.parse(readFileSync(file, 'utf8')) as { experiment: string; variant: string; measured: Measured[] };
  if (earlier.experiment !== config.name || earlier.variant !== variant) throw new Error(`${file}: measurements of ${earlier.experiment} ${earlier.variant}, not ${config.name} ${variant}`);
  // a task measured twice (in this run or an earlier one) counts once, the first measurement
  const fresh = earlier.measured.filter((e) => !measured.some((m) => m.n === e.n && m.replicate === e.replicate));
  console.log(`(${fresh.length} tasks measured earlier added from ${file}${fresh.length < earlier.measured.length ? `; ${earlier.measured.length - fresh.length} measured again here left out` : ''})`);
  measured.push(...fresh);
}
const loadEnd = loadavg();

// time models: least squares of seconds = a + b n, and of log seconds = log c + p log n
const pts = measured;
const k = pts.length;
function models(metric: (p: Measured) => number) {
  const mx = pts.reduce((s, p) => s + p.n, 0) / k;
  const my = pts.reduce((s, p) => s + metric(p), 0) / k;
  const sxx = pts.reduce((s, p) => s + (p.n - mx) ** 2, 0);
  const b = sxx > 0 ? pts.reduce((s, p) => s + (p.n - mx) * (metric(p) - my), 0) / sxx : 0;
  const a = my - b * mx;
  const lx = pts.map((p) => Math.log(p.n));
  const ly = pts.map((p) => Math.log(metric(p)));
  const lmx = lx.reduce((s, x) => s + x, 0) / k;
  const lmy = ly.reduce((s, x) => s + x, 0) / k;
  const lsxx = lx.reduce((s, x) => s + (x - lmx) ** 2, 0);
  const power = lsxx > 0 ? lx.reduce((s, x, i) => s + (x - lmx) * (ly[i]! - lmy), 0) / lsxx : 0;
  const c = Math.exp(lmy - power * lmx);
  const perN = new Map<number, number>();
  for (const n of new Set(pts.map((p) => p.n))) {
    const ps = pts.filter((p) => p.n === n);
    perN.set(n, ps.reduce((s, p) => s + metric(p), 0) / ps.length);
  }
  const linear = (n: number) => Math.max(0, a + b * n);
  const powerLaw = (n: number) => c * n ** power;
  return { a, b, c, power, perN, linear, powerLaw, mean: (n: number) => perN.get(n) ?? linear(n) };
}
const wall = models((p) => p.seconds);
const cpu = models((p) => p.cpu);
const { a, b, c, power, perN } = wall;
const tasks = experiment ? sweepTasks(experiment, variant) : selectTasks(select!, variant);
/** makespan of greedy list scheduling in the given order on W workers */
function makespan(durations: number[]): number {
  const free = new Array<number>(workers).fill(0);
  for (const d of durations) {
    let i = 0;
    for (let j = 1; j < workers; j++) if (free[j]! < free[i]!) i = j;
    free[i] = free[i]! + d;
  }
  return Math.max(...free);
}
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const converged = pts.filter((p) => p.converged).length;

const wallOverCpu = pts.reduce((s, p) => s + p.seconds, 0) / pts.reduce((s, p) => s + p.cpu, 0);
console.log(`\nload average at the end: ${loadEnd.map((l) => l.toFixed(2)).join(', ')}; wall / CPU seconds over the measured tasks: ${wallOverCpu.toFixed(2)} (above 1: this thread waited for a core)`);
console.log(`${k} tasks in the models (this run: ${(elapsed / 60).toFixed(1)} min); kept fits converged: ${converged} of ${k} (${((100 * converged) / k).toFixed(0)}%)`);
console.log(`E-step passes per task (all ${restarts} starts): mean ${(sum(pts.map((p) => p.passes)) / k).toFixed(0)}, max ${Math.max(...pts.map((p) => p.passes))}; kept start's EM maps: mean ${(sum(pts.map((p) => p.maps)) / k).toFixed(0)}`);
console.log(`time per task, linear: ${a.toFixed(2)} s + ${(b * 1e5).toFixed(2)} s per 1e5 points; power law: ${c.toExponential(3)} n^${power.toFixed(3)} s`);
console.log('| n | measured tasks | mean seconds | mean CPU seconds | linear model | power law |');
console.log('|---|---|---|---|---|---|');
for (const n of grid) {
  const ps = pts.filter((p) => p.n === n);
  console.log(`| ${n} | ${ps.length} | ${ps.length ? perN.get(n)!.toFixed(2) : '-'} | ${ps.length ? cpu.perN.get(n)!.toFixed(2) : '-'} | ${Math.max(0, a + b * n).toFixed(2)} | ${(c * n ** power).toFixed(2)} |`);
}
const row = (label: string, d: number[]) =>
  console.log(`| ${label} | ${(sum(d) / 60).toFixed(1)} | ${(sum(d) / workers / 60).toFixed(1)} | ${(makespan(d) / 60).toFixed(1)} |`);
console.log(`\nprojected ${config.name} ${variant} (${tasks.length} tasks), minutes:`);
console.log(`| model | 1 core | sum / ${workers} workers | greedy makespan, sweep order, ${workers} workers |`);
console.log('|---|---|---|---|');
row('wall: per-n means (linear model where not measured)', tasks.map((t) => wall.mean(t.n)));
row('wall: linear a + b n', tasks.map((t) => wall.linear(t.n)));
row('wall: power law c n^p', tasks.map((t) => wall.powerLaw(t.n)));
row('CPU: per-n means (linear model where not measured)', tasks.map((t) => cpu.mean(t.n)));
row('CPU: linear a + b n', tasks.map((t) => cpu.linear(t.n)));
console.log(`CPU-time model: ${cpu.a.toFixed(2)} s + ${(cpu.b * 1e5).toFixed(2)} s per 1e5 points; power law ${cpu.c.toExponential(3)} n^${cpu.power.toFixed(3)}`);
