// Sets up what is missing, for `npm start` and `npm test`: npm dependencies (never Electron's
// binary download, which some machines cannot reach), the Debian packages the tests and the local
// runtime need (where this is a Debian machine and we may install), and a fresh build.
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTorchPython } from './python.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (s) => process.stdout.write(`[setup] ${s}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    cwd: root,
    ...opts,
    env: { ...process.env, ...opts.env },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

function newestMtime(
  dir,
  skip = new Set(['node_modules', 'out', '__pycache__', '.git', 'test-results']),
) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p, skip) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureNodeModules() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  log('installing npm dependencies (Electron binary download skipped)…');
  // `npm install` honours package-lock.json; `npm ci` would also refuse a lock that lacks other
  // platforms' optional packages, which some registry mirrors do not serve.
  run('npm', ['install', '--no-audit', '--no-fund'], {
    env: { ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = fs.existsSync('/usr/bin/apt-get') && fs.existsSync('/usr/bin/dpkg-query');

function missingDebs(pkgs) {
  return pkgs.filter(
    (p) =>
      spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout.indexOf(
        'install ok installed',
      ) < 0,
  );
}

/** Installs Debian packages when missing and we can; returns what is still missing. */
export function ensureDebs(pkgs) {
  if (!hasApt) return [];
  let missing = missingDebs(pkgs);
  if (missing.length === 0) return [];
  if (!isRoot) return missing;
  log(`installing Debian packages: ${missing.join(' ')}…`);
  try {
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (e) {
    log(String(e.message));
  }
  missing = missingDebs(pkgs);
  return missing;
}

/** The packages the local runtime needs, and the ones the test suite needs on top. */
export const RUNTIME_DEBS = ['python3-torch', 'python3-yaml'];
export const TEST_DEBS = [
  ...RUNTIME_DEBS,
  'python3-pytest',
  'chromium',
  'openssh-server',
  'openssh-client',
  'iproute2',
  'procps',
];

export function ensurePython({ required }) {
  const found = findTorchPython();
  if (found) return found;
  const msg =
    'No Python with PyTorch: install python3-torch (Debian) or set SPINDLE_PYTHON to a Python with torch.';
  if (required) throw new Error(msg);
  log(msg + ' Planning works without it; local runs will not.');
  return null;
}

export function ensureBuild({ force = false } = {}) {
  const outStamp = path.join(root, 'out', 'renderer', 'index.html');
  const built = fs.existsSync(outStamp) ? fs.statSync(outStamp).mtimeMs : 0;
  const src = Math.max(
    ...['app', 'main', 'renderer', 'resources'].map((d) => newestMtime(path.join(root, d))),
    fs.statSync(path.join(root, 'electron.vite.config.ts')).mtimeMs,
  );
  if (!force && built > src) return;
  log('building the studio…');
  run('npx', ['electron-vite', 'build']);
}

export function electronBinary() {
  try {
    const p = execSync(`node -e "process.stdout.write(require('electron'))"`, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return p && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}
