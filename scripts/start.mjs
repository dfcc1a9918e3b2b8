#!/usr/bin/env node
// `npm start`: set up what is missing, build, and open the studio — in Electron when its binary
// is present, otherwise as `spindle serve` in a browser.
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  electronBinary,
  ensureBuild,
  ensureDebs,
  ensureNodeModules,
  ensurePython,
  root,
  RUNTIME_DEBS,
} from './setup.mjs';

ensureNodeModules();
ensureDebs(RUNTIME_DEBS);
const py = ensurePython({ required: false });
// "This computer" runs training with it (main/runs/python.ts reads SPINDLE_PYTHON first).
if (py) process.env.SPINDLE_PYTHON = py.python;
ensureBuild();

const electron = electronBinary();
const forward = (child) => {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
};
if (electron && !process.env.SPINDLE_SERVE) {
  forward(spawn(electron, [root], { stdio: 'inherit' }));
} else {
  const why = electron ? 'SPINDLE_SERVE is set' : "Electron's binary is not installed here";
  process.stdout.write(`${why}: opening the studio in a browser instead (spindle serve).\n`);
  forward(
    spawn(
      process.execPath,
      [path.join(root, 'bin', 'spindle.js'), 'serve', '--open', ...process.argv.slice(2)],
      { stdio: 'inherit' },
    ),
  );
}
