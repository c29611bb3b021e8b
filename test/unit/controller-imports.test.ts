// The controller (`clusterinventory run | worker | watcher`) must start without @kubernetes/client-node:
// its KubeConfig imports the whole generated API, ~66 MiB of RSS and 26 MiB of heap for a process that
// talks to the API server over node:https anyway (activities/kube/kube-access.ts loads the credentials).
// Only a kubeconfig the plain loader does not understand (exec, auth-provider, …) imports it, on demand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importChain, importsOf, loadedAtImport } from '../../tools/import-cycles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** cli/main.ts imports the controller on demand (after parsing the flags); these are what `run` loads. */
const CONTROLLER_ENTRIES = ['cli/main.ts', 'cli/app.ts', 'worker/worker.ts'];
/** The operator commands, which may use client-node: they are short-lived and load only what they need. */
const OPERATOR_COMMANDS = ['cli/status.ts', 'cli/refresh.ts'];

const isClientNode = (specifier: string): boolean => specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/');

test('cli/main.ts loads on demand only the controller and the operator commands', () => {
  // A new on-demand import in main.ts must be classified here, or the check below would not follow it.
  const dynamic = importsOf(readFileSync(join(root, 'cli/main.ts'), 'utf8'))
    .filter((i) => i.kind === 'dynamic')
    .map((i) => join('cli', i.specifier.replace(/\.js$/, '.ts')));
  assert.ok(dynamic.length > 0, 'cli/main.ts imports the controller on demand');
  for (const file of dynamic) assert.ok([...CONTROLLER_ENTRIES, ...OPERATOR_COMMANDS].includes(file), `${file}: a controller entry or an operator command?`);
});

test('the controller does not load @kubernetes/client-node when it starts', () => {
  const loaded = loadedAtImport(root, CONTROLLER_ENTRIES);
  assert.ok(loaded.files.size > 50, `followed ${loaded.files.size} files`);
  const offenders = [...loaded.packages]
    .filter(([specifier]) => isClientNode(specifier))
    .flatMap(([specifier, importers]) => importers.map((file) => `${importChain(loaded, file).join(' → ')} → ${specifier}`));
  assert.deepEqual(offenders, [], `value imports of client-node on the controller's path:\n${offenders.join('\n')}`);
});

test('the import reader tells loaded, type-only and on-demand imports apart', () => {
  const source = [
    "import type { A } from 'types-only';",
    "import { type B } from 'inline-type';", // verbatimModuleSyntax keeps it as `import {} from`: loaded
    "import { C, type D } from 'mixed';",
    "import 'side-effect';",
    "export type { E } from 'reexported-type';",
    "export { F } from 'reexported-value';",
    "let g: import('import-type').G;",
    "const h = await import('on-demand');",
  ].join('\n');
  assert.deepEqual(
    importsOf(source).map((i) => `${i.kind} ${i.specifier}`),
    ['type types-only', 'value inline-type', 'value mixed', 'value side-effect', 'type reexported-type', 'value reexported-value', 'type import-type', 'dynamic on-demand'],
  );
});
