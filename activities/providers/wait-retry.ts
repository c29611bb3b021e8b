// A provider wait (execMode `wait`, docs/adr/0009-provider-bulkheads.md): while a sync's provider is busy,
// unavailable or failing, Temporal retries the activity itself, each attempt told when by this decision, so a
// fleet waiting on a provider costs no workflow task per retry. Pure: the caller passes the attempt, the clock
// and the randomness.
import { ApplicationFailure } from '@temporalio/common';
import { PROVIDER_TROUBLE_TYPES, PROVIDER_WAIT_BUDGET_MS, PROVIDER_WAIT_MAX_ATTEMPTS, type FailureDetails, type SyncRequest } from '../../workflows/api.js';
import { providerBusyDelayMs } from '../../workflows/schedule.js';

export interface WaitAttempt {
  /** 1-based attempt of the running activity. */
  attempt: number;
  nowMs: number;
  random: number;
  /** When the wait's first attempt was scheduled (absent: the wait is bounded by attempts only). */
  waitingSinceMs?: number | undefined;
}

/**
 * The failure as the wait's attempt leaves it: retryable with its delay while the provider is in trouble and
 * attempts remain; otherwise unchanged (the last attempt's failure goes to the workflow, which records it).
 */
export function providerWaitFailure(failure: Error, request: Pick<SyncRequest, 'execMode' | 'previousExpiresAtMs'>, at: WaitAttempt): Error {
  if (request.execMode !== 'wait' || !(failure instanceof ApplicationFailure)) return failure;
  if (!PROVIDER_TROUBLE_TYPES.includes(failure.type ?? '') || at.attempt >= PROVIDER_WAIT_MAX_ATTEMPTS) return failure;
  const details = failure.details?.[0] as FailureDetails | undefined;
  const delayMs = providerBusyDelayMs({
    nowMs: at.nowMs,
    expiresAtMs: request.previousExpiresAtMs,
    busyRetries: at.attempt,
    random: at.random,
    notBeforeMs: details?.retryAfterMs,
  });
  // The workflow hears of the outage every few minutes at least: its status, phase and Event stay current.
  if (at.waitingSinceMs !== undefined && at.nowMs + delayMs - at.waitingSinceMs > PROVIDER_WAIT_BUDGET_MS) return failure;
  return ApplicationFailure.create({
    message: failure.message,
    type: failure.type ?? undefined,
    nonRetryable: false,
    details: failure.details ? [...failure.details] : [],
    nextRetryDelay: delayMs,
  });
}
