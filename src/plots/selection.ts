/**
 * Figures of choosing k (docs/selection.md): the dendrogram of mixing measures (merge heights on
 * the y axis, the fitted atoms labelled with their parameters), the criteria against k, and the
 * frequency with which each criterion chooses k* against n in a selection sweep.
 */
import type { SelectionFrequency } from '../analysis/selection-frequency.js';
import type { Dendrogram } from '../selection/dendrogram.js';
import type { Selection } from '../selection/select-k.js';
import type { Figure } from './types.js';

const COLORS: Record<string, string> = { aic: '#d62728', bic: '#1f77b4', icl: '#2ca02c', dic: '#9467bd' };

/**
 * The dendrogram of one fit: each merge as a bracket at its height; leaves at the bottom, in the
 * order of a walk from the root, labelled with their parameters (mass p, beta1, a, b, nu). The y
 * axis is logarithmic when the positive heights span more than two decades (leaves and zero
 * heights then sit at a floor a decade below the smallest positive height, said in the axis
 * title). A dotted line marks the DIC's cut.
 * @param tree from dendrogram() or selectK().dendrogram
 * @param title the figure's title
 * @returns a plotly figure named "dendrogram"
 * @example dendrogramFigure(selectK(data, { gate: { type: 'softmax' }, kMax: 3, seed: 1 }).dendrogram!, 'DEMYS, n = 5000')
 */
export function dendrogramFigure(tree: Dendrogram, title: string): Figure {
  const K = tree.leaves.length;
  const children = new Map<number, [number, number]>();
  const heightOf = new Map<number, number>();
  for (const m of tree.merges) {
    children.set(m.node, [m.left, m.right]);
    heightOf.set(m.node, m.height);
  }
  // leaf order: a walk from the root (the last node), left before right
  const order: number[] = [];
  const walk = (node: number): void => {
    const c = children.get(node);
    if (!c) order.push(node);
    else {
      walk(c[0]);
      walk(c[1]);
    }
  };
  walk(K > 1 ? K + tree.merges.length - 1 : 0);
  const positive = tree.merges.map((m) => m.height).filter((h) => h > 0);
  const minPositive = positive.length > 0 ? Math.min(...positive) : 1;
  const maxHeight = positive.length > 0 ? Math.max(...positive) : 1;
  const log = positive.length > 0 && maxHeight / minPositive > 100;
  const floor = log ? minPositive / 10 : 0;
  const y = (h: number) => (log ? Math.max(h, floor) : h);
  const x = new Map<number, number>();
  order.forEach((leaf, i) => x.set(leaf, i));
  const xs: (number | null)[] = [];
  const ys: (number | null)[] = [];
  const yOf = (node: number) => (node < K ? floor : y(heightOf.get(node)!));
  const text: string[] = [];
  const tx: number[] = [];
  const ty: number[] = [];
  for (const m of tree.merges) {
    const xl = x.get(m.left)!;
    const xr = x.get(m.right)!;
    const h = y(m.height);
    xs.push(xl, xl, xr, xr, null);
    ys.push(yOf(m.left), h, h, yOf(m.right), null);
    x.set(m.node, (xl + xr) / 2);
    tx.push((xl + xr) / 2);
    ty.push(h);
    text.push(`${m.fromK} -> ${m.fromK - 1}: h = ${m.height.toPrecision(3)}`);
  }
  const data: Record<string, unknown>[] = [
    { type: 'scatter', mode: 'lines', name: 'merges', x: xs, y: ys, line: { color: '#1f77b4', width: 2 }, hoverinfo: 'skip' },
    { type: 'scatter', mode: 'markers+text', name: 'merge heights', x: tx, y: ty, text, textposition: 'top center', marker: { color: '#1f77b4', size: 7 } },
  ];
  const chosen = tree.chosen;
  if (chosen !== null) {
    // the cut that leaves `chosen` atoms: between the merge leaving level chosen and the one below it
    const above = tree.levels.find((l) => l.k === chosen)?.height ?? maxHeight;
    const below = tree.levels.find((l) => l.k === chosen + 1)?.height ?? null;
    const cut = log ? Math.sqrt(Math.max(above, floor) * Math.max(below ?? floor, floor)) : (above + (below ?? 0)) / 2;
    data.push({ type: 'scatter', mode: 'lines', name: `DIC cut: k = ${chosen}`, x: [-0.5, K - 0.5], y: [cut, cut], line: { color: COLORS.dic, dash: 'dot', width: 2 } });
  }
  const labelOf = (i: number) => tree.leaves[i]!.label.replace(/, /g, '<br>');
  return {
    name: 'dendrogram',
    data,
    layout: {
      title: { text: `${title}: dendrogram of mixing measures${chosen !== null ? ` (DIC chooses k = ${chosen})` : ''}` },
      xaxis: { tickvals: order.map((_, i) => i), ticktext: order.map(labelOf), range: [-0.5, K - 0.5], zeroline: false, title: { text: 'fitted atoms (p = normalised mass exp(beta0 / tau))' } },
      yaxis: {
        type: log ? 'log' : 'linear',
        title: { text: `merge height d(i, j)${log ? ` (log; leaves and zero heights drawn at ${floor.toPrecision(2)})` : ''}` },
      },
      width: 860,
      height: 560,
      margin: { b: 170 },
      showlegend: true,
      legend: { x: 1.01, y: 1 },
    },
  };
}

/**
 * AIC, BIC and ICL against k (left axis) and the DIC of the dendrogram's levels (right axis),
 * with each criterion's choice marked by a star.
 * @param selection from selectK
 * @param title the figure's title
 * @returns a plotly figure named "criteria"
 * @example criteriaFigure(selectK(data, { gate: { type: 'softmax' }, kMax: 4, seed: 1 }), 'DEMYS, n = 5000')
 */
export function criteriaFigure(selection: Selection, title: string): Figure {
  const ks = selection.k.map((f) => f.k);
  const data: Record<string, unknown>[] = [];
  for (const c of ['aic', 'bic', 'icl'] as const) {
    const values = selection.k.map((f) => f[c]);
    data.push({ type: 'scatter', mode: 'lines+markers', name: c.toUpperCase(), x: ks, y: values, line: { color: COLORS[c] } });
    const chosen = selection.chosen[c];
    if (chosen !== null) {
      data.push({ type: 'scatter', mode: 'markers', name: `${c.toUpperCase()} chooses ${chosen}`, x: [chosen], y: [values[ks.indexOf(chosen)]], marker: { symbol: 'star', size: 16, color: COLORS[c] }, showlegend: true });
    }
  }
  const tree = selection.dendrogram;
  if (tree) {
    const levels = tree.levels.filter((l) => l.dic !== null).sort((a, b) => a.k - b.k);
    data.push({ type: 'scatter', mode: 'lines+markers', name: 'DIC (right axis)', x: levels.map((l) => l.k), y: levels.map((l) => l.dic), yaxis: 'y2', line: { color: COLORS.dic, dash: 'dash' } });
    if (tree.chosen !== null) {
      data.push({ type: 'scatter', mode: 'markers', name: `DIC chooses ${tree.chosen}`, x: [tree.chosen], y: [levels.find((l) => l.k === tree.chosen)!.dic], yaxis: 'y2', marker: { symbol: 'star', size: 16, color: COLORS.dic } });
    }
  }
  return {
    name: 'criteria',
    data,
    layout: {
      title: { text: `${title}: criteria against k (smaller is better)` },
      xaxis: { title: { text: 'k (experts)' }, dtick: 1 },
      yaxis: { title: { text: '-2 L + penalty' } },
      ...(tree ? { yaxis2: { title: { text: 'DIC = -(h + log(n) L / n)' }, overlaying: 'y', side: 'right' } } : {}),
      width: 860,
      height: 460,
      legend: { x: 1.1, y: 1 },
    },
  };
}

/**
 * The frequency with which each criterion chooses k* against n (log axis), with 95% Wilson
 * intervals as error bars.
 * @param freqs from selectionFrequencies
 * @param title the figure's title
 * @returns a plotly figure named "selection-frequency"
 * @example selectionFrequencyFigure(selectionFrequencies(rows), 'select-demys (quick)')
 */
export function selectionFrequencyFigure(freqs: readonly SelectionFrequency[], title: string): Figure {
  const criteria = [...new Set(freqs.map((f) => f.criterion))];
  const data = criteria.map((c, t) => {
    const rows = freqs.filter((f) => f.criterion === c && f.frequency !== null);
    // a small horizontal offset per criterion so that overlapping intervals stay visible
    const shift = Math.pow(1.04, t - (criteria.length - 1) / 2);
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: c.toUpperCase(),
      x: rows.map((f) => f.n * shift),
      y: rows.map((f) => f.frequency),
      error_y: { type: 'data', symmetric: false, array: rows.map((f) => f.hi - f.frequency!), arrayminus: rows.map((f) => f.frequency! - f.lo), thickness: 1.2 },
      line: { color: COLORS[c] ?? '#7f7f7f' },
      text: rows.map((f) => `${f.correct}/${f.trials}, over ${f.over}, under ${f.under}`),
      hovertemplate: 'n = %{x:.0f}<br>P(k = k*) = %{y:.2f}<br>%{text}<extra>%{fullData.name}</extra>',
    };
  });
  return {
    name: 'selection-frequency',
    data,
    layout: {
      title: { text: `${title}: frequency of choosing k* (95% Wilson intervals)` },
      xaxis: { type: 'log', title: { text: 'sample size n' } },
      yaxis: { title: { text: 'P(chosen k = k*)' }, range: [-0.03, 1.03] },
      width: 860,
      height: 460,
      legend: { x: 1.01, y: 1 },
    },
  };
}
