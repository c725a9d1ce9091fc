// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import { runnelPlugin } from './dev/lint/plugin.js'

// Top-level folders are the architecture: another folder may import only through a folder's index.ts.
const folders = ['topology', 'processors', 'state', 'runtime', 'schemas', 'registry', 'query-api', 'apps/shared', 'apps/traffic', 'apps/commerce']
const internals = `^(\\.\\./)+(${folders.join('|')})/(?!index\\.ts$).+`

export default tseslint.config(
  { ignores: ['node_modules/**', '.cache/**', 'dist/**', '**/dist/**', '.state/**', '.runtime/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { runnel: runnelPlugin },
    rules: {
      // Which folder may import which: dev/lint/layers.js.
      'runnel/layers': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', {
        patterns: [{ regex: internals, message: 'import another folder only through its index.ts' }]
      }],
      'no-restricted-syntax': ['error',
        { selector: 'TSEnumDeclaration', message: 'use an `as const` object and a union type instead of enum' },
        { selector: 'ExportDefaultDeclaration', message: 'named exports only' }
      ]
    }
  },
  {
    files: ['**/*.config.ts', '**/vite.config.ts', '**/vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' }
  }
)
