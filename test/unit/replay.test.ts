// Determinism guard: workflow code changes are guarded by replay tests over recorded histories:
// every history committed under test/fixtures/histories (recorded from real end-to-end runs by
// test/support/record-histories.ts) is replayed against the CURRENT workflow code, bundled from source.
// No server is needed. A failure here means a workflow change would break running workflows: make it
// replay-safe (workflow.patched / a new workflow type), or, if no such workflow can exist in production,
// re-record the histories and say so in the change.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, makeTelemetryFilterString } from '@temporalio/worker';
import { credentialLeaks, historyFromJSONText, historyToJSONText, type History } from '../support/histories.js';

const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

// Core logs each nondeterminism it finds as a WARN; the negative control below provokes one on purpose.
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
});

interface Fixture {
  file: string;
  text: string;
  history: History;
  workflowId: string;
}

function workflowIdOf(history: History, file: string): string {
  // The recorded run's workflow ID is not part of its history; the file name stands in for it.
  return `replay/${file.replace(/\.json$/, '')}${history.events?.[0]?.workflowExecutionStartedEventAttributes ? '' : '/partial'}`;
}

describe('replay of recorded histories against the current workflow code', { timeout: 10 * 60_000 }, () => {
  const fixtures: Fixture[] = [];
  let workflowCode: string;

  before(async () => {
    const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort();
    for (const file of files) {
      const text = await readFile(join(HISTORIES_DIR, file), 'utf8');
      const history = historyFromJSONText(text, file);
      fixtures.push({ file, text, history, workflowId: workflowIdOf(history, file) });
    }
    // Bundled from source (never a prebuilt bundle): what is replayed is the code in this checkout.
    workflowCode = (await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') })).code;
  });

  test('the fixtures exist, load, and cover the representative runs', () => {
    assert.ok(fixtures.length >= 5, `expected recorded histories in ${HISTORIES_DIR}, found ${fixtures.length}`);
    const has = (pred: (e: NonNullable<History['events']>[number]) => unknown): boolean =>
      fixtures.some((f) => (f.history.events ?? []).some((e) => pred(e)));
    assert.ok(has((e) => e.workflowExecutionCompletedEventAttributes), 'a completed run (deletion)');
    assert.ok(has((e) => e.workflowExecutionContinuedAsNewEventAttributes), 'a run that continued as new');
    assert.ok(has((e) => e.activityTaskFailedEventAttributes), 'a failed activity (Degraded)');
    assert.ok(has((e) => e.activityTaskCancelRequestedEventAttributes), 'a cancelled sync (deleted during a refresh)');
    assert.ok(has((e) => e.workflowExecutionUpdateCompletedEventAttributes), 'a refresh update');
    assert.ok(has((e) => e.workflowExecutionSignaledEventAttributes), 'signals');
    for (const f of fixtures) {
      assert.ok(f.history.events?.[0]?.workflowExecutionStartedEventAttributes, `${f.file}: starts with WorkflowExecutionStarted`);
      assert.equal(f.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name, 'clusterProfileWorkflow', f.file);
    }
  });

  test('no credential appears in a committed history (payloads decoded)', () => {
    for (const f of fixtures) assert.deepEqual(credentialLeaks(JSON.parse(f.text)), [], f.file);
  });

  test('loading is lossless: a fixture written back is the same JSON', () => {
    for (const f of fixtures) assert.deepEqual(JSON.parse(historyToJSONText(f.history)), JSON.parse(f.text), f.file);
  });

  test('every history replays without nondeterminism', async () => {
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { code: workflowCode }, replayName: 'recorded-histories' },
      fixtures.map((f) => ({ workflowId: f.workflowId, history: f.history })),
    )) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    assert.equal(replayed, fixtures.length, 'every history was replayed');
    assert.deepEqual(failures, [], 'nondeterminism against the current workflow code');
  });

  test('the replay does catch nondeterminism (a history whose commands no longer match)', async () => {
    // Same history, but the first activity it records was of another type: the code's first command
    // (ensureFinalizer) no longer matches, which must be reported as a determinism violation.
    const source = fixtures.find((f) => f.file === 'exec-expiry.json') ?? fixtures[0];
    assert.ok(source);
    const json = JSON.parse(source.text) as { events: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }> };
    const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
    assert.ok(scheduled?.activityType);
    scheduled.activityType.name = 'someOtherActivity';
    const tampered = historyFromJSONText(JSON.stringify(json), 'tampered');
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: { code: workflowCode }, replayName: 'tampered' }, [{ workflowId: 'replay/tampered', history: tampered }])) {
      results.push(r);
    }
    assert.equal(results.length, 1);
    assert.ok(results[0]?.error instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${String(results[0]?.error)}`);
  });
});
