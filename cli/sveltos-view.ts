// What Sveltos itself reports about the clusters we write: the SveltosCluster's status (set by
// sveltoscluster-manager from a real connection through our Secret), shown by `clusterinventory status`
// beside our phase. Our phase says we wrote a credential; this says whether Sveltos could use it.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, SVELTOS_CLUSTER } from '../activities/kube/types.js';
import { sveltosRenewsToken } from '../activities/kube/sveltos-renewal.js';
import { oneLine } from './format.js';

export interface SveltosView {
  /** False when there is no SveltosCluster (yet, or any more). */
  found: boolean;
  ready?: boolean;
  version?: string;
  connectionStatus?: string;
  connectionFailures?: number;
  failureMessage?: string;
  /** Set when Sveltos renews the token itself (spec.tokenRequestRenewalOption): the Secret key it reads. */
  renewsTokenReadingKey?: string;
}

interface SveltosClusterObject {
  metadata?: { namespace?: string; name?: string };
  spec?: unknown;
  status?: { ready?: unknown; version?: unknown; connectionStatus?: unknown; connectionFailures?: unknown; failureMessage?: unknown };
}

/** Only well-typed fields are taken: the status is written by another controller (or a person). */
export function viewOf(obj: SveltosClusterObject | undefined): SveltosView {
  if (!obj) return { found: false };
  const s = obj.status ?? {};
  const renewal = sveltosRenewsToken(obj);
  return {
    found: true,
    ...(typeof s.ready === 'boolean' ? { ready: s.ready } : {}),
    ...(typeof s.version === 'string' && s.version ? { version: s.version } : {}),
    ...(typeof s.connectionStatus === 'string' && s.connectionStatus ? { connectionStatus: s.connectionStatus } : {}),
    ...(typeof s.connectionFailures === 'number' && s.connectionFailures > 0 ? { connectionFailures: s.connectionFailures } : {}),
    ...(typeof s.failureMessage === 'string' && s.failureMessage ? { failureMessage: s.failureMessage } : {}),
    ...(renewal ? { renewsTokenReadingKey: renewal.readingKey ?? renewal.renewalKey } : {}),
  };
}

/** The SVELTOS column: "ready, Healthy", "not ready, Down (3 failures)", "no SveltosCluster", or "?" when unknown. */
export function sveltosCell(v: SveltosView | undefined): string {
  if (!v) return '?';
  if (!v.found) return 'no SveltosCluster';
  const parts = [v.ready ? 'ready' : 'not ready'];
  if (v.connectionStatus) parts.push(v.connectionStatus + (v.connectionFailures ? ` (${v.connectionFailures} failures)` : ''));
  else if (v.connectionFailures) parts.push(`${v.connectionFailures} failures`);
  return parts.join(', ');
}

/** The lines of `status NAMESPACE/NAME`. */
export function sveltosLines(v: SveltosView | undefined, unavailable?: string): Array<[string, string]> {
  if (!v) return [['Sveltos', `unknown (${unavailable ?? 'Kubernetes not reachable'})`]];
  if (!v.found) return [['Sveltos', 'no SveltosCluster']];
  return [
    ['Sveltos', `${v.ready ? 'ready' : 'not ready'}${v.version ? `, Kubernetes ${v.version}` : ''}`],
    ['Sveltos connection', v.connectionStatus ? `${v.connectionStatus}${v.connectionFailures ? ` (${v.connectionFailures} consecutive failures)` : ''}` : 'not probed yet'],
    ['Sveltos failure', v.failureMessage ? oneLine(v.failureMessage, 300) : '-'],
    ...(v.renewsTokenReadingKey
      ? ([
          [
            'Sveltos token renewal',
            `on (spec.tokenRequestRenewalOption): Sveltos renews the token itself and reads key "${v.renewsTokenReadingKey}"; ` +
              'the credential clusterinventory refreshes is not used. Remove spec.tokenRequestRenewalOption and spec.kubeconfigKeyName to use it again.',
          ],
        ] as Array<[string, string]>)
      : []),
  ];
}

export interface SveltosReader {
  one(namespace: string, name: string): Promise<SveltosView>;
  /** Every SveltosCluster we manage, by "namespace/name" (one list call per 500). */
  all(namespace?: string): Promise<Map<string, SveltosView>>;
}

const coords = { group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural };

export function kubeSveltosReader(kc: KubeConfig): SveltosReader {
  const api = kc.makeApiClient(CustomObjectsApi);
  return {
    async one(namespace, name) {
      try {
        return viewOf((await api.getNamespacedCustomObject({ ...coords, namespace, name })) as SveltosClusterObject);
      } catch (e) {
        if ((e as { code?: number }).code === 404) return { found: false };
        throw e;
      }
    },
    async all(namespace) {
      const out = new Map<string, SveltosView>();
      let _continue: string | undefined;
      do {
        const page = (await (namespace
          ? api.listNamespacedCustomObject({ ...coords, namespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`, limit: 500, ...(_continue ? { _continue } : {}) })
          : api.listClusterCustomObject({ ...coords, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`, limit: 500, ...(_continue ? { _continue } : {}) }))) as {
          items: SveltosClusterObject[];
          metadata?: { continue?: string };
        };
        for (const item of page.items) out.set(`${item.metadata?.namespace}/${item.metadata?.name}`, viewOf(item));
        _continue = page.metadata?.continue || undefined;
      } while (_continue);
      return out;
    },
  };
}

/** A reader from the default kubeconfig, or the reason there is none (status then works without it). */
export function defaultSveltosReader(): SveltosReader | string {
  try {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    if (!kc.getCurrentCluster()) return 'no Kubernetes cluster in the kubeconfig';
    return kubeSveltosReader(kc);
  } catch (e) {
    return `cannot load a kubeconfig: ${(e as Error).message}`;
  }
}
