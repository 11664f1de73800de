/**
 * Curves of one loss from several pipelines over n on log-log axes (issue 15, section 3: the
 * [DEMYS] authors' stored curve, gatelab running their recipe, gatelab's converged fits): each
 * curve's per-n mean (solid, with +-1 s.e. bars where given) and median (dotted), and for a curve
 * with a rate row its fitted line with slope, CI and verdict in the legend.
 */
import type { RateRow } from '../analysis/rates.js';
import { powerLine } from './convergence.js';
import type { Figure } from './types.js';

/** One pipeline's curve. */
export interface SideCurve {
  /** legend label, e.g. "the authors (stored)" */
  label: string;
  n: readonly number[];
  mean: readonly (number | null)[];
  median: readonly (number | null)[];
  /** standard errors of the means (same length as n), drawn as bars */
  se?: readonly number[];
  /** the rate row of the mean (its fitted line is drawn over its fit range) */
  rate?: RateRow;
}

const PALETTE = ['#7f7f7f', '#ff7f0e', '#1f77b4', '#2ca02c', '#9467bd'];
const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(3));

/**
 * The side-by-side figure of a loss: per curve the mean (markers and line) and median (dotted),
 * values <= 0 or null left out (log axes), and a curve's fitted line
 * ("fitted to the mean: slope s [95% CI lo, hi], verdict") where it carries a rate row.
 * @param title the figure title (say which variant each curve is)
 * @param yLabel the y axis, e.g. "D1 (raw block metric) / D1 (aligned)"
 * @param curves at least one {@link SideCurve}
 * @param name the figure's file-name-safe name (default "side-by-side")
 * @example sideBySideFigure('[DEMYS] K = 2', 'D1', [{ label: 'the authors (stored)', n: [100, 200], mean: [0.3, 0.2], median: [0.25, 0.18] }])
 */
export function sideBySideFigure(title: string, yLabel: string, curves: readonly SideCurve[], name = 'side-by-side'): Figure {
  const data: Record<string, unknown>[] = [];
  curves.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const keep = (v: readonly (number | null)[]) => c.n.flatMap((n, j) => (v[j] !== null && v[j]! > 0 ? [j] : []));
    const m = keep(c.mean);
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${c.label}: mean`,
      x: m.map((j) => c.n[j]),
      y: m.map((j) => c.mean[j]),
      line: { color, width: 1.5 },
      marker: { color, size: 5 },
      ...(c.se ? { error_y: { type: 'data', array: m.map((j) => c.se![j] ?? 0), visible: true, color } } : {}),
    });
    const md = keep(c.median);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${c.label}: median`,
      x: md.map((j) => c.n[j]),
      y: md.map((j) => c.median[j]),
      line: { color, width: 1.5, dash: 'dot' },
    });
    const r = c.rate;
    if (r && r.slope !== null && r.intercept !== null) {
      const [lo, hi] = r.fitRange;
      const slope = r.slope;
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `${c.label}: fitted to the ${r.statistic}, slope ${fmt(slope)} [${Math.round(r.level * 100)}% CI ${fmt(r.ciLow)}, ${fmt(r.ciHigh)}], ${r.verdict}`,
        // the fitted line exp(intercept) n^slope, through its value at lo
        ...powerLine(lo, hi, lo, Math.exp(r.intercept) * Math.pow(lo, slope), (n) => Math.pow(n, slope)),
        line: { color, width: 3 },
      });
    }
  });
  return {
    name,
    data,
    layout: {
      title: { text: title },
      xaxis: { type: 'log', title: { text: 'n' } },
      yaxis: { type: 'log', title: { text: yLabel } },
      legend: { orientation: 'h', y: -0.2 },
      width: 900,
      height: 620,
      margin: { b: 170 },
    },
  };
}
