// Read-decide-patch under optimistic concurrency: a guarded patch that lost against a concurrent write is
// retried a few times within the attempt; and the read of an object we are about to write, which refuses
// a foreign one and cleans up an adoptable one.
import type { ProfileRef } from '../../workflows/api.js';
import { ConflictError } from '../errors.js';
import { KubeApiError } from '../kube/classify.js';
import { PATCH_GUARD_FAILED } from '../kube/client.js';
import type { ManagedKind } from '../kube/types.js';
import { ownershipOf, staleOwnerReferences, type ExistingManagedObject } from '../profile/ownership.js';
import { profileName, profileObject, type ReconcileScope } from './scope.js';

/**
 * Runs read-decide-patch attempts: a guarded patch that lost against a concurrent write (or an attempt
 * returning 'retry') reads again and decides anew, a few times; then Temporal's retry takes over.
 */
export async function withGuardRetries<T>(scope: Pick<ReconcileScope, 'guardAttempts'>, attempt: () => Promise<T | 'retry'>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < scope.guardAttempts; i++) {
    try {
      const result = await attempt();
      if (result !== 'retry') return result;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.reason === PATCH_GUARD_FAILED)) throw err;
      last = err;
    }
  }
  throw last instanceof Error ? last : new KubeApiError('concurrent updates kept winning; will retry');
}

/**
 * Reads an object we are about to write. Absent: undefined. Foreign: ConflictError (never overwritten).
 * Adoptable after name reuse: the earlier incarnation's ownerReference is removed first (guarded), so
 * that the apply leaves exactly one controller reference. Returns the object as last read.
 */
export async function readForWrite<T extends ExistingManagedObject>(
  scope: ReconcileScope,
  target: { kind: ManagedKind; object: string; ref: ProfileRef },
  get: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const { kind, object, ref } = target;
  return withGuardRetries(scope, async () => {
    const obj = await get();
    if (!obj) return undefined;
    const own = ownershipOf(kind, obj, ref);
    if (own.kind === 'foreign') {
      throw new ConflictError(
        object,
        `exists and is not managed by this controller for ${profileObject(ref)}: ${own.why}; it is left untouched ` +
          '(delete or rename it, or remove the ClusterProfile, to resolve)',
      );
    }
    if (own.kind === 'ours') return obj;
    scope.log('info', 'adopting', { profile: profileName(ref), object, why: own.why });
    const stale = staleOwnerReferences(obj.metadata, ref);
    if (stale.length === 0 || !obj.metadata) return obj;
    await scope.kube.removeOwnerReferences(kind, obj.metadata, stale);
    return 'retry';
  });
}
