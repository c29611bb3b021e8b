// The one reading of a ClusterProfile that both the watcher and the activities use: who it is, whether it
// is being deleted, which labels and display name it hands on, which access providers it carries and which
// one serves it, and which source Secret the built-in reader copies. Pure (no I/O, no clock), so that the
// watcher opens an informer for exactly the Secret the activity would read, and refuses exactly what the
// activity refuses. Ownership of the objects we write is in ./ownership.ts.
//
// It lives under activities/ beside kube/types.ts, which the watcher already imports for the same
// reason: these are facts about Kubernetes objects, shared by every process.
import type { ProfileRef } from '../../workflows/api.js';
import { PROFILE_STRING_MAX, quoted } from '../../workflows/text.js';
import { InvalidInputError } from '../errors.js';
import { assertShallow } from './bounds.js';
import { extensionField, findExtension } from '../credentials/extensions.js';
import { describeProfile, isDnsSubdomain, isNamespaceName } from '../credentials/names.js';
import type { ProviderConfig, ProviderFile } from '../credentials/provider-file.js';
import {
  EXEC_EXTENSION,
  FINALIZER,
  SECRET_READER_PROVIDER,
  type AccessProvider,
  type ClusterProfile,
  type KubeconfigCluster,
  type V1ObjectMeta,
} from '../kube/types.js';

// ---------------------------------------------------------------------------------------------
// Identity and lifecycle

export function profileRef(profile: Pick<ClusterProfile, 'metadata'>): ProfileRef {
  return {
    namespace: profile.metadata.namespace ?? '',
    name: profile.metadata.name ?? '',
    uid: profile.metadata.uid ?? '',
  };
}

/** A deletionTimestamp is set (Go may write it as a string, client-node as a Date; empty means unset). */
export function isDeleting(profile: { metadata?: Pick<V1ObjectMeta, 'deletionTimestamp'> }): boolean {
  const ts: unknown = profile.metadata?.deletionTimestamp;
  return ts !== undefined && ts !== null && ts !== '';
}

export function hasFinalizer(profile: { metadata?: Pick<V1ObjectMeta, 'finalizers'> }): boolean {
  return profile.metadata?.finalizers?.includes(FINALIZER) ?? false;
}

// ---------------------------------------------------------------------------------------------
// What is handed on to the SveltosCluster

/** Sveltos' own label domain: labels under it (or a subdomain of it) are written by Sveltos itself. */
export const SVELTOS_LABEL_DOMAIN = 'projectsveltos.io';

/**
 * True for `projectsveltos.io/…` and `<anything>.projectsveltos.io/…`: Sveltos components write these on a
 * SveltosCluster (k8s-version, sharding, …); copying one from the profile would fight them forever.
 */
export function isSveltosLabel(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash).toLowerCase();
  return prefix === SVELTOS_LABEL_DOMAIN || prefix.endsWith(`.${SVELTOS_LABEL_DOMAIN}`);
}

/** The ClusterProfile labels copied to the SveltosCluster (not yet validated: names.ts validateLabels does). */
export function copiedLabels(profile: { metadata?: Pick<V1ObjectMeta, 'labels'> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(profile.metadata?.labels ?? {})) {
    if (!isSveltosLabel(key)) out[key] = value;
  }
  return out;
}

/** spec.displayName, '' when absent (the annotation is then not written). */
export function displayNameOf(profile: Pick<ClusterProfile, 'spec'>): string {
  const name: unknown = profile.spec?.displayName;
  return typeof name === 'string' ? name : '';
}

// ---------------------------------------------------------------------------------------------
// Access providers (docs/behaviour.md, Access providers)

/** An access provider together with where it sits in the profile, for error messages. */
export interface LocatedAccessProvider {
  readonly provider: AccessProvider;
  /** "status.accessProviders[2]" or "status.credentialProviders[0]". */
  readonly field: string;
}

export type ProviderChoice =
  | ({ readonly kind: 'secret-reader' } & LocatedAccessProvider)
  | ({ readonly kind: 'exec'; readonly config: ProviderConfig } & LocatedAccessProvider);

/**
 * accessProviders, then the deprecated credentialProviders whose name accessProviders lacks.
 * Within one list the CRD keeps names unique; should a hand-made object repeat one, the first counts.
 */
export function carriedAccessProviders(profile: Pick<ClusterProfile, 'status'>): LocatedAccessProvider[] {
  const byName = new Map<string, LocatedAccessProvider>();
  const add = (list: unknown, listField: string) => {
    if (!Array.isArray(list)) return;
    (list as Array<AccessProvider | null>).forEach((provider, i) => {
      if (typeof provider?.name !== 'string' || byName.has(provider.name)) return;
      byName.set(provider.name, { provider, field: `${listField}[${i}]` });
    });
  };
  add(profile.status?.accessProviders, 'status.accessProviders');
  add(profile.status?.credentialProviders, 'status.credentialProviders');
  return [...byName.values()];
}

/** The carried `kubeconfig-secretreader` provider, if any: it wins over every provider of the file. */
export function secretReaderProvider(profile: Pick<ClusterProfile, 'status'>): LocatedAccessProvider | undefined {
  return carriedAccessProviders(profile).find((c) => c.provider.name === SECRET_READER_PROVIDER);
}

/** The built-in Secret reader wins; then the provider file's order decides (the profile's order never does). */
export function chooseProvider(profile: Pick<ClusterProfile, 'metadata' | 'status'>, providerFile: ProviderFile): ProviderChoice {
  // Before anything reads (or clones, or serialises) the providers' free-form extensions.
  assertShallow(profile, describeProfile(profile));
  const carried = carriedAccessProviders(profile);
  const byName = new Map(carried.map((c) => [c.provider.name, c] as const));

  const builtin = byName.get(SECRET_READER_PROVIDER);
  if (builtin) return { kind: 'secret-reader', ...builtin };

  for (const config of providerFile.providers) {
    const match = byName.get(config.name);
    if (match) return { kind: 'exec', config, ...match };
  }

  // Profile-sourced names: each escaped and capped, and at most ten of them.
  const names = carried.slice(0, 10).map((c) => quoted(c.provider.name, 64));
  if (carried.length > 10) names.push(`and ${carried.length - 10} more`);
  const supported = [SECRET_READER_PROVIDER, ...providerFile.providers.map((p) => p.name)].map((n) => `"${n}"`);
  throw new InvalidInputError(
    describeProfile(profile),
    'status.accessProviders',
    `no supported access provider: the profile carries ${names.length ? names.join(', ') : 'none'}; ` +
      `this controller supports ${supported.join(', ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The source Secret of the built-in kubeconfig-secretreader

export const SECRET_READER_NAMESPACES_FLAG = '--secret-reader-namespaces';

export interface SecretReaderRef {
  namespace: string;
  name: string;
  key: string;
  /** Optional, as in the upstream kubeconfig-secretreader plugin; the kubeconfig's current-context otherwise. */
  context?: string;
}

const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;

/** `{name, key, namespace?, context?}` from the provider's `client.authentication.k8s.io/exec` extension. */
export function parseSecretReaderExtension(
  cluster: KubeconfigCluster | undefined,
  profileNamespace: string,
  object: string,
  providerField: string,
): SecretReaderRef {
  // findExtension refuses a repeated extension name: one source per profile, never "the first of many".
  const found = findExtension(cluster, EXEC_EXTENSION, object, providerField);
  const field = extensionField(providerField, EXEC_EXTENSION);
  if (!found) throw new InvalidInputError(object, field, 'is required: it names the Secret ({name, key, namespace?}) holding the kubeconfig');
  const ext = found.value;
  if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) {
    throw new InvalidInputError(object, field, 'must be an object {name, key, namespace?}');
  }
  const { name, key, namespace, context } = ext as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new InvalidInputError(object, `${field}.name`, 'is required (the source Secret name)');
  if (!isDnsSubdomain(name)) throw new InvalidInputError(object, `${field}.name`, `${quoted(name)} is not a valid Secret name`);
  if (typeof key !== 'string' || key === '') throw new InvalidInputError(object, `${field}.key`, 'is required (the data key holding the kubeconfig)');
  if (key.length > 253 || !SECRET_KEY_RE.test(key)) throw new InvalidInputError(object, `${field}.key`, `${quoted(key)} is not a valid Secret data key`);
  let ns = profileNamespace;
  if (namespace !== undefined && namespace !== null && namespace !== '') {
    if (!isNamespaceName(namespace)) {
      throw new InvalidInputError(object, `${field}.namespace`, 'is not a valid namespace name');
    }
    ns = namespace;
  }
  const ref: SecretReaderRef = { namespace: ns, name, key };
  if (context !== undefined && context !== null && context !== '') {
    if (typeof context !== 'string') throw new InvalidInputError(object, `${field}.context`, 'must be a string');
    if (context.length > PROFILE_STRING_MAX) {
      throw new InvalidInputError(object, `${field}.context`, `is ${context.length} characters long; at most ${PROFILE_STRING_MAX} are allowed`);
    }
    ref.context = context;
  }
  return ref;
}

/** `[]`: the profile's own namespace only; listed namespaces in addition; `*`: any namespace. */
export function isNamespaceAllowed(namespace: string, profileNamespace: string, allowed: readonly string[]): boolean {
  return namespace === profileNamespace || allowed.includes('*') || allowed.includes(namespace);
}

export function assertNamespaceAllowed(
  ref: SecretReaderRef,
  profileNamespace: string,
  allowed: readonly string[],
  object: string,
  providerField: string,
): void {
  if (isNamespaceAllowed(ref.namespace, profileNamespace, allowed)) return;
  const configured = allowed.filter((a) => a !== '');
  throw new InvalidInputError(
    object,
    `${extensionField(providerField, EXEC_EXTENSION)}.namespace`,
    `reading Secret ${ref.namespace}/${ref.name} is refused: namespace "${ref.namespace}" is outside the ClusterProfile's namespace ` +
      `"${profileNamespace}" and not allowed by ${SECRET_READER_NAMESPACES_FLAG} ` +
      `(${configured.length ? `currently ${configured.join(',')}` : 'unset: own namespace only'})`,
  );
}

/**
 * The one Secret the built-in reader would copy for this profile, validated and allow-listed exactly as
 * the activity does it (same functions, same order): undefined when the profile is not served by the
 * Secret reader; an InvalidInputError when the activity would refuse the reference.
 */
export function secretReaderSource(profile: Pick<ClusterProfile, 'metadata' | 'status'>, allowedNamespaces: readonly string[]): SecretReaderRef | undefined {
  const located = secretReaderProvider(profile);
  if (!located) return undefined;
  const object = describeProfile(profile);
  assertShallow(profile, object);
  const namespace = profile.metadata?.namespace;
  if (!namespace) throw new InvalidInputError(object, 'metadata.namespace', 'is required (ClusterProfile is namespaced)');
  const ref = parseSecretReaderExtension(located.provider.cluster, namespace, object, located.field);
  assertNamespaceAllowed(ref, namespace, allowedNamespaces, object, located.field);
  return ref;
}
