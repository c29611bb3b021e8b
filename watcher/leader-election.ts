// The I/O around the Lease state machine (lease.ts): try every retry period (the leader renews, the
// standbys check whether they may take over), tell listeners when leadership starts and ends, and give
// the Lease up on stop. Leadership also ends by timer at the renew deadline, not only when a renewal
// fails: a renewal stuck in a frozen API server must not keep a stale leader signalling.
import { backoffMs, systemClock, type Clock } from './clock.js';
import { errorText, type WatcherLogger } from './log.js';
import { LeaseStateMachine, RETRY_JITTER, type LeasePlan, type LeaseSpec, type LeaseTimings, type ObservedLease } from './lease.js';

/** A write refused because the Lease changed since it was read (HTTP 409), or created meanwhile. */
export class LeaseConflictError extends Error {
  override name = 'LeaseConflictError';
}

/** The Lease operations the elector needs; the real one is lease-api.ts, tests use a fake. */
export interface LeaseApi {
  get(): Promise<ObservedLease | undefined>;
  create(spec: LeaseSpec): Promise<ObservedLease>;
  /** Replaces the spec if the Lease still has `resourceVersion`; LeaseConflictError otherwise. */
  update(spec: LeaseSpec, resourceVersion: string): Promise<ObservedLease>;
}

/** What callers see of the election. */
export interface Leadership {
  /** This process may signal now. */
  isLeader(): boolean;
  /** Listener for leadership changes (true: became leader); returns an unsubscribe function. */
  onChange(listener: (leading: boolean) => void): () => void;
  /** When another holder was last seen renewing or releasing (this process's clock); undefined if never. */
  othersLastSeenAtMs(): number | undefined;
}

export interface LeaderElectionStatus {
  leader: boolean;
  identity: string;
  /** Holder as last read ('' released, undefined not read yet). */
  holder: string | undefined;
  lease: string;
  transitions: { acquired: number; lost: number; released: number };
}

export interface LeaderElection extends Leadership {
  status(): LeaderElectionStatus;
  /** Stops trying; leadership ends at once, then the Lease is released if held (bounded by `releaseTimeoutMs`). */
  stop(): Promise<void>;
}

export interface LeaderElectionOptions {
  api: LeaseApi;
  identity: string;
  /** "namespace/name", for logs and status. */
  lease: string;
  timings: LeaseTimings;
  logger: WatcherLogger;
  clock?: Clock;
  random?: () => number;
  /** Upper bound of the release write during shutdown (default 2 s). */
  releaseTimeoutMs?: number;
}

/** A leadership that always leads (leader election disabled). */
export const ALWAYS_LEADER: Leadership = {
  isLeader: () => true,
  onChange: () => () => undefined,
  othersLastSeenAtMs: () => undefined,
};

export function startLeaderElection(o: LeaderElectionOptions): LeaderElection {
  const elector = new LeaseElector(o);
  o.logger.info({ lease: o.lease, identity: o.identity, ...o.timings }, 'leader election: trying to become the leader');
  elector.tick();
  return elector;
}

class LeaseElector implements LeaderElection {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly sm: LeaseStateMachine;
  private readonly listeners = new Set<(leading: boolean) => void>();
  private readonly transitions = { acquired: 0, lost: 0, released: 0 };
  private announced = false;
  private stopped = false;
  private failures = 0;
  private cancelTry: () => void = () => undefined;
  private cancelDeadline: () => void = () => undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly o: LeaderElectionOptions) {
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.sm = new LeaseStateMachine(o.identity, o.timings);
  }

  isLeader(): boolean {
    return !this.stopped && this.sm.isLeader(this.clock.now());
  }

  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  othersLastSeenAtMs(): number | undefined {
    return this.sm.othersLastSeenAtMs();
  }

  status(): LeaderElectionStatus {
    return { leader: this.isLeader(), identity: this.o.identity, holder: this.sm.holder(), lease: this.o.lease, transitions: { ...this.transitions } };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTry();
    this.cancelDeadline();
    const wasLeader = this.announced;
    this.announce();
    // A renewal in flight would rewrite the Lease after the release.
    await this.within(this.inFlight).catch(() => undefined);
    const release = this.sm.release(this.clock.now());
    if (!release) return;
    const { logger, lease, identity } = this.o;
    try {
      await this.within(this.o.api.update(release.spec, release.resourceVersion));
      this.transitions.released++;
      logger.info({ lease, identity, wasLeader }, 'released the lease: a standby takes over at its next try');
    } catch (err) {
      logger.warn({ lease, error: errorText(err) }, 'could not release the lease; a standby takes over once it expires');
    }
  }

  /** One try now; the next is scheduled when it ends. */
  tick(): void {
    if (this.stopped) return;
    this.inFlight = this.attempt()
      .then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          this.failures++;
          const level = err instanceof LeaseConflictError ? 'debug' : 'warn';
          this.o.logger[level]({ lease: this.o.lease, error: errorText(err), failures: this.failures }, 'leader election: lease request failed');
        },
      )
      .finally(() => {
        this.announce();
        this.armDeadline();
        this.schedule();
      });
  }

  /** The release write during shutdown, bounded by releaseTimeoutMs. */
  private within<T>(p: Promise<T>): Promise<T> {
    const timeoutMs = this.o.releaseTimeoutMs ?? 2_000;
    return Promise.race([p, new Promise<never>((_, reject) => this.clock.setTimer(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))]);
  }

  /** Compares the state machine's verdict with what listeners were told, and tells them the change. */
  private announce(): void {
    const leading = !this.stopped && this.sm.isLeader(this.clock.now());
    if (leading === this.announced) return;
    this.announced = leading;
    const { logger, lease, identity } = this.o;
    if (leading) {
      this.transitions.acquired++;
      logger.info({ lease, identity }, 'became the leader: signalling');
    } else if (!this.stopped) {
      this.transitions.lost++;
      logger.warn({ lease, identity, holder: this.sm.holder() }, 'lost the leadership: signals stop');
    }
    for (const l of this.listeners) {
      try {
        l(leading);
      } catch (err) {
        logger.error({ error: errorText(err) }, 'leadership listener failed');
      }
    }
  }

  private armDeadline(): void {
    this.cancelDeadline();
    const until = this.sm.leaderUntilMs();
    if (until === undefined || this.stopped) return;
    this.cancelDeadline = this.clock.setTimer(() => this.announce(), Math.max(0, until - this.clock.now()));
  }

  private async write(plan: Exclude<LeasePlan, { kind: 'wait' }>, startedAtMs: number): Promise<void> {
    const written = plan.kind === 'create' ? await this.o.api.create(plan.spec) : await this.o.api.update(plan.spec, plan.resourceVersion);
    this.sm.wrote(written, startedAtMs, this.clock.now());
  }

  private async attempt(): Promise<void> {
    const { sm, clock } = this;
    const startedAtMs = clock.now();
    // The leader writes from the record it wrote last (one request per renewal); a conflict falls back
    // to reading the Lease, like client-go's fast path.
    if (sm.isLeader(startedAtMs) && sm.holdsRecord()) {
      try {
        const renewal = sm.plan(startedAtMs);
        if (renewal.kind !== 'wait') {
          await this.write(renewal, startedAtMs);
          return;
        }
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
      }
    }
    sm.observe(await this.o.api.get(), clock.now());
    const plan = sm.plan(clock.now());
    if (plan.kind === 'wait') return;
    await this.write(plan, startedAtMs);
  }

  private schedule(): void {
    if (this.stopped) return;
    const base = this.o.timings.retryPeriodMs;
    // Standbys spread their tries; after errors the wait grows (a down API server is not hammered).
    const wait =
      this.failures > 0
        ? Math.max(base, backoffMs(this.failures, base, 4 * base))
        : this.sm.isLeader(this.clock.now())
          ? base
          : base * (1 + RETRY_JITTER * this.random());
    this.cancelTry = this.clock.setTimer(() => this.tick(), wait);
  }
}
