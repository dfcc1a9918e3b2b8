"""Rebuild sample.txt from text that may be shipped: Python standard-library docstrings (PSF
License) and a few verbatim licence texts from Debian's /usr/share/common-licenses.

Deterministic: modules are visited in sorted order and only `ast` is used (nothing is imported,
so the result does not depend on what happens to be installable). Run with the interpreter whose
standard library should be read:  /usr/bin/python3 resources/corpus/build_corpus.py
"""
import ast
import os
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_BYTES = 600_000
LICENSES = ['Apache-2.0', 'MPL-2.0', 'GPL-3']  # each permits verbatim copies of its own text
SKIP_DIRS = {'test', 'tests', 'idlelib', 'lib2to3', 'turtledemo', 'site-packages', 'dist-packages', '__pycache__'}


def docstrings(path):
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            # Short docstrings are mostly signatures or one-word stubs: not useful prose.
            if doc and len(doc) >= 200 and doc.isascii():
                out.append(doc.strip())
    return out


def main():
    stdlib = sysconfig.get_paths()['stdlib']
    docs, size, seen = [], 0, set()
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            for doc in docstrings(os.path.join(root, name)):
                if doc in seen:
                    continue
                seen.add(doc)
                docs.append(doc)
                size += len(doc) + 2
        if size >= TARGET_BYTES:
            break
    parts = docs
    for lic in LICENSES:
        p = os.path.join('/usr/share/common-licenses', lic)
        if os.path.exists(p):
            with open(p, encoding='utf-8') as f:
                parts.append(f.read().strip())
    text = '\n\n'.join(parts) + '\n'
    with open(os.path.join(HERE, 'sample.txt'), 'w', encoding='utf-8') as f:
        f.write(text)
    print(f'sample.txt: {len(text.encode())} bytes, {len(docs)} docstrings + {len(LICENSES)} licences, python {sys.version.split()[0]}')


if __name__ == '__main__':
    main()
