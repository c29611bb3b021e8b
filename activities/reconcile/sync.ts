// One sync of the current workflow code, in one activity (one history entry, one billable action), in
// phases: the finalizer the first time, the credential and the Secret, the SveltosCluster when something
// may have changed, and the Event the transition deserves. Heartbeats from start to end.
import type { ProfileRef, SyncReport, SyncRequest } from '../../workflows/api.js';
import { eventForSyncReport } from '../../workflows/phase.js';
import { withHeartbeat } from '../activity-context.js';
import { recordEvent } from './events.js';
import { FailedAfterWrite } from './failures.js';
import { loadProfile, profileWithFinalizer } from './profile.js';
import type { ReconcileScope } from './scope.js';
import { writeCredentials } from './secret.js';
import { applySveltosClusterFor } from './sveltos-cluster.js';

export async function syncProfile(scope: ReconcileScope, ref: ProfileRef, req: SyncRequest): Promise<SyncReport> {
  return withHeartbeat(async () => {
    const profile = req.finalizerPresent ? await loadProfile(scope, ref, { allowDeleting: false }) : await profileWithFinalizer(scope, ref);
    // The first sync of a new profile expects its names to be free: it creates without reading first, and
    // reads (to check ownership) only when a name turns out to be taken.
    const expectAbsent = !req.syncedBefore && req.previousError === undefined;
    const cred = await writeCredentials(scope, ref, profile, {
      compare: req.full,
      expectAbsent,
      ...(req.execMode ? { execMode: req.execMode } : {}),
      ...(req.lastFingerprint !== undefined ? { lastFingerprint: req.lastFingerprint } : {}),
    });
    let sveltosClusterChanged = false;
    try {
      if (req.full) sveltosClusterChanged = (await applySveltosClusterFor(scope, ref, profile, { expectAbsent })).changed;
    } catch (err) {
      throw new FailedAfterWrite(err, cred);
    }
    const event = eventForSyncReport(ref, req, cred);
    if (event) await recordEvent(scope, ref, event);
    return { ...cred, sveltosClusterChanged, schedule: scope.schedule };
  });
}
