// The built-in `kubeconfig-secretreader` provider (docs/behaviour.md, The built-in kubeconfig-secretreader): copy a kubeconfig from a Secret the
// ClusterProfile points at. Two holes of the Go controller are closed here: a profile author could
// name any Secret in the cluster (so reads are confined to the profile's namespace unless configured
// otherwise), and the copied kubeconfig could make sveltoscluster-manager run binaries or read files.
// The source is read with a strict YAML reader (strict-yaml.ts), users and clusters that would run or
// read something are refused, and the managed Secret gets a kubeconfig rendered from what was
// validated (the selected context, its cluster and its user), never the source bytes: whatever a YAML
// parser and client-go might read differently never reaches Sveltos.
import { InvalidInputError } from '../errors.js';
import { EXEC_EXTENSION, MANAGED_BY_LABEL, type KubeconfigCluster, type V1Secret } from '../kube/types.js';
import { assertNamespaceAllowed, parseSecretReaderExtension } from '../profile/model.js';
import { PROFILE_STRING_MAX, quoted, safeText } from '../../workflows/text.js';
import { extensionField } from './extensions.js';
import { basicAuthUsername, bearerToken, kubeconfigName, printableText } from './kubeconfig-fields.js';
import { base64Data, renderKubeconfig, staticCluster, type StaticUser } from './kubeconfig.js';
import { describeObject, isNamespaceName } from './names.js';
import { MAX_SOURCE_BYTES, parseStrictYaml } from './strict-yaml.js';

/** NotFound must resolve to undefined; any other failure should throw (and is then retried). */
export type SecretGetter = (namespace: string, name: string) => Promise<V1Secret | undefined>;

export interface SecretReaderResult {
  /** Rendered from the validated source: the selected context, its cluster and its user. Never log it. */
  kubeconfig: string;
  server: string;
  source: { namespace: string; name: string; key: string };
}

export interface ReadSecretReaderInput {
  /** ClusterProfile namespace. */
  profileNamespace: string;
  cluster: KubeconfigCluster | undefined;
  /** "ClusterProfile fleet/spoke-1". */
  object: string;
  /** "status.accessProviders[0]". */
  providerField: string;
  allowedNamespaces: readonly string[];
  getSecret: SecretGetter;
}

export async function readSecretReaderKubeconfig(input: ReadSecretReaderInput): Promise<SecretReaderResult> {
  const { object, providerField } = input;
  const ref = parseSecretReaderExtension(input.cluster, input.profileNamespace, object, providerField);
  assertNamespaceAllowed(ref, input.profileNamespace, input.allowedNamespaces, object, providerField);

  const secret = await input.getSecret(ref.namespace, ref.name);
  const secretObject = describeObject('Secret', { namespace: ref.namespace, name: ref.name });
  if (!secret) {
    throw new InvalidInputError(object, `${extensionField(providerField, EXEC_EXTENSION)}.name`, `${secretObject} (key "${ref.key}") not found`);
  }
  refuseManagedSource(secret, secretObject, object, providerField);
  const encoded = secret.data?.[ref.key];
  const source = `${secretObject} (source of ${object})`;
  const at = `data[${ref.key}]`;
  // base64 grows by 4/3: a longer encoding cannot be within the cap, and is not even decoded.
  if (typeof encoded === 'string' && encoded.length > Math.ceil(MAX_SOURCE_BYTES / 3) * 4 + 4) {
    throw new InvalidInputError(source, at, `is larger than ${MAX_SOURCE_BYTES} bytes, the most a source kubeconfig may have`);
  }
  const bytes = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (bytes.length === 0) throw new InvalidInputError(source, at, 'is missing or empty');
  const { kubeconfig, server } = normalizeSourceKubeconfig(decodeUtf8(bytes, source, at), source, at, ref.context);
  return { kubeconfig, server, source: { namespace: ref.namespace, name: ref.name, key: ref.key } };
}

/**
 * A Secret labelled managed-by holds a kubeconfig this controller wrote for some ClusterProfile (its
 * plugin-minted token included): copying it would hand that profile's credential to another one. The
 * label counts whatever its value and wherever the Secret lives; a source is never a Secret we manage.
 */
function refuseManagedSource(secret: V1Secret, secretObject: string, object: string, providerField: string): void {
  const labels = secret.metadata?.labels;
  if (!labels || !Object.prototype.hasOwnProperty.call(labels, MANAGED_BY_LABEL)) return;
  throw new InvalidInputError(
    object,
    `${extensionField(providerField, EXEC_EXTENSION)}.name`,
    `${secretObject} carries the label ${MANAGED_BY_LABEL}: it is a kubeconfig Secret this controller writes for a ClusterProfile, ` +
      'and a managed Secret is never used as a source (point the reader at the Secret you own)',
  );
}

/** client-go keeps invalid UTF-8 as raw bytes where we would read U+FFFD: refuse rather than differ. */
function decodeUtf8(bytes: Buffer, object: string, at: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidInputError(object, at, 'is not valid UTF-8');
  }
}

/**
 * Parses and validates a kubeconfig and renders the selected context (`contextOverride`, else
 * current-context) with its cluster and user as a new kubeconfig: only what was validated is written.
 * Every user and cluster in the file is checked, not only the selected ones: a file that carries an
 * exec user is refused outright rather than trimmed, so that its owner learns about it.
 */
export function normalizeSourceKubeconfig(
  text: string,
  object: string,
  at: string,
  contextOverride?: string,
): { kubeconfig: string; server: string } {
  const doc = parseStrictYaml(text, object, at);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidInputError(object, at, 'is not a kubeconfig (not a YAML/JSON object)');
  const root = doc as Record<string, unknown>;

  const clusters = namedEntries(root.clusters, 'clusters', 'cluster', object, at);
  const users = namedEntries(root.users, 'users', 'user', object, at);
  const contexts = namedEntries(root.contexts, 'contexts', 'context', object, at);

  for (const [name, user] of users) {
    const userAt = `${at}.users[${label(name)}].user`;
    refuseUnsafeUser(user, object, userAt);
  }
  for (const [name, cluster] of clusters) {
    const clusterAt = `${at}.clusters[${label(name)}].cluster`;
    if (present(cluster['certificate-authority'])) {
      throw new InvalidInputError(object, `${clusterAt}.certificate-authority`, 'file references are refused (use certificate-authority-data)');
    }
  }

  const currentContext = contextOverride ?? root['current-context'];
  if (typeof currentContext !== 'string' || currentContext === '') {
    throw new InvalidInputError(object, `${at}.current-context`, 'is not set: cannot tell which context to use');
  }
  const contextAt = `${at}.contexts[${label(currentContext)}]`;
  const context = contexts.get(currentContext);
  if (!context) throw new InvalidInputError(object, contextAt, 'does not exist');
  const clusterName = context.cluster;
  const userName = context.user;
  if (typeof clusterName !== 'string' || clusterName === '') {
    throw new InvalidInputError(object, `${contextAt}.context.cluster`, 'is not set');
  }
  const cluster = clusters.get(clusterName);
  if (!cluster) {
    throw new InvalidInputError(object, `${at}.clusters[${label(clusterName)}]`, `does not exist (referenced by context ${quoted(currentContext)})`);
  }
  if (typeof userName !== 'string' || userName === '') {
    throw new InvalidInputError(object, `${contextAt}.context.user`, 'is not set');
  }
  const user = users.get(userName);
  if (!user) throw new InvalidInputError(object, `${at}.users[${label(userName)}]`, `does not exist (referenced by context ${quoted(currentContext)})`);

  kubeconfigName(currentContext, object, `${contextAt}.name`);
  kubeconfigName(clusterName, object, `${at}.clusters[${label(clusterName)}].name`);
  kubeconfigName(userName, object, `${at}.users[${label(userName)}].name`);
  const staticC = staticCluster(cluster, object, `${at}.clusters[${label(clusterName)}].cluster`);
  const staticU = copyStaticUser(user, object, `${at}.users[${label(userName)}].user`);
  const ctx: { cluster: string; user: string; namespace?: string } = { cluster: clusterName, user: userName };
  const namespace = context.namespace;
  if (namespace !== undefined && namespace !== null && namespace !== '') {
    if (!isNamespaceName(namespace)) {
      throw new InvalidInputError(object, `${contextAt}.context.namespace`, 'is not a valid namespace name');
    }
    ctx.namespace = namespace;
  }

  const kubeconfig = renderKubeconfig({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: staticC }],
    users: [{ name: userName, user: staticU }],
    contexts: [{ name: currentContext, context: ctx }],
    'current-context': currentContext,
  });
  return { kubeconfig, server: staticC.server };
}

/** A source name inside a field path: escaped and capped, not quoted (the brackets delimit it). */
function label(name: string): string {
  return safeText(name, PROFILE_STRING_MAX);
}

function namedEntries(
  list: unknown,
  listName: string,
  itemKey: string,
  object: string,
  at: string,
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new InvalidInputError(object, `${at}.${listName}`, 'must be a list');
  list.forEach((entry, i) => {
    const e = entry as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || e.name === '') {
      throw new InvalidInputError(object, `${at}.${listName}[${i}]`, 'must have a name');
    }
    if (out.has(e.name)) throw new InvalidInputError(object, `${at}.${listName}[${label(e.name)}]`, 'appears more than once');
    const item = e[itemKey] ?? {};
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidInputError(object, `${at}.${listName}[${label(e.name)}].${itemKey}`, 'must be an object');
    }
    out.set(e.name, item as Record<string, unknown>);
  });
  return out;
}

/** Fields that would make the consumer run a binary or read a local file. */
const UNSAFE_USER_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['exec', 'exec plugins are refused: sveltoscluster-manager must not run binaries'],
  ['auth-provider', 'auth providers are refused: they run or configure external helpers'],
  ['tokenFile', 'file references are refused (use token)'],
  ['client-certificate', 'file references are refused (use client-certificate-data)'],
  ['client-key', 'file references are refused (use client-key-data)'],
];

function refuseUnsafeUser(user: Record<string, unknown>, object: string, at: string): void {
  for (const [field, reason] of UNSAFE_USER_FIELDS) {
    if (present(user[field])) throw new InvalidInputError(object, `${at}.${field}`, reason);
  }
}

/**
 * Impersonation is refused, not dropped: dropping it would silently make Sveltos act as the
 * credential's own identity, often a more powerful one than the identity the source impersonates.
 */
const IMPERSONATION_FIELDS = ['as', 'as-uid', 'as-groups', 'as-user-extra'] as const;

function refuseImpersonation(user: Record<string, unknown>, object: string, at: string): void {
  for (const field of IMPERSONATION_FIELDS) {
    const v = user[field];
    const empty = !present(v) || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
    if (!empty) {
      throw new InvalidInputError(
        object,
        `${at}.${field}`,
        'impersonation is refused: use a credential of the identity Sveltos should act as (dropping the field would make it act as the credential\'s own identity)',
      );
    }
  }
}

function copyStaticUser(user: Record<string, unknown>, object: string, at: string): StaticUser {
  refuseImpersonation(user, object, at);
  const out: StaticUser = {};
  const field = (key: keyof StaticUser, validate: (v: unknown, o: string, f: string) => string | undefined) => {
    const v = user[key];
    if (v === undefined || v === null || v === '') return;
    const valid = validate(v, object, `${at}.${key}`);
    if (valid) out[key] = valid;
  };
  field('token', bearerToken);
  field('username', basicAuthUsername);
  field('password', printableText);
  field('client-certificate-data', base64Data);
  field('client-key-data', base64Data);
  if (Boolean(out['client-certificate-data']) !== Boolean(out['client-key-data'])) {
    const missing = out['client-certificate-data'] ? 'client-key-data' : 'client-certificate-data';
    throw new InvalidInputError(object, `${at}.${missing}`, 'is missing: a client certificate and key come in pairs');
  }
  const hasBasic = Boolean(out.username) || Boolean(out.password);
  if (out.token && hasBasic) {
    throw new InvalidInputError(object, at, 'has both a token and a username/password: client-go refuses more than one authentication method');
  }
  if (!out.token && !out['client-certificate-data'] && !hasBasic) {
    throw new InvalidInputError(object, at, 'has no usable credentials (token, client-certificate-data + client-key-data, or username + password)');
  }
  return out;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}
