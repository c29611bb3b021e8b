// The upgrade from the first release, on the time-skipping test server with mocked activities
// (docs/adr/0005-workflow-upgrade.md, docs/adr/0012-first-release-code-in-one-box.md): a workflow started
// with the first release's input runs the frozen code in workflows/legacy/, which continues as new into the
// current code at its first loop turn, carrying the status; one that is being deleted finishes its cleanup
// in the frozen code, with the first release's own activities (which is why workers still register them).
// Both runs' histories replay against the current code.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import {
  SearchAttr,
  WORKFLOW_INPUT_VERSION,
  WORKFLOW_TYPE,
  statusQuery,
  workflowIdFor,
  type ClusterProfileWorkflowInput,
  type ProfileRef,
  type ProfileSnapshot,
  type WorkflowStatus,
} from '../../workflows/api.js';
import { MIGRATE_TO_V2_PATCH, STATUS_MEMO_PATCH, type LegacyWorkflowInput } from '../../workflows/legacy/api.js';
import { MockLegacyActivities, legacyDispatcher } from '../workflows/legacy-activities.js';
import { startWorkflowHarness, type WorkflowHarness } from '../workflows/harness.js';
import { MockReconcileActivities, mockDispatcher } from '../workflows/mock-activities.js';
import { historyFromJSONText, historyToJSONText } from '../support/histories.js';
import { eventually } from '../support/stack.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const MIN = 60_000;
const HOUR = 60 * MIN;
const TASK_QUEUE = 'clusterinventory-upgrade-test';
/** Hang guards on a busy 2-core machine, not timing assertions. */
const GUARD = { timeout: 10 * 60_000 };
const WAIT_MS = 120_000;

let harness: WorkflowHarness;
let ts: WorkflowHarness['ts'];
const mocks = new Map<string, MockReconcileActivities>();
const legacyMocks = new Map<string, MockLegacyActivities>();
const open: WorkflowHandle[] = [];

before(async () => {
  // What a worker registers while first-release workflows may run: the current activities and theirs.
  harness = await startWorkflowHarness(TASK_QUEUE, { ...mockDispatcher(mocks), ...legacyDispatcher(legacyMocks) });
  ts = harness.ts;
});

after(() => harness?.stop(open));

const now = (): Promise<number> => ts.env.currentTimeMs();
const snapshot = (deleting = false): ProfileSnapshot => ({ observedHash: 'h1', generation: 1, resourceVersion: '10', providerCount: 1, deleting });

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** Starts a workflow with the first release's input (no `version`), as the first release's watcher did. */
async function startLegacy(name: string, input: Omit<LegacyWorkflowInput, 'ref'>): Promise<{ ref: ProfileRef; firstRunId: string; handle: WorkflowHandle }> {
  const ref: ProfileRef = { namespace: 'fleet', name, uid: `uid-${name}` };
  mocks.set(name, new MockReconcileActivities({ now, credentialTtlMs: HOUR }));
  legacyMocks.set(name, new MockLegacyActivities());
  const started = await ts.env.client.workflow.start(WORKFLOW_TYPE, {
    workflowId: workflowIdFor(ref),
    taskQueue: TASK_QUEUE,
    args: [{ ref, ...input }],
    typedSearchAttributes: [
      { key: SearchAttr.namespace, value: ref.namespace },
      { key: SearchAttr.name, value: ref.name },
    ],
  });
  const handle = ts.env.client.workflow.getHandle(started.workflowId);
  open.push(handle);
  return { ref, firstRunId: started.firstExecutionRunId, handle };
}

function statusWhen(handle: WorkflowHandle, what: string, done: (s: WorkflowStatus) => boolean): Promise<WorkflowStatus> {
  return eventually(what, async () => {
    const s = await handle.query(statusQuery);
    return done(s) ? s : undefined;
  }, WAIT_MS);
}

async function runHistory(handle: WorkflowHandle, runId: string): Promise<History> {
  return ts.env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
}

const patchesOf = (events: HistoryEvent[]): string[] =>
  events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : ['?'];
  });
const activityTypes = (events: HistoryEvent[]): string[] => events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'] : []));

const replayable: Array<{ workflowId: string; history: History }> = [];

void test('a first-release workflow continues as new into the current code at once, carrying its status; the next sync is the current code’s', GUARD, async () => {
  const t = await now();
  const carried: WorkflowStatus = {
    ref: { namespace: 'fleet', name: 'upgraded', uid: 'uid-upgraded' },
    phase: 'Ready',
    provider: 'mock-provider',
    fingerprint: 'fp-old',
    lastSyncAtMs: t - 10 * MIN,
    credentialExpiresAtMs: t + 50 * MIN,
    nextRefreshAtMs: t + 30 * MIN,
    observedGeneration: 1,
    observedResourceVersion: '10',
    observedHash: 'h1',
    syncCount: 7,
    runCount: 2,
  };
  const schedule = { syncPeriodMs: 10 * MIN, minRefreshMs: MIN };
  const { ref, firstRunId, handle } = await startLegacy('upgraded', { snapshot: snapshot(), schedule, carried });

  const firstRun = await eventually('the first release’s run to continue as new', async () => {
    const h = await runHistory(handle, firstRunId);
    return h.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes ? h : undefined;
  }, WAIT_MS);
  const first = firstRun.events ?? [];
  assert.deepEqual(patchesOf(first), [MIGRATE_TO_V2_PATCH, STATUS_MEMO_PATCH], 'the frozen code moves on (and upserts its memo first)');
  assert.deepEqual(activityTypes(first), [], 'no first-release activity ran');
  assert.ok(!first.some((e) => e.timerStartedEventAttributes), 'no timer: it moved on at its first loop turn');

  const next = first.at(-1)!.workflowExecutionContinuedAsNewEventAttributes!;
  const input = defaultPayloadConverter.fromPayload<ClusterProfileWorkflowInput>(next.input!.payloads![0]!);
  assert.equal(input.version, WORKFLOW_INPUT_VERSION);
  assert.deepEqual(input.schedule, schedule, 'the schedule goes along until a current worker reports its own');
  assert.equal(input.carried?.syncCount, 7);
  assert.equal(input.carried?.nextRefreshAtMs, t + 30 * MIN);
  assert.equal(input.dirty, false);

  // The current code waits for the carried refresh time instead of syncing at once.
  const waiting = await statusWhen(handle, 'the current code waiting', (s) => s.runCount === 4);
  assert.equal(waiting.phase, 'Ready');
  assert.equal(waiting.fingerprint, 'fp-old');
  const mock = mocks.get('upgraded')!;
  assert.equal(mock.count('syncProfile'), 0, 'no sync before the carried refresh time');

  await ts.env.sleep(31 * MIN);
  const synced = await statusWhen(handle, 'the first sync of the current code', (s) => s.syncCount === 8);
  assert.equal(synced.phase, 'Ready');
  assert.equal(synced.fingerprint, 'fp-1');
  const [request] = mock.syncRequests;
  assert.ok(request, 'one syncProfile');
  assert.equal(request.finalizerPresent, false, 'the first release did not carry the finalizer: the current code checks it once');
  assert.equal(request.lastFingerprint, 'fp-old');
  assert.deepEqual(legacyMocks.get('upgraded')!.calls, [], 'the current run calls only the current activities');
  assert.deepEqual(synced.ref, ref);

  replayable.push({ workflowId: handle.workflowId, history: firstRun });
  replayable.push({ workflowId: handle.workflowId, history: await handle.fetchHistory() });
});

void test('a first-release workflow that is being deleted finishes its cleanup in the frozen code, with its own activities', GUARD, async () => {
  const { handle, firstRunId } = await startLegacy('leaving', { snapshot: snapshot(true), schedule: { syncPeriodMs: 10 * MIN, minRefreshMs: MIN } });
  await handle.result();
  const legacy = legacyMocks.get('leaving')!;
  assert.deepEqual(legacy.calls, ['recordEvent', 'cleanup']);
  assert.deepEqual(legacy.events.map((e) => e.reason), ['Deleting']);
  assert.equal(mocks.get('leaving')!.calls.length, 0, 'no current activity');
  const history = await runHistory(handle, firstRunId);
  const events = history.events ?? [];
  assert.deepEqual(patchesOf(events), [STATUS_MEMO_PATCH], 'a deleting workflow does not migrate');
  assert.deepEqual(activityTypes(events), ['recordEvent', 'cleanup']);
  assert.ok(events.at(-1)?.workflowExecutionCompletedEventAttributes, 'completed in the first run');
  assert.equal((await handle.query(statusQuery)).phase, 'Deleted');
  replayable.push({ workflowId: handle.workflowId, history });
});

void test('the histories of both codes replay against the current bundle', GUARD, async () => {
  assert.equal(replayable.length, 3);
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { code: harness.workflowCode } },
    // Through the fixture format, as test/unit/replay.test.ts reads them.
    replayable.map((r) => ({ workflowId: r.workflowId, history: historyFromJSONText(historyToJSONText(r.history), r.workflowId) })),
  )) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
  }
});
