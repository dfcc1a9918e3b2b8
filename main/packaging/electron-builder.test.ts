// The package cannot be built here (no Electron binary), so its config is checked instead:
// electron-builder's own schema validation, the targets, and that the runtime ships inside.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const config = parse(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8'));

describe('electron-builder config', () => {
  it("passes electron-builder's own validation", async () => {
    const { validateConfiguration } = await import('app-builder-lib/out/util/config/config.js');
    const { DebugLogger } = await import('builder-util');
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('rejects a broken config (the validation bites)', async () => {
    const { validateConfiguration } = await import('app-builder-lib/out/util/config/config.js');
    const { DebugLogger } = await import('builder-util');
    await expect(
      validateConfiguration({ ...config, extraResourcez: [] }, new DebugLogger(false)),
    ).rejects.toThrow();
  });

  it('targets AppImage + deb, dmg and nsis', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toBe('dmg');
    expect(config.win.target).toBe('nsis');
  });

  it('bundles the runtime package and the resources it reads, and the built app', () => {
    const native = config.extraResources.find((r: { from: string }) => r.from === 'native');
    expect(native.to).toBe('native');
    expect(native.filter).toContain('spindle/**');
    const resources = config.extraResources.find((r: { from: string }) => r.from === 'resources');
    for (const needed of ['presets/**', 'corpus/**']) expect(resources.filter).toContain(needed);
    expect(config.files).toContain('out/**');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('out/main/electron.js');
    // The entry electron-builder packs must be what electron-vite builds.
    const vite = fs.readFileSync(path.join(root, 'electron.vite.config.ts'), 'utf8');
    expect(vite).toMatch(/electron: resolve\('main\/electron\/index.ts'\)/);
  });
});
