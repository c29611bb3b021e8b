// The static kubeconfig we write for Sveltos (SPEC §2.2 "Output kubeconfig"): no exec stanza, no
// file references, because sveltoscluster-manager has neither the plugins nor the files. Rendering
// is deterministic (fixed key order, no line folding) so that an unchanged credential gives the same
// fingerprint and no write.
import { createHmac, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { InvalidInputError } from '../errors.js';
import type { KubeconfigCluster } from '../kube/types.js';

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

/** kubeconfig v1 AuthInfo, restricted to what needs neither files nor binaries. */
export interface StaticUser {
  token?: string;
  /** base64 of PEM, as in any kubeconfig. */
  'client-certificate-data'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  as?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: Record<string, string[]>;
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
const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks5:']);

/** Longer server URLs are refused: the server is reported in workflow history. */
export const MAX_SERVER_LENGTH = 2048;
const FORBIDDEN_IN_SERVER_RE = /[\s\p{Cc}\p{Cf}\\]/u;

/**
 * The server URL, if it is `http(s)://host[:port][/path]` and nothing more. It is reported in workflow
 * results, so it must not carry credentials: no user information, no query (`?access_token=`), no
 * fragment. It is written as given, so it must also read the same in Go's url.Parse as in the WHATWG
 * parser checked here; they disagree on whitespace, control characters and backslashes, so those (and
 * invisible format characters) are
 * refused. Never echoed, in case it does carry something secret.
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
  return server;
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

  const ca = optionalString(cluster['certificate-authority-data'], object, `${at}.certificate-authority-data`);
  if (ca !== undefined && ca !== '') {
    if (!BASE64_RE.test(ca)) throw new InvalidInputError(object, `${at}.certificate-authority-data`, 'is not valid base64 (expected base64 of PEM)');
    out['certificate-authority-data'] = ca;
  }
  const tlsServerName = optionalString(cluster['tls-server-name'], object, `${at}.tls-server-name`);
  if (tlsServerName) out['tls-server-name'] = tlsServerName;

  const insecure = optionalBoolean(cluster['insecure-skip-tls-verify'], object, `${at}.insecure-skip-tls-verify`);
  if (insecure) {
    // client-go refuses this combination when building the client; better to say so here.
    if (out['certificate-authority-data']) {
      throw new InvalidInputError(object, `${at}.insecure-skip-tls-verify`, 'cannot be true together with certificate-authority-data');
    }
    out['insecure-skip-tls-verify'] = true;
  }

  const proxy = optionalString(cluster['proxy-url'], object, `${at}.proxy-url`);
  if (proxy) {
    let proxyUrl: URL | undefined;
    try {
      proxyUrl = new URL(proxy);
    } catch {
      proxyUrl = undefined;
    }
    if (!proxyUrl || !PROXY_SCHEMES.has(proxyUrl.protocol)) {
      throw new InvalidInputError(object, `${at}.proxy-url`, 'must be an http://, https:// or socks5:// URL');
    }
    out['proxy-url'] = proxy;
  }

  const disableCompression = optionalBoolean(cluster['disable-compression'], object, `${at}.disable-compression`);
  if (disableCompression) out['disable-compression'] = true;
  return out;
}

/** The kubeconfig user for static credentials; PEM text becomes base64 `*-data`. */
export function staticUser(credentials: StaticCredentials, object: string, at: string): StaticUser {
  const user: StaticUser = {};
  if (credentials.token) user.token = credentials.token;
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
  const cluster = staticCluster(input.cluster, input.object, `${input.providerField}.cluster`);
  const user = staticUser(input.credentials, input.object, `exec plugin result for ${input.providerField}`);
  return renderKubeconfig({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: input.name, cluster }],
    users: [{ name: input.name, user }],
    contexts: [{ name: input.name, context: { cluster: input.name, user: input.name } }],
    'current-context': input.name,
  });
}

export function renderKubeconfig(config: StaticKubeconfig): string {
  const ordered = {
    apiVersion: config.apiVersion,
    kind: config.kind,
    clusters: config.clusters.map(({ name, cluster }) => ({ name, cluster: pick(cluster, STATIC_CLUSTER_KEYS) })),
    users: config.users.map(({ name, user }) => ({ name, user: pick(user, USER_KEYS) })),
    contexts: config.contexts.map(({ name, context }) => ({ name, context: pick(context, ['cluster', 'user', 'namespace'] as const) })),
    'current-context': config['current-context'],
  };
  return stringify(ordered, { version: '1.1', lineWidth: 0, minContentWidth: 0 });
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

const USER_KEYS = [
  'token',
  'client-certificate-data',
  'client-key-data',
  'username',
  'password',
  'as',
  'as-uid',
  'as-groups',
  'as-user-extra',
] as const;

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
