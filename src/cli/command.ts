/**
 * The two types every CLI command file shares: where output goes (Io) and what a command is
 * (Command). In a file of their own, importing nothing, so that the command files import them
 * without importing each other in a circle (commands.ts lists the commands of the others).
 */

/** The output streams of a command. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** wait until out's text is taken by the reader (bounded memory); rejects with OutputClosed when the reader is gone */
  flush?: () => Promise<void>;
}

/** One subcommand: its one-line summary, its help text, and what it does. */
export interface Command {
  summary: string;
  help: string;
  run(argv: string[], io: Io): void | Promise<void>;
}
