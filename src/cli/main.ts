/**
 * `gatelab <command> [flags]`. Prints `error: <message>` on one line and returns 2 for usage
 * errors, 1 for other errors; never a stack trace for a gatelab error. Only cli/ writes output.
 * A reader that closes standard output early (`gatelab sample ... | head`) ends the command
 * quietly with exit code 0, as Unix filters do.
 */
import { readFileSync } from 'node:fs';
import { GatelabError } from '../errors.js';
import { UsageError } from './args.js';
import type { Io } from './command.js';
import { checkCommand, COMMANDS } from './commands.js';
import { OutputClosed } from './io.js';

/** The package version (package.json beside src/), or undefined where it cannot be read (a bundle). */
export function version(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    return pkg.name === 'gatelab' && typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

const USAGE = `gatelab: the statistical theory of gating in mixture-of-experts, by simulation

Usage: gatelab <command> [flags]     gatelab <command> --help for its flags
       gatelab --version

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}
`;

/**
 * Standard output and error as an Io: writes that a slow reader has not taken yet are waited
 * for by flush (so streamed output stays in bounded memory); EPIPE (the reader is gone) stops
 * further output, and flush then rejects with OutputClosed.
 */
function streamIo(): Io {
  let closed = false;
  let pending = false;
  const stdout = process.stdout;
  const onError = () => {
    closed = true; // EPIPE, or any other failure of the reader's end: nothing more can be written
  };
  stdout.on('error', onError);
  process.stderr.on('error', () => {
    // nowhere left to report it
  });
  return {
    out: (text) => {
      if (closed) return;
      if (!stdout.write(text)) pending = true;
    },
    err: (text) => {
      process.stderr.write(text);
    },
    flush: async () => {
      if (closed) throw new OutputClosed();
      if (pending) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stdout.off('drain', done);
            stdout.off('close', done);
            stdout.off('error', done);
            resolve();
          };
          stdout.once('drain', done);
          stdout.once('close', done);
          stdout.once('error', done);
        });
        pending = false;
      }
      if (closed) throw new OutputClosed();
    },
  };
}

let processIo: Io | undefined;

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io?: Io): Promise<number> {
  io ??= processIo ??= streamIo();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`gatelab ${version() ?? '(version unknown: package.json not found)'}\n`);
    return 0;
  }
  try {
    const command = checkCommand(name);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(command.help + '\n');
      return 0;
    }
    await command.run(rest, io);
    return 0;
  } catch (e) {
    if (e instanceof OutputClosed) return 0;
    if (e instanceof GatelabError) {
      io.err(`error: ${e.message.split('\n').join(' ')}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
    io.err(`error: internal error: ${e instanceof Error ? e.message : String(e)} (please report this)\n`);
    if (process.env.GATELAB_DEBUG) io.err(String((e as Error).stack) + '\n');
    return 1;
  }
}
