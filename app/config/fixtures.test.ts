/// <reference types="vite/client" />
// The normalized-config fixtures that native/ tests read must be exactly what normalization makes
// of their YAML today; regenerate with `npx tsx scripts/gen-config-fixtures.ts`.
// Files come in through Vite's glob import: app/ code may not use Node I/O.
import { describe, expect, it } from 'vitest';
import { normalizeConfig, parseConfigText } from './index';

const yamls = import.meta.glob('../../resources/fixtures/configs/*.yaml', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;
const jsons = import.meta.glob('../../resources/fixtures/configs/*.json', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

describe('config fixtures', () => {
  it('has the shared examples and variants', () => {
    const names = Object.keys(yamls).map((p) => p.split('/').pop());
    for (const n of [
      'tiny-cpu.yaml',
      'two-nodes.yaml',
      'tiny-single.yaml',
      'tiny-sft.yaml',
      'tiny-bf16.yaml',
      'tiny-qwen2.yaml',
    ])
      expect(names).toContain(n);
  });

  for (const [yamlPath, text] of Object.entries(yamls)) {
    it(`${yamlPath.split('/').pop()} matches its normalized JSON`, () => {
      const jsonPath = yamlPath.replace(/\.yaml$/, '.json');
      expect(
        jsons[jsonPath],
        `${jsonPath} missing: run npx tsx scripts/gen-config-fixtures.ts`,
      ).toBeDefined();
      const r = parseConfigText(text);
      expect(r.ok, JSON.stringify(r.issues)).toBe(true);
      if (!r.ok) return;
      expect(JSON.parse(jsons[jsonPath])).toEqual(
        JSON.parse(JSON.stringify(normalizeConfig(r.config))),
      );
    });
  }

  it('has no JSON without a YAML source', () => {
    for (const p of Object.keys(jsons))
      expect(yamls[p.replace(/\.json$/, '.yaml')], p).toBeDefined();
  });
});
