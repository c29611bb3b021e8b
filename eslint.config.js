// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// The layers (docs/architecture.md, "Layers"), bottom up: workflows/ ← activities/ ← watcher/ ← worker/ ←
// cli/ ← bin/, tools/. Each folder's block below lists what it must not import. The import sources are
// relative paths, so a top-level folder is matched however deep the importing file sits.

/** A relative import that reaches one of these top-level folders. */
const ourLayers = (...folders) => `^(\\.\\./)+(${folders.join('|')})/`;

/** The workflow code itself (bundled for the sandbox by worker/bundle.ts), as opposed to its contract. */
const workflowCode = {
  regex: `${ourLayers('workflows')}(index|cluster-profile|reconciler|legacy/(?!api\\.js$))`,
  message: 'Import the contract (workflows/api.ts and the other pure modules), not the workflow code.',
};

/** One `no-restricted-imports` rule per folder: ESLint replaces, rather than merges, a rule's options. */
const layerRule = (options) => ({ '@typescript-eslint/no-restricted-imports': ['error', options] });

/**
 * Workflow code runs in Temporal's deterministic sandbox, at any depth under workflows/: no Node, no network,
 * no Kubernetes client, no activity/worker/client SDK packages (their types may still be imported with
 * `import type`); and as the bottom layer it imports nothing of ours from outside workflows/, not even types.
 */
const workflowSandbox = {
  paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.', allowTypeImports: true })),
  patterns: [
    { group: ['@kubernetes/*'], message: 'Workflow code must not touch Kubernetes; use an activity.', allowTypeImports: true },
    { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing', '@temporalio/envconfig'], message: 'Not allowed in the workflow sandbox.', allowTypeImports: true },
    {
      regex: ourLayers('activities', 'worker', 'watcher', 'cli', 'tools', 'bin'),
      message: 'workflows/ is the bottom layer and imports nothing from the others, not even types: move a shared type into workflows/ (docs/architecture.md, Layers).',
    },
  ],
};

const LEGACY_BOX = 'The legacy box may use only the live workflow names that docs/adr/0012-first-release-code-in-one-box.md lists.';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.stack/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/test return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node, no network, no Kubernetes client,
    // no activity/worker/client SDK packages (their types may still be imported with `import type`).
    // workflows/ is the bottom layer: it imports nothing of ours from outside workflows/, not even
    // types; a type both sides need lives here (api.ts, visibility.ts).
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/legacy/**'],
    rules: layerRule(workflowSandbox),
  },
  {
    // The first release's workflow (docs/adr/0012-first-release-code-in-one-box.md): the sandbox rules, and
    // of the live workflow code only the names the ADR lists, which the replay of its histories guards.
    files: ['workflows/legacy/**/*.ts'],
    rules: layerRule({
      paths: [
        ...workflowSandbox.paths,
        { name: '../phase.js', allowImportNames: ['decideNext', 'nextPhase', 'eventForSyncSuccess', 'eventForSyncFailure', 'EventReason', 'PhaseEvent'], message: LEGACY_BOX },
        { name: '../schedule.js', allowImportNames: ['nextRefreshDelayMs', 'formatDuration'], message: LEGACY_BOX },
      ],
      patterns: [...workflowSandbox.patterns, { group: ['../*', '!../api.js', '!../phase.js', '!../schedule.js'], message: LEGACY_BOX }],
    }),
  },
  {
    // Activities: the worker runs them; they know the shared contract of workflows/ but not the workflow
    // code, the worker, the watcher or the CLI.
    files: ['activities/**/*.ts'],
    rules: layerRule({
      patterns: [
        { regex: ourLayers('worker', 'watcher', 'cli', 'tools', 'bin'), message: 'activities/ imports only workflows/ (the contract) and activities/ (docs/architecture.md, Layers).' },
        workflowCode,
      ],
    }),
  },
  {
    // The watcher reads ClusterProfiles the way the activities do (the shared profile model) and signals
    // workflows; it never runs an activity's I/O, and knows nothing of the worker or the CLI. It shares
    // the transport: the API server's address and credentials (kube-access.ts) and one HTTP request (http.ts).
    files: ['watcher/**/*.ts'],
    rules: layerRule({
      patterns: [
        { regex: ourLayers('worker', 'cli', 'tools', 'bin'), message: 'watcher/ imports only workflows/ and the shared profile model of activities/ (docs/architecture.md, Layers).' },
        {
          regex: `${ourLayers('activities')}(?!profile/|kube/types\\.js$|kube/classify\\.js$|kube/kube-access\\.js$|kube/http\\.js$)`,
          message: 'The watcher may use the shared profile model (activities/profile/, kube/types.ts, kube/classify.ts) and the transport (kube/kube-access.ts, kube/http.ts), not an activity\'s I/O.',
        },
        workflowCode,
      ],
    }),
  },
  {
    // The worker hosts the workflows and the activities and exports the process's metrics; the CLI
    // composes it with the watcher, never the other way round.
    files: ['worker/**/*.ts'],
    rules: layerRule({
      patterns: [
        { regex: ourLayers('cli', 'tools', 'bin'), message: 'Nothing imports cli/ but bin/ and tools/: move what both need below cli/ (docs/architecture.md, Layers).' },
        workflowCode,
      ],
    }),
  },
  {
    // cli/ is the composition root (cli/app.ts wires the worker and the watcher) and the operator commands.
    files: ['cli/**/*.ts'],
    rules: layerRule({
      patterns: [
        { regex: ourLayers('tools', 'bin'), message: 'cli/ ships in the image; tools/ and bin/ do not belong in it (docs/architecture.md, Layers).' },
        workflowCode,
      ],
    }),
  },
  {
    // Functions a newcomer can hold in their head: the workflow, the watcher and the activities are split by concern
    // (the first release's frozen workflow is exempt: it is never edited, only deleted)
    // (nested functions count toward the function that holds them, as a closure does).
    files: ['watcher/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'],
    ignores: ['workflows/legacy/**'],
    rules: { 'max-lines-per-function': ['error', { max: 80 }] },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { URL: 'readonly', process: 'readonly', console: 'readonly' },
    },
  },
);
