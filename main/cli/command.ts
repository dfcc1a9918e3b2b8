// A CLI command: its name, one-line summary, usage text and what it does. `--help` comes free.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  /** Full help text shown by `spindle NAME --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Raised for bad command-line input: printed with the usage hint, exit code 2. */
export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
export const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : s + '\n');
