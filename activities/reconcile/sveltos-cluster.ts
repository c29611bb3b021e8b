// The SveltosCluster phase: apply the SveltosCluster beside the ClusterProfile (created when absent,
// adopted after name reuse, never written over a foreign one), warning when Sveltos would renew its token.
import type { ProfileRef } from '../../workflows/api.js';
import { KubeApiError } from '../kube/classify.js';
import { desiredSveltosCluster } from '../kube/desired.js';
import { sveltosClusterForLive, sveltosRenewalWarning, sveltosRenewsToken } from '../kube/sveltos-renewal.js';
import { SVELTOS_CLUSTER, type ClusterProfile } from '../kube/types.js';
import { recordEvent } from './events.js';
import { readForWrite } from './guard.js';
import { describe, profileName, type ReconcileScope } from './scope.js';

export async function applySveltosClusterFor(scope: ReconcileScope, ref: ProfileRef, profile: ClusterProfile, opts: { expectAbsent?: boolean } = {}): Promise<{ changed: boolean }> {
  const { kube, log } = scope;
  const desired = desiredSveltosCluster(profile);
  const name = desired.metadata.name;
  const object = describe(SVELTOS_CLUSTER.kind, ref.namespace, name);
  const read = () => readForWrite(scope, { kind: SVELTOS_CLUSTER.kind, object, ref }, () => kube.getSveltosCluster(ref.namespace, name));
  let existing = opts.expectAbsent ? undefined : await read();
  if (!existing && (await kube.createSveltosClusterIfAbsent(desired))) {
    log('info', 'SveltosCluster applied', { profile: profileName(ref), sveltosCluster: name, created: true, changed: true });
    return { changed: true };
  }
  existing ??= await read();
  if (!existing) throw new KubeApiError(`${object} was deleted while being written; will retry`);
  const before = existing.metadata?.resourceVersion;
  const renewal = sveltosRenewsToken(existing);
  if (renewal) await recordEvent(scope, ref, sveltosRenewalWarning(object, renewal));
  // Always applied: a no-op apply changes nothing (same resourceVersion), and an apply is what removes
  // labels the profile dropped while keeping everyone else's.
  const after = await kube.applySveltosCluster(sveltosClusterForLive(desired, renewal), before ? { resourceVersion: before } : {});
  const changed = after.metadata?.resourceVersion !== before;
  log(changed ? 'info' : 'debug', changed ? 'SveltosCluster applied' : 'SveltosCluster up to date', {
    profile: profileName(ref),
    sveltosCluster: name,
    created: false,
    changed,
  });
  return { changed };
}
