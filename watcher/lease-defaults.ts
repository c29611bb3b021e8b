// Where the leader-election Lease lives and who holds it, when the flags do not say.
//  - name: "<task-queue>-watcher". Replicas elect one leader per task queue: two installs on different
//    task queues (different workflows) must not wait for each other. A task queue that is no valid
//    Lease name is replaced by a hash of it (the chart computes the same name for its RBAC).
//  - namespace: the pod's (its ServiceAccount's namespace file, or POD_NAMESPACE); out of a cluster the
//    one watched namespace when --namespaces names exactly one (the Lease goes with the profiles), else
//    the kubeconfig context's, else "default". controller-runtime refuses to start out of cluster
//    without one; a developer's `npm start` is better served by a default.
//  - identity: the pod name (HOSTNAME) and pid, plus a random suffix: a container restarted in the same
//    pod has the same name and pid, and must not take its predecessor's record for its own.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { KubeAccess } from '../activities/kube/kube-access.js';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function defaultLeaseName(taskQueue: string): string {
  const name = `${taskQueue}-watcher`;
  if (name.length <= 253 && DNS_SUBDOMAIN.test(name)) return name;
  return `clusterinventory-watcher-${createHash('sha256').update(taskQueue).digest('hex').slice(0, 16)}`;
}

export function defaultLeaseNamespace(
  kc: KubeAccess | undefined,
  env: NodeJS.ProcessEnv,
  watched: readonly string[] = [],
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string {
  try {
    const ns = readFile(SERVICE_ACCOUNT_NAMESPACE).trim();
    if (ns) return ns;
  } catch {
    // not in a pod
  }
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  if (watched.length === 1) return watched[0]!;
  const context = kc?.getContextObject(kc.getCurrentContext());
  return context?.namespace || 'default';
}

export function leaderIdentity(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): string {
  return `${env.POD_NAME || hostname()}_${pid}_${randomBytes(3).toString('hex')}`;
}
