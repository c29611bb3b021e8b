import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { InvalidInputError } from '../../../activities/errors.js';
import { KubeApiError } from '../../../activities/kube/classify.js';
import { FAILURE_EVENT_LANE, recordEvent, SyncFailureEvents } from '../../../activities/reconcile/events.js';
import { PROVIDER_BUSY, PROVIDER_DEFERRED, type SyncRequest } from '../../../workflows/api.js';
import { testScope } from './fixtures.js';

const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const REQ: SyncRequest = { finalizerPresent: true, full: true, previousPhase: 'Ready', syncedBefore: true, scheduled: false, attemptsPerSync: 3 };
const failure = (type: string) => ApplicationFailure.create({ message: `${type} happened`, type, nonRetryable: true });

describe('recordEvent', () => {
  test('a transient API failure is retried (thrown); anything else is dropped with a warning: an Event is never worth failing over', async () => {
    const transient = testScope({ recordEvent: () => Promise.reject(new KubeApiError('unavailable', 503)) });
    await assert.rejects(recordEvent(transient, REF, { type: 'Normal', reason: 'Ready', message: 'm' }), /unavailable/);
    const invalid = testScope({ recordEvent: () => Promise.reject(new InvalidInputError('Event fleet/x', 'message', 'is too long')) });
    await recordEvent(invalid, REF, { type: 'Normal', reason: 'Ready', message: 'm' });
    assert.deepEqual(invalid.lines.map((l) => [l.level, l.msg, l.meta.reason]), [['warn', 'could not record event', 'Ready']]);
  });
});

describe('SyncFailureEvents', () => {
  test('a final, new failure gets a Warning Event in the failures lane; a non-final one, a repeat, a deferral or a busy provider none', async () => {
    const sent: Array<{ reason: string | undefined; lane: string | undefined }> = [];
    const scope = testScope({
      recordEvent: (ev: CoreV1Event, opts?: { lane?: string }) => {
        sent.push({ reason: ev.reason, lane: opts?.lane });
        return Promise.resolve();
      },
    });
    const events = new SyncFailureEvents(scope);
    await events.record(REF, REQ, failure('Conflict'), true);
    await events.record(REF, REQ, failure('Conflict'), false);
    await events.record(REF, { ...REQ, previousError: { reason: 'Conflict', message: 'Conflict happened' } }, failure('Conflict'), true);
    await events.record(REF, REQ, failure(PROVIDER_DEFERRED), true);
    await events.record(REF, REQ, failure(PROVIDER_BUSY), true);
    await events.record(REF, REQ, failure('ProfileGone'), true);
    assert.deepEqual(sent, [{ reason: 'Conflict', lane: FAILURE_EVENT_LANE }]);
  });

  test('a sync inside a workflow task does not wait for its Event; beyond 1000 waiting, Events are dropped and logged', async () => {
    const release: Array<() => void> = [];
    const scope = testScope({ recordEvent: () => new Promise<void>((r) => release.push(r)) });
    const events = new SyncFailureEvents(scope);
    const local: SyncRequest = { ...REQ, execMode: 'local' };
    for (let i = 0; i < 1001; i++) await events.record(REF, local, failure('Conflict'), true);
    assert.equal(release.length, 1000, 'all but the last one sent, none awaited');
    assert.deepEqual(scope.lines.map((l) => l.msg), ['failure Event dropped: too many waiting to be recorded']);
    for (const r of release.splice(0)) r();
    await new Promise((r) => setImmediate(r));
    await events.record(REF, local, failure('Conflict'), true);
    assert.equal(release.length, 1, 'room again once they were recorded');
  });
});
