// Someone set spec.tokenRequestRenewalOption on our SveltosCluster: sveltoscluster-manager then mints
// tokens itself, writes them into our Secret under its own key and points spec.kubeconfigKeyName at it.
// We leave that to Sveltos instead of switching the key back (docs/adr/0010-sveltos-token-renewal.md).
// Pure.
import { KUBECONFIG_SECRET_KEY, type SveltosClusterApply } from './types.js';

/** The data key Sveltos writes renewed kubeconfigs to when tokenRequestRenewalOption names none. */
export const SVELTOS_RENEWED_KEY = 're-kubeconfig';

export interface SveltosTokenRenewal {
  /** The Secret key Sveltos reads (spec.kubeconfigKeyName as it stands). */
  readingKey: string | undefined;
  /** The key Sveltos writes its renewed kubeconfigs to. */
  renewalKey: string;
}

/** Sveltos's renewal as the live object states it; undefined when the option is unset. */
export function sveltosRenewsToken(live: { spec?: unknown } | undefined): SveltosTokenRenewal | undefined {
  const spec = (live?.spec ?? {}) as { tokenRequestRenewalOption?: unknown; kubeconfigKeyName?: unknown };
  const option = spec.tokenRequestRenewalOption;
  if (typeof option !== 'object' || option === null) return undefined;
  const named = (option as { kubeconfigKeyName?: unknown }).kubeconfigKeyName;
  return {
    readingKey: typeof spec.kubeconfigKeyName === 'string' ? spec.kubeconfigKeyName : undefined,
    renewalKey: typeof named === 'string' && named !== '' ? named : SVELTOS_RENEWED_KEY,
  };
}

/**
 * What we apply given the live object: while Sveltos renews the token and reads another key than ours,
 * spec.kubeconfigKeyName is not applied, so we no longer switch it back (Sveltos's write took the field
 * over, so leaving it out of our apply removes nothing). Everything else stays ours.
 */
export function sveltosClusterForLive(desired: SveltosClusterApply, renewal: SveltosTokenRenewal | undefined): SveltosClusterApply {
  if (!renewal || renewal.readingKey === undefined || renewal.readingKey === desired.spec.kubeconfigKeyName) return desired;
  return { ...desired, spec: { kubeconfigName: desired.spec.kubeconfigName } };
}

/** The Warning that says what is happening and what to do. */
export function sveltosRenewalWarning(object: string, renewal: SveltosTokenRenewal): { type: 'Warning'; reason: string; message: string } {
  return {
    type: 'Warning',
    reason: 'SveltosRenewsToken',
    message:
      `${object} has spec.tokenRequestRenewalOption: Sveltos renews this cluster's token itself and reads key ` +
      `"${renewal.readingKey ?? renewal.renewalKey}" of the Secret, which clusterinventory leaves to it; the credential clusterinventory ` +
      `keeps refreshing (key "${KUBECONFIG_SECRET_KEY}") is not used. To have it used again, remove spec.tokenRequestRenewalOption ` +
      `and spec.kubeconfigKeyName from the SveltosCluster (clusterinventory then sets the key back).`,
  };
}
