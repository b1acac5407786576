// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.tap/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      curly: ['error', 'all'],
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Hot-path code walks strings by index; `!` after a bounds check is clearer than a cast.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/modules/**'], message: 'nothing in src/ imports modules/' }] },
      ],
    },
  },
  {
    // The layer rule: src/sip is the bottom layer and imports nothing above it; nothing in src/
    // imports modules/. Later layers add their own entries here.
    files: ['src/sip/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/transport/**', '**/transaction/**', '**/proxy/**', '**/script/**'],
              message: 'src/sip is the bottom layer',
            },
            {
              group: ['**/cluster/**', '**/mi/**', '**/config/**', '**/modules/**'],
              message: 'src/sip is the bottom layer',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/transport/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/transaction/**', '**/proxy/**', '**/script/**', '**/modules/**'],
              message: 'src/transport depends only on src/sip and src/core',
            },
            {
              group: ['**/cluster/**', '**/mi/**', '**/config/**'],
              message: 'src/transport depends only on src/sip and src/core',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/transaction/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/proxy/**', '**/script/**', '**/modules/**'],
              message: 'src/transaction depends only on src/transport, src/sip and src/core',
            },
            {
              group: ['**/cluster/**', '**/mi/**', '**/config/**'],
              message: 'src/transaction depends only on src/transport, src/sip and src/core',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/proxy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/script/**', '**/modules/**', '**/cluster/**', '**/mi/**', '**/config/**'],
              message:
                'src/proxy depends only on src/transaction, src/transport, src/sip and src/core',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/proxy/**', '**/script/**', '**/cluster/**', '**/mi/**', '**/modules/**'],
              message: 'src/config builds on src/core (and layer types) only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/script/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/modules/**', '**/cluster/**', '**/mi/**', '**/config/**'],
              message: 'src/script builds on the SIP stack only (modules attach through the SDK)',
            },
          ],
        },
      ],
    },
  },
  {
    // The tandem-cli bin shim is plain JavaScript outside the TypeScript project.
    files: ['scripts/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', URL: 'readonly' },
    },
  },
  {
    files: ['src/module/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/config/**', '**/mi/**', '**/cluster/**', '**/modules/**'],
              message:
                'src/module (the SDK) builds on the core stack (src/core, sip, transport, proxy, script) only',
            },
          ],
        },
      ],
    },
  },
  {
    // Modules see the core through the SDK alone (and other modules' declared api.ts).
    files: ['modules/**/*.ts'],
    ignores: ['modules/**/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)src/(?!module/index\\.js$)',
              message: 'modules/* import only the module SDK (src/module/index.js)',
            },
          ],
        },
      ],
    },
  },
  {
    // The MI reaches the stack through what the composition root (src/app.ts) hands it.
    files: ['src/mi/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/sip/**', '**/transport/**', '**/transaction/**', '**/proxy/**'],
              message: 'src/mi builds on src/core and src/module only',
            },
            {
              group: ['**/script/**', '**/config/**', '**/cluster/**', '**/modules/**'],
              message: 'src/mi builds on src/core and src/module only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../cli/**'],
              message: 'the CLI talks to a node over HTTP only; it imports nothing from src/',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'modules/**/test/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
      // tap ends a subtest when its promise settles, so test callbacks are async without await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  prettier,
);
