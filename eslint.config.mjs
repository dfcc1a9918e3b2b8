// Lint: TypeScript rules plus the layer rules from ARCHITECTURE.md (imports point downward only).
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

// A relative import that climbs to the repository root and enters a layer.
const intoLayer = (...layers) => ({
  regex: `^(\\.\\./)+(${layers.join('|')})(/|$)`,
  message: `This layer may not import ${layers.join(' or ')}/ (see ARCHITECTURE.md).`,
});
const io = [
  'electron',
  'ssh2',
  'ws',
  'node-pty',
  'child_process',
  'fs',
  'net',
  'http',
  'os',
  'path',
];
const noIo = {
  regex: `^(node:.*|${io.join('|')})$`,
  message: 'app/ and renderer/ are free of I/O: no Node built-ins or host libraries.',
};

export const layerRules = [
  {
    files: ['app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [intoLayer('main', 'renderer'), noIo] }],
    },
  },
  {
    // Tests of the pure core may read fixtures from disk; they still may not reach up a layer.
    files: ['app/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoLayer('main', 'renderer')] }] },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoLayer('main'), noIo] }] },
  },
  {
    files: ['main/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoLayer('renderer')] }] },
  },
];

export default tseslint.config(
  {
    ignores: [
      '.venv/**',
      'out/**',
      'dist/**',
      'release/**',
      'node_modules/**',
      'native/**',
      'test-results/**',
      'playwright-report/**',
      'resources/schema/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  {
    files: ['bin/**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...layerRules,
);
