import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      outDir: 'out/main',
      rollupOptions: {
        input: { electron: resolve('main/electron/index.ts'), cli: resolve('main/cli/index.ts') },
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
      rollupOptions: { input: resolve('renderer/index.html') },
      chunkSizeWarningLimit: 8000,
    },
  },
});
