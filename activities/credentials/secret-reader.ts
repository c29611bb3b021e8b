// The built-in `kubeconfig-secretreader` provider (SPEC §2.1): copy a kubeconfig from a Secret the
// ClusterProfile points at. Two holes of the Go controller are closed here: a profile author could
// name any Secret in the cluster (so reads are confined to the profile's namespace unless configured
// otherwise), and the copied kubeconfig could make sveltoscluster-manager run binaries or read files
// (so it is parsed and such users and clusters are refused; a valid one is copied byte for byte).
import { parse, YAMLParseError } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { EXEC_EXTENSION, type KubeconfigCluster, type V1Secret } from '../kube/types.js';
import { assertNamespaceAllowed, parseSecretReaderExtension } from '../profile/model.js';
import { extensionField } from './extensions.js';
import { renderKubeconfig, staticCluster, type StaticUser } from './kubeconfig.js';
import { describeObject } from './names.js';

// The extension and the namespace allow-list are read by the shared profile model (the watcher uses the
// same functions); re-exported here so existing imports stay valid.
export {
  assertNamespaceAllowed,
  isNamespaceAllowed,
  parseSecretReaderExtension,
  SECRET_READER_NAMESPACES_FLAG,
  type SecretReaderRef,
} from '../profile/model.js';

/** NotFound must resolve to undefined; any other failure should throw (and is then retried). */
export type SecretGetter = (namespace: string, name: string) => Promise<V1Secret | undefined>;

export interface SecretReaderResult {
  /** The validated kubeconfig: the source bytes, or the selected context alone with an override. Never log it. */
  kubeconfig: string;
  server: string;
  source: { namespace: string; name: string; key: string };
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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
  const encoded = secret.data?.[ref.key];
  const bytes = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (bytes.length === 0) {
    throw new InvalidInputError(`${secretObject} (source of ${object})`, `data[${ref.key}]`, 'is missing or empty');
  }
  const source = `${secretObject} (source of ${object})`;
  const { kubeconfig, server } = normalizeSourceKubeconfig(bytes.toString('utf8'), source, `data[${ref.key}]`, ref.context);
  return { kubeconfig, server, source: { namespace: ref.namespace, name: ref.name, key: ref.key } };
}

/**
 * Parses and validates a kubeconfig. A valid one is returned as it is; with a context override, only
 * that context is rendered, with static credentials.
 * Every user and cluster in the file is checked, not only the selected ones: a file that carries an
 * exec user is refused outright rather than trimmed, so that its owner learns about it.
 */
export function normalizeSourceKubeconfig(
  text: string,
  object: string,
  at: string,
  contextOverride?: string,
): { kubeconfig: string; server: string } {
  const doc = parseYaml(text, object, at);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidInputError(object, at, 'is not a kubeconfig (not a YAML/JSON object)');
  const root = doc as Record<string, unknown>;

  const clusters = namedEntries(root.clusters, 'clusters', 'cluster', object, at);
  const users = namedEntries(root.users, 'users', 'user', object, at);
  const contexts = namedEntries(root.contexts, 'contexts', 'context', object, at);

  for (const [name, user] of users) refuseUnsafeUser(user, object, `${at}.users[${name}].user`);
  for (const [name, cluster] of clusters) {
    if (present(cluster['certificate-authority'])) {
      throw new InvalidInputError(object, `${at}.clusters[${name}].cluster.certificate-authority`, 'file references are refused (use certificate-authority-data)');
    }
  }

  const currentContext = contextOverride ?? root['current-context'];
  if (typeof currentContext !== 'string' || currentContext === '') {
    throw new InvalidInputError(object, `${at}.current-context`, 'is not set: cannot tell which context to use');
  }
  const context = contexts.get(currentContext);
  if (!context) throw new InvalidInputError(object, `${at}.contexts[${currentContext}]`, 'does not exist');
  const clusterName = context.cluster;
  const userName = context.user;
  if (typeof clusterName !== 'string' || clusterName === '') {
    throw new InvalidInputError(object, `${at}.contexts[${currentContext}].context.cluster`, 'is not set');
  }
  const cluster = clusters.get(clusterName);
  if (!cluster) throw new InvalidInputError(object, `${at}.clusters[${clusterName}]`, `does not exist (referenced by context "${currentContext}")`);
  if (typeof userName !== 'string' || userName === '') {
    throw new InvalidInputError(object, `${at}.contexts[${currentContext}].context.user`, 'is not set');
  }
  const user = users.get(userName);
  if (!user) throw new InvalidInputError(object, `${at}.users[${userName}]`, `does not exist (referenced by context "${currentContext}")`);

  const staticC = staticCluster(cluster, object, `${at}.clusters[${clusterName}].cluster`);
  const staticU = copyStaticUser(user, object, `${at}.users[${userName}].user`);
  const ctx: { cluster: string; user: string; namespace?: string } = { cluster: clusterName, user: userName };
  if (typeof context.namespace === 'string' && context.namespace !== '') ctx.namespace = context.namespace;

  // Parity with the Go controller (and least surprise): a valid source is copied byte for byte. Only an
  // explicit `context` in the extension makes us render the selected context as a new kubeconfig.
  if (contextOverride === undefined) return { kubeconfig: text, server: staticC.server };
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

function parseYaml(text: string, object: string, at: string): unknown {
  try {
    // YAML 1.1 like client-go's decoder; no aliases (nothing legitimate needs them, and they can explode).
    return parse(text, { version: '1.1', uniqueKeys: true, maxAliasCount: 0, logLevel: 'error', prettyErrors: false });
  } catch (err) {
    // The library's message quotes the offending source line, which may be a credential.
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0]?.line;
      throw new InvalidInputError(object, at, `is not valid YAML (${err.code}${line ? ` at line ${line}` : ''})`);
    }
    throw new InvalidInputError(object, at, 'is not valid YAML');
  }
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
    if (out.has(e.name)) throw new InvalidInputError(object, `${at}.${listName}[${e.name}]`, 'appears more than once');
    const item = e[itemKey] ?? {};
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidInputError(object, `${at}.${listName}[${e.name}].${itemKey}`, 'must be an object');
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

function copyStaticUser(user: Record<string, unknown>, object: string, at: string): StaticUser {
  const out: StaticUser = {};
  const str = (key: 'token' | 'username' | 'password' | 'as' | 'as-uid') => {
    const v = user[key];
    if (v === undefined || v === null || v === '') return;
    if (typeof v !== 'string') throw new InvalidInputError(object, `${at}.${key}`, 'must be a string');
    out[key] = v;
  };
  str('token');
  str('username');
  str('password');
  str('as');
  str('as-uid');

  for (const key of ['client-certificate-data', 'client-key-data'] as const) {
    const v = user[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' || !BASE64_RE.test(v)) throw new InvalidInputError(object, `${at}.${key}`, 'must be base64 of PEM');
    out[key] = v;
  }
  if (Boolean(out['client-certificate-data']) !== Boolean(out['client-key-data'])) {
    const missing = out['client-certificate-data'] ? 'client-key-data' : 'client-certificate-data';
    throw new InvalidInputError(object, `${at}.${missing}`, 'is missing: a client certificate and key come in pairs');
  }

  const groups = user['as-groups'];
  if (groups !== undefined && groups !== null) {
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
      throw new InvalidInputError(object, `${at}.as-groups`, 'must be a list of strings');
    }
    if (groups.length) out['as-groups'] = [...(groups)];
  }
  const extra = user['as-user-extra'];
  if (extra !== undefined && extra !== null) {
    if (
      typeof extra !== 'object' ||
      Array.isArray(extra) ||
      !Object.values(extra).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))
    ) {
      throw new InvalidInputError(object, `${at}.as-user-extra`, 'must be a map of strings to lists of strings');
    }
    if (Object.keys(extra).length) out['as-user-extra'] = structuredClone(extra as Record<string, string[]>);
  }

  const hasBasic = Boolean(out.username) || Boolean(out.password);
  if (!out.token && !out['client-certificate-data'] && !hasBasic) {
    throw new InvalidInputError(object, at, 'has no usable credentials (token, client-certificate-data + client-key-data, or username + password)');
  }
  return out;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}
