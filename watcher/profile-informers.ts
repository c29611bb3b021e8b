// The ClusterProfile informers (one per watched namespace, or one for all) and what their events change:
// the tracked snapshot, the source Secrets the profile reads, and a decision to make. They relist together
// on the watcher's own timer, so that one visibility query follows one relist of all of them.
import type { ClusterProfile } from '../activities/kube/types.js';
import { profileRef } from '../activities/profile/model.js';
import { carriesProviders, type ProfileSnapshot } from '../workflows/api.js';
import type { InformerCounters } from './counters.js';
import type { Pending } from './decide.js';
import type { TouchOptions } from './dispatch.js';
import { Reflector, clusterProfilePath, objectKey, projectClusterProfile, type ReflectorEvent, type RelistReason } from './informers.js';
import type { WatcherLogger } from './log.js';
import type { InformerCommon } from './options.js';
import { safeSnapshotOf, sourceSecretOf, type SourceSecretRef } from './snapshot.js';
import { newTracked, type TrackedProfiles } from './tracked.js';

export interface ProfileInformerDeps {
  common: InformerCommon;
  scopes: ReadonlyArray<string | undefined>;
  counters: InformerCounters;
  relistPeriodMs: number;
  tracked: TrackedProfiles;
  secretReaderNamespaces: readonly string[];
  /** How long a new profile without access providers waits for them (WatcherOptions.awaitProvidersMs). */
  awaitProvidersMs: number;
  /** Records the source Secrets a profile reads (none: []). */
  setSourceRefs(uid: string, refs: SourceSecretRef[]): void;
  touch(uid: string, pending: Pending, opts?: TouchOptions): void;
  /** After a relist that was not the first list (a periodic one: once all informers relisted). */
  onRelisted(): void;
  isStopped(): boolean;
}

export class ProfileInformers {
  readonly reflectors: Array<Reflector<ClusterProfile>> = [];
  /** When each informer's latest complete list began (orphan detection). */
  private readonly listStartedAtMs = new Map<Reflector<ClusterProfile>, number>();
  private periodicPending = new Set<Reflector<ClusterProfile>>();
  private cancelRelistTimer: () => void = () => {};
  private readonly logger: WatcherLogger;

  constructor(private readonly d: ProfileInformerDeps) {
    this.logger = d.common.logger;
    for (const ns of d.scopes) {
      const r: Reflector<ClusterProfile> = new Reflector<ClusterProfile>({
        ...d.common,
        informer: 'clusterprofiles',
        scope: ns ?? '*',
        path: clusterProfilePath(ns),
        metadataOnly: false,
        counters: d.counters,
        relistPeriodMs: 0,
        project: projectClusterProfile,
        onEvent: (ev) => this.onEvent(ev),
        onListed: ({ reason, startedAtMs }) => {
          this.listStartedAtMs.set(r, startedAtMs);
          this.onListed(r, reason);
        },
      });
      this.reflectors.push(r);
    }
  }

  /** Starts (or restarts) the relist timer. */
  armRelist(): void {
    this.cancelRelistTimer();
    if (this.d.relistPeriodMs <= 0 || this.d.isStopped()) return;
    this.cancelRelistTimer = this.d.common.clock.setTimer(() => {
      this.periodicPending = new Set(this.reflectors);
      for (const r of this.reflectors) r.relist('periodic');
      this.armRelist();
    }, this.d.relistPeriodMs);
  }

  stopRelist(): void {
    this.cancelRelistTimer();
  }

  /** When the latest complete list of every informer began; NaN while one has not listed yet. */
  listedFromMs(): number {
    return Math.min(...this.reflectors.map((r) => this.listStartedAtMs.get(r) ?? Number.NaN));
  }

  /** The ClusterProfile as cached (projected). */
  get(namespace: string, name: string): ClusterProfile | undefined {
    for (const r of this.reflectors) {
      const found = r.get(`${namespace}/${name}`);
      if (found) return found;
    }
    return undefined;
  }

  private onListed(r: Reflector<ClusterProfile>, reason: RelistReason): void {
    if (reason === 'initial') return;
    if (reason === 'periodic' && this.periodicPending.delete(r) && this.periodicPending.size > 0) return;
    this.d.onRelisted();
  }

  private onEvent(ev: ReflectorEvent<ClusterProfile>): void {
    const cp = ev.object;
    const uid = cp.metadata.uid;
    if (!uid) return;
    const { snapshot, error } = safeSnapshotOf(cp);
    if (error !== undefined) {
      this.logger.warn({ profile: objectKey(cp), uid, error }, 'ClusterProfile could not be read in full; its workflow is signalled by resourceVersion and reports the problem');
    }
    if (ev.type === 'DELETED') this.onDeleted(uid, cp, snapshot, ev.via);
    else this.onUpserted(uid, cp, snapshot, ev);
  }

  private onDeleted(uid: string, cp: ClusterProfile, snapshot: ProfileSnapshot, via: ReflectorEvent<ClusterProfile>['via']): void {
    let t = this.d.tracked.get(uid);
    if (!t) {
      t = newTracked(profileRef(cp), snapshot, true);
      this.d.tracked.set(uid, t);
    }
    t.snapshot = { ...snapshot, deleting: true };
    t.gone = true;
    this.d.setSourceRefs(uid, []);
    this.logger.info({ profile: objectKey(cp), uid, via }, 'ClusterProfile deleted');
    this.d.touch(uid, { profile: true });
  }

  private onUpserted(uid: string, cp: ClusterProfile, snapshot: ProfileSnapshot, ev: ReflectorEvent<ClusterProfile>): void {
    const t = this.d.tracked.get(uid);
    if (t?.snapshot.resourceVersion === snapshot.resourceVersion) return;
    const touch = touchOptionsFor(t?.snapshot, snapshot, this.d.awaitProvidersMs);
    if (!t) this.d.tracked.set(uid, newTracked(profileRef(cp), snapshot, false));
    else t.snapshot = snapshot;
    const source = sourceSecretOf(cp, this.d.secretReaderNamespaces);
    if (source.kind === 'refused') {
      this.logger.debug({ profile: objectKey(cp), uid, reason: source.reason }, 'source Secret reference refused (the workflow reports it); not watched');
    }
    this.d.setSourceRefs(uid, source.kind === 'source' ? [source.ref] : []);
    this.logger.debug(
      { profile: objectKey(cp), uid, type: ev.type, via: ev.via, resourceVersion: snapshot.resourceVersion, observedHash: snapshot.observedHash },
      'ClusterProfile event',
    );
    this.d.touch(uid, { profile: true }, touch);
  }
}

/**
 * A ClusterProfile is created without status (a subresource) and gets its access providers by a status
 * update right after: a new one without them waits up to `awaitProvidersMs` for them (signalling earlier
 * costs a workflow start and a second signal for nothing to sync), and their arrival ends the wait at once.
 */
export function touchOptionsFor(before: ProfileSnapshot | undefined, after: ProfileSnapshot, awaitProvidersMs: number): TouchOptions {
  if (after.deleting) return {};
  if (!before) return carriesProviders(after) ? {} : { windowMs: awaitProvidersMs };
  return { now: !carriesProviders(before) && carriesProviders(after) };
}
