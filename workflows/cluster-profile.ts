// The long-lived workflow behind one ClusterProfile: it keeps the cluster's kubeconfig Secret and
// SveltosCluster in step with the profile, refreshes the credential before it expires, and cleans up when
// the profile goes. The behaviour lives in ProfileReconciler (reconciler.ts); here each message handler
// delegates to it in one line, and the main loop runs until cleanup or continue-as-new. Workflows started by
// the first release run the frozen code in workflows/legacy/ until they continue as new into this one
// (docs/adr/0012-first-release-code-in-one-box.md).
import { setHandler } from '@temporalio/workflow';
import {
  WORKFLOW_INPUT_VERSION,
  deletionRequested,
  profileChanged,
  refreshUpdate,
  resyncRequested,
  statusQuery,
  type ClusterProfileWorkflowInput,
} from './api.js';
import type { LegacyWorkflowInput } from './legacy/api.js';
import { legacyClusterProfileWorkflow } from './legacy/cluster-profile-v1.js';
import { ProfileReconciler } from './reconciler.js';


/**
 * Entry point (workflow type `clusterProfileWorkflow`). The input's version tells which code a history was
 * started with, so histories of the first release replay with its frozen code (no marker, no extra event).
 */
export async function clusterProfileWorkflow(input: ClusterProfileWorkflowInput | LegacyWorkflowInput): Promise<void> {
  if (!('version' in input) || input.version !== WORKFLOW_INPUT_VERSION) {
    return legacyClusterProfileWorkflow(input as LegacyWorkflowInput);
  }
  return reconcileClusterProfile(input);
}

async function reconcileClusterProfile(input: ClusterProfileWorkflowInput): Promise<void> {
  const reconciler = new ProfileReconciler(input);
  setHandler(profileChanged, (snapshot) => reconciler.profileChanged(snapshot), {
    description: 'The ClusterProfile changed: record the snapshot; resync if its hash or generation changed.',
  });
  setHandler(resyncRequested, (request) => reconciler.resyncRequested(request), {
    description: 'A source Secret or a managed object changed: resync promptly.',
  });
  setHandler(deletionRequested, () => reconciler.requestDeletion('deletionRequested signal'), {
    description: 'The ClusterProfile is being deleted: stop refreshing; clean up once the API server confirms it.',
  });
  setHandler(statusQuery, () => reconciler.status, { description: 'Phase, last sync, credential expiry, next refresh, last error.' });
  setHandler(refreshUpdate, (request) => reconciler.refresh(request), {
    validator: (_request) => reconciler.validateRefresh(),
    description: 'Force a credential sync now and return its outcome.',
  });
  await reconciler.run();
}
