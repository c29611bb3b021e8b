import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SCHEDULE, ErrorType, PROVIDER_BUSY, PROVIDER_DEFERRED, WORKER_SHUTDOWN_ERROR, type ProfileSnapshot, type SyncReport, type WorkflowStatus } from '../../../workflows/api.js';
import {
  awaitsProviders,
  chooseTrigger,
  classifyFailure,
  isFullSync,
  providerTrouble,
  retryDelayAfterFailure,
  snapshotChange,
  statusAfterFailure,
  statusAfterSuccess,
  syncRequestFor,
  unsyncedOutcome,
} from '../../../workflows/decide-sync.js';
import { RETRY_BASE_MS } from '../../../workflows/schedule.js';

const ref = { namespace: 'fleet', name: 'a', uid: 'u1' };
const snap = (over: Partial<ProfileSnapshot> = {}): ProfileSnapshot => ({ resourceVersion: '1', generation: 1, observedHash: 'h1', providerCount: 1, deleting: false, ...over });
const fresh: WorkflowStatus = { ref, phase: 'Pending', syncCount: 0, runCount: 1 };
const ready: WorkflowStatus = { ...fresh, phase: 'Ready', lastSyncAtMs: 1_000, fingerprint: 'fp-1', credentialExpiresAtMs: 9_000, syncCount: 3 };
const error = { reason: ErrorType.InvalidInput, message: 'bad', atMs: 5 };

void test('snapshotChange: a deletionTimestamp wins; a new hash or generation resyncs; nothing while deleting', () => {
  assert.equal(snapshotChange(snap(), snap({ deleting: true }), false), 'deletion');
  assert.equal(snapshotChange(snap(), snap({ deleting: true }), true), 'deletion');
  assert.equal(snapshotChange(snap(), snap({ observedHash: 'h2' }), false), 'resync');
  assert.equal(snapshotChange(snap(), snap({ generation: 2 }), false), 'resync');
  assert.equal(snapshotChange(snap(), snap({ resourceVersion: '2' }), false), 'none', 'a new resourceVersion alone is no change');
  assert.equal(snapshotChange(snap(), snap({ observedHash: 'h2' }), true), 'none', 'no resync once deletion was requested');
});

void test('chooseTrigger: a change, then a postponed change, the initial sync, a retry, the scheduled refresh', () => {
  const pending = { reason: 'profile changed (generation 2)', scheduled: false };
  assert.deepEqual(chooseTrigger({ change: 'resync requested', pendingTrigger: pending, status: ready }), { reason: 'resync requested', scheduled: false });
  assert.equal(chooseTrigger({ change: undefined, pendingTrigger: pending, status: ready }), pending);
  assert.deepEqual(chooseTrigger({ change: undefined, pendingTrigger: undefined, status: fresh }), { reason: 'initial sync', scheduled: false });
  assert.deepEqual(chooseTrigger({ change: undefined, pendingTrigger: undefined, status: { ...ready, lastError: error } }), {
    reason: 'retry after InvalidInput',
    scheduled: true,
  });
  assert.deepEqual(chooseTrigger({ change: undefined, pendingTrigger: undefined, status: ready }), { reason: 'scheduled refresh', scheduled: true });
});

void test('awaitsProviders: only a never-synced profile without providers and without a pending change waits', () => {
  const none = snap({ providerCount: 0 });
  assert.equal(awaitsProviders({ snapshot: none, dirty: false, status: fresh }), true);
  assert.equal(awaitsProviders({ snapshot: snap({ providerCount: undefined, providerNames: [] }), dirty: false, status: fresh }), true, 'the old snapshot shape too');
  assert.equal(awaitsProviders({ snapshot: snap(), dirty: false, status: fresh }), false);
  assert.equal(awaitsProviders({ snapshot: none, dirty: true, status: fresh }), false, 'a change syncs (and reports the missing provider)');
  assert.equal(awaitsProviders({ snapshot: none, dirty: false, status: ready }), false, 'a profile that synced before keeps refreshing');
});

void test('isFullSync: only a scheduled refresh of a Ready profile that synced before is light', () => {
  assert.equal(isFullSync({ scheduled: true, syncedBefore: true, previousPhase: 'Ready' }), false);
  assert.equal(isFullSync({ scheduled: false, syncedBefore: true, previousPhase: 'Ready' }), true);
  assert.equal(isFullSync({ scheduled: true, syncedBefore: false, previousPhase: 'Ready' }), true);
  for (const phase of ['Degraded', 'Expired', 'Pending', 'Syncing'] as const) assert.equal(isFullSync({ scheduled: true, syncedBefore: true, previousPhase: phase }), true, phase);
});

void test('syncRequestFor carries what the sync needs from the status, and only what is known', () => {
  assert.deepEqual(syncRequestFor(fresh, 'Pending', { reason: 'initial sync', scheduled: false }, { finalizerPresent: false, attemptsPerSync: 4 }), {
    finalizerPresent: false,
    full: true,
    previousPhase: 'Pending',
    syncedBefore: false,
    scheduled: false,
    attemptsPerSync: 4,
    execMode: 'local',
  });
  const retry = syncRequestFor({ ...ready, phase: 'Degraded', lastError: error }, 'Degraded', { reason: 'retry', scheduled: true }, { finalizerPresent: true, attemptsPerSync: 4 });
  assert.equal(retry.full, true);
  assert.equal(retry.lastFingerprint, 'fp-1');
  assert.equal(retry.previousExpiresAtMs, 9_000);
  assert.deepEqual(retry.previousError, { reason: ErrorType.InvalidInput, message: 'bad' }, 'no timestamp: the Event compares reason and message');
  assert.equal(syncRequestFor(ready, 'Ready', { reason: 'scheduled refresh', scheduled: true }, { finalizerPresent: true, attemptsPerSync: 4 }).full, false);
});

void test('classifyFailure', () => {
  assert.equal(classifyFailure(WORKER_SHUTDOWN_ERROR, true), 'retry-soon');
  assert.equal(classifyFailure(WORKER_SHUTDOWN_ERROR, false), 'retry-task');
  assert.equal(classifyFailure(ErrorType.ProfileGone, false), 'gone');
  assert.equal(classifyFailure(PROVIDER_BUSY, true), 'busy');
  assert.equal(classifyFailure(PROVIDER_DEFERRED, false), 'busy');
  for (const type of [ErrorType.InvalidInput, ErrorType.Conflict, ErrorType.ProviderUnavailable, 'CredentialSourceFailed', 'KubeApiError']) {
    assert.equal(classifyFailure(type, false), 'failed', type);
  }
});

void test('providerTrouble: a busy answer, or a last error from the provider, makes the next sync wait for it', () => {
  assert.equal(providerTrouble({ busyRetries: 1, status: ready }), PROVIDER_BUSY);
  assert.equal(providerTrouble({ busyRetries: 0, status: { ...ready, lastError: { ...error, reason: ErrorType.ProviderUnavailable } } }), ErrorType.ProviderUnavailable);
  assert.equal(providerTrouble({ busyRetries: 0, status: { ...ready, lastError: { ...error, reason: 'CredentialSourceFailed' } } }), 'CredentialSourceFailed');
  assert.equal(providerTrouble({ busyRetries: 0, status: { ...ready, lastError: error } }), undefined, 'an input error is not the provider’s trouble');
  assert.equal(providerTrouble({ busyRetries: 0, status: ready }), undefined);
});

void test('retryDelayAfterFailure: input errors wait the sync period; transient ones back off, spread, and draw one random number', () => {
  let draws = 0;
  const random = () => (draws++, 0);
  const base = { nowMs: 0, failures: 1, expiresAtMs: undefined, schedule: DEFAULT_SCHEDULE, retryAfterMs: undefined, random };
  assert.equal(retryDelayAfterFailure({ ...base, failureType: ErrorType.InvalidInput }), DEFAULT_SCHEDULE.syncPeriodMs);
  assert.equal(draws, 0, 'no random number for a non-transient failure (the workflow’s sequence stays as recorded)');
  assert.equal(retryDelayAfterFailure({ ...base, failureType: 'KubeApiError' }), RETRY_BASE_MS / 2, 'random 0: the earliest point, half the backoff');
  assert.equal(draws, 1);
  assert.equal(retryDelayAfterFailure({ ...base, failureType: 'KubeApiError', random: () => 1 }), RETRY_BASE_MS);
  assert.ok(retryDelayAfterFailure({ ...base, failureType: ErrorType.ProviderUnavailable, retryAfterMs: 40_000, random: () => 0 }) >= 40_000, 'not before the breaker admits a probe');
});

void test('statusAfterSuccess / statusAfterFailure / unsyncedOutcome', () => {
  const report: SyncReport = { provider: 'p', fingerprint: 'fp-2', expiresAtMs: 20_000, secretChanged: true, server: 'https://x', sveltosClusterChanged: false, schedule: DEFAULT_SCHEDULE };
  const failed = { ...ready, phase: 'Degraded' as const, lastError: error };
  const ok = statusAfterSuccess(failed, { phase: 'Ready', report, snapshot: snap({ generation: 2, resourceVersion: '7', observedHash: 'h2' }), nowMs: 10_000, nextAtMs: 18_000 });
  assert.deepEqual(ok, {
    ...failed,
    phase: 'Ready',
    provider: 'p',
    fingerprint: 'fp-2',
    lastSyncAtMs: 10_000,
    credentialExpiresAtMs: 20_000,
    nextRefreshAtMs: 18_000,
    lastError: undefined,
    observedGeneration: 2,
    observedResourceVersion: '7',
    observedHash: 'h2',
    syncCount: 4,
  });
  const bad = statusAfterFailure(ready, { phase: 'Degraded', failure: { type: 'Conflict', message: 'taken' }, snapshot: snap(), nowMs: 11_000, nextAtMs: 15_000 });
  assert.equal(bad.syncCount, 3, 'a failed sync is not counted');
  assert.equal(bad.lastSyncAtMs, 1_000, 'the last successful sync stays');
  assert.deepEqual(bad.lastError, { reason: 'Conflict', message: 'taken', atMs: 11_000 });
  assert.equal(bad.nextRefreshAtMs, 15_000);
  assert.deepEqual(unsyncedOutcome(bad, 15_000, 'taken'), { phase: 'Degraded', fingerprint: 'fp-1', expiresAtMs: 9_000, nextRefreshAtMs: 15_000, changed: false, error: 'taken' });
});
