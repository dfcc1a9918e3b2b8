// The `spindle` command line. Each command lives in commands/; all share the host's services.
import { ConfigFileError } from './config-file';
import { err, out, UsageError, type Command } from './command';
import { commands } from './commands';
import { SPINDLE_VERSION } from '../host/version';

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Spindle ${SPINDLE_VERSION}: plan, launch and watch long-context LLM training.`,
    '',
    'Usage: spindle COMMAND [options]      spindle COMMAND --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  --version  print the version',
    '  --help     print this help',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    out(SPINDLE_VERSION);
    return 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    err(`spindle: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`spindle ${command.name}: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    if (e instanceof ConfigFileError) {
      err(e.message);
      return 1;
    }
    err(`spindle ${command.name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      err(String(e?.stack ?? e));
      process.exitCode = 1;
    },
  );
}
