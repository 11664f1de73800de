/** Shared helpers of the reliability tests (issue 12): run the CLI, small configs, error checks. */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseExperimentConfig } from '../../src/sweeps/config.js';
import { runSweep } from '../../src/sweeps/sweep.js';
import type { ExperimentConfig } from '../../src/sweeps/types.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'gatelab.js');
export const DEMYS_FILE = join(ROOT, 'test', 'fixtures', 'demys.json');

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `gatelab-rel-${prefix}-`));

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** The CLI in this process (fast); output captured. */
export async function cli(...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** The CLI as a child process (for hangs, pipes, memory limits, exit codes). */
export function spawnCli(args: string[], options: SpawnSyncOptions & { nodeArgs?: string[] } = {}): CliResult & { signal: NodeJS.Signals | null } {
  const { nodeArgs = [], ...rest } = options;
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 120_000, killSignal: 'SIGKILL', ...rest });
  return { code: r.status, out: String(r.stdout ?? ''), err: String(r.stderr ?? ''), signal: r.signal };
}

/** stderr without the lines that are not errors (the backend note, progress lines). */
export function errorLines(err: string): string[] {
  return err.split('\n').filter((l) => l !== '' && !/^backend: /.test(l) && !/ tasks, .*\/s, ETA /.test(l));
}

/**
 * The standard of issue 12: exit `code`, exactly one line `error: ...` matching `pattern`, no
 * "internal error", no stack trace.
 */
export function assertOneLineError(r: CliResult, pattern: RegExp, code = 1): void {
  const lines = errorLines(r.err);
  assert.equal(lines.length, 1, `want one error line, got:\n${r.err}`);
  assert.match(lines[0]!, /^error: /);
  assert.doesNotMatch(r.err, /internal error|please report|\n\s+at /);
  assert.match(lines[0]!, pattern);
  assert.equal(r.code, code, r.err);
}

/**
 * A small experiment config (2 n x `replicates` tasks, fast fits) written to `dir`; returns its
 * path. Derived from the test fixture, with fit options every version of the validator accepts.
 */
export function tinyConfigFile(dir: string, name = 'rel-tiny', replicates = 2, edit: (c: Record<string, unknown>) => void = () => {}): string {
  const c = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'tiny-sweep.json'), 'utf8')) as Record<string, unknown>;
  c.name = name;
  c.fit = { k: 2, gate: { type: 'softmax' }, method: 'em', maxIterations: 200 };
  c.variants = {
    quick: { n: [200, 300], replicates, fitRange: [200, 300], densityPoints: 0 },
    full: { n: [200, 300], replicates: replicates + 1, fitRange: [200, 300], densityPoints: 0 },
  };
  c.predictions = { D1: { slope: -0.5 } };
  edit(c);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(c, null, 2));
  return file;
}

/** A finished results folder of the tiny config (4 tasks, run in this process on the CPU). */
export async function tinyResults(prefix: string, replicates = 2): Promise<{ dir: string; configFile: string; config: ExperimentConfig }> {
  const base = tempDir(prefix);
  const configFile = tinyConfigFile(base, 'rel-tiny', replicates);
  const config = parseExperimentConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
  const dir = join(base, 'results');
  await runSweep(config, 'quick', dir, { workers: 1 });
  return { dir, configFile, config };
}
