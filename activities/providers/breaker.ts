// A circuit breaker for one credential provider on one worker, pure and clock-injected. After plugin runs
// of `failureThreshold` different profiles fail in a row (no success in between), runs are refused at once
// for a cool-down; then one probe
// is let through (half-open): its success closes the breaker, its failure opens it again for twice as
// long (up to `maxCoolDownMs`). Refusing at once is what keeps a provider that is down from holding
// worker slots and workflow tasks while it stays down. Failures are counted per profile, not per run: one
// profile (or a handful) whose own input makes the plugin fail must not close the provider for every other
// profile on it; an outage fails many profiles at once.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  /** Profiles whose plugin runs failed in a row (no success in between) that open the breaker. */
  failureThreshold: number;
  /** The first cool-down; doubled for each failed probe. */
  coolDownMs: number;
  maxCoolDownMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { failureThreshold: 5, coolDownMs: 15_000, maxCoolDownMs: 120_000 };

/** allowed: run (probe: this run decides whether the breaker closes). Refused: try again after retryAfterMs. */
export type Admission = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  private failures = 0;
  /** The profiles among the consecutive failures (an unnamed failure counts as a profile of its own). */
  private readonly failedProfiles = new Set<string>();
  private openUntilMs = 0;
  private coolDownMs: number;
  private probing = false;
  private current: BreakerState = 'closed';

  constructor(
    private readonly settings: BreakerSettings,
    private readonly now: () => number,
    /** Told every state change (metrics, logs). */
    private readonly onChange: (state: BreakerState) => void = () => undefined,
  ) {
    this.coolDownMs = settings.coolDownMs;
  }

  /** The state as of now: an open breaker whose cool-down is over reads as half-open. */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() >= this.openUntilMs) this.set('half-open');
    return this.current;
  }

  /** Consecutive failures so far (for messages). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Whether a run may start now. A half-open breaker admits one probe at a time. */
  admit(): Admission {
    const state = this.state;
    if (state === 'closed') return { allowed: true, probe: false };
    if (state === 'open') return { allowed: false, retryAfterMs: Math.max(1, this.openUntilMs - this.now()) };
    if (this.probing) return { allowed: false, retryAfterMs: this.coolDownMs };
    this.probing = true;
    return { allowed: true, probe: true };
  }

  /** How long until a probe may run (0: now, or the breaker is closed). */
  retryAfterMs(): number {
    const state = this.state;
    if (state === 'open') return Math.max(1, this.openUntilMs - this.now());
    return state === 'half-open' && this.probing ? this.coolDownMs : 0;
  }

  success(): void {
    this.failures = 0;
    this.failedProfiles.clear();
    this.probing = false;
    this.coolDownMs = this.settings.coolDownMs;
    if (this.current !== 'closed') this.set('closed');
  }

  failure(profile?: string): void {
    this.failures++;
    this.failedProfiles.add(profile ?? `#${this.failures}`);
    const state = this.state;
    if (state === 'half-open') {
      this.probing = false;
      this.coolDownMs = Math.min(this.settings.maxCoolDownMs, this.coolDownMs * 2);
      this.open();
    } else if (state === 'closed' && this.failedProfiles.size >= Math.max(1, this.settings.failureThreshold)) {
      this.open();
    }
  }

  /** A run ended without telling anything about the provider (cancelled, or cut short by a local budget). */
  abandoned(probe: boolean): void {
    if (probe) this.probing = false;
  }

  private open(): void {
    this.failedProfiles.clear();
    this.openUntilMs = this.now() + this.coolDownMs;
    this.set('open');
  }

  private set(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    this.onChange(state);
  }
}
