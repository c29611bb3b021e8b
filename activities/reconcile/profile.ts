// The ClusterProfile a step works for: read (from the watcher's cache when it holds this incarnation) and
// checked against the workflow's uid; and our finalizer on it before anything is written for it.
import type { ProfileRef } from '../../workflows/api.js';
import { ProfileGoneError } from '../errors.js';
import { FINALIZER, type ClusterProfile } from '../kube/types.js';
import { isDeleting } from '../profile/model.js';
import { withGuardRetries } from './guard.js';
import { profileName, profileObject, type ReconcileScope } from './scope.js';

/** The ClusterProfile of this incarnation, or ProfileGoneError (deleted, or replaced by a namesake). */
export async function loadProfile(scope: ReconcileScope, ref: ProfileRef, opts: { allowDeleting: boolean; fresh?: boolean }): Promise<ClusterProfile> {
  // The watcher's cache, when this process runs one and it holds this incarnation: the signal that
  // started this sync came from that cache, so it is at least as new. Otherwise (and to retry a guarded
  // patch that lost) the API server.
  const cached = opts.fresh ? undefined : scope.profileCache?.(ref.namespace, ref.name);
  const profile = cached?.metadata.uid === ref.uid ? cached : await scope.kube.getClusterProfile(ref.namespace, ref.name);
  if (!profile) throw new ProfileGoneError(profileObject(ref));
  if (profile.metadata.uid !== ref.uid) {
    throw new ProfileGoneError(profileObject(ref), `was replaced by a new ClusterProfile of the same name (uid ${profile.metadata.uid ?? '?'}, expected ${ref.uid})`);
  }
  if (!opts.allowDeleting && isDeleting(profile)) {
    throw new ProfileGoneError(profileObject(ref), 'is being deleted (deletionTimestamp is set); nothing more is written for it');
  }
  return profile;
}

/**
 * The profile with our finalizer on it (one GET, plus one PATCH the first time), or ProfileGoneError.
 * `loaded`: the profile as this sync already read it, used for the first attempt instead of a second read.
 */
export async function profileWithFinalizer(scope: ReconcileScope, ref: ProfileRef, loaded?: ClusterProfile): Promise<ClusterProfile> {
  let attempt = 0;
  return withGuardRetries(scope, async () => {
    const profile = attempt++ === 0 && loaded ? loaded : await loadProfile(scope, ref, { allowDeleting: false, fresh: attempt > 1 });
    if (profile.metadata.finalizers?.includes(FINALIZER)) return profile;
    const patched = await scope.kube.addFinalizer(profile, FINALIZER);
    scope.log('info', 'finalizer added', { profile: profileName(ref), finalizer: FINALIZER });
    return patched;
  });
}
