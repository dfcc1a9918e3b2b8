#!/usr/bin/env node
// `npm test`: sets up what is missing, then runs every suite — typecheck, lint, unit (app/, main/),
// runtime (native/, pytest), e2e (Playwright in Chromium) — and ends with one line
// `N passed, N failed` summing them all. `--only unit,native` runs a subset.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ensureBuild,
  ensureDebs,
  ensureNodeModules,
  ensurePython,
  root,
  TEST_DEBS,
} from './setup.mjs';

const args = process.argv.slice(2);
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null;
const wanted = (name) => !only || only.has(name);
const resultsDir = path.join(root, 'test-results');
fs.mkdirSync(resultsDir, { recursive: true });

ensureNodeModules();
const stillMissing = ensureDebs(TEST_DEBS);
if (stillMissing.length)
  process.stdout.write(
    `[setup] missing Debian packages (install them): ${stillMissing.join(' ')}\n`,
  );
const py = ensurePython({ required: wanted('native') });
// Every suite's local runs and test nodes use this Python (main/runs/python.ts, the test sshd's PATH).
if (py) process.env.SPINDLE_PYTHON = py.python;

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const totals = [];
function exec(cmd, argv, env = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return { status: r.status ?? 1, seconds: (Date.now() - started) / 1000 };
}
function record(name, passed, failed, seconds, note = '') {
  totals.push({ name, passed, failed, seconds });
  process.stdout.write(
    `\n[${name}] ${passed} passed, ${failed} failed (${seconds.toFixed(1)} s)${note ? ' — ' + note : ''}\n\n`,
  );
}
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}
/** A check with no test count of its own (typecheck, lint, format, build) counts as one test. */
function check(name, cmd, argv) {
  const r = exec(cmd, argv);
  record(name, r.status === 0 ? 1 : 0, r.status === 0 ? 0 : 1, r.seconds);
  return r.status === 0;
}

if (wanted('typecheck')) {
  check('typecheck:node', bin('tsc'), ['-p', 'tsconfig.node.json', '--noEmit']);
  check('typecheck:web', bin('tsc'), ['-p', 'tsconfig.web.json', '--noEmit']);
}
if (wanted('lint')) {
  check('lint', bin('eslint'), ['--max-warnings', '0', '.']);
  check('format', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
}

if (wanted('unit')) {
  const out = path.join(resultsDir, 'unit.json');
  fs.rmSync(out, { force: true });
  const r = exec(bin('vitest'), [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ]);
  const j = readJson(out);
  if (j)
    record(
      'unit',
      j.numPassedTests,
      j.numFailedTests + (r.status !== 0 && j.numFailedTests === 0 ? 1 : 0),
      r.seconds,
    );
  else record('unit', 0, 1, r.seconds, 'vitest wrote no report');
}

if (wanted('native')) {
  const out = path.join(resultsDir, 'native.xml');
  fs.rmSync(out, { force: true });
  const r = py
    ? exec(
        py.python,
        ['-m', 'pytest', 'native/tests', '-q', `--junitxml=${out}`, '-p', 'no:cacheprovider'],
        { PYTHONDONTWRITEBYTECODE: '1' },
      )
    : { status: 1, seconds: 0 };
  const xml = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const attr = (k) =>
    Number((new RegExp(`<testsuite[^>]*\\s${k}="(\\d+)"`).exec(xml) ?? [])[1] ?? 0);
  if (xml) {
    const failed = attr('failures') + attr('errors');
    const passed = attr('tests') - failed - attr('skipped');
    // pytest exits 5 when it collects nothing: that is a failure of the suite, not a pass.
    record(
      'native',
      passed,
      failed + (r.status !== 0 && failed === 0 ? 1 : 0),
      r.seconds,
      attr('skipped') ? `${attr('skipped')} skipped (GPU-only)` : '',
    );
  } else
    record('native', 0, 1, r.seconds, py ? 'pytest wrote no report' : 'no Python with PyTorch');
}

if (wanted('e2e')) {
  let built = true;
  try {
    ensureBuild({ force: true });
  } catch (e) {
    built = false;
    process.stdout.write(String(e.message) + '\n');
  }
  record('build', built ? 1 : 0, built ? 0 : 1, 0);
  if (built) {
    const out = path.join(resultsDir, 'e2e.json');
    fs.rmSync(out, { force: true });
    const r = exec(bin('playwright'), ['test']);
    const j = readJson(out);
    if (j?.stats)
      record(
        'e2e',
        j.stats.expected + j.stats.flaky,
        j.stats.unexpected + (r.status !== 0 && j.stats.unexpected === 0 ? 1 : 0),
        r.seconds,
      );
    else record('e2e', 0, 1, r.seconds, 'playwright wrote no report');
  }
}

const passed = totals.reduce((a, t) => a + t.passed, 0);
const failed = totals.reduce((a, t) => a + t.failed, 0);
process.stdout.write(
  'Suites:\n' +
    totals
      .map(
        (t) =>
          `  ${t.name.padEnd(16)} ${String(t.passed).padStart(4)} passed ${String(t.failed).padStart(3)} failed  ${t.seconds.toFixed(1).padStart(6)} s`,
      )
      .join('\n') +
    '\n',
);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
