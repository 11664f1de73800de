/**
 * The results store of a sweep: a folder with
 *   config.json   the experiment config and variant it belongs to (a resumed run must match it)
 *   rows.jsonl    one line per finished run of a task: `<row JSON>\t<CRC-32 of the JSON>\n`;
 *                 append-only: a failed task that a resume retries gets a second line, and
 *                 readers take the latest line of each key (latestPerKey)
 *   lock          `<PID> <host>` of the process writing it
 * Appending is durable: each line is written and fsync'd before its task counts as done, so a
 * killed run (SIGINT, SIGTERM, SIGKILL) loses at most the tasks in flight. On open, a torn last
 * line (no newline, bad JSON or a CRC mismatch) is detected, reported and cut off; it is never
 * parsed as data. A damaged line before the last is an error (it cannot come from a crash):
 * `gatelab repair DIR` (repair.ts) moves such lines to a quarantine file and keeps the rest.
 * Two runs cannot write one store: the lock file appears whole (a hard link of a complete file)
 * or not at all; a lock whose process is gone is taken over atomically (see takeOver: of several
 * runs that see the same dead PID, exactly one replaces it). A lock taken on another host (a
 * cluster node) cannot be checked and is never taken over.
 * Every file-system failure (a full or read-only disk, a path under a file, /proc) is a
 * ConfigError that says what to do; a failed append leaves the store as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, linkSync, lstatSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DataError, GatelabError, show } from '../errors.js';
import { ensureDir, fsCall, fsCode, isFsError, writeAdvice, writeAll } from '../files.js';
import { resolveNGrid } from './config.js';
import { crc32 } from './crc32.js';
import type { ExperimentConfig, SweepRow } from './types.js';

/** The files of a store folder (no command but sweep and repair writes them). */
export const STORE_FILES: readonly string[] = ['config.json', 'rows.jsonl', 'lock', 'run.json', 'rows.jsonl.quarantine'];

/**
 * The store folder a path belongs to, when it is (or links to) one of its files; else undefined.
 * Used to refuse writing an output over a results store.
 */
export function storeOfFile(path: string): string | undefined {
  const candidates = [resolve(path)];
  try {
    if (lstatSync(path).isSymbolicLink()) candidates.push(realpathSync(path));
  } catch {
    // a new file, or a dangling link
  }
  try {
    candidates.push(join(realpathSync(dirname(path)), basename(path)));
  } catch {
    // its folder does not exist
  }
  for (const file of candidates) {
    const dir = dirname(file);
    const name = basename(file);
    const isStoreFile = STORE_FILES.includes(name) || name.startsWith('lock.');
    // a store folder has both (ResultsStore.open makes rows.jsonl right after config.json)
    if (isStoreFile && existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'rows.jsonl'))) return dir;
  }
  return undefined;
}

export interface StoreContents {
  /** the latest row of each task key (see latestPerKey) */
  rows: SweepRow[];
  /** records replaced by a later record of the same key (failed runs that were retried) */
  superseded?: number;
  /** bytes of a torn last record that were found (and, when writing, cut off) */
  tornBytes: number;
  /** byte length of the valid prefix of rows.jsonl */
  validLength: number;
}

/**
 * The latest row of each task key, at the place of the key's first row: a store is append-only,
 * so a task that a resume ran again (a failed one) has several records, and the last one counts.
 */
export function latestPerKey(rows: readonly SweepRow[]): SweepRow[] {
  const byKey = new Map<string, SweepRow>();
  for (const row of rows) byKey.set(row.key, row);
  return byKey.size === rows.length ? [...rows] : [...byKey.values()];
}

/**
 * Parse rows.jsonl text; see the module comment for what counts as torn. `rows` holds every
 * record in file order (readers take latestPerKey of them).
 */
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
      throw new DataError(
        `${file}, line ${lineNo}: damaged record before the end of the file (bad checksum or JSON); run gatelab repair ${dirname(file)} to move damaged records to a quarantine file and keep the rest`,
      );
    }
    rows.push(row);
    offset = end + 1;
  }
  return { rows, tornBytes: 0, validLength: Buffer.byteLength(text, 'utf8') };
}

/** What a store's config.json holds: the experiment config and variant its rows belong to. */
export interface StoreMeta {
  config: ExperimentConfig;
  variant: 'quick' | 'full';
}

const DAMAGED_CONFIG = 'it is written by gatelab sweep when the folder is made: restore it from a backup, or move the folder aside and run the sweep again';

/**
 * Parse the text of a store's config.json. It must hold {config, variant} with the fields the
 * task grid needs (name, seed, the variant's n and replicates); errors name the file and field.
 */
export function parseStoreMeta(text: string, file: string): StoreMeta {
  if (text.trim() === '') throw new DataError(`${file}: is empty; ${DAMAGED_CONFIG}`);
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file}: is not valid JSON (${(e as Error).message.split('\n')[0]}); ${DAMAGED_CONFIG}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const bad = (field: string, value: unknown, want: string): never => {
    throw new DataError(`${file}: ${field}: ${show(value)} is not ${want}; ${DAMAGED_CONFIG}`);
  };
  if (!isObject(meta)) bad('the file', meta, 'an object {"config": ..., "variant": ...}');
  const m = meta as Record<string, unknown>;
  if (m.variant !== 'quick' && m.variant !== 'full') bad('variant', m.variant, '"quick" or "full"');
  if (!isObject(m.config)) bad('config', m.config, 'an experiment config');
  const c = m.config as Record<string, unknown>;
  if (typeof c.name !== 'string' || c.name === '') bad('config.name', c.name, 'a name');
  if (typeof c.seed !== 'number' || !Number.isSafeInteger(c.seed) || c.seed < 0) bad('config.seed', c.seed, 'a seed');
  if (!isObject(c.variants)) bad('config.variants', c.variants, 'an object with quick and full');
  const v = (c.variants as Record<string, unknown>)[m.variant as string];
  if (!isObject(v)) bad(`config.variants.${m.variant}`, v, 'a variant');
  const variant = v as Record<string, unknown>;
  if (typeof variant.replicates !== 'number' || !Number.isInteger(variant.replicates) || variant.replicates < 1) {
    bad(`config.variants.${m.variant}.replicates`, variant.replicates, 'an integer >= 1');
  }
  try {
    resolveNGrid(variant.n as ExperimentConfig['variants']['quick']['n'], `config.variants.${m.variant}.n`);
  } catch (e) {
    if (e instanceof GatelabError) throw new DataError(`${file}: ${e.message}; ${DAMAGED_CONFIG}`);
    throw e;
  }
  return { config: m.config as ExperimentConfig, variant: m.variant as 'quick' | 'full' };
}

/** Read a store's config.json (see parseStoreMeta). */
export function readStoreMeta(dir: string): StoreMeta & { text: string } {
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new ConfigError(`${dir}: is not a results folder (no config.json); run gatelab sweep first`);
  const text = fsCall(dir, 'read', configFile, () => readFileSync(configFile, 'utf8'), DAMAGED_CONFIG);
  return { ...parseStoreMeta(text, configFile), text };
}

/** Read rows.jsonl: the latest row of each key (records of failed runs that were retried are superseded). */
function readRowsFile(rowsFile: string): StoreContents {
  if (!existsSync(rowsFile)) return { rows: [], tornBytes: 0, validLength: 0, superseded: 0 };
  const text = fsCall(dirname(rowsFile), 'read', rowsFile, () => readFileSync(rowsFile, 'utf8'), 'it is written by gatelab sweep: move it aside to start the store afresh');
  const contents = parseRows(text, rowsFile);
  const rows = latestPerKey(contents.rows);
  return { ...contents, rows, superseded: contents.rows.length - rows.length };
}

/** Read a store folder without writing (for rates, status, figures): one row per task key, the latest. */
export function readStore(dir: string): StoreContents & StoreMeta {
  const meta = readStoreMeta(dir);
  const contents = readRowsFile(join(dir, 'rows.jsonl'));
  return { ...contents, config: meta.config, variant: meta.variant };
}

/**
 * The first place where two JSON values differ, e.g. `fit.tol: 1e-6 in the folder, 1e-7 in this
 * config` (undefined when they are equal up to the order of keys).
 * @param names how to call the two sides
 */
export function jsonDifference(there: unknown, here: unknown, path = '', names: [string, string] = ['in the folder', 'in this config']): string | undefined {
  if (JSON.stringify(there) === JSON.stringify(here)) return undefined;
  const [a, b] = names;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObject(there) && isObject(here) && Array.isArray(there) === Array.isArray(here)) {
    if (Array.isArray(there) && Array.isArray(here) && there.length !== here.length) {
      return `${path || 'the list'}: ${there.length} entries ${a}, ${here.length} ${b}`;
    }
    const keys = [...new Set([...Object.keys(there), ...Object.keys(here)])];
    for (const key of keys) {
      const sub = Array.isArray(there) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      const x = there[key];
      const y = here[key];
      if (x === undefined) return `${sub}: absent ${a}, ${show(y)} ${b}`;
      if (y === undefined) return `${sub}: ${show(x)} ${a}, absent ${b}`;
      const d = jsonDifference(x, y, sub, names);
      if (d) return d;
    }
    return undefined;
  }
  return `${path || 'the value'}: ${show(there)} ${a}, ${show(here)} ${b}`;
}

/** The refusal to write a config's rows into a folder that holds another config's (names the first field that differs). */
export function anotherConfigError(dir: string, previous: StoreMeta, config: ExperimentConfig, variant: 'quick' | 'full'): ConfigError {
  // the description is not part of a run's identity: the difference named is another field
  const difference = jsonDifference(runIdentity(previous), runIdentity({ config, variant }));
  return new ConfigError(
    `${dir}: holds results of another config (${previous.config.name}, ${previous.variant}) than ${config.name} (${variant})${difference ? `: ${difference}` : ''}; use another --out, or move the folder aside`,
  );
}

/** The holder of a store's lock, or undefined when it is not locked. */
export interface LockHolder {
  pid: number;
  /** the host it was taken on ('' for a lock written before hosts were recorded) */
  host: string;
  /** whether the process is alive (undefined: on another host, cannot tell) */
  alive?: boolean;
}

/** Read the lock of a store folder. */
export function readLock(dir: string): LockHolder | undefined {
  const text = readLockFile(join(dir, 'lock'));
  return text === undefined ? undefined : parseLock(text);
}

function readLockFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A lock's text is `<PID> <host> <nonce>` (older stores: `<PID> <host>` or `<PID>`). */
function parseLock(text: string): LockHolder {
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

function heldError(dir: string, file: string, holder: LockHolder): ConfigError {
  if (holder.alive === undefined) {
    return new ConfigError(`${dir}: is being written by process ${holder.pid} on host ${holder.host} (${file}); wait for it, or, if that job is gone, remove ${file}`);
  }
  return new ConfigError(`${dir}: is being written by process ${holder.pid} (${file}); wait for it, or stop it, before running again`);
}

function busyError(dir: string, file: string): ConfigError {
  return new ConfigError(`${dir}: another run is taking the lock right now (${file}); try again in a moment`);
}

/** Errors of link() that mean the file system has no hard links (then the lock falls back to O_EXCL). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Take the lock of a store folder; returns its text (to release it with releaseLock).
 * The lock appears whole: a complete file `lock.new-<PID>-<nonce>` is hard-linked to `lock`
 * (link fails if `lock` exists), so a reader never sees a half-written lock. A stale lock (its
 * process is gone) is replaced by takeOver, atomically.
 */
export function takeLock(dir: string): string {
  const file = join(dir, 'lock');
  const nonce = randomBytes(6).toString('hex');
  const mine = `${process.pid} ${hostname()} ${nonce}`;
  const candidate = join(dir, `lock.new-${process.pid}-${nonce}`);
  fsCall(dir, 'write the lock', candidate, () => writeFileSync(candidate, mine, { flag: 'wx' }), 'choose a results folder (--out) on a writable disk');
  let hardLinks = true;
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        if (hardLinks) linkSync(candidate, file);
        else writeFileSync(file, mine, { flag: 'wx' });
        return mine;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (hardLinks && code !== undefined && NO_HARD_LINKS.has(code)) {
          hardLinks = false;
          attempt--;
          continue;
        }
        if (code !== 'EEXIST') fsCall(dir, 'take the lock', file, () => {
          throw e;
        });
      }
      const text = readLockFile(file);
      if (text === undefined) continue; // released meanwhile: try again
      if (text === '' && !hardLinks) throw busyError(dir, file); // being written by O_EXCL + write: not stale
      const holder = parseLock(text);
      if (holder.alive !== false) throw heldError(dir, file, holder);
      if (takeOver(dir, file, text, candidate, mine, hardLinks)) return mine;
      // another run took it over first: look again (its lock is live now)
    }
    throw new ConfigError(`${dir}: could not take the lock ${file}: other runs kept taking it; try again`);
  } finally {
    try {
      unlinkSync(candidate);
    } catch {
      // renamed into place by takeOver
    }
  }
}

const markerName = (dir: string, lockText: string) => join(dir, `lock.takeover-${createHash('sha256').update(lockText).digest('hex').slice(0, 20)}`);

/**
 * Replace the stale lock `stale` (its process is gone) by ours, so that of any number of runs
 * that see the same dead lock at once exactly one succeeds. The right to replace a given lock
 * text is the marker file `lock.takeover-<hash of the text>`, created with link/O_EXCL: one
 * process wins it. The winner checks that `lock` still holds `stale` and renames its complete
 * lock file over it (atomic: `lock` is never absent, so no fresh O_EXCL take can slip in), then
 * removes the markers. A winner killed half-way leaves its marker, holding its own (now dead)
 * lock text: the next run takes over that marker the same way (its marker is named by the dead
 * winner's text), so a takeover never blocks for ever.
 * @returns true when our lock is in place; false when another run was first
 */
function takeOver(dir: string, file: string, stale: string, candidate: string, mine: string, hardLinks: boolean): boolean {
  const visited: string[] = [];
  let victim = stale;
  for (let depth = 0; depth < 32; depth++) {
    const marker = markerName(dir, victim);
    try {
      if (hardLinks) linkSync(candidate, marker);
      else writeFileSync(marker, mine, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        fsCall(dir, 'take over the stale lock', file, () => {
          throw e;
        });
      }
      const claimant = readLockFile(marker);
      if (claimant === undefined) return false; // finished meanwhile: look at the lock again
      if (claimant === '') throw busyError(dir, marker); // being written (no hard links here)
      const holder = parseLock(claimant);
      if (holder.alive !== false) throw heldError(dir, marker, holder); // a live run is taking it over
      visited.push(marker);
      victim = claimant;
      continue;
    }
    // this run alone may replace `stale` now; it must still be the lock
    if (readLockFile(file) !== stale) {
      tryUnlink(marker);
      return false;
    }
    if (hardLinks) renameSync(candidate, file);
    else {
      const tmp = `${candidate}.take`;
      writeFileSync(tmp, mine, { flag: 'wx' });
      renameSync(tmp, file);
    }
    for (const m of [marker, ...visited]) tryUnlink(m);
    return true;
  }
  return false;
}

function tryUnlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}

/** Release a lock taken by takeLock (only if it is still ours). */
export function releaseLock(dir: string, mine: string): void {
  try {
    const file = join(dir, 'lock');
    if (readLockFile(file) === mine) unlinkSync(file);
  } catch {
    // the lock is advisory; a leftover one is detected as stale by its PID
  }
}

const writeMeta = (config: ExperimentConfig, variant: 'quick' | 'full') => JSON.stringify({ config, variant }, null, 2) + '\n';

/**
 * Whether two (config, variant) pairs name the same run: equal as JSON apart from the config's
 * `description`, which documents the experiment and changes no row (so that editing the text of
 * a shipped experiment does not orphan its results).
 * @example sameRun({ config: a, variant: 'full' }, { config: { ...a, description: 'new' }, variant: 'full' }) // => true
 */
export function sameRun(a: StoreMeta, b: StoreMeta): boolean {
  return JSON.stringify(runIdentity(a)) === JSON.stringify(runIdentity(b));
}

/**
 * What identifies a run, as plain JSON: the config without its `description`, with the variant
 * (what sameRun compares, and what a refusal's jsonDifference names a field of).
 * @example runIdentity({ config, variant: 'full' }) // => { name, seed, truth, ..., variant: 'full' }
 */
export function runIdentity(m: StoreMeta): unknown {
  return JSON.parse(JSON.stringify({ ...m.config, description: undefined, variant: m.variant })) as unknown;
}

export class ResultsStore {
  private fd: number;
  /** the index in rows of each key's row */
  private readonly index = new Map<string, number>();
  /** the latest row of each task key (a retried task's new row replaces its old one here; the file keeps both) */
  readonly rows: SweepRow[];
  readonly tornBytes: number;
  /** byte length of rows.jsonl (every line complete) */
  private length: number;

  private constructor(
    readonly dir: string,
    fd: number,
    contents: StoreContents,
    private readonly lockText: string,
  ) {
    this.fd = fd;
    this.rows = contents.rows;
    this.tornBytes = contents.tornBytes;
    this.length = contents.validLength;
    contents.rows.forEach((r, i) => this.index.set(r.key, i));
  }

  /** Open (create or resume) the store for a config and variant, taking the lock. */
  static open(dir: string, config: ExperimentConfig, variant: 'quick' | 'full'): ResultsStore {
    ensureDir(dir, 'results folder (--out)');
    const lock = takeLock(dir);
    try {
      const configFile = join(dir, 'config.json');
      const rowsFile = join(dir, 'rows.jsonl');
      const meta = writeMeta(config, variant);
      if (existsSync(configFile)) {
        const old = fsCall(dir, 'read', configFile, () => readFileSync(configFile, 'utf8'));
        if (old !== meta) {
          let previous: StoreMeta | undefined;
          try {
            previous = parseStoreMeta(old, configFile);
          } catch (e) {
            // a config.json cut short while the folder was made, before any row: make it again
            const noRows = !existsSync(rowsFile) || fsCall(dir, 'read', rowsFile, () => readFileSync(rowsFile)).length === 0;
            if (!(noRows && old.trim() === '')) throw e;
          }
          if (previous && !sameRun(previous, { config, variant })) throw anotherConfigError(dir, previous, config, variant);
          // the same run under an edited description keeps the config.json its rows were made with
          if (!previous) writeConfigFile(configFile, meta);
        }
      } else writeConfigFile(configFile, meta);
      const contents = readRowsFile(rowsFile);
      const fd = fsCall(dir, 'open', rowsFile, () => openSync(rowsFile, 'a'));
      if (contents.tornBytes > 0) {
        fsCall(dir, 'cut the torn last record of', rowsFile, () => {
          ftruncateSync(fd, contents.validLength);
          fsyncSync(fd);
        });
      }
      return new ResultsStore(dir, fd, contents, lock);
    } catch (e) {
      releaseLock(dir, lock);
      throw e;
    }
  }

  /** Whether the store holds a row (ok or failed) for the task key. */
  has(key: string): boolean {
    return this.index.has(key);
  }

  /** The latest row of a task key, if any. */
  row(key: string): SweepRow | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.rows[i];
  }

  /**
   * Whether a task counts as done: it has an ok row, or (retryFailed false) any row. With
   * retryFailed (the default of a sweep) a failed task is run again.
   */
  isDone(key: string, retryFailed = true): boolean {
    const row = this.row(key);
    return row !== undefined && (row.status === 'ok' || !retryFailed);
  }

  /**
   * Append a finished task durably (write + fsync) before it counts as done. A row for a key the
   * store holds already (a retried failed task) is appended too, and replaces the old one in
   * `rows` (the file keeps both; readers take the latest). A failure (a full disk) cuts the file
   * back to its last complete line and throws a ConfigError; the rows before stay, and a re-run
   * resumes.
   */
  append(row: SweepRow): void {
    const json = JSON.stringify(row);
    const line = Buffer.from(`${json}\t${crc32(json)}\n`, 'utf8');
    try {
      writeAll(this.fd, line);
      fsyncSync(this.fd);
    } catch (e) {
      if (!isFsError(e)) throw e;
      try {
        ftruncateSync(this.fd, this.length);
      } catch {
        // a torn last line is cut off by the next open anyway
      }
      throw new ConfigError(
        `${join(this.dir, 'rows.jsonl')}: cannot append the row of task ${row.key} (${fsCode(e)}); ${writeAdvice(e.code)}: the finished tasks are kept, a re-run resumes`,
      );
    }
    this.length += line.length;
    const i = this.index.get(row.key);
    if (i !== undefined) this.rows[i] = row;
    else {
      this.index.set(row.key, this.rows.length);
      this.rows.push(row);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // every row was fsync'd already
      }
      this.fd = -1;
    }
    releaseLock(this.dir, this.lockText);
  }
}

/** Write config.json whole (a temporary file renamed into place) and durably. */
function writeConfigFile(configFile: string, meta: string): void {
  const tmp = `${configFile}.tmp-${process.pid}`;
  try {
    fsCall('results folder (--out)', 'write', configFile, () => {
      const fd = openSync(tmp, 'w');
      try {
        writeAll(fd, meta);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, configFile);
    });
  } catch (e) {
    tryUnlink(tmp);
    throw e;
  }
}
