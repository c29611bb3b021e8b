// Running workflows whose ClusterProfile is gone although no deletion was ever seen (force-deleted, its
// finalizer stripped, while no watcher ran). Pure: the caller tracks each as a gone profile, so that the
// normal decision tells its workflow deletionRequested; the workflow checks with the API server before
// deleting anything.
import { parseWorkflowId, type ProfileRef, type ProfileSnapshot } from '../workflows/api.js';
import type { RunningWorkflow } from './signaler.js';

export interface Orphan {
  uid: string;
  ref: ProfileRef;
  /** The gone profile as far as the workflow knows it. */
  snapshot: ProfileSnapshot;
  workflow: RunningWorkflow;
}

export interface OrphanScope {
  /** The watcher knows this profile (it is listed, or already tracked as gone). */
  isTracked(uid: string): boolean;
  /** When the latest complete list of every profile informer began; NaN or Infinity: not every informer has listed. */
  listedFromMs: number;
  /** Namespaces this watcher lists; empty: all. */
  namespaces: readonly string[];
}

/**
 * A workflow that started before the latest complete profile list began, for a uid missing from that list,
 * in a namespace this watcher lists, and not already cleaning up.
 */
export function findOrphans(view: ReadonlyMap<string, RunningWorkflow>, scope: OrphanScope): Orphan[] {
  if (!Number.isFinite(scope.listedFromMs)) return [];
  const found: Orphan[] = [];
  for (const [uid, wf] of view) {
    if (scope.isTracked(uid) || wf.startedAtMs === undefined || wf.startedAtMs >= scope.listedFromMs) continue;
    // Already cleaning up: nothing to tell.
    if (wf.phase === 'Deleting' || wf.phase === 'Deleted') continue;
    const ref = parseWorkflowId(wf.workflowId);
    if (!ref || ref.uid !== uid || (scope.namespaces.length > 0 && !scope.namespaces.includes(ref.namespace))) continue;
    const snapshot: ProfileSnapshot = { resourceVersion: '', generation: 0, observedHash: wf.observedHash ?? '', providerCount: 0, deleting: true };
    found.push({ uid, ref, snapshot, workflow: wf });
  }
  return found;
}
