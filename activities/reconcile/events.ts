// Kubernetes Events about a ClusterProfile: the Event a sync's transition deserves, and the Warning of a
// failed sync, each recorded without ever failing the step over an Event.
import { ApplicationFailure } from '@temporalio/common';
import { PROVIDER_BUSY, PROVIDER_DEFERRED, type ProfileEvent, type ProfileRef, type SyncRequest } from '../../workflows/api.js';
import { eventForSyncFailure } from '../../workflows/phase.js';
import { isTransient } from '../kube/classify.js';
import { desiredEvent } from '../kube/desired.js';
import { profileName, type ReconcileScope } from './scope.js';

/** The Kubernetes rate-limit lane of failure Events (activities/kube/client.ts recordEvent). */
export const FAILURE_EVENT_LANE = 'failures';
/** Failure Events of syncs inside workflow tasks waiting to be sent; beyond this they are dropped (and logged). */
const MAX_PENDING_FAILURE_EVENTS = 1000;

export async function recordEvent(scope: ReconcileScope, ref: ProfileRef, event: ProfileEvent, lane?: string): Promise<void> {
  try {
    await scope.kube.recordEvent(desiredEvent(ref, event, new Date(scope.now()), scope.eventInstance), lane ? { lane } : {});
  } catch (err) {
    // Transient failures are retried (a few times, by the workflow's policy); anything else is
    // dropped: an Event is never worth failing over.
    if (isTransient(err)) throw err;
    scope.log('warn', 'could not record event', {
      profile: profileName(ref),
      reason: event.reason,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/**
 * The Warning Events of failed syncs. Failure Events have a rate-limit lane of their own: a provider's
 * outage across a fleet fails hundreds of syncs at once, and their Events must not delay the Events of
 * healthy syncs. A sync inside a workflow task does not wait for its failure Event at all (the task would
 * stay open behind that backlog); at most MAX_PENDING_FAILURE_EVENTS of those wait at once.
 */
export class SyncFailureEvents {
  private pending = 0;

  constructor(private readonly scope: ReconcileScope) {}

  /** Records the Warning Event of a failed sync, when it is final (non-retryable or the last attempt) and new. */
  async record(ref: ProfileRef, req: SyncRequest, failure: Error, final: boolean): Promise<void> {
    if (!final || !(failure instanceof ApplicationFailure) || failure.type === 'ProfileGone') return;
    // Not failures: the workflow runs the sync elsewhere or again in a moment.
    if (failure.type === PROVIDER_DEFERRED || failure.type === PROVIDER_BUSY) return;
    const event = eventForSyncFailure(req.previousError, failure.type ?? 'Error', failure.message);
    if (!event) return;
    if (req.execMode !== 'local') return recordEvent(this.scope, ref, event, FAILURE_EVENT_LANE);
    const { log } = this.scope;
    if (this.pending >= MAX_PENDING_FAILURE_EVENTS) {
      log('warn', 'failure Event dropped: too many waiting to be recorded', { profile: profileName(ref), reason: event.reason });
      return;
    }
    this.pending++;
    void recordEvent(this.scope, ref, event, FAILURE_EVENT_LANE)
      .catch((e: unknown) => log('warn', 'could not record event', { profile: profileName(ref), reason: event.reason, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => this.pending--);
  }
}
