// Decisions into signals. Per ClusterProfile uid, events coalesce into one decision (decide.ts) against the
// tracked state and the visibility view; a change-triggered signal may be held by the per-profile rate
// limit; the decided signal goes to the profile's workflow only while this process leads (signals are
// billable and the workflow ID does not dedupe them). A failed call is retried with backoff.
import { backoffMs, type Clock } from './clock.js';
import type { WatcherCounters } from './counters.js';
import { Coalescer, decide, isRateLimited, mergePending, planHold, type Decision, type Pending, type WorkflowView } from './decide.js';
import type { Leadership } from './leader-election.js';
import { errorText, type WatcherLogger } from './log.js';
import type { WatcherSettings } from './options.js';
import type { Semaphore } from './semaphore.js';
import type { WorkflowSignaler } from './signaler.js';
import { decisionInputOf, isFinished, profileName, recordProfileChanged, type Tracked, type TrackedProfiles } from './tracked.js';

/** A signal refused because this process stopped leading between the decision and the call. */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
}

export interface DispatchDeps {
  tracked: TrackedProfiles;
  signaler: WorkflowSignaler;
  semaphore: Semaphore;
  leadership: Leadership;
  clock: Clock;
  logger: WatcherLogger;
  counters: WatcherCounters;
  settings: Pick<WatcherSettings, 'debounceMs' | 'visibilityGraceMs' | 'signalRateLimit' | 'retry'>;
  visibility: { readonly ready: Promise<void>; readonly viewAtMs: number; workflowOf(uid: string): WorkflowView | undefined };
  /** A decision not made because this process does not lead. */
  defer(uid: string, pending: Pending): void;
  /** The profile is done with: no more events are expected for it. */
  forget(uid: string): void;
  isStopped(): boolean;
}

/** `now`: the change the window waited for has come; `windowMs`: the window this touch opens, if it opens one. */
export interface TouchOptions {
  now?: boolean;
  windowMs?: number;
}

export class SignalDispatch {
  readonly coalescer: Coalescer<string, Pending>;

  constructor(private readonly d: DispatchDeps) {
    this.coalescer = new Coalescer<string, Pending>({
      windowMs: d.settings.debounceMs,
      clock: d.clock,
      merge: mergePending,
      flush: (uid, pending) => this.flush(uid, pending),
    });
  }

  /** Something about `uid` changed: decide within the debounce window (`now`: at once). */
  touch(uid: string, pending: Pending, opts: TouchOptions = {}): void {
    const before = this.coalescer.stats.coalesced;
    this.coalescer.touch(uid, pending, opts);
    this.d.counters.decisions.coalesced += this.coalescer.stats.coalesced - before;
  }

  private async flush(uid: string, pending: Pending): Promise<void> {
    const { d } = this;
    if (!d.leadership.isLeader()) return d.defer(uid, pending);
    await d.visibility.ready;
    if (d.isStopped()) return;
    const t = d.tracked.get(uid);
    if (!t) return;
    if (!d.leadership.isLeader()) return d.defer(uid, pending);
    d.counters.decisions.evaluations++;
    const view = { workflow: d.visibility.workflowOf(uid), atMs: d.visibility.viewAtMs, graceMs: d.settings.visibilityGraceMs };
    const decision = decide(decisionInputOf(t, pending, view));
    if (isRateLimited(decision) && this.holdForRateLimit(uid, t, pending)) return;
    try {
      await this.act(t, decision);
      t.failures = 0;
    } catch (err) {
      if (err instanceof NotLeaderError) return d.defer(uid, pending);
      this.retryLater(uid, t, pending, decision, err);
      return;
    }
    if (isFinished(t, decision)) d.forget(uid);
  }

  private retryLater(uid: string, t: Tracked, pending: Pending, decision: Decision, err: unknown): void {
    t.failures++;
    this.d.counters.signals.errors++;
    const { initialMs, maxMs } = this.d.settings.retry;
    const wait = backoffMs(t.failures, initialMs, maxMs);
    this.d.logger.warn(
      { profile: profileName(t.ref), uid, action: decision.action, error: errorText(err), failures: t.failures, retryInMs: wait },
      'signal failed; retrying',
    );
    this.coalescer.touchLater(uid, pending, wait);
  }

  /**
   * True when the rate limit holds this decision: it is re-made, with the latest snapshot and every resync
   * that arrived meanwhile, once a token is free (the trailing edge), so the last state is always delivered.
   */
  private holdForRateLimit(uid: string, t: Tracked, pending: Pending): boolean {
    const nowMs = this.d.clock.now();
    const plan = planHold(t, this.d.settings.signalRateLimit, nowMs);
    if (plan.kind === 'pass') {
      t.bucket = plan.bucket;
      delete t.held;
      return false;
    }
    this.d.counters.decisions.rateLimited++;
    if (plan.kind === 'merge') {
      // A re-decision is already scheduled: it reads t.held when it fires.
      if (t.held) t.held.pending = mergePending(t.held.pending, pending);
      return true;
    }
    t.bucket = plan.bucket;
    const held = { pending: mergePending(t.held?.pending, pending), untilMs: nowMs + plan.waitMs };
    t.held = held;
    this.d.logger.debug({ profile: profileName(t.ref), uid, retryInMs: plan.waitMs }, 'change-triggered signal held by the per-profile rate limit');
    // Read when it fires: everything merged into the hold meanwhile (resync requests included).
    this.coalescer.touchLater(uid, () => held.pending, plan.waitMs);
    return true;
  }

  /** A Temporal call, made only while this process leads (checked right before it, after any wait). */
  private asLeader<T>(call: () => Promise<T>): Promise<T> {
    return this.d.semaphore.run(() => (this.d.leadership.isLeader() ? call() : Promise.reject(new NotLeaderError())));
  }

  private async act(t: Tracked, decision: Decision): Promise<void> {
    const { signaler } = this.d;
    switch (decision.action) {
      case 'none':
        if (decision.reason !== 'unknown-profile') this.d.counters.decisions.dedupHits++;
        this.d.logger.debug({ profile: profileName(t.ref), uid: t.ref.uid, reason: decision.reason, resourceVersion: t.snapshot.resourceVersion }, 'no signal needed');
        return;
      case 'profileChanged': {
        const snapshot = decision.snapshot;
        const outcome = await this.asLeader(() => signaler.profileChanged(t.ref, snapshot));
        recordProfileChanged(t, snapshot.observedHash, outcome, this.d.clock.now());
        return;
      }
      case 'deletionRequested': {
        const snapshot = decision.snapshot;
        await this.asLeader(() => signaler.deletionRequested(t.ref, snapshot));
        t.deletionSignalled = true;
        return;
      }
      case 'resyncRequested': {
        const request = decision.request;
        await this.asLeader(() => signaler.resyncRequested(t.ref, request));
        return;
      }
    }
  }
}
