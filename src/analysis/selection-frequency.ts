/**
 * How often each criterion of a selection sweep chooses the true k* (docs/selection.md, "Sweep"),
 * per n, with Wilson score intervals:
 *
 *   p^ = x / m,   centre = (x + z^2 / 2) / (m + z^2),
 *   half = z sqrt(x (m - x) / m + z^2 / 4) / (m + z^2),   [centre - half, centre + half]
 *
 * (z = 1.959964 for 95%). Failed tasks, and tasks where a criterion chose nothing, are counted
 * apart and left out of the trials.
 */
import type { SelectRow } from '../sweeps/select-sweep.js';

export const SELECTION_CRITERIA = ['aic', 'bic', 'icl', 'dic'] as const;
export type SelectionCriterion = (typeof SELECTION_CRITERIA)[number];

/**
 * The Wilson score interval of x successes in m trials.
 * @param x successes, 0..m
 * @param m trials >= 0 (m = 0: [0, 1])
 * @param z the normal quantile (default 1.959964: 95%)
 * @example wilsonInterval(8, 10) // => [0.4902, 0.9433]
 */
export function wilsonInterval(x: number, m: number, z = 1.959964): [number, number] {
  if (m === 0) return [0, 1];
  const z2 = z * z;
  const centre = (x + z2 / 2) / (m + z2);
  const half = (z * Math.sqrt((x * (m - x)) / m + z2 / 4)) / (m + z2);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface SelectionFrequency {
  n: number;
  criterion: SelectionCriterion;
  /** tasks where the criterion chose a k */
  trials: number;
  /** chose k* */
  correct: number;
  /** chose k > k* */
  over: number;
  /** chose k < k* */
  under: number;
  /** failed tasks or no choice (e.g. no dendrogram) */
  missing: number;
  frequency: number | null;
  lo: number;
  hi: number;
}

/**
 * Per n and criterion, the frequency of choosing k* with its Wilson interval.
 * @param rows the latest row per task of a selection sweep
 * @example selectionFrequencies(rows).filter((f) => f.criterion === 'bic')
 */
export function selectionFrequencies(rows: readonly SelectRow[]): SelectionFrequency[] {
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const out: SelectionFrequency[] = [];
  for (const n of ns) {
    const atN = rows.filter((r) => r.n === n);
    for (const criterion of SELECTION_CRITERIA) {
      let correct = 0;
      let over = 0;
      let under = 0;
      let missing = 0;
      for (const r of atN) {
        const k = r.status === 'ok' ? r.chosen?.[criterion] ?? null : null;
        if (k === null) missing++;
        else if (k === r.kStar) correct++;
        else if (k > r.kStar) over++;
        else under++;
      }
      const trials = correct + over + under;
      const [lo, hi] = wilsonInterval(correct, trials);
      out.push({ n, criterion, trials, correct, over, under, missing, frequency: trials > 0 ? correct / trials : null, lo, hi });
    }
  }
  return out;
}

/**
 * A markdown table: one row per n, per criterion "freq [lo, hi] (over/under)".
 * @example formatSelectionFrequencies(selectionFrequencies(rows))
 */
export function formatSelectionFrequencies(freqs: readonly SelectionFrequency[]): string {
  const ns = [...new Set(freqs.map((f) => f.n))];
  const header = `| n | ${SELECTION_CRITERIA.map((c) => `${c.toUpperCase()}: P(k = k*) [95% Wilson] (over / under)`).join(' | ')} |`;
  const lines = [header, `|---|${SELECTION_CRITERIA.map(() => '---').join('|')}|`];
  for (const n of ns) {
    const cells = SELECTION_CRITERIA.map((c) => {
      const f = freqs.find((x) => x.n === n && x.criterion === c)!;
      if (f.frequency === null) return `– (${f.missing} without a choice)`;
      return `${f.correct}/${f.trials} = ${f.frequency.toFixed(2)} [${f.lo.toFixed(2)}, ${f.hi.toFixed(2)}] (${f.over} / ${f.under})${f.missing > 0 ? `, ${f.missing} missing` : ''}`;
    });
    lines.push(`| ${n} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
