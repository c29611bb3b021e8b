import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { readSecretReaderKubeconfig, type SecretGetter } from '../../../activities/credentials/secret-reader.js';
import { SECRET_READER_NAMESPACES_FLAG } from '../../../activities/profile/model.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { EXEC_EXTENSION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type KubeconfigCluster, type V1Secret } from '../../../activities/kube/types.js';
import { CA_DATA, CLIENT_CERT, CLIENT_KEY, JWT_TOKEN, OPAQUE_TOKEN, assertNoSecret, rejection } from './fixtures.js';
import { SMUGGLING_PROBES } from './kubeconfig-probes.js';

const OBJ = 'ClusterProfile fleet/spoke-1';
const FIELD = 'status.accessProviders[0]';
const EXT_FIELD = `${FIELD}.cluster.extensions[${EXEC_EXTENSION}]`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Kubeconfig {
  apiVersion?: string;
  kind?: string;
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: Record<string, unknown> }[];
  'current-context'?: string;
  [k: string]: unknown;
}

function sourceKubeconfig(): Kubeconfig {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'spoke', cluster: { server: 'https://spoke.example:6443', 'certificate-authority-data': CA_DATA } },
      { name: 'other', cluster: { server: 'https://other.example:6443' } },
    ],
    users: [
      { name: 'admin', user: { token: JWT_TOKEN } },
      { name: 'viewer', user: { token: OPAQUE_TOKEN } },
    ],
    contexts: [
      { name: 'admin@spoke', context: { cluster: 'spoke', user: 'admin', namespace: 'default' } },
      { name: 'viewer@other', context: { cluster: 'other', user: 'viewer' } },
    ],
    'current-context': 'admin@spoke',
    preferences: {},
    extensions: [{ name: 'x', extension: {} }],
  };
}

function secret(data: Record<string, string>): V1Secret {
  return { metadata: { name: 's' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

function getter(secrets: Record<string, V1Secret>): SecretGetter & { calls: string[] } {
  const calls: string[] = [];
  const get = (namespace: string, name: string) => {
    calls.push(`${namespace}/${name}`);
    return Promise.resolve(secrets[`${namespace}/${name}`]);
  };
  return Object.assign(get, { calls });
}

function clusterWith(extension: unknown): KubeconfigCluster {
  return { server: 'https://ignored.example:6443', extensions: [{ name: EXEC_EXTENSION, extension }] };
}

function read(extension: unknown, getSecret: SecretGetter, allowedNamespaces: string[] = [], cluster?: KubeconfigCluster) {
  return readSecretReaderKubeconfig({
    profileNamespace: 'fleet',
    cluster: cluster ?? clusterWith(extension),
    object: OBJ,
    providerField: FIELD,
    allowedNamespaces,
    getSecret,
  });
}

async function invalid(promise: Promise<unknown>): Promise<InvalidInputError> {
  const err = await rejection(promise);
  assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${err.name}: ${err.message}`);
  assertNoSecret(err.message);
  return err;
}

void describe('kubeconfig-secretreader: happy path', () => {
  void test('renders the current context, its cluster and its user from the validated source, never the source bytes', async () => {
    const text = stringify(sourceKubeconfig());
    const get = getter({ 'fleet/src': secret({ value: text }) });
    const result = await read({ name: 'src', key: 'value' }, get);
    assert.deepEqual(get.calls, ['fleet/src']);
    assert.deepEqual(result.source, { namespace: 'fleet', name: 'src', key: 'value' });
    assert.equal(result.server, 'https://spoke.example:6443', 'server of the current context');
    assert.notEqual(result.kubeconfig, text);
    assert.deepEqual(parse(result.kubeconfig), {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'spoke', cluster: { server: 'https://spoke.example:6443', 'certificate-authority-data': CA_DATA } }],
      users: [{ name: 'admin', user: { token: JWT_TOKEN } }],
      contexts: [{ name: 'admin@spoke', context: { cluster: 'spoke', user: 'admin', namespace: 'default' } }],
      'current-context': 'admin@spoke',
    });
    assert.ok(!result.kubeconfig.includes(OPAQUE_TOKEN), 'other users are not carried over');
  });

  void test('comments, unknown fields and extensions of the source are not carried over', async () => {
    const k = sourceKubeconfig();
    const admin = k.users?.[0];
    if (admin) admin.user = { token: JWT_TOKEN, 'unknown-field': 'x', extensions: [{ name: 'e', extension: { a: 1 } }] };
    const text = `# a comment that must not travel\n${stringify(k)}`;
    const result = await read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: text }) }));
    assert.ok(!result.kubeconfig.includes('comment'));
    assert.ok(!result.kubeconfig.includes('unknown-field'));
    assert.ok(!result.kubeconfig.includes('extensions'));
    assert.ok(!result.kubeconfig.includes('preferences'));
  });

  void test('the optional context overrides current-context', async () => {
    const get = getter({ 'fleet/src': secret({ value: stringify(sourceKubeconfig()) }) });
    const result = await read({ name: 'src', key: 'value', context: 'viewer@other' }, get);
    assert.equal(result.server, 'https://other.example:6443');
    assert.ok(result.kubeconfig.includes(OPAQUE_TOKEN));
    assert.ok(!result.kubeconfig.includes(JWT_TOKEN));
  });

  void test('client certificate data is kept, and a JSON kubeconfig is read too', async () => {
    const k = sourceKubeconfig();
    k.users = [{ name: 'admin', user: { 'client-certificate-data': b64(CLIENT_CERT), 'client-key-data': b64(CLIENT_KEY) } }];
    const get = getter({ 'fleet/src': secret({ kubeconfig: JSON.stringify(k) }) });
    const result = await read({ name: 'src', key: 'kubeconfig' }, get);
    const user = (parse(result.kubeconfig) as Kubeconfig).users?.[0]?.user;
    assert.equal(user?.['client-key-data'], b64(CLIENT_KEY));
  });
});

void describe('kubeconfig-secretreader: namespace confinement', () => {
  const get = () => getter({ 'kube-system/src': secret({ value: stringify(sourceKubeconfig()) }) });

  void test('another namespace is refused by default, naming the flag', async () => {
    const g = get();
    const err = await invalid(read({ name: 'src', key: 'value', namespace: 'kube-system' }, g));
    assert.equal(err.field, `${EXT_FIELD}.namespace`);
    assert.ok(err.message.includes(SECRET_READER_NAMESPACES_FLAG));
    assert.ok(err.message.includes('kube-system'));
    assert.match(err.message, /refused/);
    assert.deepEqual(g.calls, [], 'the Secret is not even read');
  });

  void test('a namespace not in the configured list is refused', async () => {
    const err = await invalid(read({ name: 'src', key: 'value', namespace: 'kube-system' }, get(), ['team-a']));
    assert.match(err.message, /currently team-a/);
  });

  void test('allowed by configuration', async () => {
    const result = await read({ name: 'src', key: 'value', namespace: 'kube-system' }, get(), ['team-a', 'kube-system']);
    assert.deepEqual(result.source, { namespace: 'kube-system', name: 'src', key: 'value' });
  });

  void test('allowed by *', async () => {
    const result = await read({ name: 'src', key: 'value', namespace: 'kube-system' }, get(), ['*']);
    assert.equal(result.server, 'https://spoke.example:6443');
  });

  void test('the own namespace, stated explicitly, is always allowed', async () => {
    const g = getter({ 'fleet/src': secret({ value: stringify(sourceKubeconfig()) }) });
    await read({ name: 'src', key: 'value', namespace: 'fleet' }, g);
    assert.deepEqual(g.calls, ['fleet/src']);
  });
});

void describe('kubeconfig-secretreader: the extension', () => {
  const get = getter({});
  void test('missing extension', async () => {
    const err = await invalid(read(undefined, get, [], { server: 'https://x:1' }));
    assert.equal(err.field, EXT_FIELD);
    assert.ok(err.message.includes(EXEC_EXTENSION));
  });
  void test('not an object', async () => {
    assert.equal((await invalid(read(['src'], get))).field, EXT_FIELD);
  });
  void test('missing name', async () => {
    assert.equal((await invalid(read({ key: 'value' }, get))).field, `${EXT_FIELD}.name`);
  });
  void test('missing key', async () => {
    assert.equal((await invalid(read({ name: 'src' }, get))).field, `${EXT_FIELD}.key`);
  });
  void test('invalid names', async () => {
    assert.equal((await invalid(read({ name: '../etc', key: 'v' }, get))).field, `${EXT_FIELD}.name`);
    assert.equal((await invalid(read({ name: 's', key: 'a/b' }, get))).field, `${EXT_FIELD}.key`);
    assert.equal((await invalid(read({ name: 's', key: 'v', namespace: 'Bad_NS' }, get, ['*']))).field, `${EXT_FIELD}.namespace`);
  });
});

void describe('kubeconfig-secretreader: the Secret', () => {
  void test('missing Secret: non-retryable, naming the Secret', async () => {
    const err = await invalid(read({ name: 'nonexistent', key: 'value' }, getter({})));
    assert.ok(err.message.includes('Secret fleet/nonexistent'));
    assert.match(err.message, /not found/);
  });

  void test('other read errors propagate unchanged (retryable)', async () => {
    const boom = new Error('503 Service Unavailable');
    const err = await rejection(read({ name: 'src', key: 'value' }, () => Promise.reject(boom)));
    assert.equal(err, boom);
  });

  void test('missing key: error naming the Secret and key', async () => {
    const err = await invalid(read({ name: 'src', key: 'kubeconfig' }, getter({ 'fleet/src': secret({ other: 'x' }) })));
    assert.ok(err.message.includes('Secret fleet/src'));
    assert.ok(err.message.includes('data[kubeconfig]'));
    assert.match(err.message, /missing or empty/);
  });

  void test('empty key and Secret without data', async () => {
    await invalid(read({ name: 'src', key: 'kubeconfig' }, getter({ 'fleet/src': secret({ kubeconfig: '' }) })));
    await invalid(read({ name: 'src', key: 'kubeconfig' }, getter({ 'fleet/src': { metadata: { name: 'src' } } })));
  });
});

void describe('kubeconfig-secretreader: a managed Secret is never a source', () => {
  const managed = (labelValue: string): V1Secret => ({
    ...secret({ value: stringify(sourceKubeconfig()) }),
    metadata: { name: 'victim-sveltos-kubeconfig', namespace: 'team-b', labels: { [MANAGED_BY_LABEL]: labelValue } },
  });

  void test("another profile's managed Secret (allowed namespace) is refused, naming the Secret and the label", async () => {
    const g = getter({ 'team-b/victim-sveltos-kubeconfig': managed(MANAGED_BY_VALUE) });
    const err = await invalid(read({ name: 'victim-sveltos-kubeconfig', key: 'value', namespace: 'team-b' }, g, ['team-b']));
    assert.equal(err.field, `${EXT_FIELD}.name`);
    assert.ok(err.message.includes('Secret team-b/victim-sveltos-kubeconfig'), err.message);
    assert.ok(err.message.includes(MANAGED_BY_LABEL), err.message);
    assert.ok(err.message.startsWith(OBJ), err.message);
    assert.ok(!err.message.includes(JWT_TOKEN));
  });

  void test('the label counts whatever its value, in the own namespace too', async () => {
    const own = { ...managed(''), metadata: { name: 'src', namespace: 'fleet', labels: { [MANAGED_BY_LABEL]: '' } } };
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': own })));
    assert.ok(err.message.includes(MANAGED_BY_LABEL), err.message);
  });

  void test('other labels are fine', async () => {
    const labelled = { ...managed('x'), metadata: { name: 'src', labels: { 'app.kubernetes.io/managed-by': 'helm' } } };
    const result = await read({ name: 'src', key: 'value' }, getter({ 'fleet/src': labelled }));
    assert.equal(result.server, 'https://spoke.example:6443');
  });
});

void describe('kubeconfig-secretreader: refused kubeconfigs', () => {
  async function refused(mutate: (k: Kubeconfig) => void): Promise<InvalidInputError> {
    const k = sourceKubeconfig();
    mutate(k);
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: stringify(k) }) })));
    assert.ok(err.message.includes('Secret fleet/src'), 'names the Secret');
    assert.ok(err.message.includes('data[value]'), 'names the key');
    return err;
  }
  const setUser = (k: Kubeconfig, user: Record<string, unknown>, name = 'admin') => {
    const entry = k.users?.find((u) => u.name === name);
    if (entry) entry.user = user;
  };

  const userCases: [string, Record<string, unknown>][] = [
    ['exec', { exec: { command: '/bin/sh', args: ['-c', 'curl evil'], apiVersion: 'client.authentication.k8s.io/v1' } }],
    ['auth-provider', { 'auth-provider': { name: 'gcp', config: {} } }],
    ['tokenFile', { tokenFile: '/var/run/secrets/token' }],
    ['client-certificate', { 'client-certificate': '/etc/cert.pem', 'client-key-data': b64(CLIENT_KEY) }],
    ['client-key', { 'client-certificate-data': b64(CLIENT_CERT), 'client-key': '/etc/key.pem' }],
  ];
  for (const [field, user] of userCases) {
    void test(`a user with ${field} is refused`, async () => {
      const err = await refused((k) => setUser(k, { token: JWT_TOKEN, ...user }));
      assert.equal(err.field, `data[value].users[admin].user.${field}`);
    });
    void test(`a user with ${field} is refused even when it is not the current one`, async () => {
      const err = await refused((k) => setUser(k, user, 'viewer'));
      assert.equal(err.field, `data[value].users[viewer].user.${field}`);
    });
  }

  void test('a cluster with a certificate-authority path is refused', async () => {
    const err = await refused((k) => {
      const c = k.clusters?.[0];
      if (c) c.cluster['certificate-authority'] = '/etc/ca.pem';
    });
    assert.equal(err.field, 'data[value].clusters[spoke].cluster.certificate-authority');
  });

  void test('no current-context', async () => {
    const err = await refused((k) => delete k['current-context']);
    assert.equal(err.field, 'data[value].current-context');
  });

  void test('current-context that does not exist', async () => {
    const err = await refused((k) => (k['current-context'] = 'gone'));
    assert.equal(err.field, 'data[value].contexts[gone]');
  });

  void test('context pointing at a missing cluster or user', async () => {
    const c = await refused((k) => {
      const ctx = k.contexts?.[0];
      if (ctx) ctx.context.cluster = 'nowhere';
    });
    assert.equal(c.field, 'data[value].clusters[nowhere]');
    const u = await refused((k) => {
      const ctx = k.contexts?.[0];
      if (ctx) ctx.context.user = 'nobody';
    });
    assert.equal(u.field, 'data[value].users[nobody]');
  });

  void test('empty server', async () => {
    const err = await refused((k) => {
      const c = k.clusters?.[0];
      if (c) c.cluster.server = '';
    });
    assert.equal(err.field, 'data[value].clusters[spoke].cluster.server');
  });

  void test('half a client key pair', async () => {
    const err = await refused((k) => setUser(k, { 'client-certificate-data': b64(CLIENT_CERT) }));
    assert.equal(err.field, 'data[value].users[admin].user.client-key-data');
  });

  void test('a user without credentials', async () => {
    const err = await refused((k) => setUser(k, {}));
    assert.match(err.message, /no usable credentials/);
  });

  void test('invalid YAML is reported without quoting the content', async () => {
    const text = `users:\n- name: admin\n  user:\n    token: "${JWT_TOKEN}\n    other: [${OPAQUE_TOKEN}\n`;
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: text }) })));
    assert.match(err.message, /not valid YAML/);
  });

  void test('YAML aliases are refused', async () => {
    const text = `a: &x [1]\nb: *x\n`;
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: text }) })));
    assert.match(err.message, /anchors/);
  });

  void test('not a kubeconfig at all', async () => {
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: 'fake-kubeconfig-data' }) })));
    assert.ok(err.message.includes('data[value]'));
  });
});

void describe('kubeconfig-secretreader: what client-go would read differently is refused', () => {
  const readText = (text: string) => invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: text }) })));

  for (const probe of SMUGGLING_PROBES) {
    void test(`${probe.name}: refused, naming the Secret and key`, async () => {
      const err = await readText(probe.text);
      assert.match(err.message, probe.refused);
      assert.ok(err.message.startsWith('Secret fleet/src (source of ClusterProfile fleet/spoke-1): data[value]: '), err.message);
    });
  }

  const valid = stringify(sourceKubeconfig());
  const cases: [string, string, RegExp][] = [
    ['a !!binary tag', valid.replace(`token: ${JWT_TOKEN}`, `token: !!binary ${b64(JWT_TOKEN)}`), /tag "tag:yaml.org,2002:binary" is not allowed/],
    ['a custom tag', valid.replace(`token: ${JWT_TOKEN}`, `token: !vault ${JWT_TOKEN}`), /tag "!vault" is not allowed/],
    ['a !!timestamp tag', valid.replace('kind: Config', 'kind: !!timestamp 2001-12-14'), /tag .* is not allowed/],
    ['a %YAML directive', `%YAML 1.1\n---\n${valid}`, /directives/],
    ['a %TAG directive', `%TAG !k! tag:example.com,2000:\n---\n${valid}`, /directives/],
    ['a second document', `${valid}---\n${valid}`, /not valid YAML \(MULTIPLE_DOCS/],
    ['a complex mapping key', `? [a, b]\n: 1\n${valid}`, /mapping key is not a plain value/],
  ];
  for (const [what, text, reason] of cases) {
    void test(`${what} is refused`, async () => {
      const err = await readText(text);
      assert.match(err.message, reason);
      assert.match(err.message, /\(line \d+\)|line \d+/, 'says where');
    });
  }

  void test('core-schema tags that only restate the value are accepted', async () => {
    const text = valid.replace(`token: ${JWT_TOKEN}`, `token: !!str ${JWT_TOKEN}`);
    const result = await read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: text }) }));
    assert.ok(result.kubeconfig.includes(JWT_TOKEN));
  });

  void test('a source over 256 KiB is refused before parsing, also at 800 KB', async () => {
    for (const size of [256 * 1024 + 1, 800_000]) {
      const text = `${valid}# ${'x'.repeat(size - valid.length - 3)}\n`;
      assert.equal(Buffer.byteLength(text), size);
      const err = await readText(text);
      assert.match(err.message, /262144 bytes/);
    }
  });

  void test('invalid UTF-8 is refused', async () => {
    const bytes = Buffer.concat([Buffer.from(valid), Buffer.from([0xff, 0xfe, 0x0a])]);
    const s: V1Secret = { metadata: { name: 's' }, data: { value: bytes.toString('base64') } };
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': s })));
    assert.match(err.message, /not valid UTF-8/);
  });
});

void describe('kubeconfig-secretreader: server URLs and profile strings in messages', () => {
  const withServer = (server: string) => {
    const k = sourceKubeconfig();
    const c = k.clusters?.[0];
    if (c) c.cluster.server = server;
    return stringify(k);
  };
  for (const [what, server, reason] of [
    ['a query with a token', 'https://spoke.example:6443/?access_token=s3cr3t-in-query', /query/],
    ['user information', 'https://admin:s3cr3t-in-query@spoke.example:6443', /user information/],
    ['user information without a password', 'https://s3cr3t-in-query@spoke.example:6443', /user information/],
    ['a fragment', 'https://spoke.example:6443/#s3cr3t-in-query', /fragment/],
    ['a tab, which the WHATWG parser would drop', 'https://spoke.example:6443/\ts3cr3t-in-query', /whitespace/],
    ['a backslash', 'https://spoke.example:6443\\@s3cr3t-in-query', /backslash/],
  ] as const) {
    void test(`a server with ${what} is refused without echoing it`, async () => {
      const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: withServer(server) }) })));
      assert.equal(err.field, 'data[value].clusters[spoke].cluster.server');
      assert.match(err.message, reason);
      assert.ok(!err.message.includes('s3cr3t-in-query'), err.message);
    });
  }

  void test('a context longer than 256 characters is refused, and the message stays short', async () => {
    const err = await invalid(read({ name: 'src', key: 'value', context: 'c'.repeat(1024 * 1024) }, getter({})));
    assert.equal(err.field, `${EXT_FIELD}.context`);
    assert.ok(err.message.length < 500, `message is ${err.message.length} characters`);
  });

  void test('control characters in a source context name are escaped in the error', async () => {
    const k = sourceKubeconfig();
    k['current-context'] = 'evil\u001b]0;pwned\u0007\u202e';
    const err = await invalid(read({ name: 'src', key: 'value' }, getter({ 'fleet/src': secret({ value: stringify(k) }) })));
    assert.ok(!/[\p{Cc}\u202e]/u.test(err.message), err.message);
    assert.ok(err.message.includes('evil\\x1b]0;pwned\\x07\\u202e'), err.message);
  });
});
