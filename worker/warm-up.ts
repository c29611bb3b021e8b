// One sync, in memory, before the worker takes its first task. Right after a start every first use of the
// sync path is slow (V8 compiles our code, the strict YAML reader and the client on first call): the
// restarted controller's first syncs took 330-350 ms from their start to their finalizer, against 10-100 ms
// once warm, and the profiles behind them waited (docs/performance.md, fourth round). Here a synthetic
// profile goes through the real activity, the real credential reader and the real Kubernetes client, whose
// requests a responder in this file answers: nothing leaves the process, nothing is written anywhere.
import { NO_PROVIDER_FILE } from '../activities/credentials/provider-file.js';
import { createKubeClient } from '../activities/kube/client.js';
import type { KubeRequest } from '../activities/kube/http.js';
import type { KubeAccess } from '../activities/kube/kube-access.js';
import { FINALIZER, SECRET_READER_PROVIDER, type ClusterProfile, type V1Secret } from '../activities/kube/types.js';
import { createReconcileActivities } from '../activities/reconcile.js';
import type { StructuredLogger } from '../activities/reconcile/scope.js';
import { DEFAULT_SCHEDULE, type ProfileRef, type SyncRequest } from '../workflows/api.js';

/** Syncs of the synthetic profile: enough for every function on the path to be compiled, well under 100 ms warm. */
export const WARM_UP_SYNCS = 3;

const NAMESPACE = 'clusterinventory-warm-up';
const REF: ProfileRef = { namespace: NAMESPACE, name: 'warm-up', uid: '00000000-0000-4000-8000-000000000000' };
const SOURCE = 'warm-up-source';

/** A kubeconfig as a cluster manager writes one for the built-in reader: made up, and never used to connect. */
const SOURCE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: spoke
  cluster:
    server: https://warm-up.invalid:6443
    tls-server-name: warm-up.invalid
users:
- name: spoke
  user:
    token: warm-up-not-a-credential
contexts:
- name: spoke
  context: {cluster: spoke, user: spoke, namespace: default}
current-context: spoke
`;

function syntheticProfile(): ClusterProfile {
  return {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: { namespace: REF.namespace, name: REF.name, uid: REF.uid, resourceVersion: '1', generation: 1, labels: { 'warm-up': 'true' } },
    spec: { displayName: 'warm-up', clusterManager: { name: 'warm-up' } },
    status: {
      accessProviders: [
        {
          name: SECRET_READER_PROVIDER,
          cluster: { server: 'https://warm-up.invalid:6443', extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: SOURCE, key: 'kubeconfig' } }] },
        },
      ],
    },
  };
}

const SOURCE_SECRET: V1Secret = {
  metadata: { namespace: NAMESPACE, name: SOURCE, uid: 'warm-up-source-uid', resourceVersion: '1' },
  data: { kubeconfig: Buffer.from(SOURCE_KUBECONFIG).toString('base64') },
};

/**
 * Answers the client's requests for the synthetic profile as the API server would for a new one: the two
 * reads, then every write echoed back with a uid and a resourceVersion. Anything else is refused, so that a
 * new request on the sync path shows in the unit test instead of going unanswered.
 */
export function warmUpResponder(): { send: <T>(r: KubeRequest) => Promise<T>; requests: string[] } {
  const requests: string[] = [];
  const profile = syntheticProfile();
  let rv = 1;
  const stored = (body: unknown): unknown => {
    const obj = structuredClone(body) as { metadata?: Record<string, unknown> };
    obj.metadata = { ...obj.metadata, uid: `warm-up-${++rv}`, resourceVersion: String(rv) };
    return obj;
  };
  const answer = (r: KubeRequest): unknown => {
    const resource = r.path.split('/').at(r.method === 'POST' ? -1 : -2);
    if (r.method === 'GET' && resource === 'clusterprofiles') return structuredClone(profile);
    if (r.method === 'GET' && resource === 'secrets' && r.path.endsWith(`/${SOURCE}`)) return structuredClone(SOURCE_SECRET);
    if (r.method === 'PATCH' && resource === 'clusterprofiles') {
      // The finalizer, as a JSON patch guarded by the profile's uid and finalizer list: applied as added.
      profile.metadata.finalizers = [...(profile.metadata.finalizers ?? []), FINALIZER];
      profile.metadata.resourceVersion = String(++rv);
      return structuredClone(profile);
    }
    if (r.method === 'PATCH' && (resource === 'secrets' || resource === 'sveltosclusters')) return stored(r.body);
    if (r.method === 'POST' && resource === 'events') return stored(r.body);
    throw new Error(`the warm-up has no answer for ${r.method} ${r.path}`);
  };
  return {
    requests,
    send: <T>(r: KubeRequest): Promise<T> => {
      requests.push(`${r.method} ${r.path}`);
      return Promise.resolve().then(() => answer(r) as T);
    },
  };
}

/** The client's own access is never used: every request goes to the responder. */
const NO_ACCESS: KubeAccess = {
  getCurrentCluster: () => ({ server: 'https://warm-up.invalid' }),
  applyToHTTPSOptions: () => Promise.reject(new Error('the warm-up makes no HTTP request')),
  getCurrentContext: () => 'warm-up',
  getContextObject: () => null,
};

const SILENT: StructuredLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function firstSync(): SyncRequest {
  return { finalizerPresent: false, full: true, previousPhase: 'Pending', syncedBefore: false, scheduled: false, attemptsPerSync: 5 };
}

/**
 * Runs WARM_UP_SYNCS syncs of the synthetic profile; resolves with the milliseconds taken and the last
 * sync's requests. Never throws: a warm-up that fails costs only its purpose; the error is returned for a
 * log line.
 */
export async function warmUpSyncPath(env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; requests: string[]; error?: string }> {
  const started = performance.now();
  let requests: string[] = [];
  try {
    for (let i = 0; i < WARM_UP_SYNCS; i++) {
      const { send, requests: made } = warmUpResponder();
      requests = made;
      const kube = createKubeClient(NO_ACCESS, { send, qps: 0, signal: () => undefined });
      const activities = createReconcileActivities({ kube, providers: NO_PROVIDER_FILE, secretReaderNamespaces: [], execTimeoutMs: 1_000, now: Date.now, baseEnv: env, logger: SILENT, schedule: DEFAULT_SCHEDULE });
      await activities.syncProfile(REF, firstSync());
    }
    return { ms: performance.now() - started, requests };
  } catch (err) {
    return { ms: performance.now() - started, requests, error: err instanceof Error ? err.message : String(err) };
  }
}
