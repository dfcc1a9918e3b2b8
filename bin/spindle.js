#!/usr/bin/env node
// The `spindle` command: runs the built CLI (npm run build makes out/main/cli.js).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'out', 'main', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(
    'spindle: not built yet. Run `npm start` or `npm run build` in ' +
      path.dirname(__dirname) +
      '\n',
  );
  process.exit(1);
}
require(cli)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(String((e && e.stack) || e) + '\n');
      process.exitCode = 1;
    },
  );
