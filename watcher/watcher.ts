// The watcher: informers on ClusterProfiles (all namespaces or a list), metadata-only informers on source
// Secrets and on our managed Secrets and SveltosClusters; per ClusterProfile uid, events are coalesced into
// one decision (decide.ts) and the decided signal is sent to the profile's workflow (dispatch.ts,
// signaler.ts). Among several replicas only the leader of a Lease election (leader-election.ts) sends
// anything: signals are billable and the workflow ID does not dedupe them. Standbys run the same informers,
// so their caches are warm, and decide nothing; when one becomes the leader it runs the restart pass
// against its warm caches, and replays the resync requests (source Secret changes, drift) it saw that the
// previous leader may not have acted on (handoff.ts).
//
// After a (re)start nothing is re-signalled for converged profiles: before the first decision, one
// visibility list query (visibility.ts) reads the ClusterInventoryObservedHash that each running workflow
// reports; a profile whose hash equals it is left alone. The same query runs after every profile relist.
//
// This file wires the parts and runs the lifecycle: start, ready, settled, stop.
import type { ClusterProfile } from '../activities/kube/types.js';
import { systemClock, type Clock } from './clock.js';
import { newWatcherCounters, type WatcherCounters } from './counters.js';
import type { Pending } from './decide.js';
import { SignalDispatch, type TouchOptions } from './dispatch.js';
import { LeaderHandoff } from './handoff.js';
import { ALWAYS_LEADER, type Leadership } from './leader-election.js';
import { jsonLogger, type WatcherLogger } from './log.js';
import { ManagedInformers } from './managed-informers.js';
import { informerCommonOf, settingsOf, signalerOf, transportOf, type WatcherOptions, type WatcherSettings } from './options.js';
import { findOrphans } from './orphans.js';
import { ProfileInformers } from './profile-informers.js';
import { Semaphore } from './semaphore.js';
import type { RunningWorkflow } from './signaler.js';
import { SourceSecretInformers } from './source-informers.js';
import { inspectionOf, newTracked, profileName, type ProfileInspection, type TrackedProfiles } from './tracked.js';
import { WorkflowVisibility } from './visibility.js';

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

export function createWatcher(opts: WatcherOptions): Watcher {
  return new ClusterProfileWatcher(opts);
}

/** createWatcher(opts).start(). */
export function startWatcher(opts: WatcherOptions): RunningWatcher {
  return createWatcher(opts).start();
}

class ClusterProfileWatcher implements Watcher {
  readonly counters = newWatcherCounters();
  readonly ready: Promise<void>;
  private markReady: () => void = () => {};
  private readyFlag = false;
  private started = false;
  private stopped = false;
  private unsubscribeLeadership: () => void = () => {};
  private readonly settings: WatcherSettings;
  private readonly clock: Clock;
  private readonly logger: WatcherLogger;
  private readonly leadership: Leadership;
  private readonly tracked: TrackedProfiles = new Map();
  private readonly dispatch: SignalDispatch;
  private readonly visibility: WorkflowVisibility;
  private readonly handoff: LeaderHandoff;
  private readonly profiles: ProfileInformers;
  private readonly sources: SourceSecretInformers;
  private readonly managed: ManagedInformers;

  constructor(opts: WatcherOptions) {
    this.ready = new Promise<void>((r) => (this.markReady = r));
    const s = (this.settings = settingsOf(opts));
    const clock = (this.clock = opts.clock ?? systemClock);
    const logger = (this.logger = opts.logger ?? jsonLogger());
    const leadership = (this.leadership = opts.leadership ?? ALWAYS_LEADER);
    const { counters, tracked } = this;
    const signaler = signalerOf(opts, s.taskQueue, counters, logger);
    const common = informerCommonOf(opts, transportOf(opts), clock, logger);
    const semaphore = new Semaphore(s.maxConcurrentSignals);
    const isStopped = () => this.stopped;
    const touch = this.touch.bind(this);
    this.visibility = new WorkflowVisibility({
      leadership,
      clock,
      logger,
      retry: s.retry,
      debounceMs: s.debounceMs,
      isStopped,
      list: () => semaphore.run(() => signaler.listRunning()),
      profileCount: () => tracked.size,
      onView: (view, first) => this.onView(view, first),
    });
    this.handoff = new LeaderHandoff({ tracked, leadership, clock, logger, touch, isStopped, visibility: this.visibility });
    this.dispatch = new SignalDispatch({
      tracked,
      signaler,
      semaphore,
      leadership,
      clock,
      logger,
      counters,
      settings: s,
      visibility: this.visibility,
      isStopped,
      defer: (uid, pending) => this.handoff.defer(uid, pending),
      forget: (uid) => this.forget(uid),
    });
    const relistPeriodMs = s.relistPeriodMs;
    this.sources = new SourceSecretInformers({ common, counters: counters.informers['source-secrets'], decisions: counters.decisions, relistPeriodMs, touch, isStopped });
    this.profiles = new ProfileInformers({
      common,
      scopes: s.scopes,
      counters: counters.informers.clusterprofiles,
      relistPeriodMs,
      tracked,
      touch,
      isStopped,
      secretReaderNamespaces: s.secretReaderNamespaces,
      awaitProvidersMs: s.awaitProvidersMs,
      setSourceRefs: (uid, refs) => this.sources.setRefs(uid, refs),
      onRelisted: () => this.visibility.schedule(s.debounceMs),
    });
    this.managed = new ManagedInformers({ common, scopes: s.scopes, counters, relistPeriodMs, touch, profile: (uid) => tracked.get(uid) });
  }

  isReady(): boolean {
    return this.readyFlag;
  }

  start(): RunningWatcher {
    if (this.started) return this;
    this.started = true;
    const { namespaces, taskQueue, relistPeriodMs, debounceMs } = this.settings;
    this.logger.info({ namespaces: namespaces.length ? namespaces : '*', taskQueue, relistPeriodMs, debounceMs }, 'watcher starting');
    for (const r of [...this.profiles.reflectors, ...this.managed.reflectors]) r.start();
    this.sources.start();
    this.unsubscribeLeadership = this.leadership.onChange((leading) => {
      if (leading) this.handoff.takeOver();
    });
    void this.becomeReady();
    return this;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeLeadership();
    this.profiles.stopRelist();
    // Flushes waiting for the first visibility query must not hold up the stop.
    this.visibility.stop();
    await this.dispatch.coalescer.stop();
    await Promise.all(this.reflectors().map((r) => r.stop()));
    this.visibility.wake();
    const { signals, decisions } = this.counters;
    this.logger.info({ counters: { signals, decisions } }, 'watcher stopped');
  }

  async settled(): Promise<void> {
    const { coalescer } = this.dispatch;
    for (;;) {
      await coalescer.idle();
      if (!this.visibility.isIdle() && !this.stopped) await this.visibility.whenIdle();
      if (this.stopped || (coalescer.isIdle() && this.visibility.isIdle())) return;
    }
  }

  cachedProfile(namespace: string, name: string): ClusterProfile | undefined {
    return this.profiles.get(namespace, name);
  }

  inspect(uid: string): ProfileInspection | undefined {
    const t = this.tracked.get(uid);
    return t ? inspectionOf(t, this.sources.secretsOf(uid)) : undefined;
  }

  private reflectors() {
    return [...this.profiles.reflectors, ...this.managed.reflectors, ...this.sources.reflectors];
  }

  private touch(uid: string, pending: Pending, opts?: TouchOptions): void {
    this.dispatch.touch(uid, pending, opts);
  }

  private forget(uid: string): void {
    this.tracked.delete(uid);
    this.sources.setRefs(uid, []);
  }

  private async becomeReady(): Promise<void> {
    await Promise.all([...this.profiles.reflectors, ...this.managed.reflectors].map((r) => r.synced));
    if (this.stopped) return;
    await this.visibility.load();
    await this.visibility.ready;
    if (this.stopped) return;
    await Promise.all(this.sources.reflectors.map((r) => r.synced));
    if (this.stopped) return;
    this.profiles.armRelist();
    this.readyFlag = true;
    const { namespaces, taskQueue } = this.settings;
    this.logger.info(
      { namespaces: namespaces.length ? namespaces : '*', taskQueue, profiles: this.tracked.size, sourceSecretNamespaces: this.sources.namespaces() },
      'watcher ready',
    );
    this.markReady();
  }

  /** After each visibility answer: orphans become gone profiles; then the restart pass or a re-decision of all. */
  private onView(view: Map<string, RunningWorkflow>, first: boolean): void {
    const orphans = this.adoptOrphans(view);
    if (this.handoff.pending && this.leadership.isLeader()) this.handoff.replay(orphans);
    else if (!first) for (const uid of this.tracked.keys()) if (!orphans.includes(uid)) this.touch(uid, { profile: true });
    for (const uid of orphans) this.touch(uid, { profile: true });
  }

  /** Tracks each orphaned workflow (profile deleted while unwatched) as a gone profile; returns their uids. */
  private adoptOrphans(view: Map<string, RunningWorkflow>): string[] {
    const orphans = findOrphans(view, {
      isTracked: (uid) => this.tracked.has(uid),
      listedFromMs: this.profiles.listedFromMs(),
      namespaces: this.settings.namespaces,
    });
    for (const { uid, ref, snapshot, workflow } of orphans) {
      this.tracked.set(uid, newTracked(ref, snapshot, true));
      this.counters.decisions.orphanedWorkflows++;
      this.logger.info(
        { profile: profileName(ref), uid, workflowId: workflow.workflowId, runId: workflow.runId },
        'running workflow without its ClusterProfile (deleted while unwatched); requesting its cleanup',
      );
    }
    return orphans.map((o) => o.uid);
  }
}
