// The objects we write (kubeconfig Secrets, SveltosClusters): metadata-only, label-selected informers. A
// change that is drift (drift.ts) on the object of a known, live ClusterProfile asks it for a resync.
import { FIELD_MANAGER } from '../activities/kube/types.js';
import { claimedOwnerUids, isManagedObjectOf } from '../activities/profile/ownership.js';
import type { ResyncRequest } from '../workflows/api.js';
import type { DecisionCounters, WatcherCounters } from './counters.js';
import type { Pending } from './decide.js';
import type { ManagedKind } from '../activities/kube/types.js';
import { detectDrift } from './drift.js';
import {
  MANAGED_SELECTOR,
  Reflector,
  objectKey,
  projectManaged,
  secretPath,
  sveltosClusterPath,
  type ManagedMeta,
  type ReflectorEvent,
} from './informers.js';
import type { InformerCommon } from './options.js';
import { profileName, type Tracked } from './tracked.js';

export interface ManagedInformerDeps {
  common: InformerCommon;
  scopes: ReadonlyArray<string | undefined>;
  counters: WatcherCounters;
  relistPeriodMs: number;
  profile(uid: string): Tracked | undefined;
  touch(uid: string, pending: Pending): void;
}

/**
 * The live profile an event of a managed object belongs to. An ownerReference is a claim anyone can write:
 * it counts only on the object we would write for that profile (its namespace, its expected name). The
 * previous state counts too: an owner removed is drift.
 */
export function claimingProfile(kind: ManagedKind, ev: ReflectorEvent<ManagedMeta>, profile: (uid: string) => Tracked | undefined): Tracked | undefined {
  const uids = new Set([...claimedOwnerUids(ev.object.metadata), ...claimedOwnerUids(ev.old?.metadata)]);
  return [...uids]
    .map(profile)
    .find((c) => c !== undefined && (isManagedObjectOf(kind, ev.object.metadata, c.ref) || isManagedObjectOf(kind, ev.old?.metadata, c.ref)));
}

export function driftResync(kind: ManagedKind, object: string): ResyncRequest {
  return { reason: kind === 'Secret' ? 'managed-secret-changed' : 'managed-sveltoscluster-changed', object };
}

function countDrift(decisions: DecisionCounters, kind: ManagedKind): void {
  if (kind === 'Secret') decisions.managedSecretDrift++;
  else decisions.managedSveltosClusterDrift++;
}

export class ManagedInformers {
  readonly reflectors: Array<Reflector<ManagedMeta>>;

  constructor(private readonly d: ManagedInformerDeps) {
    this.reflectors = d.scopes.flatMap((ns) => [this.informer('Secret', ns), this.informer('SveltosCluster', ns)]);
  }

  private informer(kind: ManagedKind, ns: string | undefined): Reflector<ManagedMeta> {
    const secret = kind === 'Secret';
    return new Reflector<ManagedMeta>({
      ...this.d.common,
      informer: secret ? 'managed-secrets' : 'managed-sveltosclusters',
      scope: ns ?? '*',
      path: secret ? secretPath(ns) : sveltosClusterPath(ns),
      labelSelector: MANAGED_SELECTOR,
      metadataOnly: true,
      counters: this.d.counters.informers[secret ? 'managed-secrets' : 'managed-sveltosclusters'],
      relistPeriodMs: this.d.relistPeriodMs,
      project: projectManaged,
      onEvent: (ev) => this.onEvent(kind, ev),
    });
  }

  private onEvent(kind: ManagedKind, ev: ReflectorEvent<ManagedMeta>): void {
    if (ev.initial) return;
    const { decisions } = this.d.counters;
    const logger = this.d.common.logger;
    const key = objectKey(ev.object);
    const t = claimingProfile(kind, ev, (uid) => this.d.profile(uid));
    if (!t) {
      decisions.managedOrphanEvents++;
      logger.debug({ kind, object: key, type: ev.type }, 'managed object that is not a known ClusterProfile\'s (namespace, name, owner uid); ignored');
      return;
    }
    // Cleanup deletes them on purpose.
    if (t.gone || t.snapshot.deleting) return;
    const verdict = detectDrift({ kind, type: ev.type, ...(ev.old ? { old: ev.old.metadata } : {}), object: ev.object.metadata, fieldManager: FIELD_MANAGER });
    if (!verdict.drift) {
      decisions.managedNoDrift++;
      logger.debug({ kind, object: key, type: ev.type, why: verdict.why }, 'managed object changed; not drift');
      return;
    }
    countDrift(decisions, kind);
    logger.info({ kind, object: key, profile: profileName(t.ref), why: verdict.why }, 'managed object drift; requesting a resync');
    this.d.touch(t.ref.uid, { profile: false, resync: driftResync(kind, key) });
  }
}
