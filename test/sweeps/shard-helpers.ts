/** Helpers of the shard, status, export and SLURM tests. */
import type { SweepRow } from '../../src/sweeps/types.js';

/** Rows by key without wall time (the only field that depends on the machine), for identity checks. */
export function comparable(rows: SweepRow[]): string {
  return JSON.stringify([...rows].sort((a, b) => (a.key < b.key ? -1 : 1)).map(({ seconds: _seconds, ...rest }) => rest));
}
