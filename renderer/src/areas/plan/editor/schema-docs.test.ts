import { describe, expect, it } from 'vitest';
import { runConfigJsonSchema } from '../../../../../app/config';
import { editorSchema } from './schema-docs';

type S = { properties?: Record<string, S>; markdownDescription?: string; anyOf?: S[] };
const schema = editorSchema(runConfigJsonSchema()) as S;
const at = (...path: string[]) => path.reduce<S>((s, k) => s.properties![k], schema);

describe('editor schema docs', () => {
  it('gives every field a hover with its path, meaning, type and default or requiredness', () => {
    const walk = (s: S, path: string[]) => {
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        const md = v.markdownDescription ?? '';
        expect(md, [...path, k].join('.')).toContain(`**${[...path, k].join('.')}**`);
        expect(md, [...path, k].join('.')).toMatch(/Type: /);
        expect(md, [...path, k].join('.')).toMatch(/Default|Required|Optional/);
        walk(v, [...path, k]);
      }
    };
    walk(schema, []);
  });

  it('states units and defaults in words', () => {
    expect(at('training', 'seq_len').markdownDescription).toMatch(
      /Tokens per sequence.*\n\nType: integer > 0 · Unit: tokens · Required/s,
    );
    expect(at('training', 'micro_batch').markdownDescription).toContain('Default: `1`');
    expect(at('parallel', 'ulysses').markdownDescription).toContain(
      '`auto` lets the planner choose',
    );
    expect(at('parallel', 'checkpointing').markdownDescription).toMatch(
      /Type: .*`none` \| `full` \| `selective`/,
    );
    expect(at('model', 'preset').markdownDescription).toContain('Optional');
  });
});
