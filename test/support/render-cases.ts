// Adversarial kubeconfig models for the render property: every string we write into a managed
// kubeconfig gets characters that goyaml v2 (client-go's YAML reader) treats as line breaks, blanks,
// indicators, document markers or YAML 1.1 booleans/numbers, alone and around a plausible value, and
// in seeded random combinations. Each case goes through the real entry points (the secret reader's
// normalizeSourceKubeconfig, the exec path's buildKubeconfig) and must either be refused with an
// InvalidInputError naming the fuzzed field, or render a kubeconfig that reads back exactly as the
// model. `expectedView` says what "exactly" means in client-go's terms (kubeconfig-check's report);
// the unit test checks the same cases without Go, the integration test with client-go.
import { buildKubeconfig, type StaticCredentials } from '../../activities/credentials/kubeconfig.js';
import { normalizeSourceKubeconfig } from '../../activities/credentials/secret-reader.js';
import type { KubeconfigCluster } from '../../activities/kube/types.js';
import { CA_DATA, CLIENT_CERT, CLIENT_KEY, JWT_TOKEN } from '../unit/credentials/fixtures.js';
import type { ClientGoCluster, ClientGoConfig, ClientGoRest, ClientGoUser } from './client-go-check.js';

export const SOURCE_OBJECT = 'Secret fleet/src (source of ClusterProfile fleet/spoke-1)';
export const SOURCE_AT = 'data[kubeconfig]';
export const PROFILE_OBJECT = 'ClusterProfile fleet/spoke-1';
export const PROVIDER_FIELD = 'status.accessProviders[0]';
const EXEC_NAME = 'spoke-1';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** A source kubeconfig's selected context, cluster and user (the secret-reader path). */
export interface SourceModel {
  clusterName: string;
  userName: string;
  contextName: string;
  namespace?: string;
  cluster: Record<string, unknown>;
  user: Record<string, unknown>;
}

/** A profile's cluster and a plugin's credential (the exec path). */
export interface ExecModel {
  cluster: Record<string, unknown>;
  credentials: StaticCredentials;
}

export type RenderCase =
  | { name: string; path: 'secret-reader'; fuzzed: readonly FuzzField[]; model: SourceModel }
  | { name: string; path: 'exec'; fuzzed: readonly FuzzField[]; model: ExecModel };

/**
 * Which base model a field is fuzzed in: client-go refuses a token together with basic auth, so the
 * username and password are fuzzed in a user of their own.
 */
export type ModelGroup = 'source' | 'basic' | 'exec';

/** A place in a model where a string goes, and how an error about it is named. */
export interface FuzzField {
  readonly id: string;
  readonly group: ModelGroup;
  readonly base: string;
  set(model: SourceModel | ExecModel, value: string): void;
  /** The InvalidInputError's `field` when this field is refused. */
  readonly errorField: RegExp;
  /** Pieces a legitimate value of this field may add to the base (the random cases' benign half). */
  readonly benign: readonly string[];
  /** Refused whatever its value (impersonation): left out of random combinations, which would all be refused. */
  readonly alwaysRefused?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Base models: valid, and as rich as the path allows, so that every written field is compared.

export function baseSource(group: 'source' | 'basic' = 'source'): SourceModel {
  const model: SourceModel = {
    clusterName: 'spoke',
    userName: 'admin',
    contextName: 'admin@spoke',
    namespace: 'team-a',
    cluster: {
      server: 'https://spoke.example:6443',
      'certificate-authority-data': CA_DATA,
      'tls-server-name': 'api.spoke.example',
      'proxy-url': 'http://proxy.example:3128',
      'disable-compression': true,
    },
    user: { token: JWT_TOKEN, 'client-certificate-data': b64(CLIENT_CERT), 'client-key-data': b64(CLIENT_KEY) },
  };
  if (group === 'basic') model.user = { username: 'admin', password: 'hunter2' };
  return model;
}

export function baseExec(): ExecModel {
  return {
    cluster: {
      server: 'https://aks.example:443',
      'certificate-authority-data': CA_DATA,
      'tls-server-name': 'aks.internal',
      'proxy-url': 'socks5://proxy.example:1080',
    },
    credentials: { token: JWT_TOKEN, clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY },
  };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const inSource = (suffix: string) => new RegExp(`^${esc(SOURCE_AT)}\\.${suffix}`);

/** Text fields take any printable character; a token visible ASCII; URLs, host names and base64 nothing. */
const TEXT: readonly string[] = ['é', 'Ω', '中文', '\u{1F600}', 'ß', '~', '+', '/', '=', '.', '_', ' ', '"', '#', ': ', 'yes', '~'];
const TOKEN_CHARS: readonly string[] = ['~', '+', '/', '=', '.', '_', '-', 'sha256~', '"', '#', ':', 'yes', '0x1F'];
const NONE: readonly string[] = [];

interface FieldOptions {
  group?: 'source' | 'basic';
  benign?: readonly string[];
  alwaysRefused?: boolean;
}

function sourceField(id: string, base: string, set: (m: SourceModel, v: string) => void, errorField: RegExp, options: FieldOptions = {}): FuzzField {
  const { group = 'source', benign = NONE, alwaysRefused = false } = options;
  return { id: `secret-reader ${id}`, group, base, set: (m, v) => set(m as SourceModel, v), errorField, benign, alwaysRefused };
}

function execField(id: string, base: string, set: (m: ExecModel, v: string) => void, errorField: RegExp, benign: readonly string[] = NONE): FuzzField {
  return { id: `exec ${id}`, group: 'exec', base, set: (m, v) => set(m as ExecModel, v), errorField, benign };
}

const clusterKey = (key: string, base: string) =>
  sourceField(`cluster.${key}`, base, (m, v) => (m.cluster[key] = v), inSource(`clusters\\[.*\\]\\.cluster\\.${esc(key)}$`));
const userKey = (key: string, base: string, options: FieldOptions = {}) =>
  sourceField(`user.${key}`, base, (m, v) => (m.user[key] = v), inSource(`users\\[.*\\]\\.user\\.${esc(key)}$`), options);
/** uid, groups and extra mean nothing to client-go without the user name they qualify. */
const impersonation = (key: string, base: string, value: (v: string) => unknown, wholeSource = false) =>
  sourceField(
    `user.${key}`,
    base,
    (m, v) => {
      m.user.as ??= 'system:serviceaccount:fleet:reader';
      m.user[key] = value(v);
    },
    // A map key `<<` is refused by the source reader before any field rule: it names the whole source.
    wholeSource ? new RegExp(`^${esc(SOURCE_AT)}($|\\.users\\[.*\\]\\.user\\.(as|${esc(key)}))`) : inSource(`users\\[.*\\]\\.user\\.(as|${esc(key)})`),
    { alwaysRefused: true },
  );
const execClusterKey = (key: string, base: string) =>
  execField(`cluster.${key}`, base, (m, v) => (m.cluster[key] = v), new RegExp(`^${esc(PROVIDER_FIELD)}\\.cluster\\.${esc(key)}$`));

/** Every string the two paths write, with a plausible value to wrap adversarial pieces around. */
export const FUZZ_FIELDS: readonly FuzzField[] = [
  clusterKey('server', 'https://spoke.example:6443'),
  clusterKey('certificate-authority-data', CA_DATA),
  clusterKey('tls-server-name', 'api.spoke.example'),
  clusterKey('proxy-url', 'http://proxy.example:3128'),
  userKey('token', JWT_TOKEN, { benign: TOKEN_CHARS }),
  userKey('username', 'admin', { group: 'basic', benign: TEXT.filter((t) => !t.includes(':')) }),
  userKey('password', 'hunter2', { group: 'basic', benign: TEXT }),
  userKey('client-certificate-data', b64(CLIENT_CERT)),
  userKey('client-key-data', b64(CLIENT_KEY)),
  userKey('as', 'system:serviceaccount:fleet:reader', { alwaysRefused: true }),
  impersonation('as-uid', '1f0c3a52-0000-4000-8000-000000000001', (v) => v),
  impersonation('as-groups', 'system:authenticated', (v) => ['readers', v]),
  impersonation('as-user-extra', 'scopes', (v) => ({ [v]: [v] }), true),
  sourceField('clusters[].name', 'spoke', (m, v) => (m.clusterName = v), inSource('(clusters|contexts)\\['), { benign: TEXT }),
  sourceField('users[].name', 'admin', (m, v) => (m.userName = v), inSource('(users|contexts)\\['), { benign: TEXT }),
  sourceField('contexts[].name', 'admin@spoke', (m, v) => (m.contextName = v), inSource('(contexts\\[|current-context)'), { benign: TEXT }),
  sourceField('contexts[].context.namespace', 'team-a', (m, v) => (m.namespace = v), inSource('contexts\\[.*\\]\\.context\\.namespace$')),
  execClusterKey('server', 'https://aks.example:443'),
  execClusterKey('certificate-authority-data', CA_DATA),
  execClusterKey('tls-server-name', 'aks.internal'),
  execClusterKey('proxy-url', 'socks5://proxy.example:1080'),
  execField('credentials.token', JWT_TOKEN, (m, v) => (m.credentials.token = v), /status\.token$/, TOKEN_CHARS),
  execField('credentials.clientCertificateData', CLIENT_CERT, (m, v) => (m.credentials.clientCertificateData = v), /status\.clientCertificateData$/, TEXT),
];

// ---------------------------------------------------------------------------------------------
// Adversarial pieces

/** What goyaml v2 reads as a line break, and what follows one in a successful injection. */
const LINE_BREAKS = ['\u2028', '\u2029', '\u0085', '\n', '\r', '\r\n'];
const INJECTIONS = [
  '\u2028    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, interactiveMode: Never}',
  '\u2029    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token',
  '\u0085current-context: evil',
  '\u2028...\u2028',
  '\u2028---\u2028',
  '\n...\n',
  '\n---\n',
  '"\u2028, "exec": {"command": "sh"}, "x": "',
  // ':' right before a break is a mapping indicator to goyaml but not to a YAML 1.2 emitter, which
  // then writes the value as a plain scalar: the shape of the injections the review saw end to end.
  // Indented as a sibling key would be in any layout (root, list item, cluster or user level).
  ...[0, 2, 4, 6].flatMap((n) => {
    const pad = ' '.repeat(n);
    return [
      `\u2028${pad}tokenFile:\u2028${pad}  /var/run/secrets/kubernetes.io/serviceaccount/token`,
      `\u2029${pad}exec:\u2029${pad}  apiVersion:\u2029${pad}    client.authentication.k8s.io/v1\u2029${pad}  command:\u2029${pad}    sh\u2029${pad}  interactiveMode:\u2029${pad}    Never`,
      `\u0085${pad}current-context:\u0085${pad}  evil`,
      `\u2028${pad}certificate-authority:\u2028${pad}  /etc/ssl/evil.pem`,
    ];
  }),
];
/** Invisible, bidi and zero-width characters, and encodings JavaScript and Go disagree on. */
const INVISIBLE = ['\ufeff', '\u202e', '\u2066', '\u2069', '\u200b', '\u200d', '\u00ad', '\u061c', '\ud800', '\udfff', '\u0000', '\u001b', '\u007f', '\ue000', '\ufffe'];
/** YAML indicators, quotes and comment starts, in every position a plain scalar would take them. */
const INDICATORS = ['"', "'", '#', ' #', ': ', ':', '!', '&', '*', '%', '@', '|', '>', '`', '?', '-', '- ', '{', '}', '[', ']', ',', '\\', '\t', ' ', '<<', '=', '!!binary '];
/** Scalars YAML 1.1 resolves to something other than a string. */
const YAML11 = ['yes', 'no', 'on', 'off', 'y', 'n', 'TRUE', 'False', '~', 'null', 'Null', '0x1F', '1e3', '0o17', '017', '.inf', '-.Inf', '.NaN', '1_000', '2001-12-14', '12:30:00', '0b101'];
/** Characters a legitimate value may carry: they must survive, not be refused by a too-broad rule. */
const LEGITIMATE = ['é', 'Ω', '中文', '\u{1F600}', 'ß', '~', '+', '/', '=', '.', '_', 'sha256~'];

export const PIECES: readonly string[] = [...LINE_BREAKS, ...INJECTIONS, ...INVISIBLE, ...INDICATORS, ...YAML11, ...LEGITIMATE];

/** 64 KiB: long enough for goyaml's 1024-character simple-key limit and any line-length folding. */
export const LONG = 64 * 1024;

export type Placement = 'alone' | 'leading' | 'trailing' | 'inside';
export const ALL_PLACEMENTS: readonly Placement[] = ['alone', 'leading', 'trailing', 'inside'];

function place(base: string, piece: string, where: Placement): string {
  const mid = Math.floor(base.length / 2);
  if (where === 'alone') return piece;
  if (where === 'leading') return piece + base;
  if (where === 'trailing') return base + piece;
  return base.slice(0, mid) + piece + base.slice(mid);
}

function longValues(base: string): [string, string][] {
  const half = 'a'.repeat(LONG / 2);
  return [
    ['64 KiB', base + half + half],
    ['64 KiB around a line separator', half + '\u2028' + base + half],
  ];
}

function makeCase(fields: readonly FuzzField[], values: readonly string[], name: string, group: ModelGroup = fields[0]?.group ?? 'source'): RenderCase {
  if (group === 'exec') {
    const model = baseExec();
    fields.forEach((f, i) => f.set(model, values[i] ?? ''));
    return { name, path: 'exec', fuzzed: fields, model };
  }
  const model = baseSource(group);
  fields.forEach((f, i) => f.set(model, values[i] ?? ''));
  return { name, path: 'secret-reader', fuzzed: fields, model };
}

const show = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 20)}…(${s.length})…${s.slice(-12)}` : s);

/** The base models, unfuzzed: each path's richest valid kubeconfig. */
export function baselineCases(): RenderCase[] {
  return [
    { name: 'secret-reader base model', path: 'secret-reader', fuzzed: [], model: baseSource() },
    { name: 'secret-reader base model with basic auth', path: 'secret-reader', fuzzed: [], model: baseSource('basic') },
    { name: 'exec base model', path: 'exec', fuzzed: [], model: baseExec() },
  ];
}

/** Every piece in every placement (all four unless narrowed) in every field, plus long values. */
export function systematicCases(where: readonly Placement[] = ALL_PLACEMENTS): RenderCase[] {
  const cases: RenderCase[] = [];
  for (const field of FUZZ_FIELDS) {
    for (const piece of PIECES) {
      for (const w of where) cases.push(makeCase([field], [place(field.base, piece, w)], `${field.id} ${w} ${show(piece)}`));
    }
    for (const [what, value] of longValues(field.base)) cases.push(makeCase([field], [value], `${field.id} ${what}`));
  }
  return cases;
}

/** mulberry32: small, seeded, the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CODE_POINT_RANGES: readonly [number, number][] = [
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0x80, 0xff],
  [0x2000, 0x206f],
  [0xfe00, 0xffff],
  [0xd800, 0xdfff],
  [0x100, 0xd7ff],
  [0x10000, 0x10ffff],
];

/**
 * Half the values are adversarial (any piece, any code point); the other half only add characters a
 * legitimate value may hold, so that combinations are accepted often enough to be compared too.
 */
function randomValue(next: () => number, field: FuzzField): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const adversarial = next() < 0.5;
  if (!adversarial && field.benign.length === 0) return field.base;
  let value = next() < 0.6 || !adversarial ? field.base : '';
  const parts = 1 + Math.floor(next() * 3);
  for (let i = 0; i < parts; i++) {
    let part = pick(adversarial ? PIECES : field.benign);
    if (adversarial && next() < 0.5) {
      const [lo, hi] = pick(CODE_POINT_RANGES);
      part = String.fromCodePoint(lo + Math.floor(next() * (hi - lo + 1)));
    }
    const at = Math.floor(next() * (value.length + 1));
    value = value.slice(0, at) + part + value.slice(at);
  }
  return value || 'x';
}

/** `count` cases, each fuzzing one to four fields of one path at once. */
export function randomCases(seed: number, count: number): RenderCase[] {
  const next = prng(seed);
  const cases: RenderCase[] = [];
  for (let i = 0; i < count; i++) {
    const roll = next();
    const group: ModelGroup = roll < 0.55 ? 'source' : roll < 0.7 ? 'basic' : 'exec';
    const inGroup = (f: FuzzField) => f.group === group || (group === 'basic' && f.group === 'source' && !f.id.includes('user.'));
    const candidates = FUZZ_FIELDS.filter((f) => inGroup(f) && !f.alwaysRefused);
    const n = 1 + Math.floor(next() * 4);
    const fields = [...new Set(Array.from({ length: n }, () => candidates[Math.floor(next() * candidates.length)] as FuzzField))];
    const values = fields.map((f) => randomValue(next, f));
    cases.push(makeCase(fields, values, `seed ${seed} #${i}: ${fields.map((f, j) => `${f.id}=${show(values[j] ?? '')}`).join(' ')}`, group));
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Rendering through the real entry points

/** The source as a Secret would carry it: JSON with every non-ASCII character escaped, so the model is exactly what our reader reads. */
export function sourceText(m: SourceModel): string {
  const context: Record<string, unknown> = { cluster: m.clusterName, user: m.userName };
  if (m.namespace !== undefined) context.namespace = m.namespace;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: m.clusterName, cluster: m.cluster }],
    users: [{ name: m.userName, user: m.user }],
    contexts: [{ name: m.contextName, context }],
    'current-context': m.contextName,
  };
  return JSON.stringify(doc).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export type Rendered = { ok: true; text: string } | { ok: false; error: unknown };

export function render(c: RenderCase): Rendered {
  try {
    if (c.path === 'secret-reader') return { ok: true, text: normalizeSourceKubeconfig(sourceText(c.model), SOURCE_OBJECT, SOURCE_AT).kubeconfig };
    const text = buildKubeconfig({
      name: EXEC_NAME,
      cluster: c.model.cluster as unknown as KubeconfigCluster,
      credentials: c.model.credentials,
      object: PROFILE_OBJECT,
      providerField: PROVIDER_FIELD,
    });
    return { ok: true, text };
  } catch (error) {
    return { ok: false, error };
  }
}

// ---------------------------------------------------------------------------------------------
// What client-go must read from an accepted case

export interface ExpectedView {
  config: ClientGoConfig;
  rest: ClientGoRest;
}

/** base64 the way Go's encoding/json writes []byte: the canonical encoding of the decoded bytes. */
const canonical = (s: unknown) => (typeof s === 'string' && s !== '' ? Buffer.from(s, 'base64').toString('base64') : undefined);
const str = (s: unknown) => (typeof s === 'string' && s !== '' ? s : undefined);

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== false)) as T;
}

/**
 * The model as client-go must hold it. proxy-url is the one value rendered in normalised form: the
 * caller passes the form that was written, once proxyMeansInput has checked it against the input.
 */
export function expectedView(c: RenderCase, proxy: string | undefined): ExpectedView {
  const isExec = c.path === 'exec';
  const names = isExec
    ? { cluster: EXEC_NAME, user: EXEC_NAME, context: EXEC_NAME, namespace: undefined }
    : { cluster: c.model.clusterName, user: c.model.userName, context: c.model.contextName, namespace: str(c.model.namespace) };
  const cl = c.model.cluster;
  const cluster: ClientGoCluster = defined({
    server: str(cl.server),
    'tls-server-name': str(cl['tls-server-name']),
    'certificate-authority-data': canonical(cl['certificate-authority-data']),
    'proxy-url': proxy,
    'disable-compression': cl['disable-compression'] === true ? true : undefined,
  });
  const user = isExec ? execUser(c.model.credentials) : sourceUser(c.model.user);
  const config: ClientGoConfig = {
    currentContext: names.context,
    clusters: { [names.cluster]: cluster },
    users: { [names.user]: user },
    contexts: { [names.context]: defined({ cluster: names.cluster, user: names.user, namespace: names.namespace }) },
  };
  return { config, rest: expectedRest(cluster, user) };
}

function execUser(cr: StaticCredentials): ClientGoUser {
  return defined({
    token: str(cr.token),
    'client-certificate-data': cr.clientCertificateData ? b64(cr.clientCertificateData) : undefined,
    'client-key-data': cr.clientKeyData ? b64(cr.clientKeyData) : undefined,
  });
}

function sourceUser(u: Record<string, unknown>): ClientGoUser {
  const groups = Array.isArray(u['as-groups']) && u['as-groups'].length ? (u['as-groups'] as string[]) : undefined;
  const extra = u['as-user-extra'] && Object.keys(u['as-user-extra']).length ? (u['as-user-extra'] as Record<string, string[]>) : undefined;
  return defined({
    token: str(u.token),
    username: str(u.username),
    password: str(u.password),
    'client-certificate-data': canonical(u['client-certificate-data']),
    'client-key-data': canonical(u['client-key-data']),
    as: str(u.as),
    'as-uid': str(u['as-uid']),
    'as-groups': groups,
    'as-user-extra': extra,
  });
}

/**
 * client-go's ClientConfig: Host is the server; TLS settings and credentials are only applied to an
 * https server (IsConfigTransportTLS); impersonation only when a user name is set.
 */
function expectedRest(cluster: ClientGoCluster, user: ClientGoUser): ClientGoRest {
  const tls = cluster.server?.startsWith('https://') ?? false;
  const rest: ClientGoRest = defined({
    host: cluster.server ?? '',
    proxy: cluster['proxy-url'],
    disableCompression: cluster['disable-compression'],
  });
  if (user.as) rest.impersonate = defined({ userName: user.as, uid: user['as-uid'], groups: user['as-groups'], extra: user['as-user-extra'] });
  if (!tls) return rest;
  return defined({
    ...rest,
    serverName: cluster['tls-server-name'],
    caData: cluster['certificate-authority-data'],
    certData: user['client-certificate-data'],
    keyData: user['client-key-data'],
    bearerToken: user.token,
    username: user.username,
    password: user.password,
  });
}

/**
 * A written proxy URL means the input's: same scheme and host (as the WHATWG parser reads both), and
 * nothing else (no user information, path, query or fragment).
 */
export function proxyMeansInput(input: unknown, written: string | undefined): boolean {
  if (typeof input !== 'string' || written === undefined) return false;
  const parse = (s: string) => {
    try {
      return new URL(s);
    } catch {
      return undefined;
    }
  };
  const a = parse(input);
  const b = parse(written);
  if (!a || !b) return false;
  const bare = (u: URL) => !u.username && !u.password && (u.pathname === '' || u.pathname === '/') && !u.search && !u.hash;
  return a.protocol === b.protocol && a.host === b.host && bare(a) && bare(b);
}

/** The cases' proxy-url input, whichever path. */
export function inputProxy(c: RenderCase): unknown {
  return c.model.cluster['proxy-url'];
}
