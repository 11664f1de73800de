/**
 * `gatelab <command> [flags]`. Prints `error: <message>` on one line and returns 2 for usage
 * errors, 1 for other errors; never a stack trace for a gatelab error. Only cli/ writes output.
 */
import { GatelabError } from '../errors.js';
import { UsageError } from './args.js';
import { checkCommand, COMMANDS, type Io } from './commands.js';

const USAGE = `gatelab: the statistical theory of gating in mixture-of-experts, by simulation

Usage: gatelab <command> [flags]     gatelab <command> --help for its flags

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}
`;

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE);
    return name === undefined ? 2 : 0;
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
    if (e instanceof GatelabError) {
      io.err(`error: ${e.message.split('\n').join(' ')}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
    io.err(`error: internal error: ${e instanceof Error ? e.message : String(e)} (please report this)\n`);
    if (process.env.GATELAB_DEBUG) io.err(String((e as Error).stack) + '\n');
    return 1;
  }
}
