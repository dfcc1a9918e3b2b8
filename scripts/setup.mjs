// Sets up what is missing, for `npm start` and `npm test`: npm dependencies (never Electron's
// binary download, which some machines cannot reach), the Debian packages the tests need (where
// this is a Debian machine and we may install), the runtime's Python environment (.venv/, from
// native/requirements.txt) and a fresh build.
import { execSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIN_TORCH, supportedTorch, torchVersionOf, VENV_PYTHON } from './python.mjs';

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

const seconds = (started) => `${((Date.now() - started) / 1000).toFixed(0)} s`;

/** Whether node-pty loads (the terminals need it) and ssh2 built its optional crypto binding. */
function nativeModules() {
  const probe = `const r = {};
try { require('node-pty'); r.pty = true; } catch (e) { r.pty = String(e.message).split('\\n')[0]; }
try { r.ssh2 = require('ssh2/lib/protocol/crypto.js').bindingAvailable; } catch { r.ssh2 = false; }
process.stdout.write(JSON.stringify(r));`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { pty: (r.stderr || 'the check did not run').trim(), ssh2: false };
  }
}

export function ensureNodeModules() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  const started = Date.now();
  log(
    'installing npm dependencies (1-3 min the first time: node-pty and ssh2 compile native code; Electron binary download skipped)…',
  );
  // `npm install` honours package-lock.json; `npm ci` would also refuse a lock that lacks other
  // platforms' optional packages, which some registry mirrors do not serve. --loglevel=error:
  // npm's warnings here are none the user can act on (EBADENGINE from electron-builder's
  // dependencies, harmless on Node 20, see .npmrc); errors and npm's `added N packages` line
  // still print. Which install scripts run: package.json "allowScripts", explained in .npmrc.
  try {
    run('npm', ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'], {
      env: { ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
  } catch (e) {
    throw new Error(
      `${e.message}. node-pty compiles on Linux: it needs python3, make and a C++ compiler (Debian: apt-get install build-essential python3).`,
    );
  }
  const native = nativeModules();
  if (native.pty !== true)
    throw new Error(
      `node-pty does not load (${native.pty}); the studio's terminals need it. With python3, make and a C++ compiler installed, run \`npm rebuild node-pty\`.`,
    );
  log(`npm dependencies ready (${seconds(started)}).`);
  if (!native.ssh2)
    log(
      "ssh2's optional crypto binding did not build, so SSH uses Node's crypto (slower AES-GCM and ChaCha20); with a C++ compiler installed, `npm rebuild ssh2` builds it.",
    );
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

/** Installs Debian packages when missing and we can; returns what is still missing. apt's own
 *  output goes to a log file, shown only when it fails. */
export function ensureDebs(pkgs) {
  if (!hasApt) return [];
  let missing = missingDebs(pkgs);
  if (missing.length === 0) return [];
  if (!isRoot) return missing;
  const started = Date.now();
  const estimate = missing.includes('chromium') ? '1-3 min' : 'under a minute';
  log(`installing Debian packages: ${missing.join(' ')} (${estimate})…`);
  const aptLog = path.join(os.tmpdir(), 'spindle-apt.log');
  const apt = (args, env = {}) => {
    const r = spawnSync('apt-get', args, {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    fs.appendFileSync(aptLog, `$ apt-get ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    if (r.status !== 0) {
      const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
      throw new Error(`apt-get ${args[0]} failed (exit ${r.status}; ${aptLog}):\n${tail}`);
    }
  };
  try {
    fs.writeFileSync(aptLog, '');
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      DEBIAN_FRONTEND: 'noninteractive',
    });
  } catch (e) {
    log(String(e.message));
  }
  missing = missingDebs(pkgs);
  // What is still missing the callers report (npm test lists it; npm start's Python step says why).
  if (missing.length === 0) log(`Debian packages installed (${seconds(started)}).`);
  return missing;
}

/** The packages the local runtime needs (Python and its venv module), and the tests' on top. */
export const RUNTIME_DEBS = ['python3', 'python3-venv'];
export const TEST_DEBS = [
  ...RUNTIME_DEBS,
  'chromium',
  'openssh-server',
  'openssh-client',
  'iproute2',
  'procps',
];

const REQUIREMENTS = path.join(root, 'native', 'requirements.txt');
const VENV = path.join(root, '.venv');
const VENV_STAMP = path.join(VENV, '.requirements-sha256');
/** Downloaded wheels, kept outside the checkout so a fresh clone on this machine reuses them. */
const WHEELS = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
  'spindle',
  'wheels',
);

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function basePython() {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import sys, venv; print(sys.version_info >= (3, 10))'], {
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout.trim() === 'True') return py;
  }
  throw new Error('No Python >= 3.10 with its venv module (Debian: apt-get install python3-venv).');
}

function pip(args, quiet = true) {
  const r = spawnSync(VENV_PYTHON, ['-m', 'pip', ...(quiet ? ['-q'] : []), ...args], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  });
  return r.status === 0;
}

/** Installs the pinned requirements into a new .venv/: from the wheel cache when it has them all,
 *  else downloading into it first. torch goes first: deepspeed's build step imports it. */
function createVenv() {
  const torchPin = fs
    .readFileSync(REQUIREMENTS, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^torch==/.test(l));
  if (!torchPin) throw new Error(`${REQUIREMENTS}: no torch==VERSION line`);
  fs.rmSync(VENV, { recursive: true, force: true });
  fs.mkdirSync(WHEELS, { recursive: true });
  run(basePython(), ['-m', 'venv', VENV]);
  const offline = ['--no-index', '--find-links', WHEELS];
  const steps = [[torchPin], ['--no-build-isolation', '-r', REQUIREMENTS]];
  for (const [i, step] of steps.entries()) {
    if (pip(['install', ...offline, ...step])) continue;
    log(
      i === 0
        ? `downloading ${torchPin} and its CUDA libraries (about 4 GB; 1-3 min on a fast link) into ${WHEELS}…`
        : 'downloading the reference packages (transformers, deepspeed, yunchang…)…',
    );
    if (!pip(['download', '-d', WHEELS, ...(i ? ['--no-build-isolation'] : []), ...step], false))
      throw new Error(`pip could not download ${step.join(' ')} (is PyPI reachable?)`);
    if (!pip(['install', ...offline, ...step]))
      throw new Error(`pip could not install ${step.join(' ')} into ${VENV}`);
  }
  fs.writeFileSync(VENV_STAMP, sha256(REQUIREMENTS));
}

/**
 * The Python that runs the local runtime and the native tests: SPINDLE_PYTHON when set (it must
 * have torch >= 2.4), else .venv/, (re)created when native/requirements.txt changed.
 */
export function ensurePython({ required }) {
  const fail = (msg) => {
    if (required) throw new Error(msg);
    log(msg + ' Planning works without it; local runs will not.');
    return null;
  };
  const own = process.env.SPINDLE_PYTHON;
  if (own) {
    const torch = torchVersionOf(own);
    if (torch && supportedTorch(torch)) return { python: own, torch };
    return fail(
      `SPINDLE_PYTHON=${own} has ${torch ? `torch ${torch}` : 'no torch'}; the runtime needs torch >= ${MIN_TORCH.join('.')}.`,
    );
  }
  const current =
    fs.existsSync(VENV_STAMP) && fs.readFileSync(VENV_STAMP, 'utf8') === sha256(REQUIREMENTS);
  if (!current) {
    const started = Date.now();
    log(
      `creating the Python environment .venv/ from native/requirements.txt (torch, the test peers; about 1 min from the wheel cache, 3 min when downloading)…`,
    );
    try {
      createVenv();
    } catch (e) {
      return fail(String(e.message));
    }
    log(`Python environment ready (${((Date.now() - started) / 1000).toFixed(0)} s).`);
  }
  const torch = torchVersionOf(VENV_PYTHON);
  if (!torch) return fail(`${VENV_PYTHON} cannot import torch: delete .venv/ and run again.`);
  return { python: VENV_PYTHON, torch };
}

export function ensureBuild({ force = false } = {}) {
  const outStamp = path.join(root, 'out', 'renderer', 'index.html');
  const built = fs.existsSync(outStamp) ? fs.statSync(outStamp).mtimeMs : 0;
  const src = Math.max(
    ...['app', 'main', 'renderer', 'resources'].map((d) => newestMtime(path.join(root, d))),
    fs.statSync(path.join(root, 'electron.vite.config.ts')).mtimeMs,
  );
  if (!force && built > src) return;
  const started = Date.now();
  log('building the studio (about 1-2 min)…');
  // Warnings and errors only: the per-file size table is noise at set-up.
  run('npx', ['electron-vite', 'build', '--logLevel', 'warn']);
  log(`studio built (${((Date.now() - started) / 1000).toFixed(0)} s).`);
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
