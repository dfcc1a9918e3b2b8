import { describe, expect, it } from 'vitest';
import { isOwnFrame, isSafeExternalUrl, WEB_PREFERENCES } from './policy';

describe('Electron window policy', () => {
  it('isolates the renderer from Node and Electron', () => {
    expect(WEB_PREFERENCES).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
    });
  });
  it('opens only plain web links externally', () => {
    expect(isSafeExternalUrl('https://pytorch.org/docs')).toBe(true);
    for (const bad of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'https://user:pw@host/',
      'not a url',
    ]) {
      expect(isSafeExternalUrl(bad)).toBe(false);
    }
  });
  it('accepts IPC only from our own page', () => {
    const app = {};
    expect(isOwnFrame('spindle://studio/index.html', app)).toBe(true);
    expect(isOwnFrame('spindle://studio/index.html#x', app)).toBe(true);
    expect(isOwnFrame('spindle://studio/other.html', app)).toBe(false);
    expect(isOwnFrame('spindle://evil/index.html', app)).toBe(false);
    expect(isOwnFrame('file:///opt/Spindle/resources/app.asar/out/renderer/index.html', app)).toBe(
      false,
    );
    expect(isOwnFrame('https://example.com/', app)).toBe(false);
    expect(isOwnFrame(undefined, app)).toBe(false);
    expect(isOwnFrame('http://localhost:5173/', { devUrl: 'http://localhost:5173' })).toBe(true);
    expect(isOwnFrame('http://localhost:5174/', { devUrl: 'http://localhost:5173' })).toBe(false);
    expect(isOwnFrame('spindle://studio/index.html', { devUrl: 'http://localhost:5173' })).toBe(
      false,
    );
  });
});
