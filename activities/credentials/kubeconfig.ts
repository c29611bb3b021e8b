// The static kubeconfig we write for Sveltos: no exec stanza, no file references, because
// sveltoscluster-manager has neither the plugins nor the files, and no impersonation. Every value is
// validated by an allowlist (kubeconfig-fields.ts) and rendered as JSON with every non-ASCII
// character escaped, which client-go's YAML reader reads back exactly (docs/adr/0008). Rendering is
// deterministic (fixed key order) so that an unchanged credential gives the same fingerprint and no write.
import { createHmac, randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import type { KubeconfigCluster } from '../kube/types.js';
import { MAX_URL_LENGTH, bearerToken, kubeconfigName, proxyUrl, serverShape, tlsServerName } from './kubeconfig-fields.js';

/** The cluster keys we carry into a written kubeconfig, in the order we write them. */
export const STATIC_CLUSTER_KEYS = [
  'server',
  'certificate-authority-data',
  'tls-server-name',
  'insecure-skip-tls-verify',
  'proxy-url',
  'disable-compression',
] as const;

export type StaticCluster = Pick<KubeconfigCluster, (typeof STATIC_CLUSTER_KEYS)[number]>;

/**
 * kubeconfig v1 AuthInfo, restricted to what needs neither files nor binaries. Impersonation
 * (`as`, `as-uid`, `as-groups`, `as-user-extra`) is refused, not carried: see docs/adr/0008.
 */
export interface StaticUser {
  token?: string;
  /** base64 of PEM, as in any kubeconfig. */
  'client-certificate-data'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
}

export interface KubeconfigContext {
  cluster: string;
  user: string;
  namespace?: string;
}

export interface StaticKubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: StaticCluster }[];
  users: { name: string; user: StaticUser }[];
  contexts: { name: string; context: KubeconfigContext }[];
  'current-context': string;
}

/** What an exec plugin returns; certificate and key are PEM text. */
export interface StaticCredentials {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
}

export const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Longer server URLs are refused: the server is reported in workflow history. */
export const MAX_SERVER_LENGTH = MAX_URL_LENGTH;
const FORBIDDEN_IN_SERVER_RE = /[\s\p{Cc}\p{Cf}\\]/u;

/**
 * The server URL, if it is `http(s)://host[:port][/path]` and nothing more. It is reported in workflow
 * results, so it must not carry credentials: no user information, no query (`?access_token=`), no
 * fragment. It is written as given, so it must read the same in Go's url.Parse as in the WHATWG
 * parser: serverShape allows only the shape on which they agree (ASCII host name or IP, numeric
 * port, URL path characters). Never echoed, in case it does carry something secret.
 */
export function validateServer(server: unknown, object: string, field: string): string {
  if (typeof server !== 'string' || server.trim() === '') {
    throw new InvalidInputError(object, field, 'must not be empty (client-go would silently connect to localhost)');
  }
  if (server.length > MAX_SERVER_LENGTH) throw new InvalidInputError(object, field, `is longer than ${MAX_SERVER_LENGTH} characters`);
  if (FORBIDDEN_IN_SERVER_RE.test(server)) {
    throw new InvalidInputError(object, field, 'must not contain whitespace, control characters or backslashes');
  }
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new InvalidInputError(object, field, 'is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInputError(object, field, 'must be an https:// (or http://) URL');
  }
  if (url.username || url.password || server.includes('@')) {
    throw new InvalidInputError(object, field, 'must not contain user information (user:password@)');
  }
  if (server.includes('?') || server.includes('#')) {
    throw new InvalidInputError(object, field, 'must not contain a query or fragment (?… or #…): it could carry a credential into workflow history');
  }
  const shape = serverShape(server);
  if (shape) throw new InvalidInputError(object, field, shape);
  return server;
}

/**
 * base64 of PEM (or any bytes), re-encoded canonically: what Go's encoding/json writes for the bytes
 * client-go decodes, so the value written is the value read.
 */
export function base64Data(value: unknown, object: string, field: string): string | undefined {
  const text = optionalString(value, object, field);
  if (text === undefined || text === '') return undefined;
  if (!BASE64_RE.test(text)) throw new InvalidInputError(object, field, 'is not valid base64 (expected base64 of PEM)');
  return Buffer.from(text, 'base64').toString('base64');
}

/**
 * Validates a cluster as given by a ClusterProfile or a source kubeconfig and keeps only the keys a
 * static kubeconfig carries. `at` is the field path of the cluster object, for errors.
 */
export function staticCluster(cluster: Partial<KubeconfigCluster> | undefined, object: string, at: string): StaticCluster {
  if (cluster === undefined || cluster === null || typeof cluster !== 'object') {
    throw new InvalidInputError(object, at, 'is missing: the provider states no cluster to connect to');
  }
  const server = validateServer(cluster.server, object, `${at}.server`);
  const out: StaticCluster = { server };

  const ca = base64Data(cluster['certificate-authority-data'], object, `${at}.certificate-authority-data`);
  if (ca) out['certificate-authority-data'] = ca;
  const serverName = optionalString(cluster['tls-server-name'], object, `${at}.tls-server-name`);
  if (serverName) out['tls-server-name'] = tlsServerName(serverName, object, `${at}.tls-server-name`);

  const insecure = optionalBoolean(cluster['insecure-skip-tls-verify'], object, `${at}.insecure-skip-tls-verify`);
  if (insecure) {
    // client-go refuses this combination when building the client; better to say so here.
    if (out['certificate-authority-data']) {
      throw new InvalidInputError(object, `${at}.insecure-skip-tls-verify`, 'cannot be true together with certificate-authority-data');
    }
    out['insecure-skip-tls-verify'] = true;
  }

  const proxy = optionalString(cluster['proxy-url'], object, `${at}.proxy-url`);
  if (proxy) out['proxy-url'] = proxyUrl(proxy, object, `${at}.proxy-url`);

  const disableCompression = optionalBoolean(cluster['disable-compression'], object, `${at}.disable-compression`);
  if (disableCompression) out['disable-compression'] = true;
  return out;
}

/** The kubeconfig user for static credentials; PEM text becomes base64 `*-data`. */
export function staticUser(credentials: StaticCredentials, object: string, at: string): StaticUser {
  const user: StaticUser = {};
  if (credentials.token) user.token = bearerToken(credentials.token, object, `${at}.status.token`);
  const hasCert = Boolean(credentials.clientCertificateData);
  const hasKey = Boolean(credentials.clientKeyData);
  if (hasCert !== hasKey) {
    throw new InvalidInputError(object, at, `has a client ${hasCert ? 'certificate without a key' : 'key without a certificate'}`);
  }
  if (hasCert && hasKey) {
    user['client-certificate-data'] = Buffer.from(credentials.clientCertificateData ?? '', 'utf8').toString('base64');
    user['client-key-data'] = Buffer.from(credentials.clientKeyData ?? '', 'utf8').toString('base64');
  }
  if (!user.token && !user['client-certificate-data']) {
    throw new InvalidInputError(object, at, 'has neither a token nor a client certificate and key');
  }
  return user;
}

export interface BuildKubeconfigInput {
  /** Used for the cluster, user and context entries; the ClusterProfile's name reads best. */
  name: string;
  cluster: KubeconfigCluster | undefined;
  credentials: StaticCredentials;
  /** "ClusterProfile fleet/spoke-1". */
  object: string;
  /** "status.accessProviders[0]": errors name `<providerField>.cluster.server` and so on. */
  providerField: string;
}

/** A kubeconfig (YAML) with one cluster, one user, one context, and current-context set. */
export function buildKubeconfig(input: BuildKubeconfigInput): string {
  const name = kubeconfigName(input.name, input.object, 'metadata.name');
  const cluster = staticCluster(input.cluster, input.object, `${input.providerField}.cluster`);
  const user = staticUser(input.credentials, input.object, `exec plugin result for ${input.providerField}`);
  return renderKubeconfig({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/** Renders a validated model: the only way a kubeconfig we write is produced. */
export function renderKubeconfig(config: StaticKubeconfig): string {
  const ordered = {
    apiVersion: config.apiVersion,
    kind: config.kind,
    clusters: config.clusters.map(({ name, cluster }) => ({ name, cluster: pick(cluster, STATIC_CLUSTER_KEYS) })),
    users: config.users.map(({ name, user }) => ({ name, user: pick(user, USER_KEYS) })),
    contexts: config.contexts.map(({ name, context }) => ({ name, context: pick(context, ['cluster', 'user', 'namespace'] as const) })),
    'current-context': config['current-context'],
  };
  return kubeconfigJson(ordered);
}

/** Non-ASCII characters of the Basic Multilingual Plane, DEL included; astral characters are matched whole (the `u` flag) and excluded. */
const ESCAPED_RE = /[\u007f-\ud7ff\ue000-\uffff]/gu;
const LONE_SURROGATE_RE = /\p{Cs}/u;

/**
 * JSON, which client-go's YAML reader (goyaml v2) reads as a flow document, with every BMP character
 * outside printable ASCII written as a \uXXXX escape: goyaml v2 treats raw U+0085, U+2028 and U+2029
 * as line breaks even inside double-quoted strings (NEL turns into a space, and the spaces after any
 * of them are dropped), but reads escapes literally. Astral characters stay raw UTF-8: goyaml refuses escaped surrogate pairs, and a
 * four-byte character is neither a break nor a blank to it. docs/adr/0008 has the evidence.
 */
export function kubeconfigJson(doc: object): string {
  assertWellFormed(doc);
  const json = JSON.stringify(doc, null, 2).replace(ESCAPED_RE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${json}\n`;
}

/** An unpaired surrogate has no UTF-8 form, so client-go could not read it as we hold it; validation refuses it first. */
function assertWellFormed(value: unknown): void {
  if (typeof value === 'string') {
    if (LONE_SURROGATE_RE.test(value)) throw new Error('kubeconfig renderer: a value with an unpaired surrogate was not refused by validation');
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) assertWellFormed(v);
  }
}

/**
 * Set to share fingerprints across worker processes (at least 32 characters, e.g. 32 random bytes in
 * base64, from a Secret); unset, each worker process uses a random key of its own.
 */
export const FINGERPRINT_KEY_ENV = 'CLUSTERINVENTORY_FINGERPRINT_KEY';
const MIN_FINGERPRINT_KEY_LENGTH = 32;
let fingerprintKey: Buffer | undefined;

/** The key configured in `env`, or a fresh random one. */
export function fingerprintKeyFrom(env: Readonly<Record<string, string | undefined>>): Buffer {
  const configured = env[FINGERPRINT_KEY_ENV];
  if (configured === undefined || configured === '') return randomBytes(32);
  if (configured.length < MIN_FINGERPRINT_KEY_LENGTH) {
    throw new InvalidInputError(`environment variable ${FINGERPRINT_KEY_ENV}`, undefined, `must be at least ${MIN_FINGERPRINT_KEY_LENGTH} characters long`);
  }
  return Buffer.from(configured, 'utf8');
}

/**
 * This worker's fingerprint key, chosen once per process. Call it at start-up to fail fast on a
 * configured key that is too short; fingerprint() calls it on first use otherwise.
 */
export function loadFingerprintKey(env: Readonly<Record<string, string | undefined>> = process.env): Buffer {
  fingerprintKey ??= fingerprintKeyFrom(env);
  return fingerprintKey;
}

/**
 * First 16 hex characters of HMAC-SHA256 under the worker's key: tells whether content changed
 * without revealing it. Keyed because fingerprints are shown in workflow history and status, and an
 * unkeyed hash of a kubeconfig would let anyone who reads them test guesses of a password or token
 * offline. Only compared within one worker process (an unchanged refresh writes nothing), so a random
 * per-process key is enough; FINGERPRINT_KEY_ENV makes the status fingerprint stable across workers.
 */
export function fingerprint(bytes: string | Uint8Array): string {
  return createHmac('sha256', loadFingerprintKey()).update(bytes).digest('hex').slice(0, 16);
}

const USER_KEYS = ['token', 'client-certificate-data', 'client-key-data', 'username', 'password'] as const;

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}

function optionalString(value: unknown, object: string, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(object, field, 'must be a string');
  return value;
}

function optionalBoolean(value: unknown, object: string, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new InvalidInputError(object, field, 'must be a boolean');
  return value;
}
