// Pure decisions about the objects we write (decide apart from act): what the managed Secret, the
// SveltosCluster and an Event should look like, and whether an existing Secret already matches (whether
// an existing object is ours at all is activities/profile/ownership.ts). No I/O here;
// activities/reconcile.ts acts on these verdicts.
import { createHash } from 'node:crypto';
import type { CoreV1Event, V1OwnerReference } from '@kubernetes/client-node';
import type { ProfileEvent, ProfileRef } from '../../workflows/api.js';
import { fingerprint } from '../credentials/kubeconfig.js';
import { validateDerivedNames, validateSecretName } from '../credentials/names.js';
import { displayNameOf, isSveltosLabel } from '../profile/model.js';
import { isClusterProfileRef } from '../profile/ownership.js';
import {
  CLUSTER_PROFILE,
  DISPLAY_NAME_ANNOTATION,
  KUBECONFIG_SECRET_KEY,
  KUBECONFIG_SECRET_TYPE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SVELTOS_CLUSTER,
  type ClusterProfile,
  type SecretApply,
  type SveltosClusterApply,
  type V1Secret,
} from './types.js';

/** Events name this component as their source (core/v1 source.component and reportingComponent). */
export const EVENT_COMPONENT = 'clusterinventory-temporal';

/** ownerReference to the ClusterProfile incarnation (uid-checked); the garbage collector follows it. */
export function ownerReferenceFor(profile: Pick<ClusterProfile, 'metadata'>): V1OwnerReference {
  const { name, uid } = profile.metadata;
  if (!name || !uid) throw new Error('ownerReferenceFor: the ClusterProfile has no name or uid (not read from the API server?)');
  return {
    apiVersion: CLUSTER_PROFILE.apiVersion,
    kind: CLUSTER_PROFILE.kind,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: false,
  };
}

function namespaceOf(profile: Pick<ClusterProfile, 'metadata'>): string {
  const ns = profile.metadata.namespace;
  if (!ns) throw new Error('the ClusterProfile has no namespace (not read from the API server?)');
  return ns;
}

/**
 * The managed Secret `<name>-sveltos-kubeconfig`: type Opaque, the single key `kubeconfig`, label
 * managed-by, owned by the ClusterProfile. Throws InvalidInputError when the derived name is invalid.
 */
export function desiredSecret(profile: ClusterProfile, kubeconfig: string | Uint8Array): SecretApply {
  // Only the Secret name matters here: a bad profile label fails the SveltosCluster, not the credential.
  const secretName = validateSecretName(profile);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: namespaceOf(profile),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ownerReferences: [ownerReferenceFor(profile)],
    },
    type: KUBECONFIG_SECRET_TYPE,
    data: { [KUBECONFIG_SECRET_KEY]: Buffer.from(kubeconfig).toString('base64') },
  };
}

/**
 * The SveltosCluster named like the ClusterProfile: labels = the ClusterProfile's labels except Sveltos'
 * own (`projectsveltos.io/`, see isSveltosLabel) + managed-by (managed-by wins), display-name annotation
 * only when spec.displayName is non-empty. Never sets tokenRequestRenewalOption. Throws
 * InvalidInputError when a name or label is invalid.
 */
export function desiredSveltosCluster(profile: ClusterProfile): SveltosClusterApply {
  const names = validateDerivedNames(profile);
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(names.sveltosClusterLabels)) {
    if (key === MANAGED_BY_LABEL || !isSveltosLabel(key)) labels[key] = value;
  }
  const obj: SveltosClusterApply = {
    apiVersion: SVELTOS_CLUSTER.apiVersion,
    kind: SVELTOS_CLUSTER.kind,
    metadata: {
      name: names.sveltosClusterName,
      namespace: namespaceOf(profile),
      labels,
      ownerReferences: [ownerReferenceFor(profile)],
    },
    spec: { kubeconfigName: names.secretName, kubeconfigKeyName: KUBECONFIG_SECRET_KEY },
  };
  const displayName = displayNameOf(profile);
  if (displayName !== '') obj.metadata.annotations = { [DISPLAY_NAME_ANNOTATION]: displayName };
  return obj;
}

// ---------------------------------------------------------------------------------------------
// Comparisons

function sameOwnerReference(a: V1OwnerReference, b: V1OwnerReference): boolean {
  return (
    a.apiVersion === b.apiVersion &&
    a.kind === b.kind &&
    a.name === b.name &&
    a.uid === b.uid &&
    (a.controller ?? false) === (b.controller ?? false) &&
    (a.blockOwnerDeletion ?? false) === (b.blockOwnerDeletion ?? false)
  );
}

/**
 * What differs between an existing managed Secret and the desired one ([] = nothing: do not write).
 * Compares the fingerprint of the kubeconfig key, our labels, our ownerReference (and no stale one of
 * an earlier namesake) and the type. Keys, labels and annotations others added are not our business.
 */
export function secretDifferences(existing: V1Secret, desired: SecretApply): string[] {
  const diffs: string[] = [];
  if ((existing.type ?? KUBECONFIG_SECRET_TYPE) !== desired.type) diffs.push('type');
  const current = existing.data?.[KUBECONFIG_SECRET_KEY];
  const wanted = desired.data[KUBECONFIG_SECRET_KEY] ?? '';
  if (
    typeof current !== 'string' ||
    fingerprint(Buffer.from(current, 'base64')) !== fingerprint(Buffer.from(wanted, 'base64'))
  ) {
    diffs.push(`data.${KUBECONFIG_SECRET_KEY}`);
  }
  for (const [k, v] of Object.entries(desired.metadata.labels)) {
    if (existing.metadata?.labels?.[k] !== v) {
      diffs.push('metadata.labels');
      break;
    }
  }
  const refs = (existing.metadata?.ownerReferences ?? []).filter(isClusterProfileRef);
  const want = desired.metadata.ownerReferences;
  if (refs.length !== want.length || !want.every((w) => refs.some((r) => sameOwnerReference(r, w)))) {
    diffs.push('metadata.ownerReferences');
  }
  return diffs;
}

// ---------------------------------------------------------------------------------------------
// Events

const EVENT_NAME_MAX = 253;
const EVENT_REASON_MAX = 128;
const EVENT_MESSAGE_MAX = 1024;

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Deterministic name for an Event: the same (uid, type, reason, message) maps to the same Event, which
 * is then counted up instead of duplicated (like client-go's event correlator, without its state).
 */
export function eventName(ref: ProfileRef, event: ProfileEvent): string {
  const hash = createHash('sha256')
    .update(`${ref.uid}\0${event.type}\0${event.reason}\0${event.message}`)
    .digest('hex')
    .slice(0, 16);
  const prefix = ref.name.slice(0, EVENT_NAME_MAX - hash.length - 1).replace(/[.-]+$/, '');
  return `${prefix}.${hash}`;
}

/** A new core/v1 Event on the ClusterProfile (typed for client-node: times are Date objects). */
export function desiredEvent(ref: ProfileRef, event: ProfileEvent, now: Date, instance: string): CoreV1Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(ref, event), namespace: ref.namespace },
    involvedObject: {
      apiVersion: CLUSTER_PROFILE.apiVersion,
      kind: CLUSTER_PROFILE.kind,
      namespace: ref.namespace,
      name: ref.name,
      uid: ref.uid,
    },
    type: event.type,
    reason: truncate(event.reason, EVENT_REASON_MAX),
    message: truncate(event.message, EVENT_MESSAGE_MAX),
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
