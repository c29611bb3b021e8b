// The activities of the first release's workflow (workflows/legacy/), one step each: part of the legacy box
// (docs/adr/0012-first-release-code-in-one-box.md), deleted with it once no first-release workflow can be
// running. Thin adapters over the steps of the current sync and cleanup, which the reconcile activities
// hand in (FirstReleaseSteps lists all that this code uses of them), so that the first release's workflows
// write exactly what the current code writes.
import type { CleanupResult, CredentialSyncResult, ProfileEvent, ProfileRef } from '../../workflows/api.js';
import type { ApplyResult, FinalizerResult, LegacyActivities } from '../../workflows/legacy/api.js';
import { ProfileGoneError } from '../errors.js';
import { withHeartbeat } from '../activity-context.js';
import type { KubeClient } from '../kube/client.js';
import { FINALIZER, type ClusterProfile } from '../kube/types.js';
import { isDeleting } from '../profile/model.js';

/** What the first release's activities use of the current activities' building blocks. */
export interface FirstReleaseSteps {
  kube: Pick<KubeClient, 'getClusterProfile' | 'addFinalizer'>;
  log: (level: 'info', msg: string, meta: Record<string, unknown>) => void;
  /** Read-decide-patch attempts: a guarded patch that lost is read and decided again, a few times. */
  withGuardRetries<T>(attempt: () => Promise<T | 'retry'>): Promise<T>;
  /** The ClusterProfile of this incarnation, or ProfileGoneError. */
  loadProfile(ref: ProfileRef, opts: { allowDeleting: boolean }): Promise<ClusterProfile>;
  /** Resolves the credential and writes the Secret when its content differs. */
  writeCredentials(ref: ProfileRef, profile: ClusterProfile, opts: { compare: boolean }): Promise<CredentialSyncResult>;
  applySveltosClusterFor(ref: ProfileRef, profile: ClusterProfile): Promise<ApplyResult>;
  /** The cleanup, given the ClusterProfile as just read (undefined: gone); refuses unless deletion is confirmed. */
  cleanupGiven(ref: ProfileRef, current: ClusterProfile | undefined): Promise<CleanupResult>;
  recordEvent(ref: ProfileRef, event: ProfileEvent): Promise<void>;
}

/** Wraps an activity so that its failures leave as ApplicationFailures (the reconcile activities' wrapper). */
export type ActivityWrapper = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) => (...args: A) => Promise<R>;

export function createLegacyActivities(steps: FirstReleaseSteps, wrap: ActivityWrapper): LegacyActivities {
  const { kube, log } = steps;

  async function ensureFinalizer(ref: ProfileRef): Promise<FinalizerResult> {
    return steps.withGuardRetries(async () => {
      const profile = await kube.getClusterProfile(ref.namespace, ref.name);
      if (!profile || profile.metadata.uid !== ref.uid) return { gone: true, deleting: false };
      if (isDeleting(profile)) return { gone: false, deleting: true };
      if (profile.metadata.finalizers?.includes(FINALIZER)) return { gone: false, deleting: false };
      try {
        await kube.addFinalizer(profile, FINALIZER);
      } catch (err) {
        if (err instanceof ProfileGoneError) return { gone: true, deleting: false };
        throw err;
      }
      log('info', 'finalizer added', { profile: `${ref.namespace}/${ref.name}`, finalizer: FINALIZER });
      return { gone: false, deleting: false };
    });
  }

  async function syncCredentials(ref: ProfileRef): Promise<CredentialSyncResult> {
    return withHeartbeat(async () => steps.writeCredentials(ref, await steps.loadProfile(ref, { allowDeleting: false }), { compare: true }));
  }

  async function applySveltosCluster(ref: ProfileRef): Promise<ApplyResult> {
    return steps.applySveltosClusterFor(ref, await steps.loadProfile(ref, { allowDeleting: false }));
  }

  async function cleanup(ref: ProfileRef): Promise<CleanupResult> {
    return steps.cleanupGiven(ref, await kube.getClusterProfile(ref.namespace, ref.name));
  }

  return {
    ensureFinalizer: wrap('ensureFinalizer', ensureFinalizer),
    syncCredentials: wrap('syncCredentials', syncCredentials),
    applySveltosCluster: wrap('applySveltosCluster', applySveltosCluster),
    cleanup: wrap('cleanup', cleanup),
    recordEvent: wrap('recordEvent', (ref: ProfileRef, event: ProfileEvent) => steps.recordEvent(ref, event)),
  };
}
