// A concurrency limit for one credential provider on one worker, with a short, bounded queue. Pure apart
// from the timer it is given: tests drive it with fake time. A caller either gets a slot at once
// (tryAcquire: what a sync running inside a workflow task does, since it must never wait there), or
// waits in line for at most `maxWaitMs` behind at most `maxQueue` others (what a regular activity does);
// anyone beyond that is told "busy" at once, so that a provider that hangs never holds more than
// limit + maxQueue of the worker's activity slots.

export interface LimiterClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: LimiterClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Gives the slot back (idempotent). */
export type Release = () => void;

export interface Slot {
  release: Release;
  /** How long the caller waited for it. */
  waitedMs: number;
}

interface Waiter {
  grant: (slot: Slot | undefined) => void;
  enqueuedAtMs: number;
  timer: unknown;
}

export class ConcurrencyLimiter {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly limit: number,
    readonly maxQueue: number,
    private readonly clock: LimiterClock = SYSTEM_CLOCK,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** A slot now, or undefined when all are taken (never queues). */
  tryAcquire(): Release | undefined {
    if (this.running >= this.limit || this.queue.length > 0) return undefined;
    this.running++;
    return this.releaser();
  }

  /**
   * A slot within `maxWaitMs`, or undefined (the queue is full, the wait ran out, or `signal` aborted).
   * Waiters are served first come, first served.
   */
  acquire(maxWaitMs: number, signal?: AbortSignal): Promise<Slot | undefined> {
    const now = this.clock.now();
    const release = this.tryAcquire();
    if (release) return Promise.resolve({ release, waitedMs: 0 });
    if (this.queue.length >= this.maxQueue || maxWaitMs <= 0 || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        enqueuedAtMs: now,
        timer: undefined,
        grant: (slot) => {
          this.clock.clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      const leave = () => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return;
        this.queue.splice(i, 1);
        waiter.grant(undefined);
      };
      const onAbort = () => leave();
      waiter.timer = this.clock.setTimeout(leave, maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) {
        // The slot passes straight to the next in line: `running` stays the same.
        next.grant({ release: this.releaser(), waitedMs: this.clock.now() - next.enqueuedAtMs });
      } else {
        this.running--;
      }
    };
  }
}
