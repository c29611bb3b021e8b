// The controller's Kubernetes access without @kubernetes/client-node (activities/kube/kube-access.ts):
// each kind of static credential from a kubeconfig, a pod's ServiceAccount from a stand-in directory,
// token files re-read as they rotate, what hands the file to client-node instead, and errors that name
// the file and the field but never a credential. One TLS round trip checks CA, server name and client
// certificate on a real handshake.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, test } from 'node:test';
import { kubeHttp } from '../../activities/kube/http.js';
import { loadKubeAccess, type KubeAccess, type KubeAccessSources } from '../../activities/kube/kube-access.js';
import { FILE_MAX_AGE_MS } from '../../activities/kube/static-access.js';
import { selfSignedClientCertificate } from '../support/selfsigned.js';

const TOKEN = 'sekret-token-0123456789';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kube-access-'));
}

interface Kubeconfig {
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/** A kubeconfig file with one context "ctx" (cluster "c", user "u"), written as YAML by hand. */
function writeKubeconfig(dir: string, k: Kubeconfig): string {
  const block = (fields: Record<string, unknown>, indent: string): string =>
    Object.entries(fields)
      .map(([key, v]) => `${indent}${key}: ${JSON.stringify(v)}`)
      .join('\n');
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    block({ server: 'https://127.0.0.1:6443', ...k.cluster }, '    '),
    'users:',
    '- name: u',
    '  user:',
    block(k.user ?? {}, '    ') || '    {}',
    'contexts:',
    '- name: ctx',
    '  context:',
    block({ cluster: 'c', user: 'u', ...k.context }, '    '),
    'current-context: ctx',
    '',
  ].join('\n');
  const path = join(dir, 'config');
  writeFileSync(path, text);
  return path;
}

async function optionsOf(access: KubeAccess): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await access.applyToHTTPSOptions(opts);
  return opts;
}

/** A TLS option as text (the loader gives Buffers). */
const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v));

const authorization = (o: https.RequestOptions): unknown => (o.headers as Record<string, unknown> | undefined)?.Authorization;

/** Loads with nothing from this machine's environment: no KUBECONFIG, no home, no ServiceAccount. */
function load(src: KubeAccessSources): Promise<KubeAccess> {
  return loadKubeAccess({ env: {}, serviceAccountDir: join(tempDir(), 'none'), ...src });
}

describe('loadKubeAccess: a kubeconfig with static credentials', () => {
  test('a token: bearer header, the server, the context namespace', async () => {
    const dir = tempDir();
    const access = await load({ path: writeKubeconfig(dir, { user: { token: TOKEN }, context: { namespace: 'fleet' } }) });
    assert.equal(access.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
    assert.equal(access.getContextObject(access.getCurrentContext())?.namespace, 'fleet');
    const o = await optionsOf(access);
    assert.equal(authorization(o), `Bearer ${TOKEN}`);
    assert.equal(o.auth, undefined);
    assert.equal(o.rejectUnauthorized, undefined, 'TLS is verified unless the kubeconfig says otherwise');
  });

  test('a tokenFile, relative to the kubeconfig, re-read once older than a minute (rotation)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'first-token\n');
    let now = 0;
    const access = await load({ path: writeKubeconfig(dir, { user: { tokenFile: 'token' } }), now: () => now });
    assert.equal(authorization(await optionsOf(access)), 'Bearer first-token', 'read, final line break trimmed');
    writeFileSync(join(dir, 'token'), 'second-token');
    now = FILE_MAX_AGE_MS - 1;
    assert.equal(authorization(await optionsOf(access)), 'Bearer first-token', 'still fresh');
    now = FILE_MAX_AGE_MS + 1;
    assert.equal(authorization(await optionsOf(access)), 'Bearer second-token', 're-read');
  });

  test('a rotated token file that cannot be read keeps the last token until the next try', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'first-token');
    let now = 0;
    let fail = false;
    const access = await load({
      path: writeKubeconfig(dir, { user: { tokenFile: 'token' } }),
      now: () => now,
      readFile: async (p) => {
        if (fail && p.endsWith('token')) throw Object.assign(new Error('gone'), { code: 'ENOENT' });
        const { readFile } = await import('node:fs/promises');
        return readFile(p);
      },
    });
    fail = true;
    now = FILE_MAX_AGE_MS + 1;
    assert.equal(authorization(await optionsOf(access)), 'Bearer first-token');
  });

  test('client certificate and key as files and as data; CA as file and as data; tls-server-name', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    writeFileSync(join(dir, 'client.pem'), 'CERT PEM');
    writeFileSync(join(dir, 'client.key'), 'KEY PEM');
    const files = await optionsOf(
      await load({
        path: writeKubeconfig(dir, {
          cluster: { 'certificate-authority': 'ca.pem', 'tls-server-name': 'api.example' },
          user: { 'client-certificate': join(dir, 'client.pem'), 'client-key': 'client.key' },
        }),
      }),
    );
    const data = await optionsOf(
      await load({
        path: writeKubeconfig(tempDir(), {
          cluster: { 'certificate-authority-data': b64('CA PEM'), 'tls-server-name': 'api.example' },
          user: { 'client-certificate-data': b64('CERT PEM'), 'client-key-data': b64('KEY PEM') },
        }),
      }),
    );
    for (const o of [files, data]) {
      assert.equal(str(o.ca), 'CA PEM');
      assert.equal(str(o.cert), 'CERT PEM');
      assert.equal(str(o.key), 'KEY PEM');
      assert.equal(o.servername, 'api.example');
      assert.equal(authorization(o), undefined);
    }
  });

  test('basic auth, and insecure-skip-tls-verify', async () => {
    const o = await optionsOf(await load({ path: writeKubeconfig(tempDir(), { cluster: { 'insecure-skip-tls-verify': true }, user: { username: 'admin', password: 'pa ss' } }) }));
    assert.equal(o.auth, 'admin:pa ss');
    assert.equal(o.rejectUnauthorized, false);
  });

  test('a user without credentials, and no user at all: TLS settings only', async () => {
    for (const k of [{ user: {} }, { context: { user: '' } }]) {
      const o = await optionsOf(await load({ path: writeKubeconfig(tempDir(), { cluster: { 'certificate-authority-data': b64('CA') }, ...k }) }));
      assert.equal(str(o.ca), 'CA');
      assert.equal(authorization(o), undefined);
      assert.equal(o.auth, undefined);
    }
  });

  test('a JSON kubeconfig reads the same', async () => {
    const path = join(tempDir(), 'config.json');
    writeFileSync(
      path,
      JSON.stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://k.example:443/' } }],
        users: [{ name: 'u', user: { token: TOKEN } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const access = await load({ path });
    assert.equal(access.getCurrentCluster()?.server, 'https://k.example:443', 'trailing slash dropped');
    assert.equal(authorization(await optionsOf(access)), `Bearer ${TOKEN}`);
  });
});

describe('loadKubeAccess: where the configuration comes from', () => {
  test('KUBECONFIG with one file, then ~/.kube/config, then the ServiceAccount', async () => {
    const listed = writeKubeconfig(tempDir(), { user: { token: 'from-kubeconfig-env' } });
    const home = tempDir();
    mkdirSync(join(home, '.kube'));
    writeKubeconfig(join(home, '.kube'), { user: { token: 'from-home' } });
    const sa = fakeServiceAccount('from-service-account');
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const token = async (src: KubeAccessSources) => authorization(await optionsOf(await loadKubeAccess({ serviceAccountDir: sa, ...src })));
    assert.equal(await token({ env: { ...env, KUBECONFIG: `${listed}:`, HOME: home } }), 'Bearer from-kubeconfig-env');
    assert.equal(await token({ env: { ...env, HOME: home } }), 'Bearer from-home');
    assert.equal(await token({ env: { ...env, HOME: tempDir() } }), 'Bearer from-service-account');
    assert.equal(await token({ env: { ...env, KUBECONFIG: listed, HOME: home }, path: join(home, '.kube', 'config') }), 'Bearer from-home', 'an explicit path first');
  });

  test('nothing at all: an error naming every place looked at', async () => {
    const home = tempDir();
    await assert.rejects(
      loadKubeAccess({ env: { HOME: home }, serviceAccountDir: '/nonexistent/sa' }),
      (err: Error) => err.message.includes('KUBECONFIG is not set') && err.message.includes(join(home, '.kube', 'config')) && err.message.includes('/nonexistent/sa/token'),
    );
  });
});

function fakeServiceAccount(token: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), 'CLUSTER CA');
  writeFileSync(join(dir, 'namespace'), 'controller-ns\n');
  return dir;
}

describe('loadKubeAccess: in a pod (the ServiceAccount)', () => {
  test('server from the environment, CA and token from the mounted files, the namespace', async () => {
    const dir = fakeServiceAccount('sa-token');
    const access = await loadKubeAccess({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    assert.equal(access.getCurrentCluster()?.server, 'https://10.96.0.1:443');
    assert.equal(access.getContextObject(access.getCurrentContext())?.namespace, 'controller-ns');
    const o = await optionsOf(access);
    assert.equal(str(o.ca), 'CLUSTER CA');
    assert.equal(authorization(o), 'Bearer sa-token');
  });

  test('an IPv6 Service address is bracketed', async () => {
    const access = await loadKubeAccess({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: fakeServiceAccount('t') });
    assert.equal(access.getCurrentCluster()?.server, 'https://[fd00::1]:443');
  });

  test('the projected token rotates: re-read after a minute, not before', async () => {
    const dir = fakeServiceAccount('token-1');
    let now = 1_000;
    const access = await loadKubeAccess({ env: { KUBERNETES_SERVICE_HOST: 'k', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir, now: () => now });
    writeFileSync(join(dir, 'token'), 'token-2');
    now += FILE_MAX_AGE_MS / 2;
    assert.equal(authorization(await optionsOf(access)), 'Bearer token-1');
    now += FILE_MAX_AGE_MS / 2;
    assert.equal(authorization(await optionsOf(access)), 'Bearer token-2');
  });

  test('without KUBERNETES_SERVICE_HOST, or without a CA file: errors that say which', async () => {
    const dir = fakeServiceAccount('t');
    await assert.rejects(loadKubeAccess({ env: { KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir }), /KUBERNETES_SERVICE_HOST is not set/);
    const noCa = tempDir();
    writeFileSync(join(noCa, 'token'), 't');
    await assert.rejects(loadKubeAccess({ env: { KUBERNETES_SERVICE_HOST: 'k', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: noCa }), (err: Error) => {
      assert.match(err.message, /in-cluster config .*: ca\.crt: cannot read .*ca\.crt \(ENOENT\)/);
      return true;
    });
  });
});

describe('loadKubeAccess: what is left to @kubernetes/client-node', () => {
  const cases: Array<[string, Kubeconfig, RegExp]> = [
    ['an exec plugin', { user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } } }, /users\[0\]\.user\.exec is an exec credential plugin/],
    ['an auth provider', { user: { 'auth-provider': { name: 'oidc', config: {} } } }, /users\[0\]\.user\.auth-provider is an auth provider/],
    ['impersonation', { user: { token: TOKEN, as: 'someone' } }, /users\[0\]\.user\.as is impersonation/],
    ['a proxy', { cluster: { 'proxy-url': 'http://proxy:3128' }, user: { token: TOKEN } }, /clusters\[0\]\.cluster\.proxy-url is a proxy/],
    ['an unknown user field', { user: { token: TOKEN, 'token-file': '/x' } }, /users\[0\]\.user\.token-file is not a field this reader knows/],
    ['an unknown cluster field', { cluster: { 'certificate-authority-dat': 'x' } }, /clusters\[0\]\.cluster\.certificate-authority-dat is not a field/],
    ['an unknown context field', { context: { namesapce: 'x' } }, /contexts\[0\]\.context\.namesapce is not a field/],
    ['both token and tokenFile', { user: { token: TOKEN, tokenFile: '/x' } }, /both token and tokenFile/],
  ];
  for (const [what, k, reason] of cases) {
    test(`${what}: client-node's KubeConfig, and the reason`, async () => {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const path = writeKubeconfig(tempDir(), k);
      const reasons: string[] = [];
      const access = await load({ path, onClientNode: (r) => reasons.push(r) });
      assert.ok(access instanceof KubeConfig);
      assert.equal(reasons.length, 1);
      assert.match(reasons[0]!, reason);
      assert.ok(reasons[0]!.includes(path), reasons[0]);
      assert.ok(!reasons[0]!.includes(TOKEN));
    });
  }

  test('KUBECONFIG with several files: merged by client-node, the first one\'s context current', async () => {
    const first = writeKubeconfig(tempDir(), { user: { token: 'first' } });
    const second = join(tempDir(), 'other');
    writeFileSync(second, 'clusters: [{name: c2, cluster: {server: "https://two:6443"}}]\nusers: [{name: u2, user: {token: second}}]\ncontexts: [{name: ctx2, context: {cluster: c2, user: u2}}]\n');
    const reasons: string[] = [];
    const access = await load({ env: { KUBECONFIG: `${first}:${second}` }, onClientNode: (r) => reasons.push(r) });
    assert.match(reasons[0] ?? '', /KUBECONFIG names 2 files/);
    assert.equal(access.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
    assert.equal(authorization(await optionsOf(access)), 'Bearer first');
  });
});

describe('loadKubeAccess: what the built-in reader refuses is left to client-node, the reason naming the file and the field, never a credential', () => {
  const cases: Array<[string, (dir: string) => Kubeconfig | string, RegExp]> = [
    ['no current-context', () => 'clusters: []\nusers: []\ncontexts: []\n', /: current-context: is not set/],
    ['a current-context without an entry', () => 'current-context: nowhere\ncontexts: []\n', /: contexts: has no entry named "nowhere" \(current-context\)/],
    ['a context naming a missing cluster', () => ({ context: { cluster: 'elsewhere' } }), /: clusters: has no entry named "elsewhere"/],
    ['a certificate without its key', () => ({ user: { 'client-certificate-data': b64('C') } }), /: users\[0\]\.user\.client-key: is not set, but client-certificate is/],
    ['a key file that is not there', (dir) => ({ user: { 'client-certificate-data': b64('C'), 'client-key': join(dir, 'missing.key') } }), /: users\[0\]\.user\.client-key: cannot read .*missing\.key \(ENOENT\)/],
    ['certificate data that is not base64', () => ({ user: { 'client-certificate-data': '%%%', 'client-key-data': b64('K') } }), /: users\[0\]\.user\.client-certificate-data: is not base64/],
    ['a CA both as file and as data', () => ({ cluster: { 'certificate-authority': '/ca', 'certificate-authority-data': b64('CA') } }), /: clusters\[0\]\.cluster\.certificate-authority: and certificate-authority-data are both set/],
    ['a CA with insecure-skip-tls-verify', () => ({ cluster: { 'certificate-authority-data': b64('CA'), 'insecure-skip-tls-verify': true } }), /: clusters\[0\]\.cluster\.insecure-skip-tls-verify: is true while certificate-authority-data is set/],
    ['plain http without insecure-skip-tls-verify', () => ({ cluster: { server: 'http://127.0.0.1:8080' } }), /: clusters\[0\]\.cluster\.server: is http:\/\//],
    ['insecure-skip-tls-verify that is not a boolean', () => ({ cluster: { 'insecure-skip-tls-verify': 'sure' } }), /: clusters\[0\]\.cluster\.insecure-skip-tls-verify: must be true or false/],
    ['a token with a line break', () => ({ user: { token: `${TOKEN}\nX-Injected: 1` } }), /: users\[0\]\.user\.token: must be visible ASCII/],
    ['a token file with a space', (dir) => (writeFileSync(join(dir, 'tok'), `${TOKEN} ${TOKEN}`), { user: { tokenFile: 'tok' } }), /: users\[0\]\.user\.tokenFile: .*tok holds a token that must be visible ASCII/],
    ['a password without a user name', () => ({ user: { password: TOKEN } }), /: users\[0\]\.user\.username: is not set, but password is/],
    ['two users of the same name', () => `current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://a"}}]\nusers: [{name: u, user: {token: ${TOKEN}}}, {name: u, user: {token: ${TOKEN}}}]\n`, /: users: has 2 entries named "u"/],
  ];
  const READ_AT_START = new Set(['a key file that is not there', 'a token file with a space']);
  for (const [what, make, expected] of cases) {
    test(what, async () => {
      const dir = tempDir();
      const k = make(dir);
      const path = typeof k === 'string' ? join(dir, 'config') : writeKubeconfig(dir, k);
      if (typeof k === 'string') writeFileSync(path, k);
      const reasons: string[] = [];
      const outcome = await load({ path, onClientNode: (r) => reasons.push(r) }).then(
        () => reasons.join('\n'),
        (err: Error) => err.message,
      );
      // A file the kubeconfig names is read at the start: one that is missing or holds a bad token stops it.
      assert.equal(reasons.length, READ_AT_START.has(what) ? 0 : 1, outcome);
      assert.ok(outcome.startsWith(`kubeconfig ${path}: `), outcome);
      assert.match(outcome, expected);
      assert.ok(!outcome.includes(TOKEN), `no credential in: ${outcome}`);
    });
  }

  test('YAML that does not parse stops the start, naming the line, never quoting it (client-node would quote the token)', async () => {
    const dir = tempDir();
    const path = join(dir, 'config');
    writeFileSync(path, `users:\n  - name: u\n   user: {token: ${TOKEN}}\n`);
    await assert.rejects(load({ path }), (err: Error) => {
      assert.ok(err.message.startsWith(`kubeconfig ${path}: `), err.message);
      assert.match(err.message, /: content: is not valid YAML \(\w+ at line \d+\)/);
      assert.ok(!err.message.includes(TOKEN), `no credential in: ${err.message}`);
      return true;
    });
  });

  test('a kubeconfig that cannot be read', async () => {
    await assert.rejects(load({ path: '/nonexistent/kubeconfig' }), /^Error: kubeconfig \/nonexistent\/kubeconfig: cannot read \(ENOENT\)$/);
  });
});

describe('a static kubeconfig on a real TLS handshake', () => {
  test('CA, tls-server-name and client certificate reach the server; the bearer token too', async () => {
    const serverCert = selfSignedClientCertificate('localhost');
    const client = selfSignedClientCertificate('controller');
    const seen: Array<{ cn: unknown; authorization: string | undefined }> = [];
    const server = createServer({ key: serverCert.keyPem, cert: serverCert.certPem, ca: client.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seen.push({ cn: (req.socket as TLSSocket).getPeerCertificate().subject?.CN, authorization: req.headers.authorization });
      res.end(JSON.stringify({ gitVersion: 'v1.0.0' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const dir = tempDir();
      writeFileSync(join(dir, 'client.key'), client.keyPem);
      const access = await load({
        path: writeKubeconfig(dir, {
          // The certificate names "localhost", the URL an address: tls-server-name makes them agree.
          cluster: { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, 'certificate-authority-data': b64(serverCert.certPem), 'tls-server-name': 'localhost' },
          user: { 'client-certificate-data': b64(client.certPem), 'client-key': 'client.key', token: TOKEN },
        }),
      });
      const send = kubeHttp(access);
      assert.deepEqual(await send({ method: 'GET', path: '/version', timeoutMs: 5_000 }), { gitVersion: 'v1.0.0' });
      assert.deepEqual(seen, [{ cn: 'controller', authorization: `Bearer ${TOKEN}` }]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
