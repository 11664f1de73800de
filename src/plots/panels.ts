/**
 * Per-parameter panels: one log-log panel per quantity with the mean per n, the fitted line and
 * the predicted line (anchored as in the convergence figure), titled with both slopes.
 */
import type { PerNSummary } from '../analysis/summary.js';
import type { RateRow } from '../analysis/rates.js';
import type { Figure } from './types.js';

export interface PanelInput {
  quantity: string;
  summary: PerNSummary[];
  rate: RateRow;
}

export function parameterPanels(experiment: string, panels: PanelInput[], columns = 3): Figure {
  const rows = Math.max(1, Math.ceil(panels.length / columns));
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: { text: `${experiment}: error per parameter (mean over replicates), fitted vs predicted slope`, font: { size: 15 } },
    grid: { rows, columns, pattern: 'independent', xgap: 0.12, ygap: 0.32 },
    showlegend: false,
    width: 340 * columns,
    height: 300 * rows + 80,
    margin: { l: 60, r: 20, t: 80, b: 50 },
    annotations: [] as Record<string, unknown>[],
  };
  panels.forEach(({ quantity, summary, rate }, index) => {
    const axis = index === 0 ? '' : String(index + 1);
    const xref = `x${axis}`;
    const yref = `y${axis}`;
    const pts = summary.filter((s) => s.mean !== null && s.mean > 0);
    data.push({ type: 'scatter', mode: 'markers', x: pts.map((s) => s.n), y: pts.map((s) => s.mean), xaxis: xref, yaxis: yref, marker: { color: '#1f77b4', size: 6 } });
    const [lo, hi] = rate.fitRange;
    if (rate.slope !== null && rate.intercept !== null) {
      const n0 = Math.sqrt(lo * hi);
      const y0 = Math.exp(rate.intercept) * Math.pow(n0, rate.slope);
      const line = (slope: number) => ({ x: [lo, hi], y: [y0 * Math.pow(lo / n0, slope), y0 * Math.pow(hi / n0, slope)] });
      data.push({ type: 'scatter', mode: 'lines', ...line(rate.slope), xaxis: xref, yaxis: yref, line: { color: '#d62728', width: 2 } });
      if (rate.predicted !== null) data.push({ type: 'scatter', mode: 'lines', ...line(rate.predicted), xaxis: xref, yaxis: yref, line: { color: '#2ca02c', width: 2, dash: 'dash' } });
    }
    layout[`xaxis${axis}`] = { type: 'log', dtick: 'D2', title: { text: 'n', standoff: 2 } };
    layout[`yaxis${axis}`] = { type: 'log', dtick: 'D2', exponentformat: 'power' };
    const slope = rate.slope === null ? '–' : rate.slope.toFixed(2);
    const predicted = rate.predicted === null ? '–' : rate.predicted.toFixed(3);
    (layout.annotations as Record<string, unknown>[]).push({
      text: `<b>${quantity}</b>: fitted ${slope} (red), predicted ${predicted} (green, dashed)`,
      xref: `${xref} domain`,
      yref: `${yref} domain`,
      x: 0.5,
      y: 1.14,
      showarrow: false,
      font: { size: 11 },
    });
  });
  return { name: 'parameters', data, layout };
}
