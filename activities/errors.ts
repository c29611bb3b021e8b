// Errors raised by activities, and their translation into Temporal failures.
// The workflow keys its decisions on the failure type (workflows/api.ts ErrorType), so every error a user
// can fix must become non-retryable here; anything else stays retryable so that transient faults heal.
// Messages end up in workflow history, Events and logs: they must never contain a credential, and
// every message is passed through safeText (control characters escaped, length capped), because parts
// of it come from ClusterProfiles and source Secrets. Call sites quote single profile-sourced values
// with quoted() so that one long value cannot crowd out the rest of the message.
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { ErrorType, PROVIDER_BUSY, PROVIDER_DEFERRED, TRANSIENT_CREDENTIAL_ERROR } from '../workflows/api.js';
import { MESSAGE_MAX, PROFILE_STRING_MAX, safeText } from '../workflows/text.js';
import { currentActivityContext } from './activity-context.js';

/**
 * The input (ClusterProfile, provider file, source Secret) is wrong; retrying cannot help.
 * `object` names what is wrong ("ClusterProfile fleet/spoke-1", "provider file /etc/p.json"),
 * `field` the path inside it, so that the message alone is enough to fix the problem.
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly object: string;
  readonly field: string | undefined;
  readonly reason: string;

  constructor(object: string, field: string | undefined, reason: string) {
    const o = safeText(object, PROFILE_STRING_MAX * 2);
    const f = field === undefined ? undefined : safeText(field, PROFILE_STRING_MAX * 2);
    const r = safeText(reason, MESSAGE_MAX);
    super(safeText(f ? `${o}: ${f}: ${r}` : `${o}: ${r}`, MESSAGE_MAX));
    this.object = o;
    this.field = f;
    this.reason = r;
  }
}

/** An object we would write or delete exists and is not ours (no managed-by label or a foreign owner). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  readonly object: string;

  constructor(object: string, reason: string) {
    super(safeText(`${object}: ${reason}`, MESSAGE_MAX));
    this.object = safeText(object, PROFILE_STRING_MAX * 2);
  }
}

/** The ClusterProfile with the workflow's uid no longer exists (deleted, or replaced by a namesake). */
export class ProfileGoneError extends Error {
  override readonly name = 'ProfileGoneError';
  readonly object: string;

  constructor(object: string, reason = 'no longer exists') {
    super(safeText(`${object}: ${reason}`, MESSAGE_MAX));
    this.object = safeText(object, PROFILE_STRING_MAX * 2);
  }
}

/**
 * Cleanup was requested (a signal: a hint, not proof) but the ClusterProfile with this uid exists and has no
 * deletionTimestamp: nothing is deleted.
 */
export class DeletionNotConfirmedError extends Error {
  override readonly name = 'DeletionNotConfirmedError';
  readonly object: string;

  constructor(object: string, reason: string) {
    super(`${object}: ${reason}`);
    this.object = object;
  }
}

/** The provider's circuit breaker refused the run (its plugin kept failing on this worker). */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';

  constructor(
    object: string,
    field: string,
    provider: string,
    readonly retryAfterMs: number,
  ) {
    // Stable wording (no counts, no times): the same outage records one Warning Event, not one per retry.
    super(
      safeText(
        `${object}: ${field}: access provider "${provider}" is unavailable: its exec plugin failed repeatedly on this worker ` +
          '(timed out, exited non-zero or was killed), so runs are refused for a cool-down and then probed again; ' +
          'see the worker log and clusterinventory_provider_breaker_state',
        MESSAGE_MAX,
      ),
    );
  }
}

/** Why a sync inside a workflow task did not run the plugin (PROVIDER_DEFERRED). */
export type DeferralReason = 'busy' | 'slow' | 'probe';

/** The plugin was not run inside the workflow task; the workflow runs the sync as a regular activity. */
export class ProviderDeferredError extends Error {
  override readonly name = 'ProviderDeferredError';

  constructor(
    provider: string,
    readonly reason: DeferralReason,
  ) {
    const why = { busy: 'all its slots on this worker are taken', slow: 'its plugin outlives the local budget', probe: 'a breaker probe is due' }[reason];
    super(safeText(`access provider "${provider}": ${why}; the sync runs as a regular activity`, MESSAGE_MAX));
  }
}

/** The regular activity found the provider's slots and its queue full (PROVIDER_BUSY). */
export class ProviderBusyError extends Error {
  override readonly name = 'ProviderBusyError';

  constructor(
    provider: string,
    /** When a slot is likely to be free: soon for a fast provider, a plugin timeout for a slow one. */
    readonly retryAfterMs: number,
  ) {
    super(safeText(`access provider "${provider}": all its slots and its queue on this worker are taken; the workflow tries again shortly`, MESSAGE_MAX));
  }
}

/**
 * A plugin run failed (exit code, timeout, signal) in a sync the workflow retries itself: reported at once
 * as CredentialSourceFailed, never retried inside the activity (in a workflow task that would hold it open).
 */
export class CredentialSourceFailedError extends Error {
  override readonly name = 'CredentialSourceFailedError';

  constructor(message: string) {
    super(safeText(message, MESSAGE_MAX));
  }
}

/**
 * A failure that may heal by itself, but that must not be retried forever out of sight: an exec plugin
 * that hangs until its timeout, is killed, or cannot be started for lack of resources. Temporal retries it
 * with backoff within one activity execution; on attempt `maxAttempts` it is reported as non-retryable
 * InvalidInput instead, so that the profile turns Degraded with a Warning Event (and is tried again after
 * the sync period or on the next relevant change) rather than looking healthy while it retries endlessly.
 */
export class BoundedRetryError extends Error {
  override readonly name: string = 'BoundedRetryError';
  readonly maxAttempts: number;

  constructor(message: string, maxAttempts: number) {
    super(safeText(message, MESSAGE_MAX));
    this.maxAttempts = Math.max(1, maxAttempts);
  }
}

/** The attempt number of the running activity (1-based), or undefined outside an activity. */
function currentAttempt(): number | undefined {
  return currentActivityContext()?.info.attempt;
}

/**
 * Maps our errors onto non-retryable ApplicationFailures of the shared ErrorType; any other error is
 * returned unchanged (Temporal treats it as retryable). A BoundedRetryError stays retryable until its
 * last attempt (`attempt` defaults to the current activity's; outside an activity it stays retryable).
 * No `cause` or details are attached: the original error may carry data we do not want in history.
 */
export function toApplicationFailure(err: unknown, attempt: number | undefined = currentAttempt()): Error {
  if (err instanceof InvalidInputError) return ApplicationFailure.nonRetryable(err.message, ErrorType.InvalidInput);
  if (err instanceof ConflictError) return ApplicationFailure.nonRetryable(err.message, ErrorType.Conflict);
  if (err instanceof ProfileGoneError) return ApplicationFailure.nonRetryable(err.message, ErrorType.ProfileGone);
  if (err instanceof DeletionNotConfirmedError) return ApplicationFailure.nonRetryable(err.message, ErrorType.DeletionNotConfirmed);
  if (err instanceof ProviderUnavailableError) return ApplicationFailure.nonRetryable(err.message, ErrorType.ProviderUnavailable);
  if (err instanceof ProviderDeferredError) return ApplicationFailure.nonRetryable(err.message, PROVIDER_DEFERRED);
  if (err instanceof ProviderBusyError) return ApplicationFailure.nonRetryable(err.message, PROVIDER_BUSY);
  if (err instanceof CredentialSourceFailedError) return ApplicationFailure.nonRetryable(err.message, TRANSIENT_CREDENTIAL_ERROR);
  if (err instanceof BoundedRetryError) {
    if (attempt !== undefined && attempt >= err.maxAttempts) {
      return ApplicationFailure.nonRetryable(`${err.message} (gave up after ${attempt} attempts)`, ErrorType.InvalidInput);
    }
    return err;
  }
  if (err instanceof Error) return withSafeMessage(err);
  return new Error(typeof err === 'string' ? safeText(err, MESSAGE_MAX) : 'non-Error value thrown');
}

/**
 * Any other error (a Kubernetes API error may echo what a profile put into a request) keeps its name,
 * and so its retry classification, but gets a safe message. Its stack trace keeps only the frames: the
 * first lines of a stack repeat the raw message.
 */
function withSafeMessage(err: Error): Error {
  // Temporal's own failures (cancellation) must keep their class: the SDK acts on it.
  if (err instanceof TemporalFailure) return err;
  const message = safeText(err.message, MESSAGE_MAX);
  if (message === err.message) return err;
  const safe = new Error(message);
  safe.name = err.name;
  const frames = (err.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
  safe.stack = [`${err.name}: ${message}`, ...frames].join('\n');
  return safe;
}
