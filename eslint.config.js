// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import { runnelPlugin } from './dev/lint/plugin.js'

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
      // Top-level folders are the architecture: another folder is imported only through its
      // index.ts, and only along the arrows of dev/lint/layers.js.
      'runnel/layers': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'use an `as const` object and a union type instead of enum' },
        { selector: 'ExportDefaultDeclaration', message: 'named exports only' },
        { selector: 'PrivateIdentifier', message: 'use a TypeScript private member: one privacy style' }
      ]
    }
  },
  {
    files: ['**/*.config.ts', '**/vite.config.ts', '**/vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' }
  }
)
