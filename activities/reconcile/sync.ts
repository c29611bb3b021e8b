// One sync of the current workflow code, in one activity (one history entry, one billable action), in
// phases: the credential, the finalizer the first time, the Secret, the SveltosCluster when something
// may have changed, and the Event the transition deserves. Heartbeats from start to end.
import type { ProfileRef, SyncReport, SyncRequest } from '../../workflows/api.js';
import { eventForSyncReport } from '../../workflows/phase.js';
import { withHeartbeat } from '../activity-context.js';
import { recordEvent } from './events.js';
import { FailedAfterWrite } from './failures.js';
import { loadProfile, profileWithFinalizer } from './profile.js';
import type { ReconcileScope } from './scope.js';
import { resolveCredential, storeCredential } from './secret.js';
import { applySveltosClusterFor } from './sveltos-cluster.js';

export async function syncProfile(scope: ReconcileScope, ref: ProfileRef, req: SyncRequest): Promise<SyncReport> {
  return withHeartbeat(async () => {
    let profile = await loadProfile(scope, ref, { allowDeleting: false });
    // The first sync of a new profile expects its names to be free: it creates without reading first, and
    // reads (to check ownership) only when a name turns out to be taken.
    const expectAbsent = !req.syncedBefore && req.previousError === undefined;
    const opts = {
      compare: req.full,
      expectAbsent,
      ...(req.execMode ? { execMode: req.execMode } : {}),
      ...(req.lastFingerprint !== undefined ? { lastFingerprint: req.lastFingerprint } : {}),
    };
    const credential = await resolveCredential(scope, ref, profile, opts);
    // The finalizer goes on once the credential is in hand, before the first write: a profile whose provider
    // is down or busy writes nothing, so a fleet behind an outage does not queue its finalizers ahead of
    // healthy profiles in the ClusterProfiles' write limit (docs/adr/0009-provider-bulkheads.md).
    if (!req.finalizerPresent) profile = await profileWithFinalizer(scope, ref, profile);
    const cred = await storeCredential(scope, profile, credential, opts);
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
