// Pure: what the watcher reads from a ClusterProfile. The snapshot (workflows/api.ts ProfileSnapshot)
// carries a hash of the fields that matter to the reconciler, so that a status condition, a property,
// a finalizer or a managedFields update never costs a signal, and so that after a restart the watcher
// can compare with the hash a workflow reports in its ClusterInventoryObservedHash search attribute.
import { createHash } from 'node:crypto';
import type { ProfileSnapshot } from '../workflows/api.js';
import type { ClusterProfile } from '../activities/kube/types.js';
import {
  carriedAccessProviders,
  copiedLabels,
  displayNameOf,
  isDeleting,
  secretReaderSource,
  type SecretReaderRef,
} from '../activities/profile/model.js';

export { isDeleting, profileRef } from '../activities/profile/model.js';

/**
 * Bumped when the set of relevant fields or their normalisation changes: every profile then differs
 * from what its workflow last saw and is signalled once.
 */
export const HASH_VERSION = 'v2';

/**
 * The fields that drive the reconciler (SPEC §3 "relevant changes"), normalised. Labels are the ones
 * copied to the SveltosCluster (v2: Sveltos' own `projectsveltos.io/` labels are not, so they do not count).
 */
export interface RelevantFields {
  labels: Record<string, string>;
  displayName: string;
  accessProviders: unknown[];
  credentialProviders: unknown[];
  deleting: boolean;
}

export function relevantFields(profile: ClusterProfile): RelevantFields {
  const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  return {
    labels: copiedLabels(profile),
    displayName: displayNameOf(profile),
    accessProviders: listOf(profile.status?.accessProviders),
    credentialProviders: listOf(profile.status?.credentialProviders),
    deleting: isDeleting(profile),
  };
}

/**
 * Canonical JSON: object keys sorted, `undefined` and `null` object members dropped (Go writes `null`
 * for empty lists and maps; absent and null mean the same to us), array order kept.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  return 'null';
}

/** sha256 (hex) of the canonical JSON of the relevant fields. */
export function observedHashOf(profile: ClusterProfile): string {
  return createHash('sha256')
    .update(`${HASH_VERSION}\n`)
    .update(canonicalJson(relevantFields(profile)))
    .digest('hex');
}

export function snapshotOf(profile: ClusterProfile): ProfileSnapshot {
  return {
    resourceVersion: profile.metadata.resourceVersion ?? '',
    generation: profile.metadata.generation ?? 0,
    observedHash: observedHashOf(profile),
    providerNames: carriedAccessProviders(profile).map((c) => c.provider.name),
    deleting: isDeleting(profile),
  };
}

/** A Secret a `kubeconfig-secretreader` profile copies from. */
export type SourceSecretRef = Pick<SecretReaderRef, 'namespace' | 'name' | 'key'>;

export function secretKey(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

/** What the watcher follows for a profile: its one source Secret, or why there is none to follow. */
export type SourceSecretVerdict =
  | { kind: 'none' }
  | { kind: 'source'; ref: SourceSecretRef }
  /** The activity would refuse the reference (the workflow reports it); nothing is watched. */
  | { kind: 'refused'; reason: string };

/**
 * The source Secret of a profile served by the built-in Secret reader, validated and allow-listed by the
 * same function the activity uses (profile model secretReaderSource): at most one per profile, and none
 * when the activity would refuse it (a repeated extension, an invalid name, a namespace not allowed).
 */
export function sourceSecretOf(profile: ClusterProfile, allowedNamespaces: readonly string[]): SourceSecretVerdict {
  try {
    const ref = secretReaderSource(profile, allowedNamespaces);
    return ref ? { kind: 'source', ref: { namespace: ref.namespace, name: ref.name, key: ref.key } } : { kind: 'none' };
  } catch (err) {
    return { kind: 'refused', reason: err instanceof Error ? err.message : String(err) };
  }
}
