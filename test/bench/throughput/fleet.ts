// A benchmark fleet in one Kubernetes namespace: one shared source Secret, ClusterProfiles created the
// way a cluster manager creates them (the object, then its status with a kubeconfig-secretreader access
// provider), a watch that records when each SveltosCluster and managed Secret first appears, and the
// cleanup (finalizers removed, every object deleted, the namespace deleted).
import { performance } from 'node:perf_hooks';
import { CLUSTER_PROFILE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, secretNameFor, type ClusterProfile, type SveltosCluster, type V1Secret } from '../../../activities/kube/types.js';
import { secretReaderProvider, spokeKubeconfig } from '../../support/e2e.js';
import { pool, sleep } from '../support.js';
import { paths, type KubeHttp, type Watch } from './kube-http.js';

export const SOURCE_SECRET = 'bench-source';
const MERGE = 'application/merge-patch+json';

export function profileName(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(5, '0')}`;
}

export class Fleet {
  /** performance.now() when each SveltosCluster / managed Secret was first seen, by profile name. */
  readonly sveltosClusterSeen = new Map<string, number>();
  readonly secretSeen = new Map<string, number>();
  /** performance.now() when the create request of each profile was sent. */
  readonly createdAt = new Map<string, number>();
  /** performance.now() when the status update (the access providers) of each profile was answered. */
  readonly statusSetAt = new Map<string, number>();
  readonly profiles: string[] = [];
  private watches: Watch[] = [];
  private watchEnded: string | undefined;

  constructor(
    readonly kube: KubeHttp,
    readonly namespace: string,
  ) {}

  async create(): Promise<void> {
    await this.kube.request('POST', paths.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } });
    const secret: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: SOURCE_SECRET, namespace: this.namespace },
      stringData: { kubeconfig: spokeKubeconfig('bench-token') },
    };
    await this.kube.request('POST', paths.secrets(this.namespace), secret);
  }

  /** Creates one ClusterProfile and sets its status: two requests, as a cluster manager makes them. */
  async createProfile(name: string): Promise<void> {
    await this.createProfileObject(name);
    await this.kube.request('PATCH', `${paths.clusterProfiles(this.namespace)}/${name}/status`, { status: { accessProviders: [secretReaderProvider(SOURCE_SECRET)] } }, { contentType: MERGE });
    this.statusSetAt.set(name, performance.now());
  }

  /** Creates the ClusterProfile object alone, without a status (the Kubernetes write floor's profiles). */
  async createProfileObject(name: string): Promise<void> {
    this.profiles.push(name);
    const body: ClusterProfile = {
      apiVersion: CLUSTER_PROFILE.apiVersion,
      kind: CLUSTER_PROFILE.kind,
      metadata: { name, namespace: this.namespace, labels: { bench: 'throughput' } },
      spec: { clusterManager: { name: 'bench' }, displayName: name },
    };
    this.createdAt.set(name, performance.now());
    await this.kube.request('POST', paths.clusterProfiles(this.namespace), body);
  }

  async createProfiles(names: string[], concurrency: number): Promise<void> {
    await pool(names, concurrency, (name) => this.createProfile(name));
  }

  /** Creates profiles at `perSecond`, each on its own schedule (a slow request does not delay the next). */
  async createProfilesAt(names: string[], perSecond: number): Promise<void> {
    const t0 = performance.now();
    const pending: Array<Promise<void>> = [];
    for (const [i, name] of names.entries()) {
      const due = t0 + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(this.createProfile(name));
    }
    await Promise.all(pending);
  }

  /** Starts recording when managed objects appear (only objects that carry the managed-by label). */
  async watch(): Promise<void> {
    const selector = `labelSelector=${encodeURIComponent(`${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`)}`;
    const onEnd = (why: string): void => void (this.watchEnded = why);
    const sc = this.kube.watch<SveltosCluster>(`${paths.sveltosClusters(this.namespace)}?${selector}`, (e) => {
      const name = e.object.metadata?.name;
      if (name && (e.type === 'ADDED' || e.type === 'MODIFIED') && !this.sveltosClusterSeen.has(name)) this.sveltosClusterSeen.set(name, performance.now());
    }, onEnd);
    const suffix = secretNameFor('');
    const secrets = this.kube.watch<V1Secret>(`${paths.secrets(this.namespace)}?${selector}`, (e) => {
      const name = e.object.metadata?.name;
      if (name?.endsWith(suffix) && (e.type === 'ADDED' || e.type === 'MODIFIED')) {
        const profile = name.slice(0, -suffix.length);
        if (!this.secretSeen.has(profile)) this.secretSeen.set(profile, performance.now());
      }
    }, onEnd);
    this.watches.push(sc, secrets);
    await Promise.all([sc.ready, secrets.ready]);
  }

  /** Profiles (of `names`) whose SveltosCluster and Secret both exist. */
  converged(names: readonly string[]): number {
    return names.filter((n) => this.sveltosClusterSeen.has(n) && this.secretSeen.has(n)).length;
  }

  /**
   * Waits until every profile of `names` has its SveltosCluster and Secret, or the timeout. Returns
   * performance.now() at convergence, or undefined on timeout. Prints progress every 15 s.
   */
  async waitConverged(
    names: readonly string[],
    timeoutMs: number,
    progress: (line: string) => void,
    /** A reason to give up early (e.g. the controller exited), or undefined. */
    abort: () => string | undefined = () => undefined,
  ): Promise<number | undefined> {
    const t0 = performance.now();
    let lastReport = t0;
    for (;;) {
      if (this.watchEnded) throw new Error(`watch of ${this.namespace} ended: ${this.watchEnded}`);
      const why = abort();
      if (why) throw new Error(why);
      const done = this.converged(names);
      if (done === names.length) {
        return Math.max(...names.map((n) => Math.max(this.sveltosClusterSeen.get(n)!, this.secretSeen.get(n)!)));
      }
      const now = performance.now();
      if (now - t0 > timeoutMs) return undefined;
      if (now - lastReport >= 15_000) {
        lastReport = now;
        progress(`  ${done}/${names.length} converged after ${((now - t0) / 1000).toFixed(0)} s`);
      }
      await sleep(100);
    }
  }

  /** Stops the watches, removes finalizers (nothing reconciles them any more) and deletes everything. */
  async destroy(): Promise<void> {
    for (const w of this.watches.splice(0)) w.stop();
    const ns = this.namespace;
    await pool(this.profiles, 16, async (name) => {
      await this.kube.request('PATCH', `${paths.clusterProfiles(ns)}/${name}`, { metadata: { finalizers: null } }, { contentType: MERGE, allow: [404] });
    });
    // The stack runs no namespace controller: a deleted namespace keeps its objects, so delete them first.
    for (const collection of [paths.clusterProfiles(ns), paths.sveltosClusters(ns), paths.secrets(ns)]) {
      await this.kube.request('DELETE', collection, undefined, { allow: [404] });
    }
    await this.kube.request('DELETE', paths.namespace(ns), undefined, { allow: [404] });
  }
}
