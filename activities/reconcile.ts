// The activities a worker registers (workflows/registered-activities.ts): everything the per-ClusterProfile
// workflow does to Kubernetes. Each activity is idempotent, reads what it needs afresh (by namespace/name and
// checked against the workflow's uid), decides with the pure helpers in kube/desired.ts and then acts.
// The phases live in reconcile/: sync.ts (finalizer, secret.ts, sveltos-cluster.ts, events.ts) and
// cleanup.ts; failures.ts turns our error classes into ApplicationFailures (InvalidInput, Conflict and
// ProfileGone non-retryable; anything else, KubeApiError or a plugin hiccup, retried by Temporal).
// The first release's activities are in legacy/first-release.ts, thin adapters over the same phases.
// Credentials stay inside the activity that resolves them: it writes them and returns metadata only.
import type { FailureDetails } from '../workflows/api.js';
import type { ReconcileActivities } from '../workflows/registered-activities.js';
import { currentActivityContext } from './activity-context.js';
import { createLegacyActivities, type FirstReleaseSteps } from './legacy/first-release.js';
import { providerWaitFailure } from './providers/wait-retry.js';
import { cleanupGiven, cleanupProfile } from './reconcile/cleanup.js';
import { recordEvent, SyncFailureEvents } from './reconcile/events.js';
import { failureWrapper } from './reconcile/failures.js';
import { withGuardRetries } from './reconcile/guard.js';
import { loadProfile } from './reconcile/profile.js';
import { scopeOf, type ReconcileDeps, type ReconcileScope } from './reconcile/scope.js';
import { writeCredentials } from './reconcile/secret.js';
import { applySveltosClusterFor } from './reconcile/sveltos-cluster.js';
import { syncProfile } from './reconcile/sync.js';

export function createReconcileActivities(deps: ReconcileDeps): ReconcileActivities {
  const scope = scopeOf(deps);
  const failureEvents = new SyncFailureEvents(scope);
  const wrap = failureWrapper(scope.log);
  const details: FailureDetails = { schedule: scope.schedule };
  return {
    syncProfile: wrap('syncProfile', (ref, req) => syncProfile(scope, ref, req), {
      details,
      ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
      onFailure: (args, failure, final) => failureEvents.record(args[0], args[1], failure, final && args[1].attemptsPerSync > 0),
      finalAttempt: (args) => args[1].attemptsPerSync,
      retryAs: (args, failure, attempt) =>
        providerWaitFailure(failure, args[1], { attempt, nowMs: Date.now(), random: Math.random(), waitingSinceMs: currentActivityContext()?.info.scheduledTimestampMs }),
    }),
    cleanupProfile: wrap('cleanupProfile', (ref, req) => cleanupProfile(scope, ref, req), { details }),
    ...createLegacyActivities(firstReleaseSteps(scope), wrap),
  };
}

/** The phases the first release's activities are built from, bound to this worker's scope. */
function firstReleaseSteps(scope: ReconcileScope): FirstReleaseSteps {
  return {
    kube: scope.kube,
    log: scope.log,
    withGuardRetries: (attempt) => withGuardRetries(scope, attempt),
    loadProfile: (ref, opts) => loadProfile(scope, ref, opts),
    writeCredentials: (ref, profile, opts) => writeCredentials(scope, ref, profile, opts),
    applySveltosClusterFor: (ref, profile) => applySveltosClusterFor(scope, ref, profile),
    cleanupGiven: (ref, current) => cleanupGiven(scope, ref, current),
    recordEvent: (ref, event) => recordEvent(scope, ref, event),
  };
}
