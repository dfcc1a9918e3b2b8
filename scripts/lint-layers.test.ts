// The layer rules in eslint.config.mjs must bite: app/ may not import main/ or renderer/ or do
// I/O; renderer/ may not import main/. Checked with ESLint itself on real file paths.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const eslint = new ESLint({ cwd: root });
async function layerErrors(file: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it('app/ importing main/ fails lint', async () => {
    const errors = await layerErrors(
      'app/config/bad.ts',
      "import { defaultDataDir } from '../../main/host/paths';\nexport const x = defaultDataDir;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/may not import main or renderer/);
  });
  it('app/ importing renderer/ or a Node built-in fails lint', async () => {
    expect(
      await layerErrors(
        'app/planner/bad.ts',
        "import { App } from '../../renderer/src/App';\nexport const x = App;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors('app/planner/bad.ts', "import fs from 'node:fs';\nexport const x = fs;\n"),
    ).toHaveLength(1);
  });
  it('renderer/ importing main/ fails lint', async () => {
    expect(
      await layerErrors(
        'renderer/src/bad.ts',
        "import { startServer } from '../../main/serve/server';\nexport const x = startServer;\n",
      ),
    ).toHaveLength(1);
  });
  it('downward imports pass', async () => {
    expect(
      await layerErrors(
        'main/host/ok.ts',
        "import { RunConfig } from '../../app/config';\nexport const x = RunConfig;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'renderer/src/ok.ts',
        "import { RunConfig } from '../../app/config';\nexport const x = RunConfig;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'app/planner/ok.ts',
        "import { RunConfig } from '../config';\nexport const x = RunConfig;\n",
      ),
    ).toEqual([]);
  });
});
