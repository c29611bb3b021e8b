// The activities the current workflow calls, with their timeouts, retries and cancellation, and how their
// failures read. Workflow code (sandboxed): the implementations are in activities/.
import {
  ActivityCancellationType,
  ApplicationFailure,
  type ActivityFailure,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
} from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES, PROVIDER_WAIT_MAX_ATTEMPTS, SYNC_MAX_ATTEMPTS, type FailureDetails, type ProfileActivities } from './api.js';

const SYNC_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: SYNC_MAX_ATTEMPTS,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** Cleanup must finish eventually: transient failures retry with backoff, without bound. */
const CLEANUP_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/**
 * A sync cancelled for deletion must have really ended before the cleanup starts (an abandoned attempt
 * could write the Secret again after the cleanup deleted it). An unset option reaches Core as TRY_CANCEL,
 * so it is set explicitly.
 */
const WAIT_FOR_CANCELLATION = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/**
 * The sync is a local activity: it runs on the worker that runs the workflow task, so a sync costs one
 * history event (a marker) and one round trip to the server instead of three events and three round trips
 * (ADR 6). A worker that dies mid-sync loses the workflow task; the server hands it to another worker after
 * the task timeout, which syncs again (syncs are idempotent). Cancellation reaches it in-process.
 */
export const syncActivities = proxyLocalActivities<ProfileActivities>({
  // An exec plugin may run up to its own timeout (30 s by default) before the writes.
  startToCloseTimeout: '2m',
  retry: SYNC_RETRY,
  // Retries of a sync stay inside the workflow task (1 s, 2 s, 4 s), never a timer.
  localRetryThreshold: '30s',
  cancellationType: WAIT_FOR_CANCELLATION,
});

/**
 * A sync whose exec plugin could not run inside the workflow task (no free slot at once, a slow provider, a
 * breaker probe due) runs once more as a regular activity: it may wait briefly for a slot, gives the plugin
 * its full timeout and heartbeats, and no workflow task waits for it (ADR 9). One attempt: the workflow
 * decides the retries (jittered, before the held credential expires).
 */
export const providerActivities = proxyActivities<ProfileActivities>({
  // A few seconds' queue, the plugin's timeout (30 s by default) and the writes.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { maximumAttempts: 1 },
  cancellationType: WAIT_FOR_CANCELLATION,
});

/**
 * A sync after its provider was busy, unavailable or failing waits for the provider in one regular activity:
 * Temporal retries its attempts at the delays the worker gives (jittered, within the breaker's cool-down, before
 * the held credential expires), so a fleet behind a provider that is down costs no workflow task per retry and
 * leaves the task queue to healthy profiles (ADR 9). The last attempt's failure comes back to the workflow.
 */
export const providerWaitActivities = proxyActivities<ProfileActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { maximumAttempts: PROVIDER_WAIT_MAX_ATTEMPTS, initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m' },
  cancellationType: WAIT_FOR_CANCELLATION,
});

export const cleanupActivities = proxyActivities<ProfileActivities>({
  startToCloseTimeout: '1m',
  retry: CLEANUP_RETRY,
  cancellationType: WAIT_FOR_CANCELLATION,
});

export interface ReportedFailure extends Partial<FailureDetails> {
  type: string;
  message: string;
}

/** The failure type and message an activity reported, with the details it carried (worker schedule, written credential). */
export function failureOf(err: ActivityFailure | ApplicationFailure): ReportedFailure {
  const cause = err instanceof ApplicationFailure ? err : err.cause;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as Partial<FailureDetails> | undefined;
    return { ...details, type: cause.type ?? 'Error', message: cause.message };
  }
  if (cause) return { type: cause.name, message: cause.message };
  return { type: 'ActivityFailure', message: err.message };
}
