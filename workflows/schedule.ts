// Refresh schedule (docs/behaviour.md, Refresh), pure and deterministic: the workflow passes in workflow time.
import type { ScheduleConfig } from './api.js';

/** Refresh when this fraction of the remaining credential lifetime has passed. */
export const REFRESH_FRACTION = 0.8;

export interface RefreshDelayInput {
  /** Workflow time when the credential was obtained (ms since epoch). */
  nowMs: number;
  /** Absolute credential expiry (ms since epoch), when the credential source states one. */
  expiresAtMs?: number;
  schedule: ScheduleConfig;
}

/**
 * Delay until the next credential refresh.
 * - With an expiry: `max(minRefreshMs, 0.8 × (expiresAtMs − nowMs))`; an expiry in the past (or right now)
 *   gives the floor, so a source that hands out already-expired credentials is not polled in a hot loop.
 * - Without an expiry (secretreader, certificate-only plugins): the sync period.
 * Never less than 1 ms (a timer must have a positive duration); fractions are rounded down.
 */
export function nextRefreshDelayMs({ nowMs, expiresAtMs, schedule }: RefreshDelayInput): number {
  const floor = Math.max(1, schedule.minRefreshMs);
  if (expiresAtMs === undefined || !Number.isFinite(expiresAtMs)) {
    return Math.max(1, schedule.syncPeriodMs);
  }
  return Math.max(floor, Math.floor(REFRESH_FRACTION * (expiresAtMs - nowMs)));
}

/** Absolute time of the next refresh, for the status query and the timer. */
export function nextRefreshAtMs(input: RefreshDelayInput): number {
  return input.nowMs + nextRefreshDelayMs(input);
}

/** The first workflow-level retry of a failed refresh; doubled per consecutive failure, capped by the sync period. */
export const RETRY_BASE_MS = 15_000;
/** No two workflow-level retries closer than this (no hot loop, even right before expiry). */
export const RETRY_FLOOR_MS = 5_000;

export interface FailedRefreshInput {
  nowMs: number;
  /** Expiry of the credential held in the Secret, if it states one. */
  expiresAtMs?: number;
  /** Consecutive failed syncs, this one included (1 = first failure). */
  failures: number;
  /** The failure may pass on its own (API 5xx/401/403/429, network, plugin exit or timeout). */
  transient: boolean;
  schedule: ScheduleConfig;
  /**
   * ProviderUnavailable: when the provider's breaker admits a probe. The retry is planned up to half as
   * long again after it (spreadRetryDelayMs picks the point), within the period and the expiry bound.
   */
  notBeforeMs?: number | undefined;
}

/**
 * Delay until the next attempt after a failed sync (retried before the held credential expires).
 * Transient failures back off exponentially from RETRY_BASE_MS; input errors and conflicts wait for the sync
 * period (a relevant change retries sooner). Either way the attempt lands before the held credential
 * expires — halving the time left each time — and never more often than RETRY_FLOOR_MS.
 */
export function failedRefreshDelayMs({ nowMs, expiresAtMs, failures, transient, schedule, notBeforeMs }: FailedRefreshInput): number {
  const period = Math.max(1, schedule.syncPeriodMs);
  let delay = transient ? Math.min(period, RETRY_BASE_MS * 2 ** Math.min(20, Math.max(0, failures - 1))) : period;
  if (notBeforeMs !== undefined && Number.isFinite(notBeforeMs) && notBeforeMs > 0) delay = Math.max(delay, Math.min(period, Math.floor(notBeforeMs * 1.5)));
  let floor = RETRY_FLOOR_MS;
  if (expiresAtMs !== undefined && Number.isFinite(expiresAtMs) && expiresAtMs > nowMs) {
    const half = Math.floor((expiresAtMs - nowMs) / 2);
    delay = Math.min(delay, half);
    // With under two floors left, waiting a floor would let the held credential expire: a plugin run is
    // retried by the workflow, not inside the task (ADR 9), so this is the only retry before the expiry.
    floor = Math.min(RETRY_FLOOR_MS, Math.max(RETRY_MIN_NEAR_EXPIRY_MS, half));
  }
  return Math.max(floor, Math.min(delay, period));
}

/** The shortest retry delay, reached only when the held credential has seconds left. */
export const RETRY_MIN_NEAR_EXPIRY_MS = 1_000;

export interface SpreadInput {
  /** The retry delay as decided (failedRefreshDelayMs): the latest the retry may come. */
  delayMs: number;
  /** The provider's breaker lets a probe through only then (ProviderUnavailable): no point coming earlier. */
  notBeforeMs?: number | undefined;
  /** Math.random() of the workflow (deterministic on replay). */
  random: number;
}

/**
 * A retry of a transient failure, spread so that a fleet failing together does not come back together: a
 * uniform point between half the delay (or when the breaker admits a probe, if later) and the delay itself.
 * Never later than the delay, so a retry still lands before the held credential expires; never under
 * RETRY_FLOOR_MS unless the delay itself is.
 */
export function spreadRetryDelayMs({ delayMs, notBeforeMs, random }: SpreadInput): number {
  const latest = Math.max(1, Math.floor(delayMs));
  const wanted = notBeforeMs !== undefined && Number.isFinite(notBeforeMs) ? Math.max(latest / 2, notBeforeMs) : latest / 2;
  const earliest = Math.min(latest, Math.max(Math.min(RETRY_FLOOR_MS, latest), Math.floor(wanted)));
  return earliest + Math.floor((latest - earliest) * clamp01(random));
}

/** The first retry after a busy provider; doubled per busy retry in a row up to PROVIDER_BUSY_MAX_MS. */
export const PROVIDER_BUSY_BASE_MS = 5_000;
export const PROVIDER_BUSY_MAX_MS = 60_000;

export interface BusyInput {
  nowMs: number;
  expiresAtMs?: number | undefined;
  /** Busy answers in a row, this one included. */
  busyRetries: number;
  random: number;
  /** The worker's hint: a slow provider frees a slot only as runs end (its plugin timeout). */
  notBeforeMs?: number | undefined;
}

/**
 * How long a sync waits after its provider had no slot for it: short (slots free up as plugins finish),
 * growing while the provider stays busy, spread over [½, 1] of that, and at most half the time left on the
 * held credential (at least a second).
 */
export function providerBusyDelayMs({ nowMs, expiresAtMs, busyRetries, random, notBeforeMs }: BusyInput): number {
  let delay = Math.min(PROVIDER_BUSY_MAX_MS, PROVIDER_BUSY_BASE_MS * 2 ** Math.min(20, Math.max(0, busyRetries - 1)));
  if (notBeforeMs !== undefined && Number.isFinite(notBeforeMs) && notBeforeMs > 0) delay = Math.max(delay, Math.min(PROVIDER_BUSY_MAX_MS, notBeforeMs * 2));
  if (expiresAtMs !== undefined && Number.isFinite(expiresAtMs) && expiresAtMs > nowMs) {
    delay = Math.min(delay, Math.floor((expiresAtMs - nowMs) / 2));
  }
  delay = Math.max(1_000, delay);
  return Math.max(1_000, Math.floor(delay * (0.5 + 0.5 * clamp01(random))));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}

/** "10m", "48m", "1h30m", "2d": for timer summaries. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s && !d) parts.push(`${s}s`);
  return parts.join('') || '0s';
}
