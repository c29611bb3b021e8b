// Pure decisions: given what the watcher knows about one ClusterProfile (its latest snapshot, whether it
// is gone, a pending resync) and about its workflow (what it last saw, whether it runs), which signal,
// if any, to send. Plus the per-uid coalescing of events into one decision (time injected).
import type { ProfileSnapshot, ResyncRequest } from '../workflows/api.js';
import type { Clock } from './clock.js';

/** What the last visibility list said about the profile's workflow. */
export interface WorkflowView {
  /** A run of this workflow ID is Running. */
  running: boolean;
  /** Its ClusterInventoryObservedHash search attribute (set at start, upserted after each processed snapshot). */
  observedHash?: string;
  /** Its ClusterInventoryPhase search attribute. */
  phase?: string;
}

/** Phases in which the workflow already knows about the deletion. */
const DELETION_PHASES: ReadonlySet<string> = new Set(['Deleting', 'Deleted']);

export interface DecisionInput {
  /** The latest state seen from the API server; undefined if never seen. */
  snapshot: ProfileSnapshot | undefined;
  /** The object is gone (DELETED event, or missing from a relist). */
  gone: boolean;
  /** A resync asked for by a source Secret or a managed object change, if any. */
  resync?: ResyncRequest;
  /** From the last visibility list; undefined before the first one. */
  workflow: WorkflowView | undefined;
  /** When that list was taken (ms since epoch). */
  workflowViewAtMs: number;
  /** The last profileChanged this watcher instance sent successfully. */
  lastSent?: { hash: string; atMs: number };
  /** This instance already delivered deletionRequested (or learned the workflow is done). */
  deletionSignalled: boolean;
  /**
   * A signal-with-start of this hash was refused because the workflow ID belongs to a closed run
   * that completed (ALLOW_DUPLICATE_FAILED_ONLY): asking again cannot help until the profile changes.
   */
  closedHash?: string;
  /**
   * Visibility is eventually consistent: a workflow this instance started less than this long before the
   * list may be missing from it.
   */
  visibilityGraceMs: number;
}

export type NoneReason =
  | 'unchanged'
  | 'deletion-already-signalled'
  | 'deletion-observed'
  | 'unknown-profile'
  | 'workflow-closed';

export type Decision =
  | { action: 'none'; reason: NoneReason }
  /** signal-with-start profileChanged(snapshot). */
  | { action: 'profileChanged'; snapshot: ProfileSnapshot }
  /** deletionRequested to the running workflow; signal-with-start if there is none. */
  | { action: 'deletionRequested'; snapshot: ProfileSnapshot }
  /** resyncRequested to the running workflow; dropped if there is none. */
  | { action: 'resyncRequested'; request: ResyncRequest };

/**
 * The hash the profile's workflow has (or will have, once it processes our signal): what this instance
 * last sent, else what the workflow reports. When the workflow is absent from the visibility list, our
 * own send counts only if it is recent enough to be missing from the list for indexing lag; otherwise
 * the workflow is gone (terminated, never started) and nothing is known.
 */
export function knownHash(input: Pick<DecisionInput, 'workflow' | 'workflowViewAtMs' | 'lastSent' | 'visibilityGraceMs'>): string | undefined {
  const { workflow, lastSent } = input;
  if (workflow?.running) return lastSent?.hash ?? workflow.observedHash;
  if (lastSent && (workflow === undefined || lastSent.atMs >= input.workflowViewAtMs - input.visibilityGraceMs)) return lastSent.hash;
  return undefined;
}

export function decide(input: DecisionInput): Decision {
  const { snapshot } = input;
  if (!snapshot) return { action: 'none', reason: 'unknown-profile' };

  if (input.gone || snapshot.deleting) {
    if (input.deletionSignalled) return { action: 'none', reason: 'deletion-already-signalled' };
    const deleting = snapshot.deleting ? snapshot : { ...snapshot, deleting: true };
    // The workflow already knows (e.g. it was told before a restart, or saw the deletionTimestamp itself).
    const wf = input.workflow;
    if (wf?.running && ((wf.phase !== undefined && DELETION_PHASES.has(wf.phase)) || (!input.gone && knownHash(input) === snapshot.observedHash))) {
      return { action: 'none', reason: 'deletion-observed' };
    }
    return { action: 'deletionRequested', snapshot: deleting };
  }

  if (knownHash(input) !== snapshot.observedHash) {
    if (input.closedHash === snapshot.observedHash && !input.workflow?.running) return { action: 'none', reason: 'workflow-closed' };
    return { action: 'profileChanged', snapshot };
  }
  // A profileChanged would have made the workflow resync anyway; only an unchanged profile needs one.
  if (input.resync) return { action: 'resyncRequested', request: input.resync };
  return { action: 'none', reason: 'unchanged' };
}

// -------------------------------------------------------------------------------------------------
// Coalescing

/** Why a uid needs a decision; several reasons within one window merge into one decision. */
export interface Pending {
  /** The profile object changed, appeared, disappeared, or a relist asks to re-check it. */
  profile: boolean;
  /** The latest resync request in the window. */
  resync?: ResyncRequest;
}

export function mergePending(a: Pending | undefined, b: Pending): Pending {
  if (!a) return { ...b };
  const merged: Pending = { profile: a.profile || b.profile };
  const resync = b.resync ?? a.resync;
  if (resync) merged.resync = resync;
  return merged;
}

export interface CoalescerStats {
  touches: number;
  /** Touches merged into a decision already pending. */
  coalesced: number;
  flushes: number;
}

/**
 * Per-key debounce: the first touch opens a window of `windowMs`; touches inside it merge; at its end
 * one `flush(key, merged)` runs. Flushes of one key never overlap (a later one waits for the earlier),
 * so signals for one ClusterProfile keep their order. A constant stream of events still flushes once per
 * window (the window is not extended), so nothing starves. A touch with `now` ends its window at once:
 * the change the window was waiting for has come (a new profile got its access providers).
 */
export class Coalescer<K, V> {
  readonly stats: CoalescerStats = { touches: 0, coalesced: 0, flushes: 0 };
  private readonly pending = new Map<K, { value: V; cancel: () => void }>();
  private readonly running = new Map<K, Promise<void>>();
  private readonly idleWaiters: Array<() => void> = [];
  private delayed = 0;
  private stopped = false;

  constructor(
    private readonly opts: {
      windowMs: number;
      clock: Clock;
      merge: (a: V | undefined, b: V) => V;
      /** Must not throw (errors are the caller's to handle); a rejection is swallowed. */
      flush: (key: K, value: V) => Promise<void>;
    },
  ) {}

  /** `windowMs`: the length of a window this touch opens (default the coalescer's). */
  touch(key: K, value: V, opts: { now?: boolean; windowMs?: number } = {}): void {
    if (this.stopped) return;
    this.stats.touches++;
    const open = this.pending.get(key);
    if (open) {
      this.stats.coalesced++;
      open.value = this.opts.merge(open.value, value);
      if (opts.now) {
        open.cancel();
        this.fire(key);
      }
      return;
    }
    const entry = { value: this.opts.merge(undefined, value), cancel: () => {} };
    this.pending.set(key, entry);
    if (opts.now) this.fire(key);
    else entry.cancel = this.opts.clock.setTimer(() => this.fire(key), opts.windowMs ?? this.opts.windowMs);
  }

  /** Touches `key` after `ms` (a retry, a held decision); counts as pending work for idle(). A function is read when the timer fires. */
  touchLater(key: K, value: V | (() => V), ms: number): void {
    if (this.stopped) return;
    this.delayed++;
    this.opts.clock.setTimer(() => {
      this.delayed--;
      this.touch(key, typeof value === 'function' ? (value as () => V)() : value);
      this.checkIdle();
    }, ms);
  }

  /** Number of keys with a decision pending or running. */
  get size(): number {
    return new Set([...this.pending.keys(), ...this.running.keys()]).size;
  }

  isIdle(): boolean {
    return this.pending.size === 0 && this.running.size === 0 && this.delayed === 0;
  }

  /** Resolves once nothing is pending, running or scheduled for retry. */
  idle(): Promise<void> {
    if (this.isIdle() || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops pending work and waits for running flushes. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
    this.delayed = 0;
    await Promise.allSettled([...this.running.values()]);
    this.checkIdle();
  }

  private fire(key: K): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    const before = this.running.get(key) ?? Promise.resolve();
    const run: Promise<void> = before
      .then(async () => {
        if (this.stopped) return;
        this.stats.flushes++;
        await this.opts.flush(key, entry.value);
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.running.get(key) === run) this.running.delete(key);
        this.checkIdle();
      });
    this.running.set(key, run);
  }

  private checkIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

// -------------------------------------------------------------------------------------------------
// Per-profile rate limit of change-triggered syncs

/**
 * At most `burst` change-triggered signals (profileChanged, resyncRequested) per profile at once, then one
 * per `intervalMs`: each costs a sync, and with exec plugins a call to an identity provider that other
 * tenants share. `intervalMs` 0 turns the limit off.
 */
export interface SignalRateLimit {
  burst: number;
  intervalMs: number;
}

export const DEFAULT_SIGNAL_RATE_LIMIT: SignalRateLimit = { burst: 3, intervalMs: 5_000 };

/** A token bucket: `tokens` available at `atMs`. Starts full, so a profile's first signals never wait. */
export interface TokenBucket {
  tokens: number;
  atMs: number;
}

/**
 * Takes a token. Returns the bucket after the take and `waitMs`: 0 when a token was available (and is now
 * spent), otherwise how long until one is (nothing is spent; ask again then).
 */
export function takeToken(bucket: TokenBucket | undefined, limit: SignalRateLimit, nowMs: number): { bucket: TokenBucket; waitMs: number } {
  const burst = Math.max(1, Math.floor(limit.burst));
  if (limit.intervalMs <= 0) return { bucket: { tokens: burst, atMs: nowMs }, waitMs: 0 };
  const elapsed = Math.max(0, nowMs - (bucket?.atMs ?? nowMs));
  const tokens = Math.min(burst, (bucket?.tokens ?? burst) + elapsed / limit.intervalMs);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, atMs: nowMs }, waitMs: 0 };
  return { bucket: { tokens, atMs: nowMs }, waitMs: Math.ceil((1 - tokens) * limit.intervalMs) };
}

/** Decisions the rate limit applies to: they make the workflow sync. Deletion is never delayed. */
export function isRateLimited(decision: Decision): boolean {
  return decision.action === 'profileChanged' || decision.action === 'resyncRequested';
}

/**
 * What the per-profile rate limit does with a change-triggered decision: `merge` it into the re-decision
 * already scheduled; `pass` (a token was free and is now spent: act now); or `hold` it for `waitMs` and
 * then decide again with the latest state (the trailing edge, so the last state is always delivered).
 */
export type HoldPlan = { kind: 'merge' } | { kind: 'pass'; bucket: TokenBucket } | { kind: 'hold'; bucket: TokenBucket; waitMs: number };

export function planHold(state: { held?: { untilMs: number }; bucket?: TokenBucket }, limit: SignalRateLimit, nowMs: number): HoldPlan {
  if (state.held && nowMs < state.held.untilMs) return { kind: 'merge' };
  const { bucket, waitMs } = takeToken(state.bucket, limit, nowMs);
  return waitMs === 0 ? { kind: 'pass', bucket } : { kind: 'hold', bucket, waitMs };
}
