/**
 * `gatelab repair DIR`: the way out of a store with a damaged record (a bad checksum or bad JSON
 * before the last line, which no crash writes: a disk or a hand edit did). For every store of a
 * results folder (the unsharded one and each shard), under its lock:
 *   1. the damaged lines, and a torn last line, are appended byte for byte to
 *      `rows.jsonl.quarantine` beside rows.jsonl, and fsync'd;
 *   2. the intact lines are written to a temporary file, fsync'd, and renamed over rows.jsonl.
 * Nothing is deleted: every byte of the old rows.jsonl is in one of the two files. A repair killed
 * between 1 and 2 leaves rows.jsonl as it was (repair again: the quarantine then holds those lines
 * twice). The tasks of the quarantined records count as missing, so a sweep runs them again.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { fsCall, writeAll } from '../files.js';
import { crc32 } from './crc32.js';
import { listStores, storeLabel } from './merged-store.js';
import { releaseLock, takeLock } from './store.js';

/** The quarantine file of a store folder. */
export const QUARANTINE_FILE = 'rows.jsonl.quarantine';

export interface StoreRepair {
  dir: string;
  /** `main` or `<i>-of-<N>` */
  label: string;
  /** intact records kept in rows.jsonl */
  kept: number;
  /** 1-based line numbers of the damaged records moved to the quarantine file */
  damagedLines: number[];
  /** bytes of a torn last record moved to the quarantine file (0: none) */
  tornBytes: number;
  /** the quarantine file, when something was moved */
  quarantine?: string;
}

/** Split rows.jsonl bytes into intact lines and damaged ones (see the module comment). */
export function scanRows(bytes: Buffer): { kept: Buffer[]; damaged: { line: number; bytes: Buffer }[]; torn?: Buffer } {
  const kept: Buffer[] = [];
  const damaged: { line: number; bytes: Buffer }[] = [];
  let torn: Buffer | undefined;
  let offset = 0;
  let line = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(0x0a, offset);
    line++;
    if (end < 0) {
      torn = bytes.subarray(offset);
      break;
    }
    const raw = bytes.subarray(offset, end + 1);
    const text = raw.subarray(0, raw.length - 1).toString('utf8');
    const tab = text.lastIndexOf('\t');
    let ok = tab > 0 && crc32(text.slice(0, tab)) === text.slice(tab + 1);
    if (ok) {
      try {
        const row = JSON.parse(text.slice(0, tab)) as unknown;
        ok = typeof row === 'object' && row !== null && typeof (row as { key?: unknown }).key === 'string';
      } catch {
        ok = false;
      }
    }
    if (ok) kept.push(raw);
    else damaged.push({ line, bytes: raw });
    offset = end + 1;
  }
  return { kept, damaged, ...(torn ? { torn } : {}) };
}

function fsyncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every file system syncs a folder; the rename is atomic anyway
  }
}

/** Repair one store folder (see the module comment); takes its lock. */
export function repairStore(dir: string, label = 'main'): StoreRepair {
  const rowsFile = join(dir, 'rows.jsonl');
  const lock = takeLock(dir);
  try {
    if (!existsSync(rowsFile)) return { dir, label, kept: 0, damagedLines: [], tornBytes: 0 };
    const bytes = fsCall(dir, 'read', rowsFile, () => readFileSync(rowsFile));
    const { kept, damaged, torn } = scanRows(bytes);
    const result: StoreRepair = { dir, label, kept: kept.length, damagedLines: damaged.map((d) => d.line), tornBytes: torn?.length ?? 0 };
    if (damaged.length === 0 && !torn) return result;
    const quarantine = join(dir, QUARANTINE_FILE);
    // 1. the damaged bytes, durably, before rows.jsonl changes
    fsCall(dir, 'append to', quarantine, () => {
      const fd = openSync(quarantine, 'a');
      try {
        for (const d of damaged) writeAll(fd, d.bytes);
        if (torn) writeAll(fd, Buffer.concat([torn, Buffer.from('\n')]));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    });
    // 2. the intact lines replace rows.jsonl at once
    const tmp = `${rowsFile}.repair-${process.pid}`;
    try {
      fsCall(dir, 'write', tmp, () => {
        const fd = openSync(tmp, 'w');
        try {
          writeAll(fd, Buffer.concat(kept));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, rowsFile);
      });
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // not made
      }
      throw e;
    }
    fsyncFolder(dir);
    return { ...result, quarantine };
  } finally {
    releaseLock(dir, lock);
  }
}

/** Repair every store of a results folder (unsharded and shards). */
export function repairResults(dir: string): StoreRepair[] {
  const stores = listStores(dir);
  if (stores.length === 0) {
    throw new ConfigError(`${dir}: is not a results folder (no config.json, no shards/<i>-of-<N>/config.json); give the --out of gatelab sweep`);
  }
  return stores.map((s) => repairStore(s.dir, storeLabel(s)));
}

/** What repair did, as lines for a terminal. */
export function formatRepair(dir: string, repairs: StoreRepair[]): string {
  const lines: string[] = [];
  for (const r of repairs) {
    const where = r.label === 'main' ? r.dir : `${r.label} (${r.dir})`;
    if (!r.quarantine) {
      lines.push(`${where}: intact, ${r.kept} records; nothing to repair`);
      continue;
    }
    const moved = [
      ...(r.damagedLines.length > 0 ? [`${r.damagedLines.length} damaged record(s) (line ${r.damagedLines.slice(0, 10).join(', ')}${r.damagedLines.length > 10 ? ', ...' : ''})`] : []),
      ...(r.tornBytes > 0 ? [`a torn last record (${r.tornBytes} bytes)`] : []),
    ].join(' and ');
    lines.push(`${where}: moved ${moved} to ${r.quarantine}; kept ${r.kept} records`);
  }
  const movedAny = repairs.some((r) => r.quarantine);
  lines.push(
    movedAny
      ? `repair: done; the quarantined tasks count as missing: gatelab status ${dir} lists them, and the same gatelab sweep command runs them again`
      : `repair: ${dir} needs no repair`,
  );
  return lines.join('\n') + '\n';
}
