// clusterProfileWorkflow on the time-skipping test server (tools/test-server) with mocked activities.
// Days of workflow time pass in seconds; every assertion is about workflow (server) time, call counts
// and ordering, never about wall-clock durations. Waits for asynchronous effects poll with a generous
// limit (`eventually`), which is not a timing assertion.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import {
  DEFAULT_SCHEDULE,
  ErrorType,
  PROVIDER_BUSY,
  PROVIDER_DEFERRED,
  PROVIDER_WAIT_MAX_ATTEMPTS,
  SearchAttr,
  WORKFLOW_INPUT_VERSION,
  WORKFLOW_TYPE,
  deletionRequested,
  profileChanged,
  refreshUpdate,
  resyncRequested,
  statusQuery,
  workflowIdFor,
  type ClusterProfileWorkflowInput,
  type ProfileRef,
  type ProfileSnapshot,
  type WorkflowStatus,
} from '../../workflows/api.js';
import type { clusterProfileWorkflow } from '../../workflows/cluster-profile.js';
import { ApplicationFailure } from '@temporalio/common';
import { startWorkflowHarness, type WorkflowHarness } from '../workflows/harness.js';
import { Gate, MockReconcileActivities, conflict, invalidInput, mockDispatcher, profileGone } from '../workflows/mock-activities.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TASK_QUEUE = 'clusterinventory-test';
/** A guard against hangs (e.g. a regression that never lets a workflow complete), not a timing assertion. */
const GUARD = { timeout: 10 * 60_000 };

let harness: WorkflowHarness;
let ts: WorkflowHarness['ts'];
let workflowCode: string;
const mocks = new Map<string, MockReconcileActivities>();
const openHandles: WorkflowHandle[] = [];
/** Every run's history, captured at the end of each test, for the replay (determinism) test. */
const recordedHistories: Array<{ workflowId: string; history: HistoryOf<WorkflowHandle> }> = [];

const dispatcher = mockDispatcher(mocks);

before(async () => {
  // Bundled once (webpack resolves the `.js` specifiers of the ESM sources to `.ts` on its own) and
  // shared by the worker and the replay test.
  harness = await startWorkflowHarness(TASK_QUEUE, dispatcher);
  ts = harness.ts;
  workflowCode = harness.workflowCode;
  process.stderr.write(`[workflow-timeskipping] test server (${ts.launchedBy}) connected after ${ts.startupMs} ms\n`);
});

afterEach(async () => {
  // Stop this test's workflows so that their timers do not keep the worker busy in later tests.
  for (const handle of openHandles.splice(0)) {
    await captureHistories(handle);
    await handle.terminate('test finished').catch(() => undefined);
  }
});

after(() => harness?.stop([]));

const now = (): Promise<number> => ts.env.currentTimeMs();

function snapshot(observedHash: string, generation: number, resourceVersion: string, deleting = false): ProfileSnapshot {
  return { observedHash, generation, resourceVersion, providerNames: ['mock-provider'], deleting };
}

/** Starts the workflow the way the watcher does: signal-with-start, namespace/name as search attributes. */
async function startProfile(
  name: string,
  mock: MockReconcileActivities,
  extra: Partial<Pick<ClusterProfileWorkflowInput, 'schedule' | 'maxCyclesPerRun'>> = {},
): Promise<{ ref: ProfileRef; handle: WorkflowHandle<typeof clusterProfileWorkflow> & { signaledRunId: string } }> {
  const ref: ProfileRef = { namespace: 'fleet', name, uid: `uid-${name}` };
  mocks.set(name, mock);
  const snap = snapshot('h1', 1, '100');
  // The schedule is the worker's: the mock reports it with every sync, as a real worker does.
  if (extra.schedule) mock.schedule = extra.schedule;
  const input: ClusterProfileWorkflowInput = { version: WORKFLOW_INPUT_VERSION, ref, snapshot: snap };
  if (extra.maxCyclesPerRun !== undefined) input.maxCyclesPerRun = extra.maxCyclesPerRun;
  const handle = await ts.env.client.workflow.signalWithStart<typeof clusterProfileWorkflow, [ProfileSnapshot]>(WORKFLOW_TYPE, {
    workflowId: workflowIdFor(ref),
    taskQueue: TASK_QUEUE,
    args: [input],
    signal: profileChanged,
    signalArgs: [snap],
    typedSearchAttributes: [
      { key: SearchAttr.namespace, value: ref.namespace },
      { key: SearchAttr.name, value: ref.name },
    ],
  });
  openHandles.push(handle);
  return { ref, handle };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, limitMs = 120_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`gave up waiting for ${what}${why}`);
    }
    await delay(100);
  }
}

function status(handle: WorkflowHandle): Promise<WorkflowStatus> {
  return handle.query(statusQuery);
}

async function waitForPhase(handle: WorkflowHandle, phase: WorkflowStatus['phase']): Promise<WorkflowStatus> {
  return eventually(`phase ${phase}`, async () => {
    const s = await status(handle);
    return s.phase === phase ? s : undefined;
  });
}

/** Waits until the workflow sleeps on a future timer: no sync in flight. */
async function waitIdle(handle: WorkflowHandle): Promise<WorkflowStatus> {
  return eventually('the workflow to wait for its next refresh', async () => {
    const s = await status(handle);
    const t = await now();
    return s.nextRefreshAtMs !== undefined && s.nextRefreshAtMs > t && s.phase !== 'Syncing' ? s : undefined;
  });
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

type HistoryOf<H extends WorkflowHandle> = Awaited<ReturnType<H['fetchHistory']>>;
type HistoryEvent = NonNullable<HistoryOf<WorkflowHandle>['events']>[number];

/** Fetches all runs of a workflow (following continue-as-new from the first run). */
async function captureHistories(handle: WorkflowHandle & { signaledRunId?: string }): Promise<void> {
  let runId: string | undefined = handle.signaledRunId;
  for (let i = 0; runId && i < 100; i++) {
    const history = await ts.env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    recordedHistories.push({ workflowId: handle.workflowId, history });
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
}

async function historyEvents(handle: WorkflowHandle, runId?: string): Promise<HistoryEvent[]> {
  const h = runId ? ts.env.client.workflow.getHandle(handle.workflowId, runId) : handle;
  return (await h.fetchHistory()).events ?? [];
}

const attributesOf = {
  // Upserts of our search attributes: the TemporalChangeVersion upsert that Core adds once per run with a
  // patch marker (workflow.patched, e.g. the status memo) is not one of ours.
  upsert: (e: HistoryEvent) => {
    const a = e.upsertWorkflowSearchAttributesEventAttributes;
    return a && Object.keys(a.searchAttributes?.indexedFields ?? {}).some((k) => k !== 'TemporalChangeVersion') ? a : undefined;
  },
  timerStarted: (e: HistoryEvent) => e.timerStartedEventAttributes,
  activityScheduled: (e: HistoryEvent) => e.activityTaskScheduledEventAttributes,
  localActivity: (e: HistoryEvent) => (e.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? e.markerRecordedEventAttributes : undefined),
  continuedAsNew: (e: HistoryEvent) => e.workflowExecutionContinuedAsNewEventAttributes,
} as const;

function ofKind(events: HistoryEvent[], kind: keyof typeof attributesOf): HistoryEvent[] {
  return events.filter((e) => attributesOf[kind](e) != null);
}

function summaryOf(event: HistoryEvent): string | undefined {
  const data = event.userMetadata?.summary?.data;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : undefined;
}

// -------------------------------------------------------------------------------------------------

void test('expiring credentials (1 h TTL) refresh every 48 min over 3 days', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR });
  const { handle } = await startProfile('expiring', mock);
  await waitForPhase(handle, 'Ready');
  const t0 = mock.times('syncProfile')[0]!;

  await ts.env.sleep(3 * DAY + 10 * MIN);
  const s = await waitIdle(handle);

  const times = mock.times('syncProfile');
  const elapsed = (await now()) - t0;
  assert.ok(elapsed >= 3 * DAY, `server time advanced ${elapsed} ms`);
  // 3 days / 48 min = 90 refreshes after the first sync
  assert.equal(times.length, 1 + Math.floor(elapsed / (48 * MIN)), `syncs: ${times.length}`);
  for (const gap of gaps(times)) {
    assert.ok(gap >= 48 * MIN && gap < 48 * MIN + 30_000, `refresh gap ${gap} ms is not 80% of 1 h`);
  }
  // One activity per sync: the finalizer and the SveltosCluster on the first sync only (nothing changed
  // since); every refresh resolves the credential.
  assert.equal(mock.count('syncProfile', 'ok'), times.length, 'every sync succeeded');
  assert.equal(mock.syncRequests.filter((r) => !r.finalizerPresent).length, 1, 'only the first sync adds the finalizer');
  assert.equal(mock.syncRequests.filter((r) => r.full).length, 1, 'only the first sync is a full one (applies the SveltosCluster)');
  assert.equal(s.syncCount, times.length);
  assert.equal(s.phase, 'Ready');
  assert.equal(s.credentialExpiresAtMs, times.at(-1)! + HOUR);
  // Events only on transitions: the first sync; routine token rotation records nothing.
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['Synced'],
  );
  // Search attributes upserted only on change: the expiry changes every cycle, so at most one upsert per sync.
  const upserts = ofKind(await historyEvents(handle), 'upsert');
  assert.ok(upserts.length <= times.length, `${upserts.length} upserts for ${times.length} syncs`);
});

void test('credentials without expiry refresh every sync period; unchanged refreshes upsert and record nothing', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('static', mock);
  await waitForPhase(handle, 'Ready');

  await ts.env.sleep(2 * HOUR + 5 * MIN);
  const s = await waitIdle(handle);

  const times = mock.times('syncProfile');
  assert.equal(times.length, 13, `syncs: ${times.length}`); // initial + 12 × 10 min
  for (const gap of gaps(times)) {
    assert.ok(gap >= 10 * MIN && gap < 10 * MIN + 30_000, `refresh gap ${gap} ms is not the sync period`);
  }
  assert.equal(s.credentialExpiresAtMs, undefined);
  assert.equal(s.nextRefreshAtMs, s.lastSyncAtMs! + DEFAULT_SCHEDULE.syncPeriodMs);
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['Synced'],
  );
  const history = await historyEvents(handle);
  const upserts = ofKind(history, 'upsert');
  assert.equal(upserts.length, 1, 'phase/provider/hash are upserted once, then never again while unchanged');
  const timers = ofKind(history, 'timerStarted').map(summaryOf);
  assert.ok(timers.every((t) => t?.startsWith('wait for the sync period for fleet/static')), `timer summaries: ${timers[0]}`);
});

void test('InvalidInput → Degraded, one retry per sync period (no hot loop), recovers after profileChanged', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  mock.syncFailure = () => invalidInput('no supported access provider for fleet/bad (carries: mock-provider)');
  const { handle } = await startProfile('bad', mock);

  const degraded = await waitForPhase(handle, 'Degraded');
  assert.equal(degraded.lastError?.reason, ErrorType.InvalidInput);
  assert.match(degraded.lastError?.message ?? '', /no supported access provider/);
  assert.equal(degraded.syncCount, 0);
  assert.equal(degraded.nextRefreshAtMs, (degraded.lastError?.atMs ?? NaN) + DEFAULT_SCHEDULE.syncPeriodMs);

  await ts.env.sleep(HOUR + 5 * MIN);
  await waitIdle(handle);
  const attempts = mock.times('syncProfile', ErrorType.InvalidInput);
  assert.equal(mock.count('syncProfile'), attempts.length, 'every attempt failed with InvalidInput');
  assert.equal(attempts.length, 7, `attempts: ${attempts.length}`); // first + 6 × 10 min, not hundreds
  for (const gap of gaps(attempts)) assert.ok(gap >= 10 * MIN, `retry gap ${gap} ms`);
  // One Warning, not one per retry.
  assert.deepEqual(
    mock.events().map((e) => [e.type, e.reason]),
    [['Warning', 'InvalidInput']],
  );
  assert.equal((await status(handle)).phase, 'Degraded');

  // The user fixes the profile: the watcher signals a changed hash; the workflow syncs promptly.
  mock.syncFailure = undefined;
  const before = await now();
  await handle.signal(profileChanged, snapshot('h2', 2, '101'));
  const ready = await waitForPhase(handle, 'Ready');
  assert.equal(ready.lastError, undefined);
  assert.equal(ready.observedHash, 'h2');
  assert.equal(ready.observedGeneration, 2);
  assert.equal(ready.syncCount, 1);
  assert.ok(mock.times('syncProfile', 'ok').at(-1)! - before < MIN, 'resynced promptly, not after the period');
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['InvalidInput', 'Synced'],
  );

  // A profileChanged with the same hash and generation is recorded but does not resync.
  const syncsBefore = mock.count('syncProfile');
  await handle.signal(profileChanged, snapshot('h2', 2, '102'));
  await waitIdle(handle);
  assert.equal(mock.count('syncProfile'), syncsBefore);
});

void test('Conflict on the SveltosCluster → Degraded; the credential that was written is still reported', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR });
  mock.applyFailure = () => conflict('SveltosCluster fleet/taken exists and is not managed by clusterinventory');
  const { handle } = await startProfile('taken', mock);
  const s = await waitForPhase(handle, 'Degraded');
  assert.equal(s.lastError?.reason, ErrorType.Conflict);
  assert.equal(s.fingerprint, 'fp-1', 'the Secret was written before the conflict');
  assert.equal(s.provider, 'mock-provider');
  assert.equal(s.syncCount, 0);
  assert.deepEqual(
    mock.events().map((e) => [e.type, e.reason]),
    [['Warning', 'Conflict']],
  );
  // The owner of the conflicting object goes away; the watcher reports drift of the managed object.
  mock.applyFailure = undefined;
  await handle.signal(resyncRequested, { reason: 'managed-sveltoscluster-changed', object: 'fleet/taken' });
  const ready = await waitForPhase(handle, 'Ready');
  assert.equal(ready.lastError, undefined);
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['Conflict', 'Synced'],
  );
});

void test('deletion cancels a sync that is stuck in transient retries, then cleans up', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  mock.syncFailure = () => new Error('exec plugin: connection refused'); // retryable: retried with backoff
  const { handle } = await startProfile('stuck', mock);
  await eventually('a retried sync', () => Promise.resolve(mock.count('syncProfile', 'MockTransient') >= 2));
  // Retried inside the sync first, then (Degraded) by the workflow before the credential expires.
  assert.ok(['Syncing', 'Degraded'].includes((await status(handle)).phase));

  await handle.signal(deletionRequested, { resourceVersion: '400' });
  await handle.result();
  assert.equal(mock.count('cleanupProfile'), 1);
  assert.equal(mock.count('syncProfile', 'ok'), 0, 'no sync got through (none applied a SveltosCluster)');
  assert.equal((await status(handle)).phase, 'Deleted');
});

void test('deletionRequested → cleanup (retried until done), phase Deleted, workflow completes', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  mock.cleanupTransientFailures = 2;
  const { handle } = await startProfile('doomed', mock);
  await waitForPhase(handle, 'Ready');
  const first = mock.calls[0];
  assert.ok(first?.name === 'syncProfile' && !first.request.finalizerPresent, 'the first sync adds the finalizer (before any write)');
  const syncs = mock.count('syncProfile');

  await handle.signal(deletionRequested, { resourceVersion: '200' });
  await handle.result(); // completes; time skips over the cleanup retry backoff

  assert.equal(mock.count('cleanupProfile'), 3, 'two transient failures, then success');
  assert.equal(mock.count('cleanupProfile', 'ok'), 1);
  assert.equal(mock.count('syncProfile'), syncs, 'no refresh after deletion was requested');
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['Synced', 'Deleting'],
  );
  const s = await status(handle);
  assert.equal(s.phase, 'Deleted');
  assert.equal(s.nextRefreshAtMs, undefined);
  const desc = await handle.describe();
  assert.equal(desc.status.name, 'COMPLETED');
  assert.equal(desc.typedSearchAttributes.get(SearchAttr.phase), 'Deleted');
});

void test('a deletionTimestamp seen by a sync (ProfileGone) leads to cleanup and completion', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('finalizer-deleting', mock);
  await waitForPhase(handle, 'Ready');
  const syncs = mock.count('syncProfile', 'ok');

  mock.profile = 'deleting';
  await handle.signal(resyncRequested, { reason: 'relist', object: 'fleet/finalizer-deleting' });
  await handle.result();

  assert.equal(mock.count('syncProfile', 'ok'), syncs, 'no credential sync once the profile is being deleted');
  assert.equal(mock.count('syncProfile', ErrorType.ProfileGone), 1, 'the sync that found the deletionTimestamp');
  assert.equal(mock.count('cleanupProfile'), 1);
  assert.equal((await status(handle)).phase, 'Deleted');
});

void test('a deletion request the API server refutes is ignored: nothing deleted, the workflow keeps reconciling', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('forged', mock);
  await waitForPhase(handle, 'Ready');
  const syncs = mock.count('syncProfile');

  // A forged signal: the cleanup activity checks the API server, which shows the profile alive.
  mock.deletionRefuted = true;
  await handle.signal(deletionRequested, { resourceVersion: '999' });
  await eventually('the refuted cleanup', () => Promise.resolve(mock.count('cleanupProfile', ErrorType.DeletionNotConfirmed) >= 1));
  const s = await waitForPhase(handle, 'Ready');
  assert.equal(s.lastError, undefined);
  // Back to reconciling: a sync right away (the request may have interrupted one), then the schedule.
  await eventually('a sync after the refuted request', () => Promise.resolve(mock.count('syncProfile') > syncs));
  assert.equal((await handle.describe()).status.name, 'RUNNING', 'the workflow goes on');
  assert.equal(mock.count('cleanupProfile'), 1, 'one verification, no cleanup loop');
  assert.ok(!mock.events().some((e) => e.reason === 'Deleting'), 'no Deleting Event for a refuted request');

  // A real deletion afterwards still cleans up.
  mock.deletionRefuted = false;
  await handle.signal(deletionRequested, { resourceVersion: '1000' });
  await handle.result();
  assert.equal((await status(handle)).phase, 'Deleted');
});

void test('ProfileGone from an activity leads to cleanup and completion, without Events on the gone object', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('gone', mock);
  await waitForPhase(handle, 'Ready');

  mock.syncFailure = () => profileGone('ClusterProfile fleet/gone (uid-gone) no longer exists');
  await handle.signal(resyncRequested, { reason: 'source-secret-changed', object: 'fleet/src' });
  await handle.result();

  assert.equal(mock.count('cleanupProfile'), 1);
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['Synced'],
  );
  assert.equal((await status(handle)).phase, 'Deleted');
});

void test('refresh update returns the sync outcome, never overlaps a running sync, and is rejected while deleting', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR });
  const { handle } = await startProfile('refreshable', mock);
  await waitForPhase(handle, 'Ready');
  const before = await waitIdle(handle);

  // 1. A plain refresh: a fresh credential, the next refresh moves accordingly.
  const outcome = await handle.executeUpdate(refreshUpdate, { args: [{ reason: 'test' }] });
  assert.equal(outcome.phase, 'Ready');
  assert.equal(outcome.changed, true);
  assert.equal(outcome.fingerprint, 'fp-2');
  assert.ok(outcome.expiresAtMs! > before.credentialExpiresAtMs!);
  assert.ok(outcome.nextRefreshAtMs! > before.nextRefreshAtMs!);
  assert.equal(outcome.error, undefined);
  const after1 = await waitIdle(handle);
  assert.equal(after1.syncCount, 2);
  assert.equal(after1.fingerprint, 'fp-2');
  assert.equal(after1.nextRefreshAtMs, outcome.nextRefreshAtMs, 'the main loop re-planned from the update’s sync');

  // 2. Mutual exclusion: the main loop is inside syncProfile when the update arrives.
  const gate = new Gate();
  mock.syncGate = gate;
  const callsBefore = mock.calls.length;
  await handle.signal(resyncRequested, { reason: 'managed-secret-changed', object: 'fleet/refreshable-sveltos-kubeconfig' });
  await eventually('the main loop to enter syncProfile', () => Promise.resolve(mock.count('syncProfile') === 3));
  const update = await handle.startUpdate(refreshUpdate, {
    args: [{ reason: 'concurrent' }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  await delay(1000); // give an (incorrect) concurrent sync the chance to start
  mock.syncGate = undefined;
  gate.open();
  const concurrentOutcome = await update.result();
  assert.equal(concurrentOutcome.phase, 'Ready');
  assert.equal(mock.maxConcurrentSyncs, 1);
  const sequence = mock.calls.slice(callsBefore).map((c) => (c.name === 'syncProfile' ? [c.name, c.request.finalizerPresent, c.request.full, c.outcome] : [c.name]));
  // One after the other: the finalizer was added by the first sync; both forced syncs are full ones (they apply the SveltosCluster).
  assert.deepEqual(sequence, [
    ['syncProfile', true, true, 'ok'],
    ['syncProfile', true, true, 'ok'],
  ]);

  // 3. While deleting (cleanup held open), a refresh is rejected by the validator.
  const cleanupGate = new Gate();
  mock.cleanupGate = cleanupGate;
  await handle.signal(deletionRequested, { resourceVersion: '300' });
  await waitForPhase(handle, 'Deleting');
  await assert.rejects(handle.executeUpdate(refreshUpdate, { args: [{ reason: 'too late' }] }), (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.match(String(err.cause?.message), /being deleted/);
    return true;
  });
  cleanupGate.open();
  await handle.result();
  assert.equal((await status(handle)).phase, 'Deleted');
});

void test('continue-as-new carries the status, the snapshot and a signal that arrived just before it', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('long-lived', mock, { maxCyclesPerRun: 3 });
  // The third sync is the last of the first run: a profile change arrives while it runs.
  mock.onSync = async (n) => {
    if (n === 3) await handle.signal(profileChanged, snapshot('h2', 2, '200'));
  };
  await waitForPhase(handle, 'Ready');

  await ts.env.sleep(HOUR + 5 * MIN);
  const s = await waitIdle(handle);

  const times = mock.times('syncProfile');
  assert.ok(s.runCount >= 3, `runCount ${s.runCount}`);
  // A sync is a local activity: when the signal arrives while the run's last task continues as new, the
  // server rejects that task and the sync runs once more in the retried task (syncs are idempotent).
  assert.ok(s.syncCount === times.length || s.syncCount === times.length - 1, `syncCount ${s.syncCount} is carried across runs (${times.length} executions)`);
  assert.equal(s.observedHash, 'h2');
  assert.equal(s.observedGeneration, 2);
  assert.equal(s.observedResourceVersion, '200');
  assert.equal(s.fingerprint, 'fp-static');
  // The change that arrived during sync 3 was synced right away in run 2 (the dirty flag was carried),
  // not one sync period later.
  assert.ok(times[3]! - times[2]! < MIN, `sync 4 came ${times[3]! - times[2]!} ms after sync 3`);
  // The schedule survived the runs: otherwise every run would start with an immediate sync.
  const periodic = gaps(times).filter((g) => g >= 10 * MIN - 1000).length;
  assert.ok(periodic >= times.length - 2, `gaps: ${gaps(times).join(', ')}`);

  const firstRun = await historyEvents(handle, handle.signaledRunId);
  assert.ok(firstRun.at(-1) && attributesOf.continuedAsNew(firstRun.at(-1)!), 'the first run ended with continue-as-new');
  const desc = await handle.describe();
  assert.notEqual(desc.runId, handle.signaledRunId);
  assert.equal(desc.typedSearchAttributes.get(SearchAttr.phase), 'Ready');
  assert.equal(desc.typedSearchAttributes.get(SearchAttr.name), 'long-lived');
  assert.equal(desc.typedSearchAttributes.get(SearchAttr.observedHash), 'h2');
  // Events: only the first sync, not one per run.
  assert.deepEqual(
    mock.events().map((e) => e.reason),
    ['Synced'],
  );
});

void test('status query and search attributes describe the profile; summaries are readable', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR, provider: 'eks-token' });
  const { ref, handle } = await startProfile('observed', mock);
  const s = await waitIdle(handle);
  const syncedAt = mock.times('syncProfile')[0]!;

  assert.deepEqual(s.ref, ref);
  assert.equal(s.phase, 'Ready');
  assert.equal(s.provider, 'eks-token');
  assert.equal(s.fingerprint, 'fp-1');
  assert.equal(s.credentialExpiresAtMs, syncedAt + HOUR);
  // Workflow time of the task that ran the sync (a local activity runs inside it): within a minute.
  assert.ok(Math.abs(s.lastSyncAtMs! - syncedAt) < MIN);
  const lastSyncAtMs = s.lastSyncAtMs ?? NaN;
  assert.equal(s.nextRefreshAtMs, lastSyncAtMs + Math.floor(0.8 * ((s.credentialExpiresAtMs ?? NaN) - lastSyncAtMs)));
  assert.equal(s.lastError, undefined);
  assert.equal(s.observedGeneration, 1);
  assert.equal(s.observedResourceVersion, '100');
  assert.equal(s.observedHash, 'h1');
  assert.equal(s.syncCount, 1);
  assert.equal(s.runCount, 1);
  assert.deepEqual(Object.keys(s).sort(), [
    'credentialExpiresAtMs',
    'fingerprint',
    'lastSyncAtMs',
    'nextRefreshAtMs',
    'observedGeneration',
    'observedHash',
    'observedResourceVersion',
    'phase',
    'provider',
    'ref',
    'runCount',
    'syncCount',
  ]);

  const sa = (await handle.describe()).typedSearchAttributes;
  assert.equal(sa.get(SearchAttr.namespace), 'fleet');
  assert.equal(sa.get(SearchAttr.name), 'observed');
  assert.equal(sa.get(SearchAttr.phase), 'Ready');
  assert.equal(sa.get(SearchAttr.provider), 'eks-token');
  assert.equal(sa.get(SearchAttr.observedHash), 'h1');
  assert.equal(sa.get(SearchAttr.credentialExpiry)?.getTime(), s.credentialExpiresAtMs);

  const history = await historyEvents(handle);
  // One local activity per sync (a marker in the history), its summary saying which profile and why.
  assert.deepEqual(ofKind(history, 'activityScheduled').map(summaryOf), []);
  assert.deepEqual(ofKind(history, 'localActivity').map(summaryOf), ['sync fleet/observed (initial sync)']);
  const timerSummary = ofKind(history, 'timerStarted').map(summaryOf)[0];
  assert.match(timerSummary ?? '', /^sleep until 80% of credential lifetime for fleet\/observed \(expires 20\d\d-.*Z; 48m\)$/);
});

// ---- provider bulkheads (issue 17) ------------------------------------------------------------------

const deferred = () => ApplicationFailure.nonRetryable('access provider "mock-provider": its plugin outlives the local budget; the sync runs as a regular activity', PROVIDER_DEFERRED);
const busy = () => ApplicationFailure.nonRetryable('access provider "mock-provider": all its slots and its queue on this worker are taken', PROVIDER_BUSY);
const unavailable = (retryAfterMs: number) =>
  ApplicationFailure.create({ message: 'access provider "mock-provider" is unavailable', type: ErrorType.ProviderUnavailable, nonRetryable: true, details: [{ retryAfterMs }] });

void test('a sync the workflow task cannot run (ProviderDeferred) runs once more as a regular activity, a provider wait with the full timeout', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  mock.providerAnswer = (req) => (req.execMode === 'local' ? deferred() : undefined);
  const { handle } = await startProfile('deferred', mock);
  const s = await waitForPhase(handle, 'Ready');
  assert.equal(s.lastError, undefined);
  assert.deepEqual(mock.syncRequests.map((r) => [r.execMode, r.attemptsPerSync]), [['local', 4], ['wait', PROVIDER_WAIT_MAX_ATTEMPTS]]);
  const history = await historyEvents(handle);
  assert.equal(ofKind(history, 'localActivity').length, 1);
  const scheduled = ofKind(history, 'activityScheduled');
  assert.equal(scheduled.length, 1, 'one regular activity');
  assert.equal(scheduled[0]!.activityTaskScheduledEventAttributes?.activityType?.name, 'syncProfile');
  assert.match(summaryOf(scheduled[0]!) ?? '', /waiting for the provider: .*local budget/);
  assert.ok(history.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'), 'the new command is behind a patch marker');
  assert.equal(mock.events().filter((e) => e.type === 'Warning').length, 0, 'a deferral records no Warning Event');
});

void test('a healthy sync stays one local activity: no patch marker, no regular activity', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('healthy-cheap', mock);
  await waitForPhase(handle, 'Ready');
  const history = await historyEvents(handle);
  assert.equal(ofKind(history, 'activityScheduled').length, 0);
  assert.ok(!history.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'));
  assert.equal(mock.syncRequests[0]?.execMode, 'local');
});

void test('ProviderBusy is not a failure: the phase stays, the change-triggered sync is retried in full after a short jittered delay', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  // Ready first; then a profile change meets a busy provider twice.
  const { handle } = await startProfile('busy', mock);
  await waitForPhase(handle, 'Ready');
  await waitIdle(handle);
  const before = mock.syncRequests.length;
  // Busy for longer than one provider wait: the wait gives up, the workflow postpones, the next wait syncs.
  const busyAnswers = PROVIDER_WAIT_MAX_ATTEMPTS + 4;
  mock.providerAnswer = (req, n) => (n <= before + busyAnswers ? (req.execMode === 'local' ? deferred() : busy()) : undefined);
  await handle.signal(profileChanged, snapshot('h2', 2, '200'));
  await ts.env.sleep(MIN);
  const during = await status(handle);
  assert.ok(mock.syncRequests.length >= before + 3, `${mock.syncRequests.length - before} attempts in the first minute`);
  assert.notEqual(during.phase, 'Degraded', 'busy does not degrade the profile');
  assert.equal(during.lastError, undefined);
  await ts.env.sleep(10 * MIN);
  const done = await eventually('the change synced', async () => {
    const s = await status(handle);
    return s.observedGeneration === 2 && mock.syncRequests.length > before + busyAnswers ? s : undefined;
  });
  const waits = ofKind(await historyEvents(handle), 'activityScheduled').filter((e) => /waiting for the provider/.test(summaryOf(e) ?? ''));
  assert.ok(waits.length >= 2, `${waits.length} provider waits: one gave up, the workflow postponed and waited again`);
  assert.equal(done.phase, 'Ready');
  const retries = mock.syncRequests.slice(before);
  assert.ok(retries.every((r) => r.full), `every retry of the change is a full sync: ${JSON.stringify(retries.map((r) => r.full))}`);
});

void test('ProviderUnavailable → Degraded with its reason, retried (jittered) not before the breaker admits a probe, then recovers', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR });
  const { handle } = await startProfile('unavailable', mock);
  await waitForPhase(handle, 'Ready');
  const ready = await waitIdle(handle);
  let refusals = 0;
  mock.providerAnswer = () => (refusals++ < 3 ? unavailable(40_000) : undefined);
  await ts.env.sleep(ready.nextRefreshAtMs! - (await now()) + 1_000);
  const degraded = await waitForPhase(handle, 'Degraded');
  assert.equal(degraded.lastError?.reason, ErrorType.ProviderUnavailable);
  const wait = degraded.nextRefreshAtMs! - degraded.lastError.atMs;
  assert.ok(wait >= 40_000 && wait <= 60_000, `retry in ${wait} ms: not before the probe (40 s), within the back-off (≤ 60 s here)`);
  assert.equal(mock.events().filter((e) => e.reason === ErrorType.ProviderUnavailable).length, 1, 'one Warning Event for the outage');
  await ts.env.sleep(10 * MIN);
  const back = await waitForPhase(handle, 'Ready');
  assert.ok(back.credentialExpiresAtMs! > degraded.credentialExpiresAtMs!, 'refreshed before the held credential expired');
});

void test('a deferred sync waits for its busy provider in one activity: Temporal retries its attempts, no workflow task per retry', GUARD, async () => {
  const mock = new MockReconcileActivities({ now });
  const { handle } = await startProfile('provider-wait', mock);
  await waitForPhase(handle, 'Ready');
  await waitIdle(handle);
  const before = mock.syncRequests.length;
  // The change meets a busy provider: deferred, then busy as an activity; the wait that follows is refused
  // three more times, then the provider answers.
  mock.providerAnswer = (req, n) => (n <= before + 5 ? (req.execMode === 'local' ? deferred() : busy()) : undefined);
  await handle.signal(profileChanged, snapshot('h2', 2, '200'));
  // Watched through the mock and the history only: a query is a workflow task on the test server.
  await eventually('the wait ended', async () => {
    if (mock.syncRequests.length < before + 6) return undefined;
    const events = await historyEvents(handle);
    return events.at(-1)?.timerStartedEventAttributes ? events : undefined;
  });
  const modes = mock.syncRequests.slice(before).map((r) => r.execMode);
  assert.deepEqual(modes, ['local', 'wait', 'wait', 'wait', 'wait', 'wait']);
  const history = await historyEvents(handle);
  const waits = ofKind(history, 'activityScheduled').filter((e) => /waiting for the provider/.test(summaryOf(e) ?? ''));
  assert.equal(waits.length, 1, 'the four attempts of the wait are one activity in history');
  const scheduledAt = history.indexOf(waits[0]!);
  const startedAttempt = history.slice(scheduledAt).find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt;
  assert.equal(startedAttempt, 5, 'Temporal ran the attempts');
  const tasksDuringWait = history
    .slice(scheduledAt, history.findIndex((e, i) => i > scheduledAt && e.activityTaskCompletedEventAttributes))
    .filter((e) => e.workflowTaskCompletedEventAttributes).length;
  assert.equal(tasksDuringWait, 0, 'no workflow task while the wait retried');
  const done = await status(handle);
  assert.equal(done.observedGeneration, 2);
  assert.equal(done.phase, 'Ready');
});

void test('the recorded histories replay without nondeterminism', GUARD, async () => {
  assert.ok(recordedHistories.length >= 8, `${recordedHistories.length} histories`);
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code: workflowCode } }, recordedHistories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  assert.equal(replayed, recordedHistories.length);
});
