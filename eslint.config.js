// Lint for the whole repository: typescript-eslint's recommended rules plus the layering
// the architecture depends on (docs/decisions/0601-app-shell.md). Do not relax these rules;
// fix the import instead. Layering rules are errors, with no per-file exceptions.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import { layerZones } from './eslint-layers.mjs';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'stream', 'url', 'worker_threads', 'module'];

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-results/**', 'bench/results/**', 'bench/work/**', '.stack/**', '**/*.d.ts.map'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    // Plain JS scripts run under Node.
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
  {
    // The sandboxed renderer: no Node, and nothing from main but the contract.
    files: ['renderer/**/*.{ts,tsx}'],
    ignores: ['renderer/vite.config.ts'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', navigator: 'readonly', fetch: 'readonly', EventSource: 'readonly' },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'The renderer is sandboxed: no Node modules. Ask main through the API contract.' },
            { group: ['electron'], message: 'The renderer reaches main only through window.wsi (the preload).' },
            { regex: '(^|/)main/(?!api/contract(\\.js|\\.ts)?$)', message: 'The renderer may import only main/api/contract.ts from main/.' },
          ],
        },
      ],
    },
  },
  {
    // Everything in main/ but the shell runs under plain Node: no Electron, no renderer.
    files: ['main/**/*.ts'],
    ignores: ['main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron'], message: 'Only main/electron/ may use Electron; everything else runs under plain Node.' },
            { group: ['**/renderer/**', '**/preload/**'], message: 'main/ must not import the renderer or the preload.' },
          ],
        },
      ],
    },
  },
  {
    // The layers of main/ (eslint-layers.mjs, docs/architecture.md): an import that runs
    // against the table fails. import-x resolves the specifier, so `../x/y.js` (which names
    // y.ts) is judged by the file it reaches, not by its text.
    files: ['main/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones('.') }],
    },
  },
  {
    // Electron outside the shell by the back door: require('electron'),
    // createRequire(import.meta.url)('electron') and import('electron').
    files: ['main/**/*.ts'],
    ignores: ['main/electron/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[arguments.0.value='electron']", message: 'Only main/electron/ may load Electron (require/createRequire); everything else runs under plain Node.' },
        { selector: "ImportExpression[source.value='electron']", message: 'Only main/electron/ may import Electron; everything else runs under plain Node.' },
      ],
    },
  },
  {
    // The preload exposes the contract and nothing else: no Node modules, no main code at run time.
    files: ['preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'The sandboxed preload has no Node modules.' },
            {
              regex: '(^|/)main/(?!api/contract\\.js$|electron/electron-shim\\.js$)',
              message: 'The preload may import only the contract and the Electron type shim.',
            },
          ],
        },
      ],
    },
  },
);
