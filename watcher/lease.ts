// Leader election on a coordination.k8s.io/v1 Lease, as a pure state machine: what to write next, and
// whether this process leads, given the Lease as last read and the time (always passed in). The I/O loop
// (leader-election.ts) reads and writes the Lease and feeds the outcomes back.
//
// The rules are client-go's (k8s.io/client-go/tools/leaderelection), with controller-runtime's timings:
//  - a candidate may take the Lease when it has no holder, or when its record has not changed for the
//    holder's leaseDurationSeconds as measured on OUR clock from when we saw it change (the holder's
//    renewTime is never compared with our clock: clocks drift);
//  - the leader renews every retry period; every write carries the resourceVersion it read, so two
//    candidates never both win;
//  - the leader stops leading when it could not renew for the renew deadline, measured from the start
//    of its last successful write. The deadline is shorter than the lease duration, so it has stopped
//    before any other candidate may take over;
//  - releasing clears the holder, so that a standby takes over at its next try instead of waiting out
//    the lease.

/** The spec of a coordination.k8s.io/v1 Lease (times are RFC 3339 with microseconds). */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

/** The Lease as read from (or written to) the API server. */
export interface ObservedLease {
  spec: LeaseSpec;
  resourceVersion: string;
}

export interface LeaseTimings {
  /** How long a candidate waits, from seeing the record change, before taking the Lease (default 15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps leading without a successful renewal (default 10 s). */
  renewDeadlineMs: number;
  /** Interval between tries, of candidates and of the leader (default 2 s). */
  retryPeriodMs: number;
}

/** controller-runtime's defaults (manager.Options: LeaseDuration, RenewDeadline, RetryPeriod). */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** client-go's JitterFactor is 1.2 (up to +120 %); ours is smaller, so that a released Lease is taken within ~2.4 s. */
export const RETRY_JITTER = 0.2;

/** The checks client-go's NewLeaderElector makes; the message names the flag. */
export function validateTimings(t: LeaseTimings): string | undefined {
  if (t.retryPeriodMs <= 0) return '--leader-elect-retry-period must be positive';
  if (t.leaseDurationMs <= t.renewDeadlineMs) return '--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline';
  if (t.renewDeadlineMs <= t.retryPeriodMs * (1 + RETRY_JITTER)) {
    return `--leader-elect-renew-deadline must be greater than --leader-elect-retry-period × ${1 + RETRY_JITTER}`;
  }
  if (t.leaseDurationMs % 1000 !== 0) return '--leader-elect-lease-duration must be whole seconds (the Lease stores seconds)';
  return undefined;
}

/** The next write, or why there is none. */
export type LeasePlan =
  | { kind: 'create'; spec: LeaseSpec }
  | { kind: 'update'; spec: LeaseSpec; resourceVersion: string }
  | { kind: 'wait'; holder: string; validUntilMs: number };

/** RFC 3339 with microseconds, as metav1.MicroTime marshals (the API server rejects other precisions). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function sameRecord(a: LeaseSpec | undefined, b: LeaseSpec): boolean {
  if (!a) return false;
  return (
    (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
    (a.renewTime ?? '') === (b.renewTime ?? '') &&
    (a.acquireTime ?? '') === (b.acquireTime ?? '') &&
    (a.leaseDurationSeconds ?? 0) === (b.leaseDurationSeconds ?? 0) &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}

export class LeaseStateMachine {
  private observed: ObservedLease | undefined;
  /** Our clock when the observed record last changed. */
  private observedAtMs = 0;
  /** Start of our last successful write as holder; undefined while not leading. */
  private renewedAtMs: number | undefined;
  /** Our clock when a holder other than us was last seen renewing (or releasing). */
  private othersSeenAtMs: number | undefined;

  constructor(
    readonly identity: string,
    readonly timings: LeaseTimings,
  ) {}

  /** Whether this process may act as the leader at `nowMs`. */
  isLeader(nowMs: number): boolean {
    return this.renewedAtMs !== undefined && nowMs - this.renewedAtMs < this.timings.renewDeadlineMs;
  }

  /** When leadership lapses unless renewed; undefined while not leading. */
  leaderUntilMs(): number | undefined {
    return this.renewedAtMs === undefined ? undefined : this.renewedAtMs + this.timings.renewDeadlineMs;
  }

  /** Holder of the Lease as last read ('' when released, undefined before the first read). */
  holder(): string | undefined {
    return this.observed ? (this.observed.spec.holderIdentity ?? '') : undefined;
  }

  /** When another holder was last seen renewing or releasing (our clock). */
  othersLastSeenAtMs(): number | undefined {
    return this.othersSeenAtMs;
  }

  /** The Lease as just read (undefined: it does not exist). */
  observe(lease: ObservedLease | undefined, nowMs: number): void {
    if (!lease) {
      this.observed = undefined;
      return;
    }
    const changed = !sameRecord(this.observed?.spec, lease.spec);
    this.observed = lease;
    if (!changed) return;
    this.observedAtMs = nowMs;
    if ((lease.spec.holderIdentity ?? '') !== this.identity) {
      this.othersSeenAtMs = nowMs;
      // Someone else holds it (or it was released): whatever we believed, we do not lead.
      this.renewedAtMs = undefined;
    }
  }

  /** What to write at `nowMs`, from the Lease as last observed. */
  plan(nowMs: number): LeasePlan {
    const durationS = Math.round(this.timings.leaseDurationMs / 1000);
    const now = microTime(nowMs);
    const current = this.observed;
    if (!current) {
      return { kind: 'create', spec: { holderIdentity: this.identity, leaseDurationSeconds: durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
    }
    const old = current.spec;
    const holder = old.holderIdentity ?? '';
    const ours = holder === this.identity;
    if (holder !== '' && !ours) {
      const validUntilMs = this.observedAtMs + (old.leaseDurationSeconds ?? durationS) * 1000;
      if (nowMs < validUntilMs) return { kind: 'wait', holder, validUntilMs };
    }
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationS,
      acquireTime: ours && old.acquireTime ? old.acquireTime : now,
      renewTime: now,
      leaseTransitions: ours ? (old.leaseTransitions ?? 0) : (old.leaseTransitions ?? 0) + 1,
    };
    return { kind: 'update', spec, resourceVersion: current.resourceVersion };
  }

  /** Our write that started at `startedAtMs` succeeded; `written` is what the server returned. */
  wrote(written: ObservedLease, startedAtMs: number, nowMs: number): void {
    this.observed = written;
    this.observedAtMs = nowMs;
    if ((written.spec.holderIdentity ?? '') === this.identity) this.renewedAtMs = startedAtMs;
  }

  /** Whether we hold the Lease as last observed (a release is worth sending). */
  holdsRecord(): boolean {
    return this.observed !== undefined && (this.observed.spec.holderIdentity ?? '') === this.identity;
  }

  /**
   * The write that gives the Lease up (client-go's release): no holder, a one-second duration. Leadership
   * ends now, whether or not the write succeeds. Undefined when we do not hold it.
   */
  release(nowMs: number): { spec: LeaseSpec; resourceVersion: string } | undefined {
    this.renewedAtMs = undefined;
    if (!this.observed || !this.holdsRecord()) return undefined;
    const now = microTime(nowMs);
    return {
      spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: this.observed.spec.leaseTransitions ?? 0 },
      resourceVersion: this.observed.resourceVersion,
    };
  }
}
