// Bulkheads for exec credential providers, one per provider per worker: a concurrency limit with a short
// bounded queue (limiter.ts) and a circuit breaker (breaker.ts). They decide whether and how long a plugin
// may run, so that a provider that hangs or fails uses a bounded share of the worker and never holds a
// workflow task open for more than a moment (docs/adr/0009-provider-bulkheads.md):
//  - `local` (a sync inside a workflow task): a slot now or not at all, the breaker closed, and a short
//    budget; otherwise it defers (ProviderDeferredError) and the workflow runs the sync as an activity;
//  - `activity` (a regular activity): waits briefly in a bounded queue, may be the breaker's probe, and
//    gives the plugin its full timeout.
// A run cut short by the local budget tells nothing about the provider's health: it marks the provider
// slow for a while (later local syncs defer at once instead of spending their budget) and is not a failure.
import { InvalidInputError, ProviderBusyError, ProviderDeferredError, ProviderUnavailableError, CredentialSourceFailedError } from '../errors.js';
import { ExecPluginTransientError } from '../credentials/exec-plugin.js';
import type { ExecMode } from '../../workflows/api.js';
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerSettings, type BreakerState } from './breaker.js';
import { ConcurrencyLimiter, SYSTEM_CLOCK, type LimiterClock, type Release } from './limiter.js';

export interface BulkheadSettings {
  /** Longest plugin run inside a workflow task (capped by the exec timeout). */
  localBudgetMs: number;
  /** Longest wait of a regular activity for a slot. */
  queueWaitMs: number;
  /** How long a provider counts as slow after a run outlived the local budget. */
  slowMarkMs: number;
  /** How long a half-open breaker is reserved for the activity a local sync deferred to. */
  probeReservationMs: number;
  breaker: BreakerSettings;
}

export const DEFAULT_BULKHEAD: BulkheadSettings = {
  localBudgetMs: 2_000,
  queueWaitMs: 5_000,
  slowMarkMs: 60_000,
  probeReservationMs: 10_000,
  breaker: DEFAULT_BREAKER,
};

/** How a gated run ended; failures feed the breaker, the rest do not. */
export type RunOutcome =
  | 'success'
  | 'timeout'
  | 'killed'
  | 'exit'
  | 'spawn'
  | 'invalid-output'
  | 'error'
  | 'cancelled'
  | 'local-budget';

/** Refused before any plugin ran. */
export type Rejection = 'unavailable' | 'busy' | 'deferred-busy' | 'deferred-slow' | 'deferred-probe';

/** What metrics see (worker/metrics.ts). */
export interface BulkheadObserver {
  inFlight(provider: string, running: number): void;
  ran(provider: string, outcome: RunOutcome): void;
  rejected(provider: string, why: Rejection): void;
  queued(provider: string, waitedMs: number): void;
  breaker(provider: string, state: BreakerState): void;
}

export interface GatedCall {
  provider: string;
  /** For error messages: "ClusterProfile fleet/spoke-1" and "status.accessProviders[0]". */
  object: string;
  field: string;
  /** Absent: `activity` (syncs of earlier workflow code). */
  mode: ExecMode | undefined;
  execTimeoutMs: number;
  signal?: AbortSignal;
}

interface Provider {
  limiter: ConcurrencyLimiter;
  breaker: CircuitBreaker;
  slowUntilMs: number;
  probeReservedUntilMs: number;
}

export class ProviderBulkheads {
  private readonly providers = new Map<string, Provider>();

  constructor(
    /** The provider file's maxConcurrentRuns per provider name. */
    private readonly limitOf: (provider: string) => number,
    private readonly settings: BulkheadSettings = DEFAULT_BULKHEAD,
    private readonly clock: LimiterClock = SYSTEM_CLOCK,
    private readonly observer?: BulkheadObserver,
  ) {}

  /** Registers a provider's series before its first run (dashboards see 0, not nothing). */
  declare(provider: string): void {
    this.entry(provider);
  }

  /** Runs `fn` (a plugin run given its timeout) under the provider's limit and breaker, or refuses at once. */
  async run<T>(call: GatedCall, fn: (timeoutMs: number) => Promise<T>): Promise<T> {
    const p = this.entry(call.provider);
    const local = call.mode === 'local';
    const { release, probe } = local ? this.admitLocal(call, p) : await this.admitActivity(call, p);
    const budget = local ? Math.min(call.execTimeoutMs, this.settings.localBudgetMs) : call.execTimeoutMs;
    const startedAt = this.clock.now();
    this.observer?.inFlight(call.provider, p.limiter.inFlight);
    try {
      const result = await fn(budget);
      p.breaker.success();
      // A regular activity's run tells whether the provider is still too slow for the local budget.
      if (!local) p.slowUntilMs = this.clock.now() - startedAt > this.settings.localBudgetMs ? this.clock.now() + this.settings.slowMarkMs : 0;
      this.observer?.ran(call.provider, 'success');
      return result;
    } catch (err) {
      const outcome = outcomeOf(err);
      if (outcome === 'cancelled') {
        p.breaker.abandoned(probe);
        this.observer?.ran(call.provider, outcome);
        throw err;
      }
      if (outcome === 'timeout' && local && budget < call.execTimeoutMs) {
        p.slowUntilMs = this.clock.now() + this.settings.slowMarkMs;
        this.observer?.ran(call.provider, 'local-budget');
        throw new ProviderDeferredError(call.provider, 'slow');
      }
      if (outcome === 'invalid-output') {
        // The plugin answered: the answer is this profile's problem (InvalidInput), not the provider's health.
        p.breaker.abandoned(probe);
      } else {
        p.breaker.failure(call.object);
      }
      this.observer?.ran(call.provider, outcome);
      // The workflow retries a failed run itself (jittered, before the held credential expires).
      if (call.mode !== undefined && err instanceof ExecPluginTransientError) throw new CredentialSourceFailedError(err.message);
      throw err;
    } finally {
      release();
      this.observer?.inFlight(call.provider, p.limiter.inFlight);
    }
  }

  /** Inside a workflow task: a slot now, a closed breaker and a provider not known to be slow; else refuse. */
  private admitLocal(call: GatedCall, p: Provider): { release: Release; probe: boolean } {
    const now = this.clock.now();
    const state = p.breaker.state;
    if (state === 'open' || (state === 'half-open' && (p.breaker.retryAfterMs() > 0 || p.probeReservedUntilMs > now))) {
      this.observer?.rejected(call.provider, 'unavailable');
      const wait = Math.max(p.breaker.retryAfterMs(), p.probeReservedUntilMs - now, 1);
      throw new ProviderUnavailableError(call.object, call.field, call.provider, wait);
    }
    if (state === 'half-open') {
      // One probe per window, with the plugin's full timeout: that takes a regular activity.
      p.probeReservedUntilMs = now + this.settings.probeReservationMs;
      this.observer?.rejected(call.provider, 'deferred-probe');
      throw new ProviderDeferredError(call.provider, 'probe');
    }
    if (p.slowUntilMs > now) {
      this.observer?.rejected(call.provider, 'deferred-slow');
      throw new ProviderDeferredError(call.provider, 'slow');
    }
    const release = p.limiter.tryAcquire();
    if (!release) {
      this.observer?.rejected(call.provider, 'deferred-busy');
      throw new ProviderDeferredError(call.provider, 'busy');
    }
    return { release, probe: false };
  }

  /** In a regular activity: the breaker's admission (maybe as its probe), then a slot within the queue wait. */
  private async admitActivity(call: GatedCall, p: Provider): Promise<{ release: Release; probe: boolean }> {
    const admission = p.breaker.admit();
    if (!admission.allowed) {
      this.observer?.rejected(call.provider, 'unavailable');
      throw new ProviderUnavailableError(call.object, call.field, call.provider, admission.retryAfterMs);
    }
    if (admission.probe) p.probeReservedUntilMs = 0;
    const slot = await p.limiter.acquire(this.settings.queueWaitMs, call.signal);
    if (!slot) {
      p.breaker.abandoned(admission.probe);
      this.observer?.rejected(call.provider, 'busy');
      // A slow provider frees a slot only when a run ends, at worst at its timeout: no point asking sooner.
      throw new ProviderBusyError(call.provider, p.slowUntilMs > this.clock.now() ? call.execTimeoutMs : 0);
    }
    this.observer?.queued(call.provider, slot.waitedMs);
    return { release: slot.release, probe: admission.probe };
  }

  private entry(provider: string): Provider {
    let p = this.providers.get(provider);
    if (!p) {
      const limit = Math.max(1, Math.floor(this.limitOf(provider)));
      p = {
        // The queue is as long as the limit: a provider holds at most twice its limit in activity slots.
        limiter: new ConcurrencyLimiter(limit, limit, this.clock),
        breaker: new CircuitBreaker(this.settings.breaker, () => this.clock.now(), (state) => this.observer?.breaker(provider, state)),
        slowUntilMs: 0,
        probeReservedUntilMs: 0,
      };
      this.providers.set(provider, p);
      this.observer?.breaker(provider, 'closed');
      this.observer?.inFlight(provider, 0);
    }
    return p;
  }
}

function outcomeOf(err: unknown): RunOutcome {
  if (err instanceof ExecPluginTransientError) return err.outcome;
  if (err instanceof InvalidInputError) return err.reason.includes('could not be started') ? 'spawn' : 'invalid-output';
  return 'error';
}
