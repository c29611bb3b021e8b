// Shapes and constants of the Kubernetes objects this project reads and writes.
// Field names follow the upstream CRDs (ClusterProfile v1alpha1 from kubernetes-sigs/cluster-inventory-api,
// SveltosCluster v1beta1 from projectsveltos/libsveltos v1.11)
// and client-go's clientauthentication types. Constants match the Go controller we replace, so that
// objects it created are recognised as ours.
import type { V1Condition, V1LabelSelector, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';

export type { V1ObjectMeta, V1Secret } from '@kubernetes/client-node';

// ---------------------------------------------------------------------------------------------
// Constants

export const CLUSTER_PROFILE = {
  group: 'multicluster.x-k8s.io',
  version: 'v1alpha1',
  apiVersion: 'multicluster.x-k8s.io/v1alpha1',
  kind: 'ClusterProfile',
  listKind: 'ClusterProfileList',
  plural: 'clusterprofiles',
} as const;

export const SVELTOS_CLUSTER = {
  group: 'lib.projectsveltos.io',
  version: 'v1beta1',
  apiVersion: 'lib.projectsveltos.io/v1beta1',
  kind: 'SveltosCluster',
  listKind: 'SveltosClusterList',
  plural: 'sveltosclusters',
} as const;

export const FINALIZER = 'clusterinventory.projectsveltos.io/finalizer';
export const MANAGED_BY_LABEL = 'clusterinventory.projectsveltos.io/managed-by';
export const MANAGED_BY_VALUE = 'clusterinventory-controller';
/** On the SveltosCluster; absent when spec.displayName is empty. */
export const DISPLAY_NAME_ANNOTATION = 'clusterinventory.projectsveltos.io/display-name';
/** Server-side apply field manager; one manager, so that labels we stop applying are removed. */
export const FIELD_MANAGER = 'clusterinventory-controller';

export const KUBECONFIG_SECRET_SUFFIX = '-sveltos-kubeconfig';
/** The only data key of the managed Secret, and SveltosCluster spec.kubeconfigKeyName. */
export const KUBECONFIG_SECRET_KEY = 'kubeconfig';
export const KUBECONFIG_SECRET_TYPE = 'Opaque';

/** Name of the managed kubeconfig Secret (and of SveltosCluster spec.kubeconfigName) for a ClusterProfile. */
export function secretNameFor(clusterProfileName: string): string {
  return `${clusterProfileName}${KUBECONFIG_SECRET_SUFFIX}`;
}

/** Access provider served by the built-in Secret reader, whatever the provider file says. */
export const SECRET_READER_PROVIDER = 'kubeconfig-secretreader';

/** Reserved cluster extension names (KEP-4322 / KEP-5339). */
export const EXEC_EXTENSION = 'client.authentication.k8s.io/exec';
export const ADDITIONAL_ARGS_EXTENSION = 'clusterprofiles.multicluster.x-k8s.io/exec/additional-args';
export const ADDITIONAL_ENVS_EXTENSION = 'clusterprofiles.multicluster.x-k8s.io/exec/additional-envs';

/** Label on a ClusterProfile; its value equals spec.clusterManager.name. */
export const CLUSTER_MANAGER_LABEL = 'x-k8s.io/cluster-manager';
/** Labels Sveltos components put on a SveltosCluster themselves (kept by server-side apply). */
export const SVELTOS_K8S_VERSION_LABEL = 'projectsveltos.io/k8s-version';

export const EXEC_CREDENTIAL_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;
export type ExecCredentialApiVersion = (typeof EXEC_CREDENTIAL_API_VERSIONS)[number];

// ---------------------------------------------------------------------------------------------
// ClusterProfile (multicluster.x-k8s.io/v1alpha1)

/**
 * `cluster.extensions[]` (clientcmd v1 NamedExtension). The CRD types `extension` as an object with
 * preserved unknown fields, but producers and tests also put arrays there (KEP-5339 additional-args),
 * so it is `unknown` here and validated where it is read.
 */
export interface NamedExtension {
  name: string;
  extension: unknown;
}

/** clientcmd v1 `Cluster`, as embedded in an access provider: kebab-case keys like a kubeconfig. */
export interface KubeconfigCluster {
  server: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  /** A file path: meaningless off the producer's machine; never copied. */
  'certificate-authority'?: string;
  /** base64 of PEM. */
  'certificate-authority-data'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
  extensions?: NamedExtension[];
}

export interface AccessProvider {
  name: string;
  /** Not required by the CRD; a provider without it has no server. */
  cluster?: KubeconfigCluster;
}

/** Deprecated alias kept by the API: same type, listed under status.credentialProviders. */
export type CredentialProvider = AccessProvider;

export interface ClusterProfileSpec {
  displayName?: string;
  /** Immutable (CEL). */
  clusterManager: { name: string };
}

export interface ClusterProfileProperty {
  /** 1..253 chars. */
  name: string;
  /** 1..1024 chars. */
  value: string;
  lastObservedTime?: string;
}

export interface ClusterProfileStatus {
  /** Go writes `null` (no omitempty). */
  conditions?: V1Condition[] | null;
  version?: { kubernetes?: string };
  properties?: ClusterProfileProperty[];
  accessProviders?: AccessProvider[];
  /** Deprecated; on equal name, accessProviders wins. */
  credentialProviders?: CredentialProvider[];
}

export interface ClusterProfile {
  apiVersion?: typeof CLUSTER_PROFILE.apiVersion;
  kind?: typeof CLUSTER_PROFILE.kind;
  metadata: V1ObjectMeta;
  spec: ClusterProfileSpec;
  status?: ClusterProfileStatus;
}

export interface ClusterProfileList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: ClusterProfile[];
}

// ---------------------------------------------------------------------------------------------
// SveltosCluster (lib.projectsveltos.io/v1beta1)

export interface SveltosLabelFilter {
  key: string;
  operation: 'Equal' | 'Different' | 'Has' | 'DoesNotHave';
  value?: string;
}

export interface SveltosResourceSelector {
  group: string;
  version: string;
  kind: string;
  name?: string;
  namespace?: string;
  labelFilters?: SveltosLabelFilter[];
  selector?: V1LabelSelector;
  /** Lua. */
  evaluate?: string;
  evaluateCEL?: { name: string; rule: string }[];
}

export interface SveltosClusterCheck {
  name: string;
  resourceSelectors: SveltosResourceSelector[];
  /** Lua `evaluate` function returning {result, message}. */
  condition: string;
}

export interface SveltosTokenRequestRenewalOption {
  /** metav1.Duration, e.g. "1h". */
  renewTokenRequestInterval: string;
  tokenDuration?: string;
  saNamespace?: string;
  saName?: string;
  kubeconfigKeyName?: string;
}

export interface SveltosClusterSpec {
  /** Secret in the same namespace; Sveltos defaults it to `<name>-sveltos-kubeconfig`. */
  kubeconfigName?: string;
  /** Without it Sveltos picks an arbitrary key, so we always set it. */
  kubeconfigKeyName?: string;
  paused?: boolean;
  /** Never set by us: Sveltos would then rewrite our Secret (when a user sets it: ADR 10). */
  tokenRequestRenewalOption?: SveltosTokenRequestRenewalOption;
  /** Arbitrary data for templates (Go field ArbitraryData). */
  data?: Record<string, string>;
  activeWindow?: { from: string; to: string };
  /** CRD default 3. */
  consecutiveFailureThreshold?: number;
  readinessChecks?: SveltosClusterCheck[];
  livenessChecks?: SveltosClusterCheck[];
  /** CRD default false; immutable (CEL). */
  pullMode?: boolean;
}

/** Written by sveltoscluster-manager; a creator must not set it. */
export interface SveltosClusterStatus {
  ready?: boolean;
  version?: string;
  connectionStatus?: 'Healthy' | 'Down';
  failureMessage?: string;
  connectionFailures?: number;
  lastReconciledTokenRequestAt?: string;
  agentLastReportTime?: string;
  nextPause?: string;
  nextUnpause?: string;
  /** base64. */
  activeWindowHash?: string;
}

export interface SveltosCluster {
  apiVersion: typeof SVELTOS_CLUSTER.apiVersion;
  kind: typeof SVELTOS_CLUSTER.kind;
  metadata: V1ObjectMeta;
  spec?: SveltosClusterSpec;
  status?: SveltosClusterStatus;
}

/** The server-side apply body of the managed Secret: only fields we own. */
export interface SecretApply {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: V1OwnerReference[];
  };
  type: typeof KUBECONFIG_SECRET_TYPE;
  /** base64, as on the wire. */
  data: Record<string, string>;
}

/** The server-side apply body of the SveltosCluster: only fields we own. */
export interface SveltosClusterApply {
  apiVersion: typeof SVELTOS_CLUSTER.apiVersion;
  kind: typeof SVELTOS_CLUSTER.kind;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences: V1OwnerReference[];
  };
  /** kubeconfigKeyName is left out while Sveltos renews the token itself (see kube/sveltos-renewal.ts sveltosRenewsToken). */
  spec: { kubeconfigName: string; kubeconfigKeyName?: string };
}

/** The kinds of object written beside a ClusterProfile. */
export type ManagedKind = 'Secret' | typeof SVELTOS_CLUSTER.kind;

// ---------------------------------------------------------------------------------------------
// ExecCredential (client.authentication.k8s.io v1 and v1beta1 share one JSON shape)

export interface ExecCredentialCluster {
  server: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  /** base64 of PEM. */
  'certificate-authority-data'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
  /** The `client.authentication.k8s.io/exec` extension object, verbatim. */
  config?: unknown;
}

export interface ExecCredentialSpec {
  cluster?: ExecCredentialCluster;
  interactive: boolean;
}

export interface ExecCredentialStatus {
  /** RFC 3339; absent or null = no expiry. */
  expirationTimestamp?: string | null;
  token?: string;
  /** PEM text (not base64). */
  clientCertificateData?: string;
  /** PEM text (not base64). */
  clientKeyData?: string;
}

export interface ExecCredential {
  apiVersion: ExecCredentialApiVersion;
  kind: 'ExecCredential';
  spec: ExecCredentialSpec;
  status?: ExecCredentialStatus;
}
