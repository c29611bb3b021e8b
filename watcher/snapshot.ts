// Pure: what the watcher reads from a ClusterProfile. The snapshot (workflows/api.ts ProfileSnapshot)
// carries a hash of the fields that matter to the reconciler, so that a status condition, a property,
// a finalizer or a managedFields update never costs a signal, and so that after a restart the watcher
// can compare with the hash a workflow reports in its ClusterInventoryObservedHash search attribute.
import { createHash } from 'node:crypto';
import type { ProfileRef, ProfileSnapshot } from '../workflows/api.js';
import {
  EXEC_EXTENSION,
  SECRET_READER_PROVIDER,
  type AccessProvider,
  type ClusterProfile,
} from '../activities/kube/types.js';

/**
 * Bumped when the set of relevant fields or their normalisation changes: every profile then differs
 * from what its workflow last saw and is signalled once.
 */
export const HASH_VERSION = 'v1';

/** The fields that drive the reconciler (SPEC §3 "relevant changes"), normalised. */
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
    labels: { ...(profile.metadata?.labels ?? {}) },
    displayName: profile.spec?.displayName ?? '',
    accessProviders: listOf(profile.status?.accessProviders),
    credentialProviders: listOf(profile.status?.credentialProviders),
    deleting: isDeleting(profile),
  };
}

export function isDeleting(profile: ClusterProfile): boolean {
  const ts: unknown = profile.metadata?.deletionTimestamp;
  return ts !== undefined && ts !== null && ts !== '';
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

/** accessProviders, then the deprecated credentialProviders whose name accessProviders lacks. */
export function carriedProviders(profile: ClusterProfile): AccessProvider[] {
  const byName = new Map<string, AccessProvider>();
  for (const list of [profile.status?.accessProviders, profile.status?.credentialProviders]) {
    if (!Array.isArray(list)) continue;
    for (const p of list as unknown[]) {
      const name = (p as { name?: unknown } | null)?.name;
      if (typeof name !== 'string' || byName.has(name)) continue;
      byName.set(name, p as AccessProvider);
    }
  }
  return [...byName.values()];
}

export function profileRef(profile: ClusterProfile): ProfileRef {
  return {
    namespace: profile.metadata.namespace ?? '',
    name: profile.metadata.name ?? '',
    uid: profile.metadata.uid ?? '',
  };
}

export function snapshotOf(profile: ClusterProfile): ProfileSnapshot {
  return {
    resourceVersion: profile.metadata.resourceVersion ?? '',
    generation: profile.metadata.generation ?? 0,
    observedHash: observedHashOf(profile),
    providerNames: carriedProviders(profile).map((p) => p.name),
    deleting: isDeleting(profile),
  };
}

/** A Secret a `kubeconfig-secretreader` profile copies from. */
export interface SourceSecretRef {
  namespace: string;
  name: string;
  key?: string;
}

export function secretKey(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

/**
 * The source Secret(s) of a profile served by the built-in Secret reader: the
 * `client.authentication.k8s.io/exec` extension `{name, key, namespace?}` of its
 * `kubeconfig-secretreader` provider (accessProviders wins over credentialProviders); the namespace
 * defaults to the profile's. Lenient: what the activity would refuse (no name, bad types) is skipped,
 * since there is nothing to watch; the activity reports the error.
 */
export function sourceSecretRefs(profile: ClusterProfile): SourceSecretRef[] {
  const provider = carriedProviders(profile).find((p) => p.name === SECRET_READER_PROVIDER);
  const extensions: unknown = provider?.cluster?.extensions;
  if (!Array.isArray(extensions)) return [];
  const profileNamespace = profile.metadata.namespace ?? '';
  const out = new Map<string, SourceSecretRef>();
  for (const entry of extensions as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { name: extName, extension } = entry as { name?: unknown; extension?: unknown };
    if (extName !== EXEC_EXTENSION || typeof extension !== 'object' || extension === null || Array.isArray(extension)) continue;
    const { name, key, namespace } = extension as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') continue;
    const ref: SourceSecretRef = {
      namespace: typeof namespace === 'string' && namespace !== '' ? namespace : profileNamespace,
      name,
    };
    if (typeof key === 'string' && key !== '') ref.key = key;
    if (!out.has(secretKey(ref))) out.set(secretKey(ref), ref);
  }
  return [...out.values()];
}
