// No import cycles among the project's modules (tools/import-cycles.ts), and the finder finds one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importCycles, importGraph } from '../../tools/import-cycles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('the source folders import each other without a cycle', () => {
  const graph = importGraph(root);
  assert.ok(graph.size > 50, `read ${graph.size} files`);
  assert.deepEqual(importCycles(graph), []);
});

test('a cycle, however long, is reported once with its files', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts', 'x.ts']],
    ['c.ts', ['a.ts']],
    ['x.ts', []],
    ['self.ts', ['self.ts']],
  ]);
  assert.deepEqual(importCycles(graph), [['a.ts', 'b.ts', 'c.ts'], ['self.ts']]);
});
