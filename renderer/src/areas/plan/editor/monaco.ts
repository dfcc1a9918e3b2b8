// Monaco, set up once for the Plan area: only the editor core, its features and the YAML language
// (not the ~80 languages of the full bundle), workers bundled by Vite and loaded from the app's
// own origin, the run-config schema for completion and hover, and two themes matching the app.
import * as monaco from 'monaco-editor/esm/vs/editor/editor.api.js';
// The editor's features (find, folding, hover, suggest, quick access…), the same set as the full
// bundle, and the pre-0.55 style createWebWorker that monaco-yaml's worker manager still calls.
import { createWebWorker } from 'monaco-editor/esm/vs/common/workers.js';
import 'monaco-editor/esm/vs/basic-languages/yaml/yaml.contribution.js';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker';
import { configureMonacoYaml } from 'monaco-yaml';
import { runConfigJsonSchema } from '../../../../../app/config';
import { editorSchema } from './schema-docs';
import YamlWorker from './yaml.worker?worker';

export { monaco };

export const CONFIG_URI = monaco.Uri.parse('file:///spindle/run-config.yaml');
export const MARKER_OWNER = 'spindle';

let ready = false;

export function setupMonaco(): typeof monaco {
  if (ready) return monaco;
  ready = true;
  (globalThis as { MonacoEnvironment?: monaco.Environment }).MonacoEnvironment = {
    getWorker(_id: string, label: string) {
      return label === 'yaml' ? new YamlWorker() : new EditorWorker();
    },
  };

  const schema = editorSchema(runConfigJsonSchema());
  // yaml-language-server speaks draft-07; naming 2020-12 would make it try to fetch that
  // meta-schema from the network.
  schema.$schema = 'http://json-schema.org/draft-07/schema#';
  // monaco-yaml (via monaco-worker-manager) calls editor.createWebWorker({ label, moduleId,
  // createData }). Since Monaco 0.55 that API wants a ready Worker and drops createData, so the
  // YAML worker would never start; hand it the compatibility version, which asks our
  // MonacoEnvironment.getWorker for the worker and sends it createData as before.
  const monacoForYaml = {
    ...monaco,
    editor: { ...monaco.editor, createWebWorker },
  } as unknown as typeof monaco;
  configureMonacoYaml(monacoForYaml, {
    enableSchemaRequest: false,
    completion: true,
    hover: true,
    format: { enable: true, printWidth: 100, proseWrap: 'preserve' },
    // One validator: the markers come from parseConfigText, the same code the CLI and the runtime
    // launch path use, so the editor can never disagree with `spindle config check`.
    validate: false,
    schemas: [{ uri: String(schema.$id), fileMatch: [CONFIG_URI.toString()], schema }],
  });

  // Colours from styles.css, so the editor sits in the panel instead of on top of it.
  monaco.editor.defineTheme('spindle-light', {
    base: 'vs',
    inherit: true,
    rules: [
      { token: 'comment', foreground: '6b7280', fontStyle: 'italic' },
      { token: 'type', foreground: '3b5bdb' },
      { token: 'string', foreground: '2b8a3e' },
      { token: 'number', foreground: 'c2410c' },
      { token: 'keyword', foreground: '9c36b5' },
    ],
    colors: {
      'editor.background': '#ffffff',
      'editor.lineHighlightBackground': '#f3f4f8',
      'editorLineNumber.foreground': '#a0a4ad',
      'editorLineNumber.activeForeground': '#1b1d21',
      'editorGutter.background': '#ffffff',
      'editor.selectionBackground': '#3b5bdb33',
      'editorWidget.background': '#ffffff',
      'editorWidget.border': '#dcdee3',
      'editorHoverWidget.background': '#ffffff',
      'editorHoverWidget.border': '#dcdee3',
    },
  });
  monaco.editor.defineTheme('spindle-dark', {
    base: 'vs-dark',
    inherit: true,
    rules: [
      { token: 'comment', foreground: '8b93a1', fontStyle: 'italic' },
      { token: 'type', foreground: '91a7ff' },
      { token: 'string', foreground: '8ce99a' },
      { token: 'number', foreground: 'ffc078' },
      { token: 'keyword', foreground: 'e599f7' },
    ],
    colors: {
      'editor.background': '#1d2026',
      'editor.lineHighlightBackground': '#252932',
      'editorLineNumber.foreground': '#5c6370',
      'editorLineNumber.activeForeground': '#e6e8ec',
      'editorGutter.background': '#1d2026',
      'editor.selectionBackground': '#748ffc40',
      'editorWidget.background': '#252932',
      'editorWidget.border': '#333844',
      'editorHoverWidget.background': '#252932',
      'editorHoverWidget.border': '#333844',
    },
  });
  return monaco;
}

export const monacoTheme = (theme: 'light' | 'dark') =>
  theme === 'dark' ? 'spindle-dark' : 'spindle-light';
