import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import type { RollupLog } from 'rollup';

// zod's sources carry annotation comments in places Rollup cannot use them; the warning is about
// a dependency's comments and says nothing a user of the build can act on.
function onwarn(w: RollupLog, warn: (w: RollupLog) => void) {
  if (w.code === 'INVALID_ANNOTATION' && /[\\/]zod[\\/]/.test(w.id ?? '')) return;
  warn(w);
}

export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      outDir: 'out/main',
      rollupOptions: {
        input: { electron: resolve('main/electron/index.ts'), cli: resolve('main/cli/index.ts') },
        onwarn,
      },
    },
  },
  preload: {
    // Sandboxed preloads must be one CommonJS file with nothing external but electron.
    build: {
      externalizeDeps: false,
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('main/electron/preload.ts') },
        output: { format: 'cjs' },
        onwarn,
      },
    },
  },
  renderer: {
    root: 'renderer',
    plugins: [react()],
    worker: { format: 'es' },
    // Cross-origin isolated in development too, as both doors serve the built UI.
    server: {
      headers: {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      },
    },
    build: {
      outDir: resolve('out/renderer'),
      rollupOptions: { input: resolve('renderer/index.html'), onwarn },
      chunkSizeWarningLimit: 8000,
    },
  },
});
