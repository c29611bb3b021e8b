// Names and labels we derive from a ClusterProfile, checked against Kubernetes limits before any
// write, so that an oversized name is a clear non-retryable error on that profile, not an
// API rejection retried forever.
import { quoted } from '../../workflows/text.js';
import { InvalidInputError } from '../errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, secretNameFor, type V1ObjectMeta } from '../kube/types.js';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN_RE = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const DNS_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
const LABEL_NAME_MAX = 63;

/** "ClusterProfile fleet/spoke-1": how every error about a profile names it. */
export function describeObject(kind: string, meta: Pick<V1ObjectMeta, 'namespace' | 'name'> | undefined): string {
  const name = meta?.name ?? '<unnamed>';
  return meta?.namespace ? `${kind} ${meta.namespace}/${name}` : `${kind} ${name}`;
}

export function describeProfile(profile: { metadata?: Pick<V1ObjectMeta, 'namespace' | 'name'> }): string {
  return describeObject('ClusterProfile', profile.metadata);
}

export function isDnsSubdomain(value: string): boolean {
  return value.length > 0 && value.length <= DNS_SUBDOMAIN_MAX && DNS_SUBDOMAIN_RE.test(value);
}

const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A namespace name (RFC 1123 label). */
export function isNamespaceName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 63 && DNS_LABEL_RE.test(value);
}

export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= LABEL_VALUE_MAX && LABEL_NAME_RE.test(value));
}

/** Label key: optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return false;
  return name.length > 0 && name.length <= LABEL_NAME_MAX && LABEL_NAME_RE.test(name);
}

/** The managed Secret's name, or an error if `<name>-sveltos-kubeconfig` is not a valid Secret name. */
export function validateSecretName(profile: { metadata?: V1ObjectMeta }): string {
  const name = profile.metadata?.name ?? '';
  const secretName = secretNameFor(name);
  if (secretName.length > DNS_SUBDOMAIN_MAX) {
    throw new InvalidInputError(
      describeProfile(profile),
      'metadata.name',
      `derived Secret name "${secretName}" is ${secretName.length} characters long; Kubernetes allows at most ${DNS_SUBDOMAIN_MAX}` +
        ` (the ClusterProfile name may be at most ${DNS_SUBDOMAIN_MAX - (secretName.length - name.length)} characters)`,
    );
  }
  if (!isDnsSubdomain(secretName)) {
    throw new InvalidInputError(
      describeProfile(profile),
      'metadata.name',
      `derived Secret name "${secretName}" is not a valid DNS subdomain (lower-case alphanumerics, "-" and ".")`,
    );
  }
  return secretName;
}

/** The SveltosCluster's labels (every ClusterProfile label plus managed-by), each checked for syntax and length. */
export function validateLabels(profile: { metadata?: V1ObjectMeta }): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(profile.metadata?.labels ?? {})) {
    const field = `metadata.labels[${quoted(key)}]`;
    if (!isLabelKey(key)) {
      throw new InvalidInputError(
        describeProfile(profile),
        field,
        'is not a valid label key for the SveltosCluster (optional DNS-subdomain prefix and "/", then at most 63 alphanumerics, "-", "_" or ".")',
      );
    }
    if (value.length > LABEL_VALUE_MAX) {
      throw new InvalidInputError(
        describeProfile(profile),
        field,
        `value is ${value.length} characters long; label values may have at most ${LABEL_VALUE_MAX}`,
      );
    }
    if (!isLabelValue(value)) {
      throw new InvalidInputError(
        describeProfile(profile),
        field,
        `value ${quoted(value)} is not a valid label value (alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric)`,
      );
    }
    labels[key] = value;
  }
  labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE;
  return labels;
}

export interface DerivedNames {
  secretName: string;
  sveltosClusterName: string;
  sveltosClusterLabels: Record<string, string>;
}

/** Everything we will name after this ClusterProfile, validated at once. */
export function validateDerivedNames(profile: { metadata?: V1ObjectMeta }): DerivedNames {
  const name = profile.metadata?.name ?? '';
  if (!isDnsSubdomain(name)) {
    throw new InvalidInputError(describeProfile(profile), 'metadata.name', 'is not a valid SveltosCluster name (DNS subdomain, at most 253 characters)');
  }
  return { secretName: validateSecretName(profile), sveltosClusterName: name, sveltosClusterLabels: validateLabels(profile) };
}
