// Informers: one list+watch loop ("reflector") per resource and scope, with a local cache and every
// lifecycle step logged and counted: list, watch connect, reconnect from the last resourceVersion,
// server-side close, error (with backoff), 410 Gone → relist, periodic relist as a safety net. A relist
// diffs against the cache, so changes missed while disconnected still arrive as events.
//
// Our own loop (rather than client-node's makeInformer) because the Secret and SveltosCluster
// informers must be metadata-only (an Accept header client-node's Watch cannot send), and because every
// step has to be observable. Objects are projected before they are cached: the ClusterProfile cache
// keeps no managedFields or annotations, the Secret caches keep no annotations (kubectl's
// last-applied-configuration annotation can hold a Secret's data) and the source-Secret cache keeps
// identity and resourceVersion only.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { CLUSTER_PROFILE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SVELTOS_CLUSTER, type ClusterProfile } from '../activities/kube/types.js';
import { backoffMs, sleep, type Clock } from './clock.js';
import type { InformerCounters, InformerName } from './counters.js';
import { KubeHttpError, type ListWatchTransport, type RawWatchEvent } from './kube-transport.js';
import { errorText, type WatcherLogger } from './log.js';

export interface KubeObject {
  metadata: V1ObjectMeta;
}

/** Metadata of a managed object: what drift detection and owner mapping need. */
export interface ManagedMeta extends KubeObject {
  metadata: Pick<
    V1ObjectMeta,
    'name' | 'namespace' | 'uid' | 'resourceVersion' | 'labels' | 'ownerReferences' | 'managedFields' | 'deletionTimestamp'
  >;
}

export type RelistReason = 'initial' | 'gone' | 'periodic' | 'error' | 'requested';

export interface ReflectorEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
  /** The cached previous state (MODIFIED; DELETED from a relist has object = the cached state). */
  old?: T;
  /** Part of the very first list: the state at start-up, not a change. */
  initial: boolean;
  via: 'list' | 'watch';
}

export interface ReflectorOptions<T extends KubeObject> {
  informer: InformerName;
  /** Namespace, or "*" for all; for logs. */
  scope: string;
  path: string;
  labelSelector?: string;
  metadataOnly: boolean;
  transport: ListWatchTransport;
  clock: Clock;
  logger: WatcherLogger;
  counters: InformerCounters;
  /** Safety-net relist period; 0 disables. */
  relistPeriodMs: number;
  /** ± fraction of the relist period, so that informers do not relist in step (default 0.1). */
  relistJitter?: number;
  random?: () => number;
  /** Server-side watch timeout; the default picks 5–10 min like client-go. */
  watchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Consecutive watch failures after which the cache is rebuilt by a relist (default 5). */
  relistAfterWatchFailures?: number;
  pageSize?: number;
  /** Reduces what is cached; undefined drops the object. Default: identity. */
  project?: (raw: unknown) => T | undefined;
  onEvent: (event: ReflectorEvent<T>) => void;
  /**
   * After each completed list (events of the diff already delivered). `startedAtMs`: when the list began;
   * every object that existed then and still exists is in it.
   */
  onListed?: (info: { reason: RelistReason; items: number; startedAtMs: number }) => void;
}

export function objectKey(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');
}

type WatchOutcome = 'closed' | 'gone' | 'relist' | 'stopped' | 'error';

/** What the list+watch loop carries from one round to the next. */
interface LoopState {
  /** Why the next list happens. */
  reason: RelistReason;
  /** Consecutive failures (backoff). */
  failures: number;
  /** The next watch continues from the last resourceVersion (a reconnect, not a connect). */
  resumed: boolean;
}

/**
 * The events a relist yields against the cache: added, modified (new resourceVersion), deleted (missing
 * from the list), and a delete plus an add for an object deleted and recreated with the same name while
 * nothing watched. Only the very first list's additions are `initial`.
 */
export function listDiff<T extends KubeObject>(previous: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>, initial: boolean): Array<ReflectorEvent<T>> {
  const events: Array<ReflectorEvent<T>> = [];
  for (const [key, obj] of next) {
    const old = previous.get(key);
    if (!old) events.push({ type: 'ADDED', object: obj, initial, via: 'list' });
    else if (old.metadata.uid !== obj.metadata.uid) {
      events.push({ type: 'DELETED', object: old, initial: false, via: 'list' });
      events.push({ type: 'ADDED', object: obj, initial: false, via: 'list' });
    } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      events.push({ type: 'MODIFIED', object: obj, old, initial: false, via: 'list' });
    }
  }
  for (const [key, old] of previous) {
    if (!next.has(key)) events.push({ type: 'DELETED', object: old, initial: false, via: 'list' });
  }
  return events;
}

export class Reflector<T extends KubeObject> {
  readonly synced: Promise<void>;
  private markSynced: () => void = () => {};
  private hasSyncedFlag = false;
  private cache = new Map<string, T>();
  private resourceVersion: string | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private watchAbort: AbortController | undefined;
  private readonly stopAbort = new AbortController();
  private pendingRelist: RelistReason | undefined;
  private cancelRelistTimer: () => void = () => {};
  private readonly wakers = new Set<() => void>();
  private readonly log: { informer: InformerName; scope: string };

  constructor(private readonly o: ReflectorOptions<T>) {
    this.synced = new Promise((r) => (this.markSynced = r));
    this.log = { informer: o.informer, scope: o.scope };
  }

  get hasSynced(): boolean {
    return this.hasSyncedFlag;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelRelistTimer();
    this.stopAbort.abort();
    this.watchAbort?.abort();
    for (const w of [...this.wakers]) w();
    await this.loop;
  }

  /** Cached objects (projected). */
  items(): T[] {
    return [...this.cache.values()];
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Ends the current watch and relists. */
  relist(reason: 'periodic' | 'requested' = 'requested'): void {
    if (reason === 'periodic') this.o.counters.relistsPeriodic++;
    else this.o.counters.relistsRequested++;
    this.pendingRelist = reason;
    this.watchAbort?.abort();
  }

  private async run(): Promise<void> {
    const st: LoopState = { reason: 'initial', failures: 0, resumed: false };
    while (!this.stopped) {
      if (this.pendingRelist) {
        st.reason = this.pendingRelist;
        this.pendingRelist = undefined;
        this.resourceVersion = undefined;
      }
      if (this.resourceVersion === undefined && !(await this.listStep(st))) continue;
      if (this.stopped) break;
      if (this.pendingRelist) continue;
      const started = this.o.clock.now();
      let outcome: WatchOutcome;
      let error: unknown;
      try {
        outcome = await this.watchOnce(st.resumed);
      } catch (err) {
        outcome = 'error';
        error = err;
      }
      if (this.stopped) break;
      await this.afterWatch(st, outcome, error, started);
    }
    this.cancelRelistTimer();
  }

  private backoff(failures: number): number {
    return backoffMs(failures, this.o.backoff?.initialMs ?? 1000, this.o.backoff?.maxMs ?? 30_000);
  }

  /** Lists (into the cache); false when the list failed and the loop should start over after the backoff. */
  private async listStep(st: LoopState): Promise<boolean> {
    const o = this.o;
    try {
      this.resourceVersion = await this.listAll(st.reason);
      st.failures = 0;
      st.resumed = false;
      this.armRelistTimer();
      return true;
    } catch (err) {
      if (this.stopped) return true;
      st.failures++;
      o.counters.listErrors++;
      const wait = this.backoff(st.failures);
      o.logger.warn({ ...this.log, reason: st.reason, error: errorText(err), retryInMs: wait }, 'list failed');
      await sleep(o.clock, wait, this.wakers);
      st.reason = st.reason === 'initial' ? 'initial' : 'error';
      return false;
    }
  }

  private async afterWatch(st: LoopState, outcome: WatchOutcome, error: unknown, startedAtMs: number): Promise<void> {
    const o = this.o;
    switch (outcome) {
      case 'gone':
        this.relistGone(st);
        return;
      case 'closed': {
        o.counters.watchCloses++;
        st.resumed = true;
        // A stream the server ends at once, again and again, must not spin.
        const quick = o.clock.now() - startedAtMs < 1000;
        st.failures = quick ? st.failures + 1 : 0;
        o.logger.debug({ ...this.log, resourceVersion: this.resourceVersion }, 'watch closed by the server; reconnecting');
        if (quick) await sleep(o.clock, this.backoff(st.failures), this.wakers);
        return;
      }
      case 'error':
        if (error instanceof KubeHttpError && error.code === 410) this.relistGone(st);
        else await this.afterWatchError(st, error);
        return;
      case 'relist': // pendingRelist is set; the loop takes it.
      case 'stopped':
        return;
    }
  }

  private relistGone(st: LoopState): void {
    this.o.counters.relistsGone++;
    this.o.logger.info({ ...this.log, resourceVersion: this.resourceVersion }, 'watch: 410 Gone (resourceVersion too old); relisting');
    this.resourceVersion = undefined;
    st.reason = 'gone';
  }

  /** Reconnects after a backoff; after repeated failures, relists instead (the cache may have missed changes). */
  private async afterWatchError(st: LoopState, error: unknown): Promise<void> {
    const o = this.o;
    o.counters.watchErrors++;
    st.failures++;
    st.resumed = true;
    const wait = this.backoff(st.failures);
    const relisting = st.failures >= (o.relistAfterWatchFailures ?? 5);
    o.logger.warn(
      { ...this.log, error: errorText(error), failures: st.failures, retryInMs: wait, relisting },
      relisting ? 'watch failed repeatedly; relisting after backoff' : 'watch failed; reconnecting after backoff',
    );
    if (relisting) {
      o.counters.relistsError++;
      this.resourceVersion = undefined;
      st.reason = 'error';
      st.failures = 0;
    }
    await sleep(o.clock, wait, this.wakers);
  }

  private armRelistTimer(): void {
    this.cancelRelistTimer();
    const period = this.o.relistPeriodMs;
    if (!period || period <= 0) return;
    const jitter = this.o.relistJitter ?? 0.1;
    const rnd = (this.o.random ?? Math.random)();
    const ms = Math.max(1, Math.round(period * (1 + jitter * (2 * rnd - 1))));
    this.cancelRelistTimer = this.o.clock.setTimer(() => this.relist('periodic'), ms);
  }

  private async listAll(reason: RelistReason): Promise<string> {
    const o = this.o;
    const startedAtMs = o.clock.now();
    const { items, resourceVersion } = await this.listPages();
    o.counters.lists++;
    const next = new Map<string, T>();
    for (const raw of items) {
      const obj = this.project(raw);
      if (obj) next.set(objectKey(obj), obj);
    }
    const previous = this.cache;
    this.cache = next;
    const initial = !this.hasSyncedFlag;
    o.logger.info({ ...this.log, reason, items: next.size, resourceVersion }, initial ? 'listed' : 'relisted');
    for (const ev of listDiff(previous, next, initial)) this.emit(ev);
    if (initial) {
      this.hasSyncedFlag = true;
      this.markSynced();
    }
    try {
      o.onListed?.({ reason, items: next.size, startedAtMs });
    } catch (err) {
      o.logger.error({ ...this.log, error: errorText(err) }, 'onListed handler failed');
    }
    return resourceVersion ?? '';
  }

  /** Every page of one list; all pages share the first page's snapshot (its resourceVersion). */
  private async listPages(): Promise<{ items: unknown[]; resourceVersion: string | undefined }> {
    const o = this.o;
    const items: unknown[] = [];
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const page = await o.transport.list({
        path: o.path,
        ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
        metadataOnly: o.metadataOnly,
        limit: o.pageSize ?? 500,
        ...(continueToken ? { continueToken } : {}),
        signal: this.stopAbort.signal,
      });
      resourceVersion ??= page.resourceVersion;
      items.push(...page.items);
      continueToken = page.continueToken;
    } while (continueToken && !this.stopped);
    return { items, resourceVersion };
  }

  private watchOnce(resumed: boolean): Promise<WatchOutcome> {
    const o = this.o;
    const abort = new AbortController();
    this.watchAbort = abort;
    let outcome: WatchOutcome = 'closed';
    const timeoutSeconds = o.watchTimeoutSeconds ?? Math.round(300 + 300 * (o.random ?? Math.random)());
    const finish = (result: WatchOutcome) => {
      outcome = result;
      abort.abort();
    };
    return o.transport
      .watch(
        {
          path: o.path,
          ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
          metadataOnly: o.metadataOnly,
          resourceVersion: this.resourceVersion ?? '',
          timeoutSeconds,
        },
        {
          onOpen: () => {
            if (resumed) o.counters.watchReconnects++;
            else o.counters.watchConnects++;
            o.logger.info({ ...this.log, resourceVersion: this.resourceVersion, timeoutSeconds }, resumed ? 'watch reconnected' : 'watch connected');
          },
          onEvent: (ev) => {
            if (abort.signal.aborted) return;
            const result = this.handleWatchEvent(ev);
            if (result) finish(result);
          },
        },
        abort.signal,
      )
      .then(() => {
        if (this.stopped) return 'stopped';
        if (outcome === 'closed' && this.pendingRelist) return 'relist';
        return outcome;
      });
  }

  /** Applies one watch event; returns an outcome that ends the watch, if any. */
  private handleWatchEvent(ev: RawWatchEvent): WatchOutcome | undefined {
    const o = this.o;
    if (ev.type === 'ERROR') {
      const status = (ev.object ?? {}) as { code?: number; reason?: string; message?: string };
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return 'gone';
      throw new KubeHttpError(status.code ?? 0, status.reason, `watch ${o.path}: ERROR event: ${status.message ?? status.reason ?? 'unknown'}`);
    }
    const rv = (ev.object as KubeObject | undefined)?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      o.counters.bookmarks++;
      if (rv) this.resourceVersion = rv;
      return undefined;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') {
      o.logger.warn({ ...this.log, type: ev.type }, 'watch: unknown event type ignored');
      return undefined;
    }
    if (rv) this.resourceVersion = rv;
    const obj = this.project(ev.object);
    if (!obj) return undefined;
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      o.counters.deleted++;
      this.cache.delete(key);
      this.emit({ type: 'DELETED', object: obj, ...(old ? { old } : {}), initial: false, via: 'watch' });
      return undefined;
    }
    if (ev.type === 'ADDED') o.counters.added++;
    else o.counters.modified++;
    this.cache.set(key, obj);
    if (old && old.metadata.uid !== obj.metadata.uid) {
      this.emit({ type: 'DELETED', object: old, initial: false, via: 'watch' });
      this.emit({ type: 'ADDED', object: obj, initial: false, via: 'watch' });
      return undefined;
    }
    this.emit({ type: old ? 'MODIFIED' : 'ADDED', object: obj, ...(old ? { old } : {}), initial: false, via: 'watch' });
    return undefined;
  }

  private project(raw: unknown): T | undefined {
    if (typeof raw !== 'object' || raw === null || typeof (raw as KubeObject).metadata !== 'object') return undefined;
    return this.o.project ? this.o.project(raw) : (raw as T);
  }

  private emit(ev: ReflectorEvent<T>): void {
    try {
      this.o.onEvent(ev);
    } catch (err) {
      this.o.logger.error({ ...this.log, type: ev.type, object: objectKey(ev.object), error: errorText(err) }, 'event handler failed');
    }
  }
}

// -------------------------------------------------------------------------------------------------
// The resources the watcher reads, and what is kept of them.

export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

export function clusterProfilePath(namespace?: string): string {
  const base = `/apis/${CLUSTER_PROFILE.group}/${CLUSTER_PROFILE.version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${CLUSTER_PROFILE.plural}` : `${base}/${CLUSTER_PROFILE.plural}`;
}

export function secretPath(namespace?: string): string {
  return namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets` : '/api/v1/secrets';
}

export function sveltosClusterPath(namespace?: string): string {
  const base = `/apis/${SVELTOS_CLUSTER.group}/${SVELTOS_CLUSTER.version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${SVELTOS_CLUSTER.plural}` : `${base}/${SVELTOS_CLUSTER.plural}`;
}

function pick<K extends keyof V1ObjectMeta>(meta: V1ObjectMeta, keys: readonly K[]): Pick<V1ObjectMeta, K> {
  const out: Partial<Pick<V1ObjectMeta, K>> = {};
  for (const k of keys) if (meta[k] !== undefined && meta[k] !== null) out[k] = meta[k];
  return out as Pick<V1ObjectMeta, K>;
}

/** ClusterProfile without managedFields and annotations. */
export function projectClusterProfile(raw: unknown): ClusterProfile | undefined {
  const o = raw as ClusterProfile;
  const metadata = pick(o.metadata, ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'labels', 'deletionTimestamp', 'finalizers'] as const);
  const out: ClusterProfile = { metadata, spec: o.spec ?? { clusterManager: { name: '' } } };
  if (o.status) out.status = o.status;
  return out;
}

/** Identity and resourceVersion only: a change is all the watcher needs to know. */
export function projectSourceSecret(raw: unknown): KubeObject | undefined {
  const o = raw as KubeObject;
  return { metadata: pick(o.metadata, ['name', 'namespace', 'uid', 'resourceVersion'] as const) };
}

/** Labels, owners and managedFields; never annotations. */
export function projectManaged(raw: unknown): ManagedMeta | undefined {
  const o = raw as KubeObject;
  return {
    metadata: pick(o.metadata, [
      'name',
      'namespace',
      'uid',
      'resourceVersion',
      'labels',
      'ownerReferences',
      'managedFields',
      'deletionTimestamp',
    ] as const),
  };
}
