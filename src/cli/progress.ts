/**
 * Progress display for long runs: a one-line bar redrawn in place on a terminal, plain lines at
 * most every `interval` seconds (and at the end) otherwise, e.g. in CI logs.
 */
import { formatDuration as duration } from '../sweeps/status.js';
import type { SweepProgress } from '../sweeps/sweep.js';

export function progressReporter(write: (text: string) => void, isTTY: boolean, label: string, interval = 10): (p: SweepProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now() / 1000;
    const finished = p.done === p.total;
    const text = `${p.done}/${p.total} tasks, ${p.rate.toFixed(2)}/s, ETA ${finished ? '0s' : duration(p.eta)}${p.failed ? `, ${p.failed} failed` : ''}`;
    if (isTTY) {
      const width = 30;
      const filled = Math.round((width * p.done) / Math.max(p.total, 1));
      write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}   ${finished ? '\n' : ''}`);
    } else if (finished || now - last >= interval) {
      last = now;
      write(`${label}: ${text}\n`);
    }
  };
}
