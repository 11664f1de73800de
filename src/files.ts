/**
 * File-system calls with errors a user can act on: every failure of the operating system (a path
 * under a file, a read-only or full disk, a virtual file system such as /proc or /sys, permission
 * denied) becomes one ConfigError line that names the path, the system's code, what it means and
 * what to do, never an internal error.
 */
import { mkdirSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from './errors.js';

/** What an errno code means, in a few words (undefined for codes without a plainer wording). */
export function fsReason(code: string | undefined): string | undefined {
  switch (code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is exceeded';
    case 'EFBIG':
      return 'the file is too large for this file system or limit';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'EEXIST':
      return 'it exists already';
    case 'EIO':
      return 'an input/output error of the disk';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    default:
      return undefined;
  }
}

/** `CODE: meaning` (or just the code) for an error thrown by node:fs. */
export function fsCode(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (!code) return e instanceof Error ? e.message.split('\n')[0]! : String(e);
  const reason = fsReason(code);
  return reason ? `${code}: ${reason}` : code;
}

/** Whether an error is one of node:fs's (an errno code), not a bug. */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!);
}

/** Advice for a failed write, by code. */
export function writeAdvice(code: string | undefined): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free some space (or choose another disk) and run the same command again';
    case 'EROFS':
      return 'choose a folder on a writable disk';
    case 'EACCES':
    case 'EPERM':
      return 'choose a folder you may write to';
    default:
      return 'give a file in an existing, writable folder';
  }
}

/**
 * Run one file-system call; a failure becomes a ConfigError
 * `<what>: cannot <action> "<path>" (<CODE: meaning>); <advice>`.
 */
export function fsCall<T>(what: string, action: string, path: string, call: () => T, advice?: string): T {
  try {
    return call();
  } catch (e) {
    if (!isFsError(e)) throw e;
    throw new ConfigError(`${what}: cannot ${action} ${JSON.stringify(path)} (${fsCode(e)}); ${advice ?? writeAdvice(e.code)}`);
  }
}

/**
 * Create a folder and its missing parents, one level at a time. Unlike mkdirSync(recursive),
 * which loops for ever on a path into /proc, this fails once, with a clear error: a part of the
 * path that is a file, a file system that does not allow new folders (/proc, /sys), read-only,
 * permission denied.
 * @param what the option or role the folder has, e.g. `--out`
 */
export function ensureDir(dir: string, what: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const parent = dirname(p);
        missing.push(p);
        if (parent === p) break;
        p = parent;
        continue;
      }
      throw new ConfigError(`${what}: cannot use the folder ${JSON.stringify(dir)} (${fsCode(e)}); choose another folder`);
    }
    if (!isDir) {
      throw new ConfigError(`${what}: ${JSON.stringify(dir)} is not allowed; ${JSON.stringify(p)} is a file, not a folder: choose a folder path`);
    }
    break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // made meanwhile by another process (a shard of the same sweep): fine if it is a folder
        let isDir = false;
        try {
          isDir = statSync(m).isDirectory();
        } catch {
          isDir = false;
        }
        if (isDir) continue;
      }
      const hint =
        code === 'ENOENT' || code === 'EPERM' || code === 'EACCES'
          ? /^\/(proc|sys)(\/|$)/.test(m)
            ? `${JSON.stringify(m.split('/').slice(0, 2).join('/'))} is a virtual file system of the kernel, not a disk: choose a folder on a disk`
            : 'this file system does not let you create it: choose a folder you may write to'
          : writeAdvice(code);
      throw new ConfigError(`${what}: cannot create the folder ${JSON.stringify(m)} (${fsCode(e)}); ${hint}`);
    }
  }
}

/** Write all of `text` at the file position of `fd` (writeSync may write less than asked near a full disk). */
export function writeAll(fd: number, text: string | Uint8Array): void {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * A temporary file name beside `path` (same folder, so a rename onto `path` is atomic):
 * `.<name>.tmp-<pid>-<8 hex>`. Not statistical randomness: node:crypto, not the seeded Rng.
 */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}
