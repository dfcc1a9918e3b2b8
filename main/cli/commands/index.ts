// Every CLI command, in the order `spindle --help` lists them.
import type { Command } from '../command';
import { configCommand } from './config';
import { launchCommand } from './launch';
import { nodesCommand } from './nodes';
import { planCommand } from './plan';
import { runsCommand } from './runs';
import { serveCommand } from './serve';

export const commands: Command[] = [
  serveCommand,
  configCommand,
  planCommand,
  nodesCommand,
  launchCommand,
  runsCommand,
];
