// The workflow bundle as the worker loads it: without --workflow-stack-traces, the sandbox's
// Error.stackTraceLimit is lowered by a statement placed so that the SDK still finds the same inline source
// map and every mapped line keeps its number.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { LEAN_STACK_TRACE_LIMIT, limitWorkflowStackTraces, loadWorkflowBundle } from '../../worker/bundle.js';

const MAP = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,eyJ2ZXJzaW9uIjozfQ==';

/** What the SDK hands to V8 and to its source-map consumer (worker.js extractSourceMap): code before the last map comment, and the map. */
function sdkView(code: string): { code: string; map: string } {
  const at = code.lastIndexOf('//# sourceMappingURL=data:');
  return { code: code.slice(0, at), map: code.slice(at) };
}

test('the statement goes after the last mapped line and before the inline source map', () => {
  const code = `var a = 1;\nvar b = 2;\n${MAP}`;
  const limited = limitWorkflowStackTraces(code);
  assert.equal(sdkView(limited).map, MAP);
  assert.equal(sdkView(limited).code, `var a = 1;\nvar b = 2;\nError.stackTraceLimit = ${LEAN_STACK_TRACE_LIMIT};\n`);
  // A map comment that shares its line with code: that code keeps its line.
  assert.equal(sdkView(limitWorkflowStackTraces(`var a = 1;${MAP}`)).code, `var a = 1;\nError.stackTraceLimit = ${LEAN_STACK_TRACE_LIMIT};\n`);
  // No map at all: appended.
  assert.equal(limitWorkflowStackTraces('var a = 1;', 5), 'var a = 1;\nError.stackTraceLimit = 5;\n');
});

test("the limit holds inside the sandbox's realm only: an error there keeps two frames, one outside keeps its own", () => {
  const context = vm.createContext({});
  const frames = vm.runInContext(
    `${limitWorkflowStackTraces(MAP)}
     function inner() { return new Error('x').stack.split('\\n').length - 1; }
     function middle() { return inner(); }
     function outer() { return middle(); }
     outer();`,
    context,
  ) as number;
  assert.equal(frames, LEAN_STACK_TRACE_LIMIT);
  assert.equal(vm.runInContext('Error.stackTraceLimit', context), LEAN_STACK_TRACE_LIMIT);
  assert.notEqual(Error.stackTraceLimit, LEAN_STACK_TRACE_LIMIT);
});

test('loadWorkflowBundle limits stack traces unless they are asked for', async () => {
  const lean = await loadWorkflowBundle();
  assert.ok('code' in lean && typeof lean.code === 'string', 'the bundle as code');
  const { code, map } = sdkView(lean.code);
  assert.ok(code.endsWith(`\nError.stackTraceLimit = ${LEAN_STACK_TRACE_LIMIT};\n`), 'the limit is the last statement before the map');
  assert.ok(map.length > 1000, 'the inline source map follows it');
  assert.equal(code.match(/Error\.stackTraceLimit = /g)?.length, 1, 'set once');
});
