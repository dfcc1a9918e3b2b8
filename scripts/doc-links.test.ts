// A fresh clone with nothing beside it: every relative link and image in the repo's Markdown
// (README.md, docs/, native/README.md, any other *.md git tracks or would track) names a file of
// the repo itself, and no link or path in the text points outside the checkout (../shared/…,
// /work/shared/…). External http(s) and mailto links are listed, not followed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const SKIP_DIRS = new Set(['node_modules', '.venv', '.git', 'out', 'release', 'test-results']);

/** The repo's files as a fresh clone has them: tracked plus new files git would track (not the
 *  ignored ones, such as build outputs or .venv/); a plain walk when git is not there. */
function repoFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === 0)
    return r.stdout
      .split('\0')
      .filter((f) => f && !f.split('/').some((s) => SKIP_DIRS.has(s)))
      .filter((f) => fs.existsSync(path.join(root, f)));
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (SKIP_DIRS.has(e.name)) continue;
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out;
}

export interface Ref {
  line: number;
  kind: 'link' | 'image' | 'definition' | 'html' | 'code';
  target: string;
}

/** Replaces inline code spans with spaces (keeping columns), returning the spans separately. */
function splitCode(line: string): { text: string; spans: string[] } {
  const spans: string[] = [];
  const text = line.replace(/(`+)([^`]|[^`].*?[^`])\1(?!`)/g, (m, _ticks, body: string) => {
    spans.push(body.trim());
    return ' '.repeat(m.length);
  });
  return { text, spans };
}

const INLINE =
  /(!?)\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]+(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
const DEFINITION = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const HTML = /<(?:a|img|source|link)\b[^>]*?\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;

/** Every link, image, link definition, HTML href/src and code span of one Markdown text, outside
 *  fenced code blocks. */
export function markdownRefs(md: string): Ref[] {
  const refs: Ref[] = [];
  let fence: string | null = null;
  md.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(raw);
    if (fence) {
      if (
        f &&
        f[1][0] === fence[0] &&
        f[1].length >= fence.length &&
        !raw.slice(f[0].length).trim()
      )
        fence = null;
      return;
    }
    if (f) {
      fence = f[1];
      return;
    }
    if (/^( {4}|\t)/.test(raw) && !/^\s*([-*+]|\d+[.)])\s/.test(raw)) return; // indented code
    const { text, spans } = splitCode(raw);
    for (const s of spans) refs.push({ line, kind: 'code', target: s });
    for (const m of text.matchAll(INLINE))
      refs.push({ line, kind: m[1] ? 'image' : 'link', target: m[2].replace(/^<|>$/g, '') });
    const d = DEFINITION.exec(text);
    if (d) refs.push({ line, kind: 'definition', target: d[1].replace(/^<|>$/g, '') });
    for (const m of text.matchAll(HTML)) refs.push({ line, kind: 'html', target: m[1] ?? m[2] });
  });
  return refs;
}

const EXTERNAL = /^(https?:\/\/|mailto:)/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** Absolute paths a doc may name as they are: the system's, not a checkout beside this one. */
const SYSTEM_ROOTS = new Set(
  'usr etc opt var tmp proc sys dev bin sbin lib lib64 run'.split(' ').map((s) => `/${s}`),
);

export interface Problem {
  line: number;
  target: string;
  why: string;
}

/** What is wrong with the refs of the Markdown file `file` (repo-relative, `/`-separated), given
 *  the repo's files. */
export function linkProblems(file: string, refs: Ref[], files: Set<string>): Problem[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const topDirs = new Set([...dirs].filter((d) => !d.includes('/')));
  const exists = (rel: string) => files.has(rel) || dirs.has(rel) || rel === '';
  const problems: Problem[] = [];
  const fromFile = (target: string) =>
    path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
  for (const { line, kind, target } of refs) {
    const bad = (why: string) => problems.push({ line, target, why });
    if (kind === 'code') {
      // Paths named in code: `native/requirements.txt`, `scripts/setup.mjs:40`.
      if (/\s|[*?<>{}[\]$]/.test(target) || SCHEME.test(target)) continue;
      if (target.startsWith('/')) {
        const top = `/${target.split('/')[1]}`;
        if (target.length > 1 && !SYSTEM_ROOTS.has(top))
          bad('an absolute path outside the repo: name the file inside it, relative to the root');
        continue;
      }
      if (target.startsWith('../')) {
        if (fromFile(target).startsWith('..')) bad('a path outside the repo');
        continue;
      }
      const rel = path.posix.normalize(target.replace(/^\.\//, '').replace(/:\d+(-\d+)?$/, ''));
      const top = rel.split('/')[0];
      if (rel.includes('/') && topDirs.has(top) && !exists(rel.replace(/\/$/, '')))
        bad('names a path of the repo that does not exist');
      continue;
    }
    if (EXTERNAL.test(target)) continue;
    if (SCHEME.test(target) || target.startsWith('//')) {
      bad('a link with a scheme other than http(s) or mailto');
      continue;
    }
    const bare = target.replace(/[?#].*$/, '');
    if (bare === '') continue; // an anchor on the same page
    if (bare.startsWith('/')) {
      bad('an absolute link: make it relative to the Markdown file');
      continue;
    }
    let decoded = bare;
    try {
      decoded = decodeURIComponent(bare);
    } catch {
      bad('a link that is not valid URL encoding');
      continue;
    }
    const rel = fromFile(decoded).replace(/\/$/, '');
    if (rel === '..' || rel.startsWith('../')) bad('a link outside the repo');
    else if (!exists(rel === '.' ? '' : rel))
      bad(`a link to ${rel}, which is not a file of the repo`);
  }
  return problems;
}

const files = repoFiles();
const fileSet = new Set(files);
const markdown = files.filter((f) => f.endsWith('.md')).sort();

describe('the checker bites', () => {
  const repo = new Set(['README.md', 'docs/a.md', 'docs/img/x.png', 'native/README.md']);
  const sample = [
    '[ok](docs/a.md#part) ![img](docs/img/x.png "t") [ext](https://example.com/x) [here](#top)',
    '[gone](docs/b.md) [up](../shared/ARCHITECTURE.md) [abs](/docs/a.md) [f](file:///etc/x)',
    '`native/README.md` `native/missing.py:12` `/work/shared/examples/a.yaml` `/usr/bin/python3`',
    '```sh',
    '[in a fence](nowhere.md) `also/ignored.md`',
    '```',
    '[def]: docs/none.md',
    '<img src="docs/img/y.png"> [a <b>](<docs/a.md>)',
  ].join('\n');
  const problems = linkProblems('README.md', markdownRefs(sample), repo);
  it('finds each broken or outside link, and nothing else', () => {
    expect(problems.map((p) => `${p.line} ${p.target}`)).toEqual([
      '2 docs/b.md',
      '2 ../shared/ARCHITECTURE.md',
      '2 /docs/a.md',
      '2 file:///etc/x',
      '3 native/missing.py:12',
      '3 /work/shared/examples/a.yaml',
      '7 docs/none.md',
      '8 docs/img/y.png',
    ]);
  });
  it('resolves a link from the directory of its Markdown file', () => {
    const refs = markdownRefs('[up](../README.md) [self](a.md) [no](README.md)');
    expect(linkProblems('docs/a.md', refs, repo).map((p) => p.target)).toEqual(['README.md']);
  });
});

describe('Markdown links resolve inside the repo', () => {
  it('finds the Markdown files', () => {
    expect(markdown).toContain('README.md');
    expect(markdown.some((f) => f.startsWith('docs/'))).toBe(true);
  });
  const external = new Set<string>();
  it.each(markdown)('%s', (file) => {
    const refs = markdownRefs(fs.readFileSync(path.join(root, file), 'utf8'));
    for (const r of refs) if (r.kind !== 'code' && EXTERNAL.test(r.target)) external.add(r.target);
    const problems = linkProblems(file, refs, fileSet).map(
      (p) => `${file}:${p.line}: ${p.target}: ${p.why}`,
    );
    expect(problems).toEqual([]);
  });
  it('lists the external links (not followed)', () => {
    for (const url of external) expect(url).toMatch(EXTERNAL);
    if (external.size) process.stdout.write(`external links: ${[...external].sort().join(' ')}\n`);
  });
});
