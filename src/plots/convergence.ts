/**
 * The convergence figure of a rate study (spec: rates.md, "Measuring a rate", step 5): on log-log
 * axes, the replicate cloud (non-converged fits drawn apart, as red crosses), the statistic of the
 * rate row (mean with standard-error bars, or median) over replicates, the fitted line with its
 * statistic, slope and CI in the legend, the predicted power line and its log-corrected reference,
 * both anchored at the fitted line's value at the geometric middle of the fit range.
 */
import { meanStandardError, type PerNSummary } from '../analysis/summary.js';
import type { RateRow } from '../analysis/rates.js';
import type { Figure } from './types.js';

const COLORS = { cloud: 'rgba(31, 119, 180, 0.25)', notConverged: '#d62728', mean: '#1f77b4', fit: '#d62728', predicted: '#2ca02c', reference: '#7f7f7f' };

/** n^slope through (n0, y0), sampled at the ends of [lo, hi] and 20 points between (log scale). */
export function powerLine(lo: number, hi: number, n0: number, y0: number, f: (n: number) => number): { x: number[]; y: number[] } {
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

/**
 * The convergence figure of one quantity and statistic.
 *
 * Traces: 'replicates' (converged fits, translucent dots), 'not converged (k)' (the k values of
 * fits with `converged[i]` false, red crosses; only when k > 0), the per-n statistic of
 * `rate.statistic` (mean with +-1 s.e. bars, or median), and, when the slope is defined, the fitted
 * line ("fitted to the <statistic>: slope s [95% CI lo, hi]"), the predicted line and the
 * log-corrected reference. The title names the statistic the fitted line shows, the counts of
 * fits, non-converged fits (all n drawn) and failed fits, the verdict and the CI width. Values
 * <= 0 cannot be drawn on log axes and are left out of the cloud (still counted in the title).
 *
 * @param input.experiment experiment name (title)
 * @param input.quantity quantity name (title, y axis, figure name)
 * @param input.summary {@link PerNSummary} per n (from perNSummary; `converged` may be absent in
 *   hand-made input: every value then counts as converged)
 * @param input.rate the RateRow of the same quantity and statistic
 * @returns a plotly figure named `convergence-<quantity>-<statistic>`
 * @example
 *   convergenceFigure({ experiment: 'demys-exact', quantity: 'D1', summary: perNSummary(rows, 'D1'), rate })
 *   // title: 'demys-exact: D1, line fitted to the mean — consistent (CI width 0.154)<br><sup>70 fits, 2 not converged (red x), 0 failed</sup>'
 */
export function convergenceFigure({ experiment, quantity, summary, rate }: ConvergenceInput): Figure {
  const stat = rate.statistic;
  const isOk = (s: PerNSummary, i: number) => s.converged?.[i] !== false;
  const cloud = summary.flatMap((s) => s.values.flatMap((v, i) => (v > 0 && isOk(s, i) ? [{ n: s.n, v }] : [])));
  const notConverged = summary.flatMap((s) => s.values.flatMap((v, i) => (v > 0 && !isOk(s, i) ? [{ n: s.n, v }] : [])));
  const centre = summary.filter((s) => (stat === 'mean' ? s.mean : s.median) !== null && (stat === 'mean' ? s.mean! : s.median!) > 0);
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
    ...(notConverged.length > 0
      ? [
          {
            type: 'scatter',
            mode: 'markers',
            name: `not converged (${notConverged.length})`,
            x: notConverged.map((p) => p.n),
            y: notConverged.map((p) => p.v),
            marker: { color: COLORS.notConverged, size: 7, symbol: 'x-thin-open', line: { color: COLORS.notConverged, width: 1.5 } },
            hovertemplate: 'n = %{x}<br>%{y:.3g}<extra>not converged</extra>',
          },
        ]
      : []),
    {
      type: 'scatter',
      mode: 'markers',
      name: `${stat} over replicates${stat === 'mean' ? ' (± 1 s.e.)' : ''}`,
      x: centre.map((s) => s.n),
      y: centre.map((s) => (stat === 'mean' ? s.mean : s.median)),
      marker: { color: COLORS.mean, size: 8, symbol: 'diamond' },
      ...(stat === 'mean' ? { error_y: { type: 'data', array: centre.map(meanStandardError), visible: true, color: COLORS.mean } } : {}),
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
      name: `fitted to the ${stat}: slope ${fmt(rate.slope)} [${Math.round(rate.level * 100)}% CI ${fmt(rate.ciLow)}, ${fmt(rate.ciHigh)}]`,
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
  let fits = 0;
  let nNotConverged = 0;
  let failed = 0;
  for (const s of summary) {
    fits += s.nFits;
    nNotConverged += s.nNotConverged;
    failed += s.nFailed - s.nNotConverged;
  }
  const width = rate.ciWidth ?? (rate.ciLow !== null && rate.ciHigh !== null ? rate.ciHigh - rate.ciLow : null);
  const title =
    `${experiment}: ${quantity}, line fitted to the ${stat} — ${rate.verdict}${width !== null ? ` (CI width ${fmt(width)})` : ''}` +
    `<br><sup>${fits} fits, ${nNotConverged} not converged${nNotConverged > 0 ? ' (red x)' : ''}, ${failed} failed</sup>`;
  return {
    name: `convergence-${quantity.replace(/[^A-Za-z0-9.=-]+/g, '_')}-${stat}`,
    data,
    layout: {
      title: { text: title, font: { size: 15 } },
      xaxis: { type: 'log', title: { text: 'sample size n (log scale)' }, dtick: 'D2', showgrid: true },
      yaxis: { type: 'log', title: { text: `error in ${quantity} (log scale)` }, dtick: 'D2', exponentformat: 'power', showgrid: true },
      // errors fall with n: the top-right corner is the empty one
      legend: { x: 0.99, y: 0.99, xanchor: 'right', yanchor: 'top', bgcolor: 'rgba(255,255,255,0.85)', bordercolor: '#ccc', borderwidth: 1 },
      width: 860,
      height: 560,
      margin: { l: 80, r: 30, t: 80, b: 70 },
      plot_bgcolor: 'white',
    },
  };
}
