// How failures leave an activity: our error classes as ApplicationFailures (InvalidInput, Conflict and
// ProfileGone non-retryable; anything else retried by Temporal), with the worker's schedule attached for
// the current workflow; a cancellation as itself; anything during a worker shutdown as abandoned.
import { ApplicationFailure } from '@temporalio/common';
import { TRANSIENT_CREDENTIAL_ERROR, WORKER_SHUTDOWN_ERROR, type CredentialSyncResult, type FailureDetails, type ProfileRef } from '../../workflows/api.js';
import { currentActivityContext } from '../activity-context.js';
import { BoundedRetryError, ProviderBusyError, ProviderUnavailableError, toApplicationFailure } from '../errors.js';
import type { ActivityLog } from './scope.js';

export interface WrapOptions<A extends unknown[]> {
  /** Attached to every failure (the workflow reads the worker's schedule from it). */
  details?: FailureDetails;
  /** The attempt on which a retryable failure is final (the workflow's maximumAttempts). */
  finalAttempt?: (args: A) => number;
  /** Runs before the failure leaves the activity; `final`: no attempt follows. Its own errors are logged. */
  onFailure?: (args: A, failure: Error, final: boolean) => Promise<void>;
  /** Once aborted, any failure leaves as WORKER_SHUTDOWN_ERROR (abandoned, not failed; nothing recorded). */
  shutdownSignal?: AbortSignal;
  /** May turn the failure into a retry Temporal schedules (a provider wait: providers/wait-retry.ts). */
  retryAs?: (args: A, failure: Error, attempt: number) => Error;
}

/** A sync step failed after the Secret was written: the workflow still learns which credential it holds. */
export class FailedAfterWrite extends Error {
  override readonly name = 'FailedAfterWrite';
  constructor(
    readonly failure: unknown,
    readonly written: CredentialSyncResult,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

/**
 * With `details` (the current workflow's activities) every failure leaves as an ApplicationFailure that
 * carries them; a bounded-retry error (plugin timeout or kill) stays retryable: the workflow bounds the
 * attempts and schedules the next sync itself, before the held credential expires.
 */
export function withDetails(err: unknown, details: FailureDetails): Error {
  if (err instanceof FailedAfterWrite) return withDetails(err.failure, { ...details, written: err.written });
  if (err instanceof ProviderUnavailableError || (err instanceof ProviderBusyError && err.retryAfterMs > 0)) details = { ...details, retryAfterMs: err.retryAfterMs };
  if (err instanceof BoundedRetryError) {
    return ApplicationFailure.create({ message: err.message, type: TRANSIENT_CREDENTIAL_ERROR, nonRetryable: false, details: [details] });
  }
  const failure = toApplicationFailure(err);
  if (failure instanceof ApplicationFailure) {
    return ApplicationFailure.create({ message: failure.message, type: failure.type ?? 'Error', nonRetryable: failure.nonRetryable ?? false, details: [details] });
  }
  return ApplicationFailure.create({ message: failure.message, type: failure.name, nonRetryable: false, details: [details] });
}

/** Wraps an activity so that our error classes leave it as ApplicationFailures (and failures are logged). */
export function failureWrapper(log: ActivityLog) {
  return <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>, opts: WrapOptions<A> = {}) => {
    const wrapped = async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw await failureOf(log, name, args, err, opts);
      }
    };
    Object.defineProperty(wrapped, 'name', { value: name });
    return wrapped;
  };
}

/** What leaves activity `name` when it threw `err`; runs onFailure and logs on the way. */
async function failureOf<A extends unknown[]>(log: ActivityLog, name: string, args: A, err: unknown, opts: WrapOptions<A>): Promise<Error> {
  // Cancelled (deletion, worker shutdown): whatever the cancellation broke (a killed plugin, an aborted
  // request) leaves as the cancellation itself, so Temporal records a cancelled attempt, not a failure.
  const cancelled = currentActivityContext()?.cancellationSignal;
  if (cancelled?.aborted && cancelled.reason instanceof Error) return cancelled.reason;
  if (opts.shutdownSignal?.aborted) {
    log('info', `${name} abandoned: the worker is shutting down`, {});
    return ApplicationFailure.create({ message: 'the worker running this sync is shutting down', type: WORKER_SHUTDOWN_ERROR, nonRetryable: true });
  }
  const attempt = currentActivityContext()?.info.attempt ?? 1;
  const classified = opts.details ? withDetails(err, opts.details) : toApplicationFailure(err);
  const failure = opts.retryAs ? opts.retryAs(args, classified, attempt) : classified;
  const retryable = !(failure instanceof ApplicationFailure && failure.nonRetryable);
  if (opts.onFailure) {
    const final = !retryable || (opts.finalAttempt !== undefined && attempt >= opts.finalAttempt(args));
    await opts.onFailure(args, failure, final).catch((e: unknown) =>
      log('warn', `${name}: could not record the failure`, { error: e instanceof Error ? e.message : String(e) }),
    );
  }
  const ref = args[0] as Partial<ProfileRef> | undefined;
  log(retryable ? 'warn' : 'info', `${name} failed`, {
    profile: ref ? `${ref.namespace}/${ref.name}` : undefined,
    error: failure.message,
    errorType: err instanceof Error ? err.name : typeof err,
    retryable,
  });
  return failure;
}
