// The Lease of the leader election, read and written as plain JSON (get, create, and update with the
// resourceVersion read: optimistic concurrency) over the controller's HTTP helper (activities/kube/http.ts),
// not client-node's generated API, which the controller does not load. Every request has a timeout shorter
// than the renew deadline, so that one stuck request cannot use up a leader's whole deadline.
import { httpStatus } from '../activities/kube/classify.js';
import { seg, type KubeHttpSend } from '../activities/kube/http.js';
import { FIELD_MANAGER } from '../activities/kube/types.js';
import { LeaseConflictError, type LeaseApi } from './leader-election.js';
import type { LeaseSpec, ObservedLease } from './lease.js';

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: LeaseSpec;
}

function observed(obj: LeaseObject | undefined): ObservedLease {
  return { spec: obj?.spec ?? {}, resourceVersion: obj?.metadata?.resourceVersion ?? '' };
}

export function kubeLeaseApi(send: KubeHttpSend, namespace: string, name: string, requestTimeoutMs: number): LeaseApi {
  const where = `Lease ${namespace}/${name}`;
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases`;
  // Names us in the Lease's managedFields, as the other objects we write.
  const query = { fieldManager: FIELD_MANAGER };

  function failure(verb: string, err: unknown): Error {
    const code = httpStatus(err);
    if (code === 409) return new LeaseConflictError(`${verb} ${where}: changed meanwhile (409)`);
    if (code === 403) return new Error(`${verb} ${where}: forbidden; the ServiceAccount needs get, create and update on leases.coordination.k8s.io in ${namespace}`);
    return new Error(`${verb} ${where}: ${code !== undefined ? `HTTP ${code}` : err instanceof Error ? err.message : String(err)}`);
  }

  async function call(verb: string, request: () => Promise<LeaseObject>): Promise<ObservedLease> {
    try {
      return observed(await request());
    } catch (err) {
      throw failure(verb, err);
    }
  }

  const body = (spec: LeaseSpec, resourceVersion?: string): LeaseObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}), labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } },
    spec,
  });

  return {
    async get() {
      try {
        return observed(await send<LeaseObject>({ method: 'GET', path: `${leases}/${seg(name)}`, timeoutMs: requestTimeoutMs }));
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw failure('get', err);
      }
    },
    create: (spec) => call('create', () => send<LeaseObject>({ method: 'POST', path: leases, query, body: body(spec), timeoutMs: requestTimeoutMs })),
    update: (spec, resourceVersion) =>
      call('update', () => send<LeaseObject>({ method: 'PUT', path: `${leases}/${seg(name)}`, query, body: body(spec, resourceVersion), timeoutMs: requestTimeoutMs })),
  };
}
