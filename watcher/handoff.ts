// Leadership handoff. A standby decides nothing, but remembers what the leader of the time acted on unless
// it died first (a resync request, a deletion); on becoming the leader it forgets what it sent in an earlier
// term and runs the restart pass: every profile decided again against a fresh visibility list, the
// remembered resyncs replayed.
import type { ResyncRequest } from '../workflows/api.js';
import type { Clock } from './clock.js';
import type { Pending } from './decide.js';
import type { Leadership } from './leader-election.js';
import type { WatcherLogger } from './log.js';
import type { TrackedProfiles } from './tracked.js';

/**
 * What a standby saw that the leader of the time acted on, unless it died first: a resync request, or
 * a deletion. Kept until another leader is seen renewing this long after it.
 */
export const HANDOFF_MARGIN_MS = 10_000;

/** The leader seen renewing at `othersLastSeenAtMs` has had time to act on what a standby saw at `atMs`. */
export function isHandedOff(atMs: number, othersLastSeenAtMs: number): boolean {
  return othersLastSeenAtMs - HANDOFF_MARGIN_MS >= atMs;
}

export interface HandoffDeps {
  tracked: TrackedProfiles;
  leadership: Leadership;
  clock: Clock;
  logger: WatcherLogger;
  touch(uid: string, pending: Pending): void;
  isStopped(): boolean;
  visibility: { readonly isLoaded: boolean; schedule(delayMs: number): void };
}

export class LeaderHandoff {
  /** uid → what a standby must not forget; profile changes need no memory. */
  private readonly deferred = new Map<string, { resync?: ResyncRequest; atMs: number }>();
  private prunedAtMs = 0;
  private takeoverPending = false;

  constructor(private readonly d: HandoffDeps) {}

  /** A takeover waits for its visibility list. */
  get pending(): boolean {
    return this.takeoverPending;
  }

  get size(): number {
    return this.deferred.size;
  }

  /** A decision not made because this process does not lead. */
  defer(uid: string, pending: Pending): void {
    const t = this.d.tracked.get(uid);
    if (pending.resync || t?.gone) {
      const resync = pending.resync ?? this.deferred.get(uid)?.resync;
      this.deferred.set(uid, { ...(resync ? { resync } : {}), atMs: this.d.clock.now() });
    }
    if (this.d.clock.now() - this.prunedAtMs >= HANDOFF_MARGIN_MS) this.prune();
  }

  /**
   * Became the leader: what this instance sent in an earlier term says nothing about what another leader
   * did since, so every profile is decided again against a fresh visibility list (the restart pass).
   */
  takeOver(): void {
    if (this.d.isStopped()) return;
    for (const t of this.d.tracked.values()) delete t.lastSent;
    this.takeoverPending = true;
    this.d.logger.info({ profiles: this.d.tracked.size, deferred: this.deferred.size }, 'leader: deciding every ClusterProfile against the running workflows');
    if (this.d.visibility.isLoaded) this.d.visibility.schedule(0);
  }

  /** The restart pass after a takeover: every known profile but the orphans, plus the resyncs seen as a standby. */
  replay(orphans: readonly string[]): void {
    this.takeoverPending = false;
    this.prune();
    for (const uid of this.d.tracked.keys()) {
      if (orphans.includes(uid)) continue;
      const resync = this.deferred.get(uid)?.resync;
      this.d.touch(uid, resync ? { profile: true, resync } : { profile: true });
    }
    this.deferred.clear();
  }

  /** Forgets what the leader has had time to act on (it was seen renewing well after). */
  private prune(): void {
    this.prunedAtMs = this.d.clock.now();
    const others = this.d.leadership.othersLastSeenAtMs();
    if (others === undefined) return;
    for (const [uid, d] of this.deferred) {
      if (!isHandedOff(d.atMs, others)) continue;
      this.deferred.delete(uid);
      if (this.d.tracked.get(uid)?.gone) this.d.tracked.delete(uid);
    }
  }
}
