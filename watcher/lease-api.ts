// The Lease of the leader election, read and written as plain JSON (get, create, and update with the
// resourceVersion read: optimistic concurrency). Every request has a timeout shorter than the renew
// deadline, so that one stuck request cannot use up a leader's whole deadline.
import { CustomObjectsApi, Observable, type ConfigurationOptions, type KubeConfig, type ObservableMiddleware } from '@kubernetes/client-node';
import { httpStatus } from '../activities/kube/classify.js';
import { FIELD_MANAGER } from '../activities/kube/types.js';
import { LeaseConflictError, type LeaseApi } from './leader-election.js';
import type { LeaseSpec, ObservedLease } from './lease.js';

const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' } as const;

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: LeaseSpec;
}

function observed(obj: LeaseObject): ObservedLease {
  return { spec: obj.spec ?? {}, resourceVersion: obj.metadata?.resourceVersion ?? '' };
}

export function kubeLeaseApi(kc: KubeConfig, namespace: string, name: string, requestTimeoutMs: number): LeaseApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const where = `Lease ${namespace}/${name}`;

  function options(): ConfigurationOptions {
    const signal = AbortSignal.timeout(requestTimeoutMs);
    const middleware: ObservableMiddleware = {
      pre: (ctx) => {
        ctx.setSignal(signal);
        return new Observable(Promise.resolve(ctx));
      },
      post: (ctx) => new Observable(Promise.resolve(ctx)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  }

  function failure(verb: string, err: unknown): Error {
    const code = httpStatus(err);
    if (code === 409) return new LeaseConflictError(`${verb} ${where}: changed meanwhile (409)`);
    if (code === 403) return new Error(`${verb} ${where}: forbidden; the ServiceAccount needs get, create and update on leases.coordination.k8s.io in ${namespace}`);
    return new Error(`${verb} ${where}: ${code !== undefined ? `HTTP ${code}` : err instanceof Error ? err.message : String(err)}`);
  }

  async function call<T>(verb: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
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
        return observed((await custom.getNamespacedCustomObject({ ...LEASES, namespace, name }, options())) as LeaseObject);
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw failure('get', err);
      }
    },
    create: (spec) => call('create', async () => observed((await custom.createNamespacedCustomObject({ ...LEASES, namespace, body: body(spec) }, options())) as LeaseObject)),
    update: (spec, resourceVersion) =>
      call('update', async () => observed((await custom.replaceNamespacedCustomObject({ ...LEASES, namespace, name, body: body(spec, resourceVersion) }, options())) as LeaseObject)),
  };
}
