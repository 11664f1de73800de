/**
 * The convergence figure of a rate study (spec: rates.md, "Measuring a rate", step 5): on log-log
 * axes, the replicate cloud, the mean over replicates with standard-error bars, the fitted line
 * with its slope and CI in the legend, the predicted power line and its log-corrected reference,
 * both anchored at the fitted line's value at the geometric middle of the fit range.
 */
import type { PerNSummary } from '../analysis/summary.js';
import type { RateRow } from '../analysis/rates.js';
import type { Figure } from './types.js';

const COLORS = { cloud: 'rgba(31, 119, 180, 0.25)', mean: '#1f77b4', fit: '#d62728', predicted: '#2ca02c', reference: '#7f7f7f' };

/** n^slope through (n0, y0), sampled at the ends of [lo, hi] and 20 points between (log scale). */
function powerLine(lo: number, hi: number, n0: number, y0: number, f: (n: number) => number): { x: number[]; y: number[] } {
  const x: number[] = [];
  for (let i = 0; i <= 20; i++) x.push(lo * Math.pow(hi / lo, i / 20));
  const f0 = f(n0);
  return { x, y: x.map((n) => (y0 * f(n)) / f0) };
}

const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(3));

export interface ConvergenceInput {
  experiment: string;
  quantity: string;
  summary: PerNSummary[];
  /** the rate row of the same quantity and statistic */
  rate: RateRow;
}

export function convergenceFigure({ experiment, quantity, summary, rate }: ConvergenceInput): Figure {
  const stat = rate.statistic;
  const cloud = summary.flatMap((s) => s.values.filter((v) => v > 0).map((v) => ({ n: s.n, v })));
  const centre = summary.filter((s) => (stat === 'mean' ? s.mean : s.median) !== null && (stat === 'mean' ? s.mean! : s.median!) > 0);
  const se = (s: PerNSummary) => {
    if (s.count < 2 || s.mean === null) return 0;
    const m = s.mean;
    const variance = s.values.reduce((acc, v) => acc + (v - m) ** 2, 0) / (s.count - 1);
    return Math.sqrt(variance / s.count);
  };
  const data: Record<string, unknown>[] = [
    {
      type: 'scatter',
      mode: 'markers',
      name: 'replicates',
      x: cloud.map((p) => p.n),
      y: cloud.map((p) => p.v),
      marker: { color: COLORS.cloud, size: 4 },
      hovertemplate: 'n = %{x}<br>%{y:.3g}<extra>replicate</extra>',
    },
    {
      type: 'scatter',
      mode: 'markers',
      name: `${stat} over replicates${stat === 'mean' ? ' (± 1 s.e.)' : ''}`,
      x: centre.map((s) => s.n),
      y: centre.map((s) => (stat === 'mean' ? s.mean : s.median)),
      marker: { color: COLORS.mean, size: 8, symbol: 'diamond' },
      ...(stat === 'mean' ? { error_y: { type: 'data', array: centre.map(se), visible: true, color: COLORS.mean } } : {}),
    },
  ];
  const [lo, hi] = rate.fitRange;
  if (rate.slope !== null && rate.intercept !== null) {
    const n0 = Math.sqrt(lo * hi);
    const y0 = Math.exp(rate.intercept) * Math.pow(n0, rate.slope);
    const fitted = powerLine(lo, hi, n0, y0, (n) => Math.pow(n, rate.slope!));
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `fitted slope ${fmt(rate.slope)} [${Math.round(rate.level * 100)}% CI ${fmt(rate.ciLow)}, ${fmt(rate.ciHigh)}]`,
      ...fitted,
      line: { color: COLORS.fit, width: 2.5 },
    });
    if (rate.predicted !== null) {
      const p = rate.predicted;
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `predicted slope ${fmt(p)}${rate.source ? ` (${rate.source})` : ''}`,
        ...powerLine(lo, hi, n0, y0, (n) => Math.pow(n, p)),
        line: { color: COLORS.predicted, width: 2, dash: 'dash' },
      });
      if (p < 0 && rate.predictedLogCorrected !== null && rate.predictedLogCorrected !== p) {
        data.push({
          type: 'scatter',
          mode: 'lines',
          name: `(log n / n)^${fmt(-p)}: slope ${fmt(rate.predictedLogCorrected)} on this grid`,
          ...powerLine(lo, hi, n0, y0, (n) => Math.pow(Math.log(n) / n, -p)),
          line: { color: COLORS.reference, width: 2, dash: 'dot' },
        });
      }
    }
  }
  const failed = rate.nFailed > 0 ? `, ${rate.nFailed} failed or not converged` : '';
  return {
    name: `convergence-${quantity.replace(/[^A-Za-z0-9.=-]+/g, '_')}-${stat}`,
    data,
    layout: {
      title: { text: `${experiment}: ${quantity} (${stat} of ${rate.nFits} fits${failed}) — ${rate.verdict}`, font: { size: 16 } },
      xaxis: { type: 'log', title: { text: 'sample size n (log scale)' }, dtick: 'D2', showgrid: true },
      yaxis: { type: 'log', title: { text: `error in ${quantity} (log scale)` }, dtick: 'D2', exponentformat: 'power', showgrid: true },
      // errors fall with n: the top-right corner is the empty one
      legend: { x: 0.99, y: 0.99, xanchor: 'right', yanchor: 'top', bgcolor: 'rgba(255,255,255,0.85)', bordercolor: '#ccc', borderwidth: 1 },
      width: 860,
      height: 560,
      margin: { l: 80, r: 30, t: 60, b: 70 },
      plot_bgcolor: 'white',
    },
  };
}
