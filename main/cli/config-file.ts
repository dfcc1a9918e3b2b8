// Reads a run-config file for CLI commands; errors name the file, line, column and field.
import fs from 'node:fs';
import { parseConfigText, type ConfigIssue, type RunConfig } from '../../app/config';

export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map((i) => formatIssue(file, i)).join('\n'));
    this.name = 'ConfigFileError';
  }
}

export function formatIssue(file: string, i: ConfigIssue): string {
  return `${file}:${i.line}:${i.column}: ${i.path ? i.path + ': ' : ''}${i.message}`;
}

export function readConfigFile(file: string): RunConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError(file, [
      {
        path: '',
        message:
          (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message,
        line: 0,
        column: 0,
        endLine: 0,
        endColumn: 0,
      },
    ]);
  }
  const r = parseConfigText(text);
  if (!r.ok) throw new ConfigFileError(file, r.issues);
  return r.config;
}
