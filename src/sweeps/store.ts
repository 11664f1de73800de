/**
 * The results store of a sweep: a folder with
 *   config.json   the experiment config and variant it belongs to (a resumed run must match it)
 *   rows.jsonl    one line per finished task: `<row JSON>\t<CRC-32 of the JSON>\n`
 *   lock          `<PID> <host>` of the process writing it
 * Appending is durable: each line is written and fsync'd before its task counts as done, so a
 * killed run (SIGINT, SIGTERM, SIGKILL) loses at most the tasks in flight. On open, a torn last
 * line (no newline, bad JSON or a CRC mismatch) is detected, reported and cut off; it is never
 * parsed as data. A damaged line before the last is an error (it cannot come from a crash).
 * Two runs cannot write one store: the lock is taken with O_EXCL; a lock whose process is gone is
 * taken over. A lock taken on another host (a cluster node) cannot be checked and is never taken over.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, ftruncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import { crc32 } from './crc32.js';
import type { ExperimentConfig, SweepRow } from './types.js';

export interface StoreContents {
  rows: SweepRow[];
  /** bytes of a torn last record that were found (and, when writing, cut off) */
  tornBytes: number;
  /** byte length of the valid prefix of rows.jsonl */
  validLength: number;
}

/** Parse rows.jsonl text; see the module comment for what counts as torn. */
export function parseRows(text: string, file: string): StoreContents {
  const rows: SweepRow[] = [];
  let offset = 0;
  let lineNo = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    lineNo++;
    const isLast = end < 0 || end === text.length - 1;
    const line = end < 0 ? text.slice(offset) : text.slice(offset, end);
    const tab = line.lastIndexOf('\t');
    let row: SweepRow | undefined;
    if (end >= 0 && tab > 0 && crc32(line.slice(0, tab)) === line.slice(tab + 1)) {
      try {
        row = JSON.parse(line.slice(0, tab)) as SweepRow;
      } catch {
        row = undefined;
      }
    }
    if (!row) {
      if (isLast) {
        const validLength = Buffer.byteLength(text.slice(0, offset), 'utf8');
        return { rows, tornBytes: Buffer.byteLength(text, 'utf8') - validLength, validLength };
      }
      throw new DataError(`${file}, line ${lineNo}: damaged record before the end of the file (bad checksum or JSON); the store is corrupt`);
    }
    rows.push(row);
    offset = end + 1;
  }
  return { rows, tornBytes: 0, validLength: Buffer.byteLength(text, 'utf8') };
}

/** Read a store folder without writing (for rates, status, figures). */
export function readStore(dir: string): StoreContents & { config: ExperimentConfig; variant: 'quick' | 'full' } {
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new ConfigError(`${dir}: is not a results folder (no config.json); run gatelab sweep first`);
  const meta = JSON.parse(readFileSync(configFile, 'utf8')) as { config: ExperimentConfig; variant: 'quick' | 'full' };
  const rowsFile = join(dir, 'rows.jsonl');
  const contents = existsSync(rowsFile) ? parseRows(readFileSync(rowsFile, 'utf8'), rowsFile) : { rows: [], tornBytes: 0, validLength: 0 };
  return { ...contents, config: meta.config, variant: meta.variant };
}

/** The holder of a store's lock, or undefined when it is not locked. */
export interface LockHolder {
  pid: number;
  /** the host it was taken on ('' for a lock written before hosts were recorded) */
  host: string;
  /** whether the process is alive (undefined: on another host, cannot tell) */
  alive?: boolean;
}

const lockText = () => `${process.pid} ${hostname()}`;

/** Read the lock of a store folder. */
export function readLock(dir: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'lock'), 'utf8').trim();
  } catch {
    return undefined;
  }
  const [pidText = '', host = ''] = text.split(/\s+/);
  const pid = Number(pidText);
  const local = host === '' || host === hostname();
  return { pid, host, alive: local ? Number.isInteger(pid) && pid > 0 && processAlive(pid) : undefined };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ResultsStore {
  private fd: number;
  private readonly done = new Set<string>();
  readonly rows: SweepRow[];
  readonly tornBytes: number;

  private constructor(
    readonly dir: string,
    fd: number,
    contents: StoreContents,
  ) {
    this.fd = fd;
    this.rows = contents.rows;
    this.tornBytes = contents.tornBytes;
    for (const r of contents.rows) this.done.add(r.key);
  }

  /** Open (create or resume) the store for a config and variant, taking the lock. */
  static open(dir: string, config: ExperimentConfig, variant: 'quick' | 'full'): ResultsStore {
    mkdirSync(dir, { recursive: true });
    ResultsStore.lock(dir);
    try {
      const configFile = join(dir, 'config.json');
      const meta = JSON.stringify({ config, variant }, null, 2) + '\n';
      if (existsSync(configFile)) {
        const old = readFileSync(configFile, 'utf8');
        if (old !== meta) {
          const previous = JSON.parse(old) as { config: { name: string }; variant: string };
          throw new ConfigError(
            `${dir}: holds results of another config (${previous.config.name}, ${previous.variant}) than ${config.name} (${variant}); use another --out or remove the folder`,
          );
        }
      } else writeFileSync(configFile, meta);
      const rowsFile = join(dir, 'rows.jsonl');
      const contents = existsSync(rowsFile) ? parseRows(readFileSync(rowsFile, 'utf8'), rowsFile) : { rows: [], tornBytes: 0, validLength: 0 };
      const fd = openSync(rowsFile, 'a');
      if (contents.tornBytes > 0) {
        ftruncateSync(fd, contents.validLength);
        fsyncSync(fd);
      }
      return new ResultsStore(dir, fd, contents);
    } catch (e) {
      ResultsStore.unlock(dir);
      throw e;
    }
  }

  private static lock(dir: string): void {
    const file = join(dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, lockText());
        closeSync(fd);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = readLock(dir);
        if (holder && holder.alive === undefined) {
          throw new ConfigError(`${dir}: is being written by process ${holder.pid} on host ${holder.host} (${file}); wait for it, or, if that job is gone, remove ${file}`);
        }
        if (holder?.alive) {
          throw new ConfigError(`${dir}: is being written by process ${holder.pid} (${file}); wait for it, or stop it, before running again`);
        }
        unlinkSync(file); // stale: its process is gone
      }
    }
    throw new ConfigError(`${dir}: could not take the lock ${file}`);
  }

  private static unlock(dir: string): void {
    try {
      const file = join(dir, 'lock');
      if (existsSync(file) && readFileSync(file, 'utf8').trim() === lockText()) unlinkSync(file);
    } catch {
      // the lock is advisory; a leftover one is detected as stale by its PID
    }
  }

  has(key: string): boolean {
    return this.done.has(key);
  }

  /** Append a finished task durably (write + fsync) before it counts as done. */
  append(row: SweepRow): void {
    const json = JSON.stringify(row);
    writeSync(this.fd, `${json}\t${crc32(json)}\n`);
    fsyncSync(this.fd);
    this.done.add(row.key);
    this.rows.push(row);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    ResultsStore.unlock(this.dir);
  }
}
