import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceMapConsumer, SourceMapGenerator } from 'source-map';
import { slimWorkflowSourceMap } from '../../tools/workflow-source-map.js';

const INLINE = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';

/** A two-line "bundle": line 1 from a dependency (two mappings), line 2 from our workflow code (two). */
function bundle(): string {
  const g = new SourceMapGenerator({ file: 'workflow-bundle.js' });
  const dep = '/repo/node_modules/@temporalio/workflow/src/workflow.ts';
  const own = '/repo/workflows/reconciler.ts';
  g.addMapping({ generated: { line: 1, column: 0 }, original: { line: 10, column: 2 }, source: dep, name: 'sleep' });
  g.addMapping({ generated: { line: 1, column: 8 }, original: { line: 10, column: 9 }, source: dep });
  g.addMapping({ generated: { line: 2, column: 2 }, original: { line: 42, column: 6 }, source: own, name: 'syncOnce' });
  g.addMapping({ generated: { line: 2, column: 12 }, original: { line: 43, column: 1 }, source: own });
  g.setSourceContent(dep, 'export function sleep() {}');
  g.setSourceContent(own, 'export class Reconciler {}');
  return `var a = sleep();\n  syncOnce(); b();\n${INLINE}${Buffer.from(g.toString()).toString('base64')}`;
}

test("the bundle's source map: every mapping of our code, a dependency's first per line, relative paths", async () => {
  const input = bundle();
  const { code, mappings } = await slimWorkflowSourceMap(input, '/repo');
  assert.equal(code.slice(0, code.indexOf(INLINE)), input.slice(0, input.indexOf(INLINE)), 'the code is unchanged');
  assert.deepEqual(mappings, { before: 4, after: 3 });
  const map = JSON.parse(Buffer.from(code.slice(code.indexOf(INLINE) + INLINE.length), 'base64').toString()) as { sources: string[]; sourcesContent: Array<string | null>; file: string };
  assert.deepEqual(map.sources.sort(), ['node_modules/@temporalio/workflow/src/workflow.ts', 'workflows/reconciler.ts']);
  assert.deepEqual(map.sourcesContent.filter((c) => c !== null), ['export class Reconciler {}'], "only our code's source text");
  assert.equal(map.file, 'workflow-bundle.js');
  await SourceMapConsumer.with(map as never, null, (c) => {
    assert.deepEqual(c.originalPositionFor({ line: 2, column: 2 }), { source: 'workflows/reconciler.ts', line: 42, column: 6, name: 'syncOnce' });
    assert.deepEqual(c.originalPositionFor({ line: 2, column: 12 }), { source: 'workflows/reconciler.ts', line: 43, column: 1, name: null });
    const dep = c.originalPositionFor({ line: 1, column: 8 });
    assert.deepEqual([dep.source, dep.line], ['node_modules/@temporalio/workflow/src/workflow.ts', 10], "a dependency's frame keeps file and line");
  });
});

test('a bundle without an inline source map is refused', async () => {
  await assert.rejects(slimWorkflowSourceMap('var a = 1;\n', '/repo'), /no inline base64 JSON source map/);
});
