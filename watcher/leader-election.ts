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
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const sm = new LeaseStateMachine(o.identity, o.timings);
  const listeners = new Set<(leading: boolean) => void>();
  const transitions = { acquired: 0, lost: 0, released: 0 };
  let announced = false;
  let stopped = false;
  let failures = 0;
  let cancelTry: () => void = () => undefined;
  let cancelDeadline: () => void = () => undefined;
  let inFlight: Promise<void> = Promise.resolve();

  /** Compares the state machine's verdict with what listeners were told, and tells them the change. */
  function announce(): void {
    const leading = !stopped && sm.isLeader(clock.now());
    if (leading === announced) return;
    announced = leading;
    if (leading) {
      transitions.acquired++;
      o.logger.info({ lease: o.lease, identity: o.identity }, 'became the leader: signalling');
    } else if (!stopped) {
      transitions.lost++;
      o.logger.warn({ lease: o.lease, identity: o.identity, holder: sm.holder() }, 'lost the leadership: signals stop');
    }
    for (const l of listeners) {
      try {
        l(leading);
      } catch (err) {
        o.logger.error({ error: errorText(err) }, 'leadership listener failed');
      }
    }
  }

  function armDeadline(): void {
    cancelDeadline();
    const until = sm.leaderUntilMs();
    if (until === undefined || stopped) return;
    cancelDeadline = clock.setTimer(announce, Math.max(0, until - clock.now()));
  }

  async function write(plan: Exclude<LeasePlan, { kind: 'wait' }>, startedAtMs: number): Promise<void> {
    const written = plan.kind === 'create' ? await o.api.create(plan.spec) : await o.api.update(plan.spec, plan.resourceVersion);
    sm.wrote(written, startedAtMs, clock.now());
  }

  async function attempt(): Promise<void> {
    const startedAtMs = clock.now();
    // The leader writes from the record it wrote last (one request per renewal); a conflict falls back
    // to reading the Lease, like client-go's fast path.
    if (sm.isLeader(startedAtMs) && sm.holdsRecord()) {
      try {
        const renewal = sm.plan(startedAtMs);
        if (renewal.kind !== 'wait') {
          await write(renewal, startedAtMs);
          return;
        }
      } catch (err) {
        if (!(err instanceof LeaseConflictError)) throw err;
      }
    }
    sm.observe(await o.api.get(), clock.now());
    const plan = sm.plan(clock.now());
    if (plan.kind === 'wait') return;
    await write(plan, startedAtMs);
  }

  function schedule(): void {
    if (stopped) return;
    const base = o.timings.retryPeriodMs;
    // Standbys spread their tries; after errors the wait grows (a down API server is not hammered).
    const wait = failures > 0 ? Math.max(base, backoffMs(failures, base, 4 * base)) : sm.isLeader(clock.now()) ? base : base * (1 + RETRY_JITTER * random());
    cancelTry = clock.setTimer(tick, wait);
  }

  function tick(): void {
    if (stopped) return;
    inFlight = attempt().then(
      () => {
        failures = 0;
      },
      (err: unknown) => {
        failures++;
        const level = err instanceof LeaseConflictError ? 'debug' : 'warn';
        o.logger[level]({ lease: o.lease, error: errorText(err), failures }, 'leader election: lease request failed');
      },
    ).finally(() => {
      announce();
      armDeadline();
      schedule();
    });
  }

  o.logger.info({ lease: o.lease, identity: o.identity, ...o.timings }, 'leader election: trying to become the leader');
  tick();

  return {
    isLeader: () => !stopped && sm.isLeader(clock.now()),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    othersLastSeenAtMs: () => sm.othersLastSeenAtMs(),
    status: () => ({ leader: !stopped && sm.isLeader(clock.now()), identity: o.identity, holder: sm.holder(), lease: o.lease, transitions: { ...transitions } }),
    async stop() {
      if (stopped) return;
      stopped = true;
      cancelTry();
      cancelDeadline();
      const wasLeader = announced;
      announce();
      const timeoutMs = o.releaseTimeoutMs ?? 2_000;
      const within = <T>(p: Promise<T>): Promise<T> =>
        Promise.race([p, new Promise<never>((_, reject) => clock.setTimer(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))]);
      // A renewal in flight would rewrite the Lease after the release.
      await within(inFlight).catch(() => undefined);
      const release = sm.release(clock.now());
      if (!release) return;
      try {
        await within(o.api.update(release.spec, release.resourceVersion));
        transitions.released++;
        o.logger.info({ lease: o.lease, identity: o.identity, wasLeader }, 'released the lease: a standby takes over at its next try');
      } catch (err) {
        o.logger.warn({ lease: o.lease, error: errorText(err) }, 'could not release the lease; a standby takes over once it expires');
      }
    },
  };
}
