// The status memo and the current details of clusterProfileWorkflow (what `clusterinventory status` and
// the Web UI read without querying), on the time-skipping test server with mocked activities:
//  - the memo holds managedSinceMs, and while syncs fail lastError (shortened) and the next retry; upserted
//    only when a value changes (at most once per sync), goes along on continue-as-new with the same
//    managedSinceMs (the first release guarded it with the memo-status-v1 patch; the current code needs none);
//  - the current details (served by the built-in metadata query) name the phase and the expiry.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import {
  MEMO_ERROR_MESSAGE_MAX,
  SearchAttr,
  WORKFLOW_INPUT_VERSION,
  WORKFLOW_TYPE,
  profileChanged,
  statusQuery,
  workflowIdFor,
  type ClusterProfileWorkflowInput,
  type ProfileRef,
  type ProfileSnapshot,
  type StatusMemo,
  type WorkflowStatus,
} from '../../workflows/api.js';
import type { clusterProfileWorkflow } from '../../workflows/cluster-profile.js';
import { startWorkflowHarness, type WorkflowHarness } from '../workflows/harness.js';
import { MockReconcileActivities, invalidInput, mockDispatcher } from '../workflows/mock-activities.js';
import { eventually } from '../support/stack.js';

/** Hang guard for waits on a busy 2-core machine, not a timing assertion. */
const WAIT_MS = 120_000;

Runtime.install({ logger: new DefaultLogger('WARN') });

const MIN = 60_000;
const HOUR = 60 * MIN;
const TASK_QUEUE = 'clusterinventory-memo-test';
const GUARD = { timeout: 10 * 60_000 };

let harness: WorkflowHarness;
let ts: WorkflowHarness['ts'];
const mocks = new Map<string, MockReconcileActivities>();
const open: WorkflowHandle[] = [];

before(async () => {
  harness = await startWorkflowHarness(TASK_QUEUE, mockDispatcher(mocks));
  ts = harness.ts;
});

after(() => harness?.stop(open));

const now = (): Promise<number> => ts.env.currentTimeMs();
const snapshot = (hash: string, generation: number): ProfileSnapshot => ({ observedHash: hash, generation, resourceVersion: String(generation), providerNames: ['mock-provider'], deleting: false });

async function start(name: string, mock: MockReconcileActivities, maxCyclesPerRun?: number): Promise<WorkflowHandle<typeof clusterProfileWorkflow>> {
  const ref: ProfileRef = { namespace: 'fleet', name, uid: `uid-${name}` };
  mocks.set(name, mock);
  const input: ClusterProfileWorkflowInput = { version: WORKFLOW_INPUT_VERSION, ref, snapshot: snapshot('h1', 1) };
  if (maxCyclesPerRun !== undefined) input.maxCyclesPerRun = maxCyclesPerRun;
  const handle = await ts.env.client.workflow.signalWithStart<typeof clusterProfileWorkflow, [ProfileSnapshot]>(WORKFLOW_TYPE, {
    workflowId: workflowIdFor(ref),
    taskQueue: TASK_QUEUE,
    args: [input],
    signal: profileChanged,
    signalArgs: [input.snapshot],
    typedSearchAttributes: [
      { key: SearchAttr.namespace, value: ref.namespace },
      { key: SearchAttr.name, value: ref.name },
    ],
  });
  const latest = ts.env.client.workflow.getHandle<typeof clusterProfileWorkflow>(handle.workflowId);
  open.push(latest);
  return latest;
}

/** Waits until the workflow sleeps until its next refresh (no sync in flight), as seen by the status query. */
async function idle(handle: WorkflowHandle, phase: WorkflowStatus['phase'] = 'Ready'): Promise<WorkflowStatus> {
  return eventually(`idle in ${phase}`, async () => {
    const s = await handle.query(statusQuery);
    return s.phase === phase && s.nextRefreshAtMs !== undefined && s.nextRefreshAtMs > (await now()) ? s : undefined;
  }, WAIT_MS);
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type Fields = Record<string, { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }> | null | undefined;

function decode(fields: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(fields ?? {})) out[k] = defaultPayloadConverter.fromPayload(p);
  return out;
}

function memoUpserts(history: History): Array<Record<string, unknown>> {
  return (history.events ?? []).flatMap((e) => (e.workflowPropertiesModifiedEventAttributes ? [decode(e.workflowPropertiesModifiedEventAttributes.upsertedMemo?.fields)] : []));
}

function patchMarkers(history: History): number {
  return (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length;
}

async function memoOf(handle: WorkflowHandle): Promise<StatusMemo> {
  return ((await handle.describe()).memo ?? {});
}

void test('the memo says when management started, survives continue-as-new, and routine refreshes upsert nothing', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR });
  const handle = await start('expiring', mock, 3);
  await idle(handle);
  const firstRunId = (await handle.describe()).runId;
  const since = (await handle.describe()).startTime.getTime();

  const memo = await memoOf(handle);
  assert.equal(memo.managedSinceMs, since, 'managed since the first run started');
  // A healthy profile's last and next sync are in the status query only: no memo upsert per refresh.
  assert.equal(memo.lastSyncAtMs, undefined);
  assert.equal(memo.nextRefreshAtMs, undefined);
  assert.equal(memo.lastError, undefined);

  // 4 h of 1 h credentials: refreshes every 48 min, continue-as-new after every 3 syncs.
  await ts.env.sleep(4 * HOUR);
  await idle(handle);
  const d = await handle.describe();
  assert.notEqual(d.runId, firstRunId, 'continued as new');
  const carried = await memoOf(handle);
  assert.equal(carried.managedSinceMs, since, 'managedSinceMs goes along');

  const firstRun = await ts.env.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
  const upserts = memoUpserts(firstRun);
  assert.deepEqual(upserts, [{ managedSinceMs: since }], 'one memo upsert in the whole run: when management started');
  assert.equal(patchMarkers(firstRun), 0, 'the current code needs no patch marker');
  assert.ok(mock.syncRequests.length >= 3, `${mock.syncRequests.length} syncs`);
});

void test('Degraded: the last error (shortened) is in the memo until a sync succeeds; current details name the phase', GUARD, async () => {
  const mock = new MockReconcileActivities({ now, credentialTtlMs: HOUR });
  const long = `no supported access provider for fleet/degraded: ${'x'.repeat(400)}`;
  mock.syncFailure = () => invalidInput(long);
  const handle = await start('degraded', mock);
  const s = await idle(handle, 'Degraded');
  const memo = await eventually('lastError in the memo', async () => {
    const m = await memoOf(handle);
    return m.lastError ? m : undefined;
  }, WAIT_MS);
  assert.equal(memo.lastError?.reason, 'InvalidInput');
  assert.equal(memo.lastError?.atMs, s.lastError?.atMs);
  assert.equal(memo.nextRefreshAtMs, s.nextRefreshAtMs, 'a failing profile\'s next retry is in the memo');
  assert.equal(memo.lastError?.message.length, MEMO_ERROR_MESSAGE_MAX);
  assert.ok(memo.lastError?.message.startsWith('no supported access provider for fleet/degraded: xxx'));
  assert.equal(s.lastError?.message, long, 'the status query keeps the whole message');

  const details = async (): Promise<string> => (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
  assert.match(await details(), /^\*\*Degraded\*\*\n\n- last error: `InvalidInput`: no supported access provider for fleet\/degraded: x+…\n- next retry: \S+Z · credential expires: —$/);

  mock.syncFailure = undefined;
  await handle.signal(profileChanged, snapshot('h2', 2));
  const ok = await idle(handle, 'Ready');
  const cleared = await eventually('lastError gone from the memo', async () => {
    const m = await memoOf(handle);
    return m.lastError === undefined ? m : undefined;
  }, WAIT_MS);
  assert.equal(cleared.nextRefreshAtMs, undefined, 'the next retry leaves the memo with the error');
  const text = await details();
  assert.match(text, /^\*\*Ready\*\* · provider `mock-provider`\n/);
  const second = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  assert.ok(text.includes(`- credential expires: ${second(ok.credentialExpiresAtMs!)}`), text);
  assert.ok(text.includes(`- next refresh: ${second(ok.nextRefreshAtMs!)} · last sync: ${second(ok.lastSyncAtMs!)}`), text);
  assert.doesNotMatch(text, /last error/);
});
