import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError } from '../../../activities/errors.js';
import { KubeApiError } from '../../../activities/kube/classify.js';
import { PATCH_GUARD_FAILED } from '../../../activities/kube/client.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type V1Secret } from '../../../activities/kube/types.js';
import { readForWrite, withGuardRetries } from '../../../activities/reconcile/guard.js';
import { testScope } from './fixtures.js';

const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const lost = () => new KubeApiError('changed meanwhile', 422, PATCH_GUARD_FAILED);

describe('withGuardRetries', () => {
  test('a guarded patch that lost is read and decided again, within the attempt', async () => {
    let calls = 0;
    const result = await withGuardRetries({ guardAttempts: 3 }, () => {
      calls++;
      return calls < 3 ? Promise.reject(lost()) : Promise.resolve('done');
    });
    assert.equal(result, 'done');
    assert.equal(calls, 3);
  });

  test('after guardAttempts lost races the last one leaves (Temporal\'s retry takes over); "retry" results count as attempts', async () => {
    let calls = 0;
    await assert.rejects(
      withGuardRetries({ guardAttempts: 2 }, () => {
        calls++;
        return Promise.reject(lost());
      }),
      (err: unknown) => err instanceof KubeApiError && err.reason === PATCH_GUARD_FAILED,
    );
    assert.equal(calls, 2);
    await assert.rejects(withGuardRetries({ guardAttempts: 2 }, () => Promise.resolve('retry' as const)), /concurrent updates kept winning/);
  });

  test('any other error leaves at once', async () => {
    let calls = 0;
    await assert.rejects(
      withGuardRetries({ guardAttempts: 5 }, () => {
        calls++;
        return Promise.reject(new KubeApiError('forbidden', 403));
      }),
      /forbidden/,
    );
    assert.equal(calls, 1);
  });
});

describe('readForWrite', () => {
  const target = { kind: 'Secret' as const, object: 'Secret fleet/spoke-1-sveltos-kubeconfig', ref: REF };

  test('absent: undefined; a foreign object: ConflictError naming it, nothing written', async () => {
    const scope = testScope({});
    assert.equal(await readForWrite(scope, target, () => Promise.resolve(undefined)), undefined);
    const foreign: V1Secret = { metadata: { name: 'spoke-1-sveltos-kubeconfig', namespace: 'fleet', uid: 's1' } };
    await assert.rejects(readForWrite(scope, target, () => Promise.resolve(foreign)), (err: unknown) => err instanceof ConflictError && /Secret fleet\/spoke-1-sveltos-kubeconfig/.test(err.message));
  });

  test('adoptable after name reuse: the earlier incarnation\'s ownerReference goes first, then the object is read again', async () => {
    const removed: number[][] = [];
    const earlier = { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: 'spoke-1', uid: 'uid-0', controller: true };
    let current: V1Secret = { metadata: { name: 'spoke-1-sveltos-kubeconfig', namespace: 'fleet', uid: 's1', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: [earlier] } };
    const scope = testScope({
      removeOwnerReferences: (_kind, _meta, indexes) => {
        removed.push(indexes);
        current = { ...current, metadata: { ...current.metadata, ownerReferences: [] } };
        return Promise.resolve();
      },
    });
    const read = await readForWrite(scope, target, () => Promise.resolve(current));
    assert.deepEqual(removed, [[0]], 'the earlier incarnation\'s reference, by its index');
    assert.deepEqual(read?.metadata?.ownerReferences, []);
    assert.ok(scope.lines.some((l) => l.msg === 'adopting'));
  });
});
