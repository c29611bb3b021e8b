// Client-side rate limiting of Kubernetes API calls (`--kube-api-qps`, `--kube-api-burst`, as in the Go
// controller, defaults 20 and 30). A token bucket in the style of golang.org/x/time/rate: each caller
// reserves a token at once (the balance may go negative) and then waits for its turn, so callers are
// served in arrival order without a queue. The clock is injected so that tests need no real time.

export const DEFAULT_KUBE_API_QPS = 20;
export const DEFAULT_KUBE_API_BURST = 30;

export interface Clock {
  /** Milliseconds, monotonic enough for rate limiting. */
  now(): number;
  /** Resolves after `ms`; rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

export interface TokenBucketOptions {
  /** Tokens per second; 0 or less (or Infinity) disables limiting. */
  qps: number;
  /** Bucket size: how many calls may go at once after a quiet period. At least 1 when limiting. */
  burst: number;
  clock?: Clock;
}

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(opts: TokenBucketOptions) {
    if (!Number.isFinite(opts.qps) && opts.qps !== Infinity) throw new RangeError(`qps must be a number, got ${opts.qps}`);
    this.qps = opts.qps;
    this.clock = opts.clock ?? systemClock;
    if (this.unlimited) {
      this.burst = Number.isFinite(opts.burst) && opts.burst > 0 ? opts.burst : 1;
    } else {
      if (!Number.isFinite(opts.burst) || opts.burst < 1) {
        throw new RangeError(`burst must be at least 1 when qps > 0, got ${opts.burst}`);
      }
      this.burst = Math.floor(opts.burst);
    }
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  get unlimited(): boolean {
    return !(this.qps > 0) || this.qps === Infinity;
  }

  /**
   * Takes a token now and returns how many milliseconds the caller must wait before using it (0 when a
   * token was available). Pure bookkeeping: nothing sleeps.
   */
  reserve(): number {
    if (this.unlimited) return 0;
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  /** Gives back a reserved token that was not used (its caller gave up waiting). */
  cancelReservation(): void {
    if (this.unlimited) return;
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /** Takes a token without waiting, or returns false when none is available. */
  tryTake(): boolean {
    if (this.unlimited) return true;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Waits for a token. When `signal` aborts while waiting, the token is given back and the abort reason thrown. */
  async take(signal?: AbortSignal): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs <= 0) return;
    try {
      await this.clock.sleep(waitMs, signal);
    } catch (err) {
      this.cancelReservation();
      throw err;
    }
  }

  /** Tokens available now (may be negative while callers wait); for tests and metrics. */
  available(): number {
    if (this.unlimited) return Infinity;
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock.now();
    // A clock that steps back mints nothing, now or when it catches up again.
    if (now <= this.last) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }
}
