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

/**
 * Bumped when the set of relevant fields or their normalisation changes: every profile then differs
 * from what its workflow last saw and is signalled once.
 */
export const HASH_VERSION = 'v2';

/**
 * The fields that drive the reconciler (the relevant changes of docs/behaviour.md, Refresh), normalised. Labels are the ones
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

type CanonicalStep = { literal: string } | { value: unknown };

/**
 * Canonical JSON: object keys sorted, `undefined` and `null` object members dropped (Go writes `null`
 * for empty lists and maps; absent and null mean the same to us), array order kept. Iterative (an explicit
 * work stack, never the call stack): extension objects are the profile author's to nest as deep as the API
 * server stores them, and a stack overflow here would leave the profile without a workflow.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const todo: CanonicalStep[] = [{ value }];
  const pushReversed = (steps: CanonicalStep[]) => {
    for (let i = steps.length - 1; i >= 0; i--) todo.push(steps[i] as CanonicalStep);
  };
  for (let step = todo.pop(); step !== undefined; step = todo.pop()) {
    if ('literal' in step) {
      out.push(step.literal);
      continue;
    }
    const v = step.value;
    if (v === null || v === undefined) out.push('null');
    else if (Array.isArray(v)) {
      const steps: CanonicalStep[] = [{ literal: '[' }];
      v.forEach((item: unknown, i) => steps.push(...(i > 0 ? [{ literal: ',' }] : []), { value: item }));
      steps.push({ literal: ']' });
      pushReversed(steps);
    } else if (v instanceof Date) out.push(JSON.stringify(v.toISOString()));
    else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, member]) => member !== undefined && member !== null)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const steps: CanonicalStep[] = [{ literal: '{' }];
      entries.forEach(([k, member], i) => steps.push({ literal: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` }, { value: member }));
      steps.push({ literal: '}' });
      pushReversed(steps);
    } else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out.push(JSON.stringify(v));
    else if (typeof v === 'bigint') out.push(v.toString());
    else out.push('null');
  }
  return out.join('');
}

/** sha256 (hex) of the canonical JSON of the relevant fields. */
export function observedHashOf(profile: ClusterProfile): string {
  return createHash('sha256')
    .update(`${HASH_VERSION}\n`)
    .update(canonicalJson(relevantFields(profile)))
    .digest('hex');
}

/** The bounded summary sent to the workflow: a hash and a count, never the profile's lists (see ProfileSnapshot). */
export function snapshotOf(profile: ClusterProfile): ProfileSnapshot {
  return {
    resourceVersion: profile.metadata.resourceVersion ?? '',
    generation: profile.metadata.generation ?? 0,
    observedHash: observedHashOf(profile),
    providerCount: carriedAccessProviders(profile).length,
    deleting: isDeleting(profile),
  };
}

/**
 * snapshotOf, or, should reading the profile fail for any reason, a snapshot that still starts (or signals)
 * its workflow: a hash of the resourceVersion (each new version is a change) and one provider, so the
 * workflow syncs and the activity, which reads the profile itself, reports what is wrong with it on the
 * profile. The profile is never left without a workflow, and its deletion is never left unsignalled.
 */
export function safeSnapshotOf(profile: ClusterProfile): { snapshot: ProfileSnapshot; error?: string } {
  try {
    return { snapshot: snapshotOf(profile) };
  } catch (err) {
    const resourceVersion = profile.metadata.resourceVersion ?? '';
    const observedHash = createHash('sha256').update(`${HASH_VERSION}\nunreadable\n${profile.metadata.uid ?? ''}\n${resourceVersion}`).digest('hex');
    return {
      snapshot: { resourceVersion, generation: profile.metadata.generation ?? 0, observedHash, providerCount: 1, deleting: isDeleting(profile) },
      error: err instanceof Error ? err.message : String(err),
    };
  }
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
