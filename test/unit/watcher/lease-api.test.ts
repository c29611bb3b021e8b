// The leader election's Lease as plain JSON requests (watcher/lease-api.ts): what goes out (method, path,
// body with the resourceVersion read, the per-request timeout), and how answers map to the election's
// vocabulary (404: no Lease, 409: LeaseConflictError, 403: what RBAC is missing).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeHttpStatusError, type KubeHttpSend, type KubeRequest } from '../../../activities/kube/http.js';
import { FIELD_MANAGER } from '../../../activities/kube/types.js';
import { LeaseConflictError } from '../../../watcher/leader-election.js';
import { kubeLeaseApi } from '../../../watcher/lease-api.js';

function fakeSend(answer: (r: KubeRequest) => unknown): { send: KubeHttpSend; seen: KubeRequest[] } {
  const seen: KubeRequest[] = [];
  const send = (<T>(r: KubeRequest): Promise<T> => {
    seen.push(r);
    try {
      return Promise.resolve(answer(r) as T);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }) as KubeHttpSend;
  return { send, seen };
}

const PATH = '/apis/coordination.k8s.io/v1/namespaces/ops/leases';
const spec = { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 };
const stored = (resourceVersion: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'w', namespace: 'ops', resourceVersion }, spec });

describe('kubeLeaseApi', () => {
  test('get: GET by name with the timeout; the spec and resourceVersion read', async () => {
    const { send, seen } = fakeSend(() => stored('7'));
    assert.deepEqual(await kubeLeaseApi(send, 'ops', 'w', 2500).get(), { spec, resourceVersion: '7' });
    assert.deepEqual(seen, [{ method: 'GET', path: `${PATH}/w`, timeoutMs: 2500 }]);
  });

  test('get: 404 is no Lease', async () => {
    const { send } = fakeSend(() => {
      throw new KubeHttpStatusError(404, '{"kind":"Status","code":404}');
    });
    assert.equal(await kubeLeaseApi(send, 'ops', 'w', 1000).get(), undefined);
  });

  test('create: POST of a labelled Lease; update: PUT with the resourceVersion read', async () => {
    const { send, seen } = fakeSend((r) => stored(r.method === 'POST' ? '1' : '2'));
    const api = kubeLeaseApi(send, 'ops', 'w', 1000);
    assert.deepEqual(await api.create(spec), { spec, resourceVersion: '1' });
    assert.deepEqual(await api.update(spec, '1'), { spec, resourceVersion: '2' });
    const metadata = { name: 'w', namespace: 'ops', labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } };
    assert.deepEqual(seen, [
      { method: 'POST', path: PATH, query: { fieldManager: FIELD_MANAGER }, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec }, timeoutMs: 1000 },
      {
        method: 'PUT',
        path: `${PATH}/w`,
        query: { fieldManager: FIELD_MANAGER },
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...metadata, resourceVersion: '1' }, spec },
        timeoutMs: 1000,
      },
    ]);
  });

  test('409 on create or update is a LeaseConflictError: another replica got there first', async () => {
    const { send } = fakeSend(() => {
      throw new KubeHttpStatusError(409, '{"kind":"Status","reason":"Conflict"}');
    });
    const api = kubeLeaseApi(send, 'ops', 'w', 1000);
    await assert.rejects(api.create(spec), (err: Error) => err instanceof LeaseConflictError && err.message === 'create Lease ops/w: changed meanwhile (409)');
    await assert.rejects(api.update(spec, '1'), (err: Error) => err instanceof LeaseConflictError && err.message === 'update Lease ops/w: changed meanwhile (409)');
  });

  test('403 says which permissions the ServiceAccount lacks; other failures keep their status or message, never the body', async () => {
    const answers = [new KubeHttpStatusError(403, '{"message":"secret detail"}'), new KubeHttpStatusError(500, 'secret detail'), new DOMException('no answer within 1000 ms', 'TimeoutError')];
    const { send } = fakeSend(() => {
      throw answers.shift()!;
    });
    const api = kubeLeaseApi(send, 'ops', 'w', 1000);
    await assert.rejects(api.get(), /^Error: get Lease ops\/w: forbidden; the ServiceAccount needs get, create and update on leases\.coordination\.k8s\.io in ops$/);
    await assert.rejects(api.update(spec, '1'), /^Error: update Lease ops\/w: HTTP 500$/);
    await assert.rejects(api.create(spec), /^Error: create Lease ops\/w: no answer within 1000 ms$/);
  });
});
