// Types for the Monaco ESM entry points this area imports that ship without declarations.
declare module 'monaco-editor/esm/vs/common/workers.js' {
  import type { editor } from 'monaco-editor/esm/vs/editor/editor.api.js';
  /**
   * Monaco 0.55's compatibility createWebWorker: takes the pre-0.55 options (label, moduleId,
   * createData), gets the Worker from MonacoEnvironment.getWorker and sends createData to it.
   */
  export function createWebWorker<T extends object>(opts: {
    label?: string;
    moduleId?: string;
    createData?: unknown;
    host?: Record<string, (...args: unknown[]) => unknown>;
    keepIdleModels?: boolean;
  }): editor.MonacoWebWorker<T>;
}
