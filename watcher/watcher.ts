// The watcher (docs/behaviour.md, The watcher): informers on ClusterProfiles (all namespaces or a list), metadata-only informers
// on source Secrets and on our managed Secrets and SveltosClusters; per ClusterProfile uid, events are
// coalesced into one decision (decide.ts) and the decided signal is sent to the profile's workflow
// (signaler.ts). Among several replicas only the leader of a Lease election (leader-election.ts) sends
// anything: signals are billable and the workflow ID does not dedupe them. Standbys run the same
// informers, so their caches are warm, and decide nothing; when one becomes the leader it runs the
// restart pass below against its warm caches, and replays the resync requests (source Secret changes,
// drift) it saw that the previous leader may not have acted on.
//
// After a (re)start nothing is re-signalled for converged profiles: before the first decision, one
// visibility list query reads the ClusterInventoryObservedHash that each running workflow reports;
// a profile whose hash equals it is left alone. The same query runs after every profile relist.
import { KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { FIELD_MANAGER, type ClusterProfile, type ManagedKind } from '../activities/kube/types.js';
import { profileRef } from '../activities/profile/model.js';
import { claimedOwnerUids, isManagedObjectOf } from '../activities/profile/ownership.js';
import {
  DEFAULT_TASK_QUEUE,
  parseWorkflowId,
  type ProfileRef,
  type ProfileSnapshot,
  type ResyncRequest,
} from '../workflows/api.js';
import { backoffMs, systemClock, type Clock } from './clock.js';
import { newWatcherCounters, type WatcherCounters } from './counters.js';
import {
  Coalescer,
  DEFAULT_SIGNAL_RATE_LIMIT,
  decide,
  isRateLimited,
  mergePending,
  takeToken,
  type Decision,
  type Pending,
  type SignalRateLimit,
  type TokenBucket,
} from './decide.js';
import { detectDrift } from './drift.js';
import {
  MANAGED_SELECTOR,
  Reflector,
  clusterProfilePath,
  objectKey,
  projectClusterProfile,
  projectManaged,
  projectSourceSecret,
  secretPath,
  sveltosClusterPath,
  type KubeObject,
  type ManagedMeta,
  type ReflectorEvent,
  type RelistReason,
} from './informers.js';
import { kubeTransport, type ListWatchTransport } from './kube-transport.js';
import { ALWAYS_LEADER, type Leadership } from './leader-election.js';
import { errorText, jsonLogger, type WatcherLogger } from './log.js';
import { temporalSignaler, type RunningWorkflow, type WorkflowSignaler } from './signaler.js';
import { safeSnapshotOf, sourceSecretOf } from './snapshot.js';
import { SourceSecretIndex } from './source-index.js';

export interface WatcherOptions {
  /** Kubernetes access: a KubeConfig, or a kubeconfig file; default: KUBECONFIG / in-cluster. */
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  /** Temporal client (required unless `signaler` is given). */
  client?: Client;
  taskQueue?: string;
  /** ClusterProfile namespaces to watch; empty or absent: all. */
  namespaces?: readonly string[];
  /**
   * Namespaces, besides a profile's own, whose source Secrets are watched (`--secret-reader-namespaces`
   * of the worker: Secrets the worker would refuse are not watched). Default `['*']`: any.
   */
  secretReaderNamespaces?: readonly string[];
  /** Passed to workflows started by the watcher (tests set it small). */
  maxCyclesPerRun?: number;
  /** Safety-net relist period of every informer (default 5 min; 0 disables). */
  relistPeriodMs?: number;
  /**
   * Events for one ClusterProfile within this window make one decision (default 100 ms: a new cluster is
   * usable within a second; a profile created without access providers costs nothing extra, its workflow
   * waits for them).
   */
  debounceMs?: number;
  /**
   * Change-triggered signals (profileChanged, resyncRequested) per profile: `burst` at once, then one per
   * `intervalMs`; what arrives meanwhile is held and the latest state delivered when a token is free.
   * Deletion is never held. Default 3 per 5 s; intervalMs 0 disables.
   */
  signalRateLimit?: SignalRateLimit;
  /** How long a workflow this watcher started may be missing from visibility (indexing lag; default 60 s). */
  visibilityGraceMs?: number;
  /** Temporal calls in flight at most (default 8). */
  maxConcurrentSignals?: number;
  /** Backoff of failed Temporal calls (per profile) and of failed visibility queries. */
  retryBackoff?: { initialMs: number; maxMs: number };
  /** Backoff of failed lists/watches. */
  informerBackoff?: { initialMs: number; maxMs: number };
  /** Server-side watch timeout (default 5–10 min, random). */
  watchTimeoutSeconds?: number;
  logger?: WatcherLogger;
  /** Only the leader signals (default: always the leader, for a single replica). */
  leadership?: Leadership;
  /** Test seams. */
  clock?: Clock;
  transport?: ListWatchTransport;
  signaler?: WorkflowSignaler;
}

/** What the watcher currently holds about one ClusterProfile (a copy). */
export interface ProfileInspection {
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  gone: boolean;
  lastSentHash?: string;
  deletionSignalled: boolean;
  sourceSecrets: string[];
}

export interface RunningWatcher {
  /** Resolves when every informer has listed once and the first visibility query answered. */
  ready: Promise<void>;
  isReady(): boolean;
  stop(): Promise<void>;
  counters: WatcherCounters;
  /** Resolves when no decision is pending, running or waiting for a retry, and no visibility query is due. */
  settled(): Promise<void>;
  inspect(uid: string): ProfileInspection | undefined;
  /** The ClusterProfile as the informer holds it (projected: no managedFields or annotations). */
  cachedProfile(namespace: string, name: string): ClusterProfile | undefined;
}

export interface Watcher extends RunningWatcher {
  start(): RunningWatcher;
}

interface Tracked {
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  gone: boolean;
  lastSent?: { hash: string; atMs: number };
  deletionSignalled: boolean;
  /** A profileChanged of this hash was refused: the workflow ID belongs to a completed run. */
  closedHash?: string;
  failures: number;
  /** Change-triggered signals left for this profile (rate limit). */
  bucket?: TokenBucket;
  /** Held by the rate limit: re-decided (with the then latest state) at `untilMs`, merged with what arrives meanwhile. */
  held?: { pending: Pending; untilMs: number };
}

/** A signal refused because this process stopped leading between the decision and the call. */
class NotLeaderError extends Error {
  override name = 'NotLeaderError';
}

/**
 * What a standby saw that the leader of the time acted on, unless it died first: a resync request, or
 * a deletion. Kept until another leader is seen renewing this long after it.
 */
const HANDOFF_MARGIN_MS = 10_000;

/** Limits concurrent async work. */
class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

export function createWatcher(opts: WatcherOptions): Watcher {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? jsonLogger();
  const counters = newWatcherCounters();
  const taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const namespaces = [...new Set(opts.namespaces ?? [])].filter(Boolean);
  const scopes: Array<string | undefined> = namespaces.length ? namespaces : [undefined];
  const secretReaderNamespaces = opts.secretReaderNamespaces ?? ['*'];
  const relistPeriodMs = opts.relistPeriodMs ?? 5 * 60_000;
  const debounceMs = opts.debounceMs ?? 100;
  const visibilityGraceMs = opts.visibilityGraceMs ?? 60_000;
  const signalRateLimit = opts.signalRateLimit ?? DEFAULT_SIGNAL_RATE_LIMIT;
  const retry = opts.retryBackoff ?? { initialMs: 1000, maxMs: 60_000 };
  const semaphore = new Semaphore(Math.max(1, opts.maxConcurrentSignals ?? 8));
  const leadership = opts.leadership ?? ALWAYS_LEADER;

  let signaler: WorkflowSignaler;
  if (opts.signaler) signaler = opts.signaler;
  else if (opts.client) {
    signaler = temporalSignaler({
      client: opts.client,
      taskQueue,
      counters: counters.signals,
      logger,
      ...(opts.maxCyclesPerRun !== undefined ? { maxCyclesPerRun: opts.maxCyclesPerRun } : {}),
    });
  } else throw new Error('createWatcher: a Temporal client (or a signaler) is required');

  let transport = opts.transport;
  if (!transport) {
    let kc = opts.kubeConfig;
    if (!kc) {
      kc = new KubeConfig();
      if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
      else kc.loadFromDefault();
    }
    transport = kubeTransport(kc);
  }

  const tracked = new Map<string, Tracked>();
  const sourceIndex = new SourceSecretIndex();
  let running = new Map<string, RunningWorkflow>();
  let viewAtMs = 0;
  let visibilityLoaded = false;
  let markVisibilityReady: () => void = () => {};
  const visibilityReady = new Promise<void>((r) => (markVisibilityReady = r));
  let readyFlag = false;
  let started = false;
  let stopped = false;

  // ---- decisions ------------------------------------------------------------------------------------

  const coalescer = new Coalescer<string, Pending>({
    windowMs: debounceMs,
    clock,
    merge: mergePending,
    flush: (uid, pending) => flush(uid, pending),
  });

  function touch(uid: string, pending: Pending): void {
    const before = coalescer.stats.coalesced;
    coalescer.touch(uid, pending);
    counters.decisions.coalesced += coalescer.stats.coalesced - before;
  }

  async function flush(uid: string, pending: Pending): Promise<void> {
    if (!leadership.isLeader()) return defer(uid, pending);
    await visibilityReady;
    if (stopped) return;
    const t = tracked.get(uid);
    if (!t) return;
    if (!leadership.isLeader()) return defer(uid, pending);
    counters.decisions.evaluations++;
    const decision = decide({
      snapshot: t.snapshot,
      gone: t.gone,
      ...(pending.resync ? { resync: pending.resync } : {}),
      workflow: visibilityLoaded ? (running.get(uid) ?? { running: false }) : undefined,
      workflowViewAtMs: viewAtMs,
      ...(t.lastSent ? { lastSent: t.lastSent } : {}),
      deletionSignalled: t.deletionSignalled,
      ...(t.closedHash !== undefined ? { closedHash: t.closedHash } : {}),
      visibilityGraceMs,
    });
    if (isRateLimited(decision) && holdForRateLimit(uid, t, pending)) return;
    try {
      await act(t, decision);
      t.failures = 0;
    } catch (err) {
      if (err instanceof NotLeaderError) return defer(uid, pending);
      t.failures++;
      counters.signals.errors++;
      const wait = backoffMs(t.failures, retry.initialMs, retry.maxMs);
      logger.warn(
        { profile: `${t.ref.namespace}/${t.ref.name}`, uid, action: decision.action, error: errorText(err), failures: t.failures, retryInMs: wait },
        'signal failed; retrying',
      );
      coalescer.touchLater(uid, pending, wait);
      return;
    }
    if (t.gone && (t.deletionSignalled || decision.action === 'none')) {
      tracked.delete(uid);
      sourceIndexSet(uid, []);
    }
  }

  /**
   * True when the rate limit holds this decision: it is re-made, with the latest snapshot and every resync
   * that arrived meanwhile, once a token is free (the trailing edge), so the last state is always delivered.
   */
  function holdForRateLimit(uid: string, t: Tracked, pending: Pending): boolean {
    const nowMs = clock.now();
    if (t.held && nowMs < t.held.untilMs) {
      // A re-decision is already scheduled: it reads t.held when it fires.
      t.held.pending = mergePending(t.held.pending, pending);
      counters.decisions.rateLimited++;
      return true;
    }
    const { bucket, waitMs } = takeToken(t.bucket, signalRateLimit, nowMs);
    t.bucket = bucket;
    if (waitMs === 0) {
      delete t.held;
      return false;
    }
    const held = { pending: mergePending(t.held?.pending, pending), untilMs: nowMs + waitMs };
    t.held = held;
    counters.decisions.rateLimited++;
    logger.debug({ profile: `${t.ref.namespace}/${t.ref.name}`, uid, retryInMs: waitMs }, 'change-triggered signal held by the per-profile rate limit');
    // Read when it fires: everything merged into the hold meanwhile (resync requests included).
    coalescer.touchLater(uid, () => held.pending, waitMs);
    return true;
  }

  /** A Temporal call, made only while this process leads (checked right before it, after any wait). */
  function asLeader<T>(call: () => Promise<T>): Promise<T> {
    return semaphore.run(() => (leadership.isLeader() ? call() : Promise.reject(new NotLeaderError())));
  }

  // ---- standby --------------------------------------------------------------------------------------

  /** uid → what a standby must not forget (see HANDOFF_MARGIN_MS); profile changes need no memory. */
  const deferred = new Map<string, { resync?: ResyncRequest; atMs: number }>();
  let prunedAtMs = 0;
  let takeoverPending = false;

  function defer(uid: string, pending: Pending): void {
    const t = tracked.get(uid);
    if (pending.resync || t?.gone) {
      const resync = pending.resync ?? deferred.get(uid)?.resync;
      deferred.set(uid, { ...(resync ? { resync } : {}), atMs: clock.now() });
    }
    if (clock.now() - prunedAtMs >= HANDOFF_MARGIN_MS) pruneDeferred();
  }

  /** Forgets what the leader has had time to act on (it was seen renewing well after). */
  function pruneDeferred(): void {
    prunedAtMs = clock.now();
    const others = leadership.othersLastSeenAtMs();
    if (others === undefined) return;
    for (const [uid, d] of deferred) {
      if (others - HANDOFF_MARGIN_MS < d.atMs) continue;
      deferred.delete(uid);
      if (tracked.get(uid)?.gone) tracked.delete(uid);
    }
  }

  /**
   * Became the leader: what this instance sent in an earlier term says nothing about what another leader
   * did since, so every profile is decided again against a fresh visibility list (the restart pass).
   */
  function takeOver(): void {
    if (stopped) return;
    for (const t of tracked.values()) delete t.lastSent;
    takeoverPending = true;
    logger.info({ profiles: tracked.size, deferred: deferred.size }, 'leader: deciding every ClusterProfile against the running workflows');
    if (visibilityLoaded) scheduleVisibility(0);
  }

  /** The restart pass after a takeover: every known profile, plus the resyncs seen as a standby. */
  function replayAfterTakeover(orphans: string[]): void {
    takeoverPending = false;
    pruneDeferred();
    for (const uid of tracked.keys()) {
      if (orphans.includes(uid)) continue;
      const resync = deferred.get(uid)?.resync;
      touch(uid, resync ? { profile: true, resync } : { profile: true });
    }
    deferred.clear();
  }

  async function act(t: Tracked, decision: Decision): Promise<void> {
    const profile = `${t.ref.namespace}/${t.ref.name}`;
    switch (decision.action) {
      case 'none':
        if (decision.reason !== 'unknown-profile') counters.decisions.dedupHits++;
        logger.debug({ profile, uid: t.ref.uid, reason: decision.reason, resourceVersion: t.snapshot.resourceVersion }, 'no signal needed');
        return;
      case 'profileChanged': {
        const snapshot = decision.snapshot;
        const outcome = await asLeader(() => signaler.profileChanged(t.ref, snapshot));
        if (outcome === 'already-done') {
          t.closedHash = snapshot.observedHash;
          delete t.lastSent;
        } else {
          t.lastSent = { hash: snapshot.observedHash, atMs: clock.now() };
          delete t.closedHash;
        }
        return;
      }
      case 'deletionRequested': {
        const snapshot = decision.snapshot;
        await asLeader(() => signaler.deletionRequested(t.ref, snapshot));
        t.deletionSignalled = true;
        return;
      }
      case 'resyncRequested': {
        const request = decision.request;
        await asLeader(() => signaler.resyncRequested(t.ref, request));
        return;
      }
    }
  }

  // ---- visibility -----------------------------------------------------------------------------------

  let visibilityFailures = 0;
  let visibilityBusy = false;
  let visibilityAgain = false;
  let cancelVisibilityTimer: (() => void) | undefined;
  const visibilityWaiters: Array<() => void> = [];

  function visibilityIdle(): boolean {
    return !visibilityBusy && !cancelVisibilityTimer;
  }

  function wakeVisibilityWaiters(): void {
    if (!visibilityIdle()) return;
    for (const w of visibilityWaiters.splice(0)) w();
  }

  /** One visibility list query, then every known profile is decided again against it. */
  function scheduleVisibility(delayMs: number): void {
    // A standby decides nothing: its first list (readiness) is enough until it leads.
    if (stopped || (visibilityLoaded && !leadership.isLeader())) return;
    if (visibilityBusy) {
      visibilityAgain = true;
      return;
    }
    if (cancelVisibilityTimer) return;
    cancelVisibilityTimer = clock.setTimer(() => {
      cancelVisibilityTimer = undefined;
      void loadVisibility();
    }, delayMs);
  }

  /**
   * Running workflows whose ClusterProfile is gone although no deletion was ever seen (force-deleted, its
   * finalizer stripped, while no watcher ran): a workflow that started before the latest complete profile
   * list began, for a uid missing from that list, in a namespace this watcher lists. Each becomes a gone
   * profile, so that the normal decision tells it deletionRequested; the workflow checks with the API
   * server before deleting anything. Returns their uids.
   */
  function findOrphans(view: Map<string, RunningWorkflow>): string[] {
    const listedFrom = Math.min(...profileInformers.map((r) => profileListStartedAtMs.get(r) ?? Number.NaN));
    if (!Number.isFinite(listedFrom)) return [];
    const found: string[] = [];
    for (const [uid, wf] of view) {
      if (tracked.has(uid) || wf.startedAtMs === undefined || wf.startedAtMs >= listedFrom) continue;
      // Already cleaning up: nothing to tell.
      if (wf.phase === 'Deleting' || wf.phase === 'Deleted') continue;
      const ref = parseWorkflowId(wf.workflowId);
      if (!ref || ref.uid !== uid || (namespaces.length > 0 && !namespaces.includes(ref.namespace))) continue;
      const snapshot: ProfileSnapshot = { resourceVersion: '', generation: 0, observedHash: wf.observedHash ?? '', providerCount: 0, deleting: true };
      tracked.set(uid, { ref, snapshot, gone: true, deletionSignalled: false, failures: 0 });
      counters.decisions.orphanedWorkflows++;
      logger.info(
        { profile: `${ref.namespace}/${ref.name}`, uid, workflowId: wf.workflowId, runId: wf.runId },
        'running workflow without its ClusterProfile (deleted while unwatched); requesting its cleanup',
      );
      found.push(uid);
    }
    return found;
  }

  async function loadVisibility(): Promise<void> {
    if (stopped) return;
    visibilityBusy = true;
    // What the list shows is at least as new as its start: signals sent after that may be missing from it.
    const queriedAtMs = clock.now();
    try {
      const next = await semaphore.run(() => signaler.listRunning());
      running = next;
      viewAtMs = queriedAtMs;
      visibilityFailures = 0;
      const first = !visibilityLoaded;
      visibilityLoaded = true;
      logger.info({ running: next.size, profiles: tracked.size }, first ? 'loaded running workflows' : 'reloaded running workflows');
      const orphans = findOrphans(next);
      if (first) markVisibilityReady();
      if (takeoverPending && leadership.isLeader()) replayAfterTakeover(orphans);
      else if (!first) for (const uid of tracked.keys()) if (!orphans.includes(uid)) touch(uid, { profile: true });
      for (const uid of orphans) touch(uid, { profile: true });
    } catch (err) {
      visibilityFailures++;
      const wait = backoffMs(visibilityFailures, retry.initialMs, retry.maxMs);
      logger.warn({ error: errorText(err), failures: visibilityFailures, retryInMs: wait }, 'visibility query failed; retrying');
      visibilityAgain = false;
      visibilityBusy = false;
      scheduleVisibility(wait);
      return;
    }
    visibilityBusy = false;
    if (visibilityAgain) {
      visibilityAgain = false;
      scheduleVisibility(debounceMs);
    }
    wakeVisibilityWaiters();
  }

  // ---- informers ------------------------------------------------------------------------------------

  const informerCommon = {
    transport,
    clock,
    logger,
    ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
    ...(opts.informerBackoff ? { backoff: opts.informerBackoff } : {}),
  };

  // Profile informers relist together on the watcher's own timer, so that one visibility query follows
  // one relist of all of them.
  const profileInformers: Array<Reflector<ClusterProfile>> = [];
  /** When each profile informer's latest complete list began (orphan detection). */
  const profileListStartedAtMs = new Map<Reflector<ClusterProfile>, number>();
  for (const ns of scopes) {
    const r: Reflector<ClusterProfile> = new Reflector<ClusterProfile>({
      ...informerCommon,
      informer: 'clusterprofiles',
      scope: ns ?? '*',
      path: clusterProfilePath(ns),
      metadataOnly: false,
      counters: counters.informers.clusterprofiles,
      relistPeriodMs: 0,
      project: projectClusterProfile,
      onEvent: onProfileEvent,
      onListed: ({ reason, startedAtMs }) => {
        profileListStartedAtMs.set(r, startedAtMs);
        onProfilesListed(r, reason);
      },
    });
    profileInformers.push(r);
  }
  let periodicPending = new Set<Reflector<ClusterProfile>>();
  let cancelProfileRelistTimer: () => void = () => {};

  function armProfileRelist(): void {
    cancelProfileRelistTimer();
    if (relistPeriodMs <= 0 || stopped) return;
    cancelProfileRelistTimer = clock.setTimer(() => {
      periodicPending = new Set(profileInformers);
      for (const r of profileInformers) r.relist('periodic');
      armProfileRelist();
    }, relistPeriodMs);
  }

  function onProfilesListed(r: Reflector<ClusterProfile>, reason: RelistReason): void {
    if (reason === 'initial') return;
    if (reason === 'periodic' && periodicPending.delete(r) && periodicPending.size > 0) return;
    scheduleVisibility(debounceMs);
  }

  function onProfileEvent(ev: ReflectorEvent<ClusterProfile>): void {
    const cp = ev.object;
    const uid = cp.metadata.uid;
    if (!uid) return;
    const { snapshot, error } = safeSnapshotOf(cp);
    if (error !== undefined) {
      logger.warn({ profile: objectKey(cp), uid, error }, 'ClusterProfile could not be read in full; its workflow is signalled by resourceVersion and reports the problem');
    }
    let t = tracked.get(uid);
    if (ev.type === 'DELETED') {
      if (!t) {
        t = { ref: profileRef(cp), snapshot, gone: true, deletionSignalled: false, failures: 0 };
        tracked.set(uid, t);
      }
      t.snapshot = { ...snapshot, deleting: true };
      t.gone = true;
      sourceIndexSet(uid, []);
      logger.info({ profile: objectKey(cp), uid, via: ev.via }, 'ClusterProfile deleted');
      touch(uid, { profile: true });
      return;
    }
    if (!t) {
      t = { ref: profileRef(cp), snapshot, gone: false, deletionSignalled: false, failures: 0 };
      tracked.set(uid, t);
    } else {
      if (t.snapshot.resourceVersion === snapshot.resourceVersion) return;
      t.snapshot = snapshot;
    }
    const source = sourceSecretOf(cp, secretReaderNamespaces);
    if (source.kind === 'refused') {
      logger.debug({ profile: objectKey(cp), uid, reason: source.reason }, 'source Secret reference refused (the workflow reports it); not watched');
    }
    sourceIndexSet(uid, source.kind === 'source' ? [source.ref] : []);
    logger.debug(
      { profile: objectKey(cp), uid, type: ev.type, via: ev.via, resourceVersion: snapshot.resourceVersion, observedHash: snapshot.observedHash },
      'ClusterProfile event',
    );
    touch(uid, { profile: true });
  }

  // Source Secrets: one metadata-only informer per namespace that holds a referenced Secret.
  const sourceInformers = new Map<string, Reflector<KubeObject>>();

  function sourceIndexSet(uid: string, refs: Parameters<SourceSecretIndex['set']>[1]): void {
    const change = sourceIndex.set(uid, refs);
    for (const ns of change.addedNamespaces) startSourceInformer(ns);
    for (const ns of change.removedNamespaces) {
      const r = sourceInformers.get(ns);
      sourceInformers.delete(ns);
      if (r) {
        logger.info({ informer: 'source-secrets', scope: ns }, 'no source Secret referenced in this namespace any more; stopping its informer');
        void r.stop();
      }
    }
  }

  function startSourceInformer(ns: string): void {
    if (sourceInformers.has(ns) || stopped) return;
    const r = new Reflector<KubeObject>({
      ...informerCommon,
      informer: 'source-secrets',
      scope: ns,
      path: secretPath(ns),
      metadataOnly: true,
      counters: counters.informers['source-secrets'],
      relistPeriodMs,
      project: projectSourceSecret,
      onEvent: onSourceSecretEvent,
    });
    sourceInformers.set(ns, r);
    if (started) r.start();
  }

  function onSourceSecretEvent(ev: ReflectorEvent<KubeObject>): void {
    if (ev.initial) return;
    if (ev.type === 'MODIFIED' && ev.old?.metadata.resourceVersion === ev.object.metadata.resourceVersion) return;
    const key = objectKey(ev.object);
    const users = sourceIndex.profilesUsing(key);
    if (users.length === 0) return;
    const request: ResyncRequest = { reason: 'source-secret-changed', object: key };
    logger.info({ secret: key, type: ev.type, profiles: users.length }, 'source Secret changed');
    for (const uid of users) {
      counters.decisions.sourceSecretChanges++;
      touch(uid, { profile: false, resync: request });
    }
  }

  // Managed objects: metadata-only, label-selected.
  const managedInformers = scopes.flatMap((ns) => [
    new Reflector<ManagedMeta>({
      ...informerCommon,
      informer: 'managed-secrets',
      scope: ns ?? '*',
      path: secretPath(ns),
      labelSelector: MANAGED_SELECTOR,
      metadataOnly: true,
      counters: counters.informers['managed-secrets'],
      relistPeriodMs,
      project: projectManaged,
      onEvent: (ev) => onManagedEvent('Secret', ev),
    }),
    new Reflector<ManagedMeta>({
      ...informerCommon,
      informer: 'managed-sveltosclusters',
      scope: ns ?? '*',
      path: sveltosClusterPath(ns),
      labelSelector: MANAGED_SELECTOR,
      metadataOnly: true,
      counters: counters.informers['managed-sveltosclusters'],
      relistPeriodMs,
      project: projectManaged,
      onEvent: (ev) => onManagedEvent('SveltosCluster', ev),
    }),
  ]);

  function onManagedEvent(kind: ManagedKind, ev: ReflectorEvent<ManagedMeta>): void {
    if (ev.initial) return;
    const key = objectKey(ev.object);
    // An ownerReference is a claim anyone can write: it counts only on the object we would write for that
    // profile (its namespace, its expected name). The previous state counts too: an owner removed is drift.
    const t = [...new Set([...claimedOwnerUids(ev.object.metadata), ...claimedOwnerUids(ev.old?.metadata)])]
      .map((uid) => tracked.get(uid))
      .find((c) => c !== undefined && (isManagedObjectOf(kind, ev.object.metadata, c.ref) || isManagedObjectOf(kind, ev.old?.metadata, c.ref)));
    if (!t) {
      counters.decisions.managedOrphanEvents++;
      logger.debug({ kind, object: key, type: ev.type }, 'managed object that is not a known ClusterProfile\'s (namespace, name, owner uid); ignored');
      return;
    }
    const uid = t.ref.uid;
    // Cleanup deletes them on purpose.
    if (t.gone || t.snapshot.deleting) return;
    const verdict = detectDrift({
      kind,
      type: ev.type,
      ...(ev.old ? { old: ev.old.metadata } : {}),
      object: ev.object.metadata,
      fieldManager: FIELD_MANAGER,
    });
    if (!verdict.drift) {
      counters.decisions.managedNoDrift++;
      logger.debug({ kind, object: key, type: ev.type, why: verdict.why }, 'managed object changed; not drift');
      return;
    }
    if (kind === 'Secret') counters.decisions.managedSecretDrift++;
    else counters.decisions.managedSveltosClusterDrift++;
    logger.info({ kind, object: key, profile: `${t.ref.namespace}/${t.ref.name}`, why: verdict.why }, 'managed object drift; requesting a resync');
    touch(uid, {
      profile: false,
      resync: { reason: kind === 'Secret' ? 'managed-secret-changed' : 'managed-sveltoscluster-changed', object: key },
    });
  }

  // ---- lifecycle ------------------------------------------------------------------------------------

  let markReady: () => void = () => {};
  let unsubscribeLeadership: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));

  async function becomeReady(): Promise<void> {
    await Promise.all([...profileInformers, ...managedInformers].map((r) => r.synced));
    if (stopped) return;
    await loadVisibility();
    await visibilityReady;
    if (stopped) return;
    await Promise.all([...sourceInformers.values()].map((r) => r.synced));
    if (stopped) return;
    armProfileRelist();
    readyFlag = true;
    logger.info(
      { namespaces: namespaces.length ? namespaces : '*', taskQueue, profiles: tracked.size, sourceSecretNamespaces: sourceIndex.namespaces() },
      'watcher ready',
    );
    markReady();
  }

  const watcher: Watcher = {
    ready,
    counters,
    isReady: () => readyFlag,
    start() {
      if (started) return watcher;
      started = true;
      logger.info({ namespaces: namespaces.length ? namespaces : '*', taskQueue, relistPeriodMs, debounceMs }, 'watcher starting');
      for (const r of [...profileInformers, ...managedInformers, ...sourceInformers.values()]) r.start();
      unsubscribeLeadership = leadership.onChange((leading) => {
        if (leading) takeOver();
      });
      void becomeReady();
      return watcher;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribeLeadership();
      cancelProfileRelistTimer();
      cancelVisibilityTimer?.();
      cancelVisibilityTimer = undefined;
      // Flushes waiting for the first visibility query must not hold up the stop.
      markVisibilityReady();
      await coalescer.stop();
      await Promise.all([...profileInformers, ...managedInformers, ...sourceInformers.values()].map((r) => r.stop()));
      wakeVisibilityWaiters();
      logger.info({ counters: { signals: counters.signals, decisions: counters.decisions } }, 'watcher stopped');
    },
    async settled() {
      for (;;) {
        await coalescer.idle();
        if (!visibilityIdle() && !stopped) await new Promise<void>((r) => visibilityWaiters.push(r));
        if (stopped || (coalescer.isIdle() && visibilityIdle())) return;
      }
    },
    cachedProfile(namespace, name) {
      for (const r of profileInformers) {
        const found = r.get(`${namespace}/${name}`);
        if (found) return found;
      }
      return undefined;
    },
    inspect(uid) {
      const t = tracked.get(uid);
      if (!t) return undefined;
      return {
        ref: { ...t.ref },
        snapshot: { ...t.snapshot },
        gone: t.gone,
        ...(t.lastSent ? { lastSentHash: t.lastSent.hash } : {}),
        deletionSignalled: t.deletionSignalled,
        sourceSecrets: sourceIndex.secretsOf(uid),
      };
    },
  };
  return watcher;
}

/** createWatcher(opts).start(). */
export function startWatcher(opts: WatcherOptions): RunningWatcher {
  return createWatcher(opts).start();
}
