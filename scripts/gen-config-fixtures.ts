// Regenerates resources/fixtures/configs/<name>.json, the normalized run configs that native/
// tests load, from the YAML beside each. Run: npx tsx scripts/gen-config-fixtures.ts
// app/config/fixtures.test.ts fails when a JSON differs from this output, so run it after any
// schema or normalization change.
import fs from 'node:fs';
import path from 'node:path';
import { normalizeConfig, parseConfigText } from '../app/config';

const dir = path.join(
  import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname),
  '..',
  'resources',
  'fixtures',
  'configs',
);

export function normalizedFixture(yamlText: string, name: string): string {
  const r = parseConfigText(yamlText);
  if (!r.ok)
    throw new Error(
      `${name}: ${r.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('; ')}`,
    );
  return JSON.stringify(normalizeConfig(r.config), null, 2) + '\n';
}

for (const file of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  const out = path.join(dir, file.replace(/\.yaml$/, '.json'));
  fs.writeFileSync(out, normalizedFixture(fs.readFileSync(path.join(dir, file), 'utf8'), file));
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}
