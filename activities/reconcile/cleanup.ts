// The deletion phase: once the API server confirms that this incarnation of the ClusterProfile is gone or
// being deleted, delete the SveltosCluster and the kubeconfig Secret that are ours, then release the
// finalizer. What is not ours (foreign, or adopted by a live namesake) is left in place and reported.
import type { CleanupRequest, CleanupResult, ProfileRef } from '../../workflows/api.js';
import { EventReason } from '../../workflows/phase.js';
import { currentActivityContext } from '../activity-context.js';
import { DeletionNotConfirmedError } from '../errors.js';
import { KubeApiError } from '../kube/classify.js';
import type { DeleteOutcome, DeletePreconditions } from '../kube/client.js';
import { FINALIZER, SVELTOS_CLUSTER, secretNameFor, type ClusterProfile, type ManagedKind } from '../kube/types.js';
import { hasFinalizer, isDeleting } from '../profile/model.js';
import { ownershipOf, type ExistingManagedObject } from '../profile/ownership.js';
import { recordEvent } from './events.js';
import { withGuardRetries } from './guard.js';
import { describe, profileName, profileObject, type ReconcileScope } from './scope.js';

export async function cleanupProfile(scope: ReconcileScope, ref: ProfileRef, req: CleanupRequest): Promise<CleanupResult> {
  // One read serves both the Event decision and the deletion check.
  const current = await scope.kube.getClusterProfile(ref.namespace, ref.name);
  // Once per cleanup, not once per attempt.
  if (req.recordDeletingEvent && (currentActivityContext()?.info.attempt ?? 1) === 1) {
    if (current?.metadata.uid === ref.uid && isDeleting(current)) {
      await recordEvent(scope, ref, {
        type: 'Normal',
        reason: EventReason.Deleting,
        message: `ClusterProfile ${ref.namespace}/${ref.name} is being deleted: removing its SveltosCluster and kubeconfig Secret`,
      });
    }
  }
  return cleanupGiven(scope, ref, current);
}

/** The cleanup, given the ClusterProfile as just read from the API server (undefined: gone). */
export async function cleanupGiven(scope: ReconcileScope, ref: ProfileRef, current: ClusterProfile | undefined): Promise<CleanupResult> {
  const { kube } = scope;
  // A signal is a hint, not proof (anyone who may signal the workflow could forge one): delete only when
  // the API server confirms that this incarnation is gone or being deleted.
  if (current !== undefined && current.metadata.uid === ref.uid && !isDeleting(current)) {
    throw new DeletionNotConfirmedError(
      profileObject(ref),
      `cleanup refused: the ClusterProfile (uid ${ref.uid}) exists and has no deletionTimestamp; nothing was deleted`,
    );
  }
  // A live namesake (new uid) owns whatever it adopted: then only objects owned by our uid go.
  const namesake = current !== undefined && current.metadata.uid !== ref.uid;
  const skipped: string[] = [];
  const ctx: DeleteContext = { scope, ref, namesake, skipped };
  const secretName = secretNameFor(ref.name);
  const sveltosClusterDeleted = await deleteIfOurs(ctx, {
    kind: SVELTOS_CLUSTER.kind,
    name: ref.name,
    get: () => kube.getSveltosCluster(ref.namespace, ref.name),
    del: (guard) => kube.deleteSveltosCluster(ref.namespace, ref.name, guard),
  });
  const secretDeleted = await deleteIfOurs(ctx, {
    kind: 'Secret',
    name: secretName,
    get: () => kube.getSecret(ref.namespace, secretName),
    del: (guard) => kube.deleteSecret(ref.namespace, secretName, guard),
  });
  const finalizerRemoved = current && !namesake ? await releaseFinalizer(scope, ref) : false;
  return { sveltosClusterDeleted, secretDeleted, finalizerRemoved, skipped };
}

interface DeleteContext {
  scope: ReconcileScope;
  ref: ProfileRef;
  /** A live ClusterProfile of the same name (another uid) exists. */
  namesake: boolean;
  /** Objects left in place, with why (collected). */
  skipped: string[];
}

interface ManagedTarget {
  kind: ManagedKind;
  name: string;
  get: () => Promise<ExistingManagedObject | undefined>;
  del: (guard: DeletePreconditions) => Promise<DeleteOutcome>;
}

/** Deletes the object when it is ours (guarded by its uid and resourceVersion); true when it was deleted now. */
async function deleteIfOurs(ctx: DeleteContext, target: ManagedTarget): Promise<boolean> {
  const { scope, ref, namesake } = ctx;
  const object = describe(target.kind, ref.namespace, target.name);
  const obj = await target.get();
  if (!obj) return false;
  const own = ownershipOf(target.kind, obj, ref);
  const deletable = namesake ? own.kind === 'ours' : own.kind !== 'foreign';
  if (!deletable) {
    const why = own.kind === 'ours' ? '' : own.why;
    ctx.skipped.push(`${object}: ${namesake && own.kind === 'adoptable' ? 'belongs to the new ClusterProfile of the same name' : why}`);
    scope.log('info', 'left in place: not ours', { profile: profileName(ref), object, why });
    return false;
  }
  const uid = obj.metadata?.uid;
  if (!uid) throw new KubeApiError(`${object} has no uid; will retry`);
  const resourceVersion = obj.metadata?.resourceVersion;
  const outcome = await target.del({ uid, ...(resourceVersion ? { resourceVersion } : {}) });
  if (outcome === 'pending') {
    const finalizers = (await target.get())?.metadata?.finalizers ?? [];
    throw new KubeApiError(
      `${object} is being deleted but still exists${finalizers.length ? ` (finalizers: ${finalizers.join(', ')})` : ''}; ` +
        'the ClusterProfile finalizer stays until it is gone',
    );
  }
  if (outcome === 'deleted') scope.log('info', 'deleted', { profile: profileName(ref), object });
  return outcome === 'deleted';
}

/** Removes our finalizer from this incarnation (guarded); true when it was there. */
async function releaseFinalizer(scope: ReconcileScope, ref: ProfileRef): Promise<boolean> {
  const removed = await withGuardRetries(scope, async () => {
    const profile = await scope.kube.getClusterProfile(ref.namespace, ref.name);
    if (!profile || profile.metadata.uid !== ref.uid) return false;
    if (!hasFinalizer(profile)) return false;
    await scope.kube.removeFinalizer(profile, FINALIZER);
    return true;
  });
  if (removed) scope.log('info', 'finalizer removed', { profile: profileName(ref), finalizer: FINALIZER });
  return removed;
}
