// Whose an existing Secret or SveltosCluster is, relative to one ClusterProfile incarnation: what the
// activities may write or delete, and which object events the watcher counts as the profile's
// (docs/behaviour.md: Objects and names, The watcher). Pure; part of the shared profile model (./model.ts).
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { ProfileRef } from '../../workflows/api.js';
import { SVELTOS_RENEWED_KEY, sveltosRenewsToken } from '../kube/sveltos-renewal.js';
import {
  CLUSTER_PROFILE,
  KUBECONFIG_SECRET_KEY,
  KUBECONFIG_SECRET_TYPE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  secretNameFor,
  type ManagedKind,
  type SveltosClusterSpec,
  type V1ObjectMeta,
} from '../kube/types.js';

export type Ownership =
  /** Labelled managed-by and controlled by exactly this ClusterProfile incarnation. */
  | { kind: 'ours' }
  /**
   * Labelled managed-by, holding nothing we would not write, and without an owner (made by the Go
   * controller, which set none) or owned by an earlier ClusterProfile of the same name (name reuse):
   * ours to take over.
   */
  | { kind: 'adoptable'; why: string }
  /** Not ours: never overwritten or deleted. */
  | { kind: 'foreign'; why: string };

const CLUSTER_PROFILE_GROUP = `${CLUSTER_PROFILE.group}/`;

export function isClusterProfileRef(ref: V1OwnerReference): boolean {
  return ref.kind === CLUSTER_PROFILE.kind && typeof ref.apiVersion === 'string' && ref.apiVersion.startsWith(CLUSTER_PROFILE_GROUP);
}

/** Who an existing object belongs to, judged by its label and ownerReferences only. */
export function ownership(meta: V1ObjectMeta | undefined, profile: Pick<ProfileRef, 'name' | 'uid'>): Ownership {
  const label = meta?.labels?.[MANAGED_BY_LABEL];
  if (label !== MANAGED_BY_VALUE) {
    return {
      kind: 'foreign',
      why: label === undefined ? `it has no label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` : `its label ${MANAGED_BY_LABEL} is "${label}", not "${MANAGED_BY_VALUE}"`,
    };
  }
  const refs = meta?.ownerReferences ?? [];
  for (const ref of refs) {
    if (isClusterProfileRef(ref) && ref.name !== profile.name) {
      return { kind: 'foreign', why: `it is owned by ClusterProfile ${ref.name}` };
    }
    if (!isClusterProfileRef(ref) && ref.controller === true) {
      return { kind: 'foreign', why: `it is controlled by ${ref.kind} ${ref.name}` };
    }
  }
  const profileRefs = refs.filter(isClusterProfileRef);
  if (profileRefs.length > 0 && profileRefs.every((r) => r.uid === profile.uid)) return { kind: 'ours' };
  const older = profileRefs.find((r) => r.uid !== profile.uid);
  return {
    kind: 'adoptable',
    why: older ? `it is owned by an earlier ClusterProfile ${profile.name} (uid ${older.uid})` : 'it has no owner yet',
  };
}

/** A managed object as read from the API server: the fields that decide whether we may adopt it. */
export interface ExistingManagedObject {
  metadata?: V1ObjectMeta;
  /** Secret */
  type?: string;
  data?: Record<string, string>;
  /** SveltosCluster */
  spec?: SveltosClusterSpec | Record<string, unknown>;
}

/** SveltosCluster spec fields the API server fills in by default (CRD defaults), at those values. */
const SVELTOS_CLUSTER_SPEC_DEFAULTS: Readonly<Record<string, unknown>> = { consecutiveFailureThreshold: 3, pullMode: false, paused: false };

/**
 * The first field of an object we did not create that holds something we would not write ("spec.paused",
 * "data[\"other\"]"), or undefined. An allowlist: whatever is not ours (or an API default, or Sveltos's
 * token renewal, ADR 10) blocks adoption, since taking the object over would carry that content along.
 * Labels and annotations are not content: other writers (Sveltos itself) add their own, and server-side
 * apply keeps theirs apart from ours.
 */
export function foreignContent(kind: ManagedKind, obj: ExistingManagedObject, profile: Pick<ProfileRef, 'name'>): string | undefined {
  if (kind === 'Secret') {
    if ((obj.type ?? KUBECONFIG_SECRET_TYPE) !== KUBECONFIG_SECRET_TYPE) return `type (${JSON.stringify(obj.type)})`;
    // Sveltos's own renewal key (tokenRequestRenewalOption, left to Sveltos: ADR 10) does not block adoption.
    const extra = Object.keys(obj.data ?? {}).find((k) => k !== KUBECONFIG_SECRET_KEY && k !== SVELTOS_RENEWED_KEY);
    return extra === undefined ? undefined : `data[${JSON.stringify(extra)}]`;
  }
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const ours: Record<string, unknown> = { kubeconfigName: secretNameFor(profile.name), kubeconfigKeyName: KUBECONFIG_SECRET_KEY };
  const renewal = sveltosRenewsToken(obj);
  for (const [field, value] of Object.entries(spec)) {
    if (value === undefined || value === null) continue;
    // Token renewal is left to Sveltos (ADR 10): the option, and the key Sveltos switched to, are its.
    if (renewal && (field === 'tokenRequestRenewalOption' || (field === 'kubeconfigKeyName' && value === renewal.renewalKey))) continue;
    if (field in ours) {
      if (value !== ours[field]) return `spec.${field} (${JSON.stringify(value)})`;
      continue;
    }
    if (field in SVELTOS_CLUSTER_SPEC_DEFAULTS && value === SVELTOS_CLUSTER_SPEC_DEFAULTS[field]) continue;
    return `spec.${field}`;
  }
  return undefined;
}

/**
 * Ownership judged on the whole object: an object that would otherwise be adoptable but holds content we
 * do not write is foreign: adopted only when it holds nothing beyond what we would write.
 * An object that is already ours stays ours whatever others added to it.
 */
export function ownershipOf(kind: ManagedKind, obj: ExistingManagedObject | undefined, profile: Pick<ProfileRef, 'name' | 'uid'>): Ownership {
  const own = ownership(obj?.metadata, profile);
  if (own.kind !== 'adoptable' || !obj) return own;
  const field = foreignContent(kind, obj, profile);
  if (field === undefined) return own;
  return { kind: 'foreign', why: `${own.why}, but it holds ${field}, which this controller does not write, so it is not adopted` };
}

/**
 * Indexes (in metadata.ownerReferences) of references to an earlier ClusterProfile of the same name:
 * what adoption after name reuse removes before applying (server-side apply alone only removes the
 * ones our field manager applied; one written by anyone else would leave two controller references).
 */
export function staleOwnerReferences(meta: V1ObjectMeta | undefined, profile: Pick<ProfileRef, 'name' | 'uid'>): number[] {
  const out: number[] = [];
  (meta?.ownerReferences ?? []).forEach((ref, i) => {
    if (isClusterProfileRef(ref) && ref.name === profile.name && ref.uid !== profile.uid) out.push(i);
  });
  return out;
}

/** True when we may write (and, for our uid or when no namesake lives, delete) the object. */
export function isOurs(obj: { metadata?: V1ObjectMeta } | undefined, profile: Pick<ProfileRef, 'name' | 'uid'>): boolean {
  return obj !== undefined && ownership(obj.metadata, profile).kind !== 'foreign';
}

/** The name our object of this kind has for a ClusterProfile. */
export function managedObjectName(kind: ManagedKind, profileName: string): string {
  return kind === 'Secret' ? secretNameFor(profileName) : profileName;
}

/** uids of the ClusterProfiles an object's ownerReferences name (a claim, not proof). */
export function claimedOwnerUids(meta: Pick<V1ObjectMeta, 'ownerReferences'> | undefined): string[] {
  return (meta?.ownerReferences ?? []).filter((r) => isClusterProfileRef(r) && typeof r.uid === 'string' && r.uid !== '').map((r) => r.uid);
}

/**
 * Whether a managed-object event concerns this profile: the object sits in the profile's
 * namespace, has the name we give it, and an ownerReference to this very incarnation. Anything else,
 * e.g. a copy elsewhere carrying the profile's uid, is somebody else's object and triggers nothing.
 */
export function isManagedObjectOf(
  kind: ManagedKind,
  meta: Pick<V1ObjectMeta, 'namespace' | 'name' | 'ownerReferences'> | undefined,
  profile: ProfileRef,
): boolean {
  if (!meta || meta.namespace !== profile.namespace || meta.name !== managedObjectName(kind, profile.name)) return false;
  return claimedOwnerUids(meta).includes(profile.uid);
}
