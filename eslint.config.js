// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { LAYERS, foldersAbove } from './tools/arch/layers.mjs';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins. Capability records
// are read by workflows, so they count as workflow code.
const WORKFLOW_CODE = [
  'src/workflows/**/*.ts',
  'src/domain/**/*.ts',
  'src/runtimes/capabilities.ts',
  'src/runtimes/*-capabilities.ts',
];
const NODE_BUILTINS = {
  group: ['node:*', 'fs', 'path', 'child_process', 'os', 'crypto'],
  message: 'workflow code must stay deterministic: no Node built-ins',
};

/** Imports point down only (tools/arch/layers.mjs): no folder imports a higher layer's. */
const upward = (folder) => {
  const above = foldersAbove(folder);
  return above.length
    ? [
        {
          regex: `^(\\.\\./)+(${above.join('|')})/`,
          message: `src/${folder} may not import a higher layer (${above.join(', ')}): see docs/architecture.md`,
        },
      ]
    : [];
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.ferry/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // One block per folder; the workflow-code blocks that follow repeat the folder's layer rule,
  // because a later block's options for a rule replace an earlier one's.
  ...LAYERS.flat().map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: upward(folder) }] },
  })),
  ...WORKFLOW_CODE.map((glob) => ({
    files: [glob],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [NODE_BUILTINS, ...upward(/^src\/([^/]+)/.exec(glob)?.[1] ?? '')] },
      ],
    },
  })),
);
