import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { BoundedRetryError, InvalidInputError, ProviderBusyError } from '../../../activities/errors.js';
import { KubeApiError } from '../../../activities/kube/classify.js';
import { FailedAfterWrite, failureWrapper, withDetails } from '../../../activities/reconcile/failures.js';
import { DEFAULT_SCHEDULE, TRANSIENT_CREDENTIAL_ERROR, WORKER_SHUTDOWN_ERROR, type CredentialSyncResult, type FailureDetails } from '../../../workflows/api.js';
import { testScope } from './fixtures.js';

const DETAILS: FailureDetails = { schedule: DEFAULT_SCHEDULE };
const WRITTEN: CredentialSyncResult = { provider: 'p', fingerprint: 'f', secretChanged: true, server: 'https://x' };
const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };

function asFailure(err: Error): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, not ${err.name}`);
  return err;
}

describe('withDetails (failures of the current workflow\'s activities)', () => {
  test('every failure carries the worker\'s schedule; ours keep their type and retryability', () => {
    const invalid = asFailure(withDetails(new InvalidInputError('ClusterProfile fleet/spoke-1', 'status.accessProviders', 'is empty'), DETAILS));
    assert.equal(invalid.nonRetryable, true);
    assert.deepEqual(invalid.details, [DETAILS]);
    const kube = asFailure(withDetails(new KubeApiError('unavailable', 503), DETAILS));
    assert.equal(kube.nonRetryable, false);
    assert.deepEqual(kube.details, [DETAILS]);
  });

  test('a bounded-retry error stays retryable as TRANSIENT_CREDENTIAL_ERROR (the workflow bounds the attempts)', () => {
    const f = asFailure(withDetails(new BoundedRetryError('plugin timed out', 3), DETAILS));
    assert.equal(f.type, TRANSIENT_CREDENTIAL_ERROR);
    assert.equal(f.nonRetryable, false);
  });

  test('a failure after the Secret was written tells the workflow which credential it holds', () => {
    const f = asFailure(withDetails(new FailedAfterWrite(new KubeApiError('conflict on SveltosCluster', 409), WRITTEN), DETAILS));
    assert.deepEqual(f.details, [{ ...DETAILS, written: WRITTEN }]);
    assert.match(f.message, /conflict on SveltosCluster/);
  });

  test('a busy provider says when a slot is likely free', () => {
    const f = asFailure(withDetails(new ProviderBusyError('oidc', 1500), DETAILS));
    assert.deepEqual(f.details, [{ ...DETAILS, retryAfterMs: 1500 }]);
  });
});

describe('failureWrapper', () => {
  test('the wrapped activity keeps its name; what it returns passes through', async () => {
    const wrap = failureWrapper(testScope({}).log);
    const fn = wrap('syncThing', (n: number) => Promise.resolve(n + 1));
    assert.equal(fn.name, 'syncThing');
    assert.equal(await fn(1), 2);
  });

  test('onFailure learns whether the failure is final: non-retryable, or the attempt reached finalAttempt', async () => {
    const scope = testScope({});
    const wrap = failureWrapper(scope.log);
    const finals: boolean[] = [];
    const onFailure = (_args: unknown[], _f: Error, final: boolean) => {
      finals.push(final);
      return Promise.resolve();
    };
    const retryable = (_ref: typeof REF) => Promise.reject(new KubeApiError('unavailable', 503));
    // Outside an activity the attempt is 1.
    await assert.rejects(wrap('a', retryable, { onFailure, finalAttempt: () => 3 })(REF));
    await assert.rejects(wrap('b', retryable, { onFailure, finalAttempt: () => 1 })(REF));
    await assert.rejects(wrap('c', (_ref: typeof REF) => Promise.reject(new InvalidInputError('x', 'y', 'z')), { onFailure, finalAttempt: () => 3 })(REF));
    assert.deepEqual(finals, [false, true, true]);
    const failed = scope.lines.filter((l) => l.msg.endsWith(' failed'));
    assert.deepEqual(failed.map((l) => [l.level, l.meta.profile, l.meta.retryable]), [
      ['warn', 'fleet/spoke-1', true],
      ['warn', 'fleet/spoke-1', true],
      ['info', 'fleet/spoke-1', false],
    ]);
  });

  test('during a worker shutdown any failure leaves as WORKER_SHUTDOWN_ERROR, and nothing is recorded for it', async () => {
    const shutdown = new AbortController();
    shutdown.abort();
    let recorded = 0;
    const wrap = failureWrapper(testScope({}).log);
    const fn = wrap('syncProfile', (_ref: typeof REF) => Promise.reject(new KubeApiError('aborted', 0)), {
      shutdownSignal: shutdown.signal,
      onFailure: () => Promise.resolve(void recorded++),
    });
    await assert.rejects(fn(REF), (err: unknown) => err instanceof ApplicationFailure && err.type === WORKER_SHUTDOWN_ERROR && err.nonRetryable === true);
    assert.equal(recorded, 0);
  });
});
