// The controller's own kubeconfig, read without @kubernetes/client-node when its current context's user
// has static credentials only (a token or token file, a client certificate, basic auth). Every field of
// the context, its cluster and its user must be on an allowlist: a field this reader does not know, or
// knows needs more than it does (exec, auth-provider, impersonation, a proxy), hands the whole file to
// client-node (kube-access.ts) rather than being ignored. Errors name the file and the field, never a value.
import { dirname, resolve } from 'node:path';
import { MAX_SOURCE_BYTES, parseStrictYaml } from '../credentials/strict-yaml.js';
import { basicAuthUsername, bearerToken, serverShape, tlsServerName } from '../credentials/kubeconfig-fields.js';
import { BASE64_RE } from '../credentials/kubeconfig.js';
import { InvalidInputError } from '../errors.js';
import type { Material, StaticAccessSpec } from './static-access.js';

/** `extensions` are informational (kubectl and client-go never act on them); `disable-compression`: we never ask for gzip. */
const CONTEXT_FIELDS = new Set(['cluster', 'user', 'namespace', 'extensions']);
const CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'disable-compression', 'extensions']);
const USER_FIELDS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password', 'extensions']);
/** Fields this reader knows it cannot honour, with what they are, for the log line that says why client-node is used. */
const CLIENT_NODE_FIELDS: Record<string, string> = {
  exec: 'an exec credential plugin',
  'auth-provider': 'an auth provider',
  as: 'impersonation',
  'as-uid': 'impersonation',
  'as-groups': 'impersonation',
  'as-user-extra': 'impersonation',
  'proxy-url': 'a proxy',
};

/** Settings this reader applies itself, or why @kubernetes/client-node must read the file. */
export type KubeconfigReading = { spec: StaticAccessSpec } | { needsClientNode: string };

type Fields = Record<string, unknown>;

class NeedsClientNode extends Error {}

/** Reads one kubeconfig file's text; `path` names it in errors and anchors its relative file names. */
export function readKubeconfig(text: string, path: string): KubeconfigReading {
  const origin = `kubeconfig ${path}`;
  // A kubeconfig this large holds dozens of contexts: client-node reads it (strict-yaml bounds its parse).
  if (Buffer.byteLength(text, 'utf8') > MAX_SOURCE_BYTES) return { needsClientNode: `${origin} is larger than ${MAX_SOURCE_BYTES} bytes` };
  // A file that does not parse stops the start here: client-node's YAML errors quote the source lines,
  // credentials included, and the strict reader's never do.
  const doc = parseStrictYaml(text, origin, 'content');
  if (!isFields(doc)) throw new InvalidInputError(origin, undefined, 'is not a mapping of clusters, users and contexts');
  try {
    return { spec: specOf(doc, origin, dirname(resolve(path))) };
  } catch (err) {
    if (err instanceof NeedsClientNode) return { needsClientNode: `${origin}: ${err.message}` };
    // The operator's own file, not a profile author's: a combination this reader will not guess about is
    // read (or refused) by client-node exactly as before; the reason is logged.
    if (err instanceof InvalidInputError) return { needsClientNode: err.message };
    throw err;
  }
}

function isFields(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function specOf(doc: Fields, origin: string, dir: string): StaticAccessSpec {
  const fail = (field: string, reason: string): never => {
    throw new InvalidInputError(origin, field, reason);
  };
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') fail('current-context', 'is not set: without it there is no cluster to talk to');
  const contextName = current as string;
  const context = named(doc, 'contexts', 'context', contextName, origin);
  checkFields(context.value, CONTEXT_FIELDS, context.at);
  const clusterName = text(context.value, 'cluster', context.at, origin);
  if (!clusterName) fail(`${context.at}.cluster`, 'is not set');
  const cluster = named(doc, 'clusters', 'cluster', clusterName!, origin);
  checkFields(cluster.value, CLUSTER_FIELDS, cluster.at);
  const userName = text(context.value, 'user', context.at, origin);
  const user = userName ? named(doc, 'users', 'user', userName, origin) : undefined;
  if (user) checkFields(user.value, USER_FIELDS, user.at);
  const namespace = text(context.value, 'namespace', context.at, origin);
  return {
    origin,
    contextName,
    ...(namespace ? { namespace } : {}),
    ...clusterSettings(cluster.value, cluster.at, origin, dir),
    ...(user ? userSettings(user.value, user.at, origin, dir) : {}),
  };
}

/** The one entry of `list` named `name` (contexts, clusters, users), with the path of its fields. */
function named(doc: Fields, list: string, key: string, name: string, origin: string): { value: Fields; at: string } {
  const entries = doc[list] ?? [];
  if (!Array.isArray(entries)) throw new InvalidInputError(origin, list, 'is not a list');
  const found = entries.flatMap((e: unknown, i) => (isFields(e) && e.name === name ? [{ e, i }] : []));
  const referrer = list === 'contexts' ? 'current-context' : `the context's ${key}`;
  if (found.length === 0) throw new InvalidInputError(origin, list, `has no entry named "${name}" (${referrer})`);
  // client-go keeps the last of two namesakes, client-node the first: neither is a safe guess.
  if (found.length > 1) throw new InvalidInputError(origin, list, `has ${found.length} entries named "${name}"`);
  const { e, i } = found[0]!;
  for (const k of Object.keys(e)) if (k !== 'name' && k !== key) throw new NeedsClientNode(`${list}[${i}].${k} is not a field this reader knows`);
  const value = e[key] ?? {};
  if (!isFields(value)) throw new InvalidInputError(origin, `${list}[${i}].${key}`, 'is not a mapping');
  return { value, at: `${list}[${i}].${key}` };
}

function checkFields(fields: Fields, allowed: ReadonlySet<string>, at: string): void {
  for (const k of Object.keys(fields)) {
    if (allowed.has(k)) continue;
    const what = CLIENT_NODE_FIELDS[k];
    throw new NeedsClientNode(what ? `${at}.${k} is ${what}` : `${at}.${k} is not a field this reader knows`);
  }
}

/** A string field; empty means unset, as in client-go (omitempty). */
function text(fields: Fields, key: string, at: string, origin: string): string | undefined {
  const v = fields[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new InvalidInputError(origin, `${at}.${key}`, 'must be a string');
  return v;
}

function flag(fields: Fields, key: string, at: string, origin: string): boolean {
  const v = fields[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidInputError(origin, `${at}.${key}`, 'must be true or false');
  return v;
}

/** `<name>-data` (base64, inline) or `<name>` (a file, relative to the kubeconfig's folder); not both. */
function material(fields: Fields, key: string, at: string, origin: string, dir: string): Material | undefined {
  const file = text(fields, key, at, origin);
  const data = text(fields, `${key}-data`, at, origin);
  if (file && data) throw new InvalidInputError(origin, `${at}.${key}`, `and ${key}-data are both set: keep one`);
  if (file) return { field: `${at}.${key}`, file: resolve(dir, file) };
  if (!data) return undefined;
  const field = `${at}.${key}-data`;
  // Line breaks inside are allowed, as Go's decoder (client-go's) skips them.
  if (!BASE64_RE.test(data.replace(/\s+/g, ''))) throw new InvalidInputError(origin, field, 'is not base64');
  return { field, data: Buffer.from(data, 'base64') };
}

function clusterSettings(c: Fields, at: string, origin: string, dir: string): Pick<StaticAccessSpec, 'server' | 'skipTLSVerify' | 'tlsServerName' | 'ca'> {
  const server = text(c, 'server', at, origin)?.replace(/\/+$/, '');
  if (!server) throw new InvalidInputError(origin, `${at}.server`, 'is not set');
  const shape = serverShape(server);
  if (shape) throw new InvalidInputError(origin, `${at}.server`, shape);
  const skipTLSVerify = flag(c, 'insecure-skip-tls-verify', at, origin);
  flag(c, 'disable-compression', at, origin);
  const ca = material(c, 'certificate-authority', at, origin, dir);
  // client-go refuses both; client-node let the skip win. A CA nobody checks is a mistake to point out.
  if (ca && skipTLSVerify) throw new InvalidInputError(origin, `${at}.insecure-skip-tls-verify`, `is true while ${ca.field.slice(at.length + 1)} is set: keep one`);
  if (server.startsWith('http:') && !skipTLSVerify) {
    // As client-node: credentials in clear text only when asked for.
    throw new InvalidInputError(origin, `${at}.server`, 'is http://, which sends the credentials unencrypted: set insecure-skip-tls-verify: true to allow it');
  }
  const name = text(c, 'tls-server-name', at, origin);
  return {
    server,
    skipTLSVerify,
    ...(name ? { tlsServerName: tlsServerName(name, origin, `${at}.tls-server-name`) } : {}),
    ...(ca ? { ca } : {}),
  };
}

function userSettings(u: Fields, at: string, origin: string, dir: string): Pick<StaticAccessSpec, 'cert' | 'key' | 'token' | 'basic'> {
  const cert = material(u, 'client-certificate', at, origin, dir);
  const key = material(u, 'client-key', at, origin, dir);
  if (cert && !key) throw new InvalidInputError(origin, `${at}.client-key`, 'is not set, but client-certificate is: a certificate needs its key');
  if (key && !cert) throw new InvalidInputError(origin, `${at}.client-certificate`, 'is not set, but client-key is: a key needs its certificate');
  const token = text(u, 'token', at, origin);
  const tokenFile = text(u, 'tokenFile', at, origin);
  const username = text(u, 'username', at, origin);
  const password = text(u, 'password', at, origin);
  // Which of two credentials wins differs between client-go's layers and client-node: left to client-node, as before.
  if (token && tokenFile) throw new NeedsClientNode(`${at} has both token and tokenFile`);
  if ((token || tokenFile) && (username || password)) throw new NeedsClientNode(`${at} has both a token and basic-auth credentials`);
  if (password && !username) throw new InvalidInputError(origin, `${at}.username`, 'is not set, but password is');
  return {
    ...(cert && key ? { cert, key } : {}),
    ...(token ? { token: { field: `${at}.token`, data: Buffer.from(bearerToken(token, origin, `${at}.token`)) } } : {}),
    ...(tokenFile ? { token: { field: `${at}.tokenFile`, file: resolve(dir, tokenFile) } } : {}),
    ...(username ? { basic: { username: basicAuthUsername(username, origin, `${at}.username`), password: password ?? '' } } : {}),
  };
}
