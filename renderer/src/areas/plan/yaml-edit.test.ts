import { describe, expect, it } from 'vitest';
import { applyEdits, minimalChange, readValue, YamlEditError } from './yaml-edit';
import { TINY_ARCH } from '../../../../app/planner/fixtures.test-util';

const LLAMA = `# Planning example: which SP layout?
version: 1
name: llama3-8b-128k-sft
model:
  preset: llama-3-8b
training:
  task: sft
  seq_len: 131072      # 128k tokens
  micro_batch: 1
parallel:
  ulysses: auto
  ring: auto
  zero: 3
cluster:
  gpu: h100-80g
  nodes: 2
  gpus_per_node: 8
`;

describe('applyEdits', () => {
  it('replaces scalars in place, keeping comments and their spacing', () => {
    const out = applyEdits(LLAMA, [
      { path: ['training', 'seq_len'], value: 1048576 },
      { path: ['parallel', 'ulysses'], value: 4 },
    ]);
    expect(out).toContain('  seq_len: 1048576      # 128k tokens\n');
    expect(out).toContain('  ulysses: 4\n');
    expect(out.split('\n').length).toBe(LLAMA.split('\n').length);
    expect(readValue(out, ['parallel', 'ulysses'])).toBe(4);
  });

  it('round-trips: changing a value and changing it back gives the same text', () => {
    const there = applyEdits(LLAMA, [{ path: ['model', 'preset'], value: 'qwen2-7b' }]);
    expect(there).toContain('  preset: qwen2-7b\n');
    expect(applyEdits(there, [{ path: ['model', 'preset'], value: 'llama-3-8b' }])).toBe(LLAMA);
  });

  it('writes "auto" plain and quotes strings that would read as something else', () => {
    const out = applyEdits(LLAMA, [
      { path: ['parallel', 'zero'], value: 'auto' },
      { path: ['name'], value: 'true' },
    ]);
    expect(out).toContain('  zero: auto\n');
    expect(out).toContain('name: "true"\n');
    expect(readValue(out, ['name'])).toBe('true');
  });

  it('keeps the quoting style of the value it replaces', () => {
    expect(applyEdits("gpu: 'a100'\n", [{ path: ['gpu'], value: 'h100-80g' }])).toBe(
      "gpu: 'h100-80g'\n",
    );
    expect(applyEdits('gpu: "a100"\n', [{ path: ['gpu'], value: 'h100-80g' }])).toBe(
      'gpu: "h100-80g"\n',
    );
  });

  it('edits inside flow maps without reflowing them', () => {
    const text = 'cluster: { gpu: cpu, nodes: 2, gpus_per_node: 2 }\n';
    expect(applyEdits(text, [{ path: ['cluster', 'nodes'], value: 4 }])).toBe(
      'cluster: { gpu: cpu, nodes: 4, gpus_per_node: 2 }\n',
    );
  });

  it('adds missing keys and sections, and removes keys, keeping comments', () => {
    const added = applyEdits(LLAMA, [
      { path: ['parallel', 'chunks'], value: 4 },
      { path: ['launch', 'target'], value: 'local' },
    ]);
    expect(readValue(added, ['parallel', 'chunks'])).toBe(4);
    expect(readValue(added, ['launch'])).toEqual({ target: 'local' });
    expect(added).toContain('# Planning example: which SP layout?');
    expect(added).toContain('# 128k tokens');
    const removed = applyEdits(added, [{ path: ['parallel', 'zero'], value: undefined }]);
    expect(readValue(removed, ['parallel', 'zero'])).toBeUndefined();
    expect(readValue(removed, ['parallel', 'ring'])).toBe('auto');
  });

  it('replaces a preset by an architecture map (structural) and back', () => {
    const arch = { ...TINY_ARCH };
    const out = applyEdits(LLAMA, [
      { path: ['model', 'preset'], value: undefined },
      { path: ['model', 'architecture'], value: arch },
    ]);
    expect(readValue(out, ['model'])).toEqual({ architecture: arch });
  });

  it('does nothing for a value that is already there, or a key already absent', () => {
    expect(
      applyEdits(LLAMA, [
        { path: ['parallel', 'zero'], value: 3 },
        { path: ['nope'], value: undefined },
      ]),
    ).toBe(LLAMA);
  });

  it('refuses broken YAML and paths through scalars', () => {
    expect(() => applyEdits('a: [1, 2\n', [{ path: ['a'], value: 1 }])).toThrow(YamlEditError);
    expect(() =>
      applyEdits('parallel: 4\n', [{ path: ['parallel', 'ulysses'], value: 2 }]),
    ).toThrow(/parallel is not a mapping/);
  });
});

describe('minimalChange', () => {
  it('finds the smallest replaced span', () => {
    expect(minimalChange('seq_len: 131072\n', 'seq_len: 1048576\n')).toEqual({
      start: 10,
      end: 15,
      text: '048576',
    });
    expect(minimalChange('abc', 'abc')).toBeNull();
    expect(minimalChange('aXb', 'ab')).toEqual({ start: 1, end: 2, text: '' });
    expect(minimalChange('aa', 'aaa')).toEqual({ start: 2, end: 2, text: 'a' });
  });
});
