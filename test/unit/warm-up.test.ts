import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WARM_UP_SYNCS, warmUpResponder, warmUpSyncPath } from '../../worker/warm-up.js';

test('the warm-up runs a whole first sync in memory: every request of a real one, answered in the process', async () => {
  const r = await warmUpSyncPath({ PATH: '/usr/bin' });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.requests, [
    'GET /apis/multicluster.x-k8s.io/v1alpha1/namespaces/clusterinventory-warm-up/clusterprofiles/warm-up',
    'GET /api/v1/namespaces/clusterinventory-warm-up/secrets/warm-up-source',
    'PATCH /apis/multicluster.x-k8s.io/v1alpha1/namespaces/clusterinventory-warm-up/clusterprofiles/warm-up',
    'PATCH /api/v1/namespaces/clusterinventory-warm-up/secrets/warm-up-sveltos-kubeconfig',
    'PATCH /apis/lib.projectsveltos.io/v1beta1/namespaces/clusterinventory-warm-up/sveltosclusters/warm-up',
    'POST /api/v1/namespaces/clusterinventory-warm-up/events',
  ]);
  assert.ok(WARM_UP_SYNCS >= 1);
});

test('a request the responder does not know fails the warm-up with a message, never the caller', async () => {
  const { send } = warmUpResponder();
  await assert.rejects(send({ method: 'DELETE', path: '/api/v1/namespaces/x/secrets/y', timeoutMs: 1 }), /no answer for DELETE/);
});
