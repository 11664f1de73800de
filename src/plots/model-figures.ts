/**
 * Figures of one model or one fit (d = 1): the gate weights over x, the fitted against the true
 * conditional density at a few x, and the Voronoi cells of a fit in the (beta1, a) plane.
 */
import { requireLinearGating } from '../gates/gating.js';
import { definitionOf } from '../gates/registry.js';
import { modelWeights } from '../models/model-gate.js';
import { logDensity } from '../likelihood/density.js';
import type { Model } from '../models/types.js';
import type { Figure } from './types.js';

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const color = (i: number) => PALETTE[i % PALETTE.length]!;

function xRange(model: Model): [number, number] {
  const input = model.input;
  if (input.type === 'normal') return [input.mean[0]! - 3 * Math.sqrt(input.cov[0]![0]!), input.mean[0]! + 3 * Math.sqrt(input.cov[0]![0]!)];
  return [input.low, input.high];
}

/** G_i(x) over the input range: top-K zeros and temperature sharpness show directly. */
export function gateWeightsFigure(model: Model, title: string, points = 400): Figure {
  const [lo, hi] = xRange(model);
  const X = Float64Array.from({ length: points }, (_, t) => lo + ((hi - lo) * t) / (points - 1));
  const k = model.experts.length;
  const G = new Float64Array(points * k);
  modelWeights(model, X, points, G);
  const data = model.experts.map((_, i) => ({
    type: 'scatter',
    mode: 'lines',
    name: `expert ${i + 1}`,
    x: Array.from(X),
    y: Array.from({ length: points }, (_, t) => G[t * k + i]),
    line: { color: color(i), width: 2.5 },
  }));
  const g = model.gate;
  const detail = definitionOf(g).describe(g);
  return {
    name: 'gate-weights',
    data,
    layout: {
      title: { text: `${title}: gate weights G_i(x), ${g.type} gate (${detail})` },
      xaxis: { title: { text: 'input x' } },
      yaxis: { title: { text: 'gate weight G_i(x)' }, range: [-0.02, 1.02] },
      width: 860,
      height: 420,
      legend: { x: 1.01, y: 1 },
    },
  };
}

/** p(y | x) of a fit (thin line) over the truth (wide pale band) at a few x. */
export function densityFigure(fit: Model, truth: Model, title: string, xs?: number[], points = 400): Figure {
  const [lo, hi] = xRange(truth);
  // off-centre points: x = 0 can be a top-K selection boundary, where only ties decide
  const at = xs ?? [lo + 0.15 * (hi - lo), lo + 0.45 * (hi - lo), lo + 0.85 * (hi - lo)];
  let yLo = Infinity;
  let yHi = -Infinity;
  for (const m of [fit, truth]) {
    for (const x of at) {
      for (const e of m.experts) {
        const mean = e.a[0]! * x + e.b;
        yLo = Math.min(yLo, mean - 4 * Math.sqrt(e.nu));
        yHi = Math.max(yHi, mean + 4 * Math.sqrt(e.nu));
      }
    }
  }
  const Y = Float64Array.from({ length: points }, (_, t) => yLo + ((yHi - yLo) * t) / (points - 1));
  const data: Record<string, unknown>[] = [];
  at.forEach((x, j) => {
    // the truth as a wide pale band under a thin fitted line: both stay visible where they agree
    for (const [label, m, width, opacity] of [['true', truth, 9, 0.3], ['fitted', fit, 2, 1]] as const) {
      const lp = logDensity(m, new Float64Array(points).fill(x), Y, points);
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `${label}, x = ${x.toFixed(2)}`,
        x: Array.from(Y),
        y: Array.from(lp, Math.exp),
        opacity,
        line: { color: color(j), width },
      });
    }
  });
  return {
    name: 'density',
    data,
    layout: {
      title: { text: `${title}: conditional density p(y | x), fitted (thin) over true (wide, pale)` },
      xaxis: { title: { text: 'response y' } },
      yaxis: { title: { text: 'density p(y | x)' } },
      width: 860,
      height: 460,
    },
  };
}

/**
 * Fitted atoms (circles, coloured by Voronoi cell) and true atoms (crosses) in the (beta1, a) plane.
 * Pass the fit after the loss's aligning shift (see alignFit) and the aligned cells, so that the
 * gating slopes are comparable with the truth's.
 */
export function voronoiFigure(fit: Model, truth: Model, cells: number[][], title: string): Figure {
  // written in the slope beta1: a gate without one (gaussian) is refused, naming the gate
  requireLinearGating(definitionOf(fit.gate), 'voronoiFigure', 'fit.gate');
  requireLinearGating(definitionOf(truth.gate), 'voronoiFigure', 'truth.gate');
  const data: Record<string, unknown>[] = [];
  cells.forEach((cell, j) => {
    const t = truth.experts[j]!;
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `true atom ${j + 1}`,
      x: [t.beta1![0]],
      y: [t.a[0]],
      marker: { symbol: 'x', size: 16, color: color(j), line: { width: 2 } },
    });
    data.push({
      type: 'scatter',
      mode: 'markers+text',
      name: `cell of atom ${j + 1}: ${cell.length} fitted`,
      x: cell.map((i) => fit.experts[i]!.beta1![0]),
      y: cell.map((i) => fit.experts[i]!.a[0]),
      text: cell.map((i) => `w=${Math.exp(fit.experts[i]!.beta0).toPrecision(2)}`),
      textposition: 'top center',
      marker: { symbol: 'circle-open', size: 12, color: color(j), line: { width: 2 } },
    });
  });
  return {
    name: 'voronoi',
    data,
    layout: {
      title: { text: `${title}: Voronoi cells of one fit (beta1, a); w = exp(beta0)` },
      xaxis: { title: { text: 'gating slope beta1' } },
      yaxis: { title: { text: 'expert slope a' } },
      width: 860,
      height: 480,
    },
  };
}

/** The fit with a common gating shift applied: beta0_i + t0, beta1_i + t1 (t0 = -Infinity: none). */
export function alignFit(fit: Model, shift: { t0: number; t1: number[] }): Model {
  requireLinearGating(definitionOf(fit.gate), 'alignFit', 'fit.gate');
  const t0 = Number.isFinite(shift.t0) ? shift.t0 : 0;
  return { ...fit, experts: fit.experts.map((e) => ({ ...e, beta0: e.beta0 + t0, beta1: e.beta1!.map((v, p) => v + (shift.t1[p] ?? 0)) })) };
}
