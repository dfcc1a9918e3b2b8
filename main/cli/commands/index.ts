// Every CLI command, in the order `spindle --help` lists them.
import type { Command } from '../command';
import { configCommand } from './config';
import { planCommand } from './plan';
import { serveCommand } from './serve';

export const commands: Command[] = [serveCommand, configCommand, planCommand];
