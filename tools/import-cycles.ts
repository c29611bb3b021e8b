// Import cycles among the project's own modules, type-only imports included: the lint layer rules
// (eslint.config.js) order the folders, but a circle inside one folder (kube/client → kube/desired →
// profile/ownership → kube/client once was one) is found only by following the imports. Used by
// test/unit/import-cycles.test.ts; `npx tsx tools/import-cycles.ts` prints them.
// The same reading of the imports, split by kind, tells what a process loads when it starts
// (loadedAtImport): test/unit/controller-imports.test.ts keeps @kubernetes/client-node out of the controller.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const SOURCE_FOLDERS = ['workflows', 'activities', 'watcher', 'worker', 'cli', 'tools'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * How a module is imported. With verbatimModuleSyntax (tsconfig.json) only `import type` and `export type`
 * vanish when compiled: `import { type A } from 'x'` stays as `import {} from 'x'` and still loads x.
 * `dynamic` is `await import('x')`, loaded when that line runs; `import('x').T` in a type is a type.
 */
export type ImportKind = 'value' | 'type' | 'dynamic';

export interface ModuleImport {
  specifier: string;
  kind: ImportKind;
}

/** The imports of one TypeScript source, from its syntax tree (specifiers that are string literals). */
export function importsOf(source: string): ModuleImport[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ModuleImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, kind: node.importClause?.isTypeOnly ? 'type' : 'value' });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, kind: node.isTypeOnly ? 'type' : 'value' });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, kind: 'type' });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push({ specifier: node.arguments[0].text, kind: 'dynamic' });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** A relative specifier as the project file it names (`.js` names the `.ts` source), relative to root. */
function projectFile(root: string, importer: string, specifier: string): string {
  return relative(root, resolve(root, dirname(importer), specifier.replace(/\.js$/, '.ts')));
}

/** file → the project files it imports, every kind (relative specifiers). */
export function importGraph(root: string, folders = SOURCE_FOLDERS): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of folders.flatMap((f) => sourceFiles(join(root, f)))) {
    const importer = relative(root, file);
    const imports = importsOf(readFileSync(file, 'utf8')).filter((i) => i.specifier.startsWith('.'));
    graph.set(importer, imports.map((i) => projectFile(root, importer, i.specifier)));
  }
  return graph;
}

export interface LoadedAtImport {
  /** Project files, each with the file whose import loaded it first (entries: undefined). */
  files: Map<string, string | undefined>;
  /** Packages and built-ins (bare specifiers), each with the project files that import it. */
  packages: Map<string, string[]>;
}

/**
 * What importing `entries` (files relative to root) loads before any of their code runs: value imports,
 * followed through the project's files; neither type-only imports nor dynamic ones (loaded later, if ever).
 */
export function loadedAtImport(root: string, entries: readonly string[]): LoadedAtImport {
  const files = new Map<string, string | undefined>(entries.map((e) => [e, undefined]));
  const packages = new Map<string, string[]>();
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const { specifier, kind } of importsOf(readFileSync(join(root, file), 'utf8'))) {
      if (kind !== 'value') continue;
      if (!specifier.startsWith('.')) {
        packages.set(specifier, [...(packages.get(specifier) ?? []), file]);
        continue;
      }
      const target = projectFile(root, file, specifier);
      if (files.has(target)) continue;
      files.set(target, file);
      queue.push(target);
    }
  }
  return { files, packages };
}

/** The chain of imports from an entry down to `file` (entry first). */
export function importChain(loaded: LoadedAtImport, file: string): string[] {
  const chain = [file];
  for (let f = loaded.files.get(file); f !== undefined; f = loaded.files.get(f)) chain.unshift(f);
  return chain;
}

/** The strongly connected components of more than one file (or a file importing itself), each sorted. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cycles = importCycles(importGraph(process.argv[2] ?? process.cwd()));
  for (const c of cycles) console.log(`import cycle: ${c.join(' ↔ ')}`);
  process.exitCode = cycles.length > 0 ? 1 : 0;
}
