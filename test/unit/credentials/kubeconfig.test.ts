import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { parse } from 'yaml';
import {
  FINGERPRINT_KEY_ENV,
  buildKubeconfig,
  fingerprint,
  fingerprintKeyFrom,
  loadFingerprintKey,
  renderKubeconfig,
} from '../../../activities/credentials/kubeconfig.js';
import { InvalidInputError } from '../../../activities/errors.js';
import type { KubeconfigCluster } from '../../../activities/kube/types.js';
import { CA_DATA, CLIENT_CERT, CLIENT_KEY, JWT_TOKEN, assertNoSecret, thrown } from './fixtures.js';

interface Parsed {
  apiVersion: string;
  kind: string;
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
  'current-context': string;
}

const OBJ = 'ClusterProfile fleet/spoke-1';
const cluster: KubeconfigCluster = { server: 'https://10.0.0.10:6443', 'certificate-authority-data': CA_DATA };

function build(credentials: Parameters<typeof buildKubeconfig>[0]['credentials'], c: KubeconfigCluster | undefined = cluster, field = 'status.accessProviders[0]') {
  return buildKubeconfig({ name: 'spoke-1', cluster: c, credentials, object: OBJ, providerField: field });
}

void describe('buildKubeconfig', () => {
  void test('token only', () => {
    const k = parse(build({ token: JWT_TOKEN })) as Parsed;
    assert.equal(k.apiVersion, 'v1');
    assert.equal(k.kind, 'Config');
    assert.equal(k.clusters.length, 1);
    assert.equal(k.users.length, 1);
    assert.equal(k.contexts.length, 1);
    assert.deepEqual(k.clusters[0]?.cluster, { server: 'https://10.0.0.10:6443', 'certificate-authority-data': CA_DATA });
    assert.deepEqual(k.users[0]?.user, { token: JWT_TOKEN });
    assert.deepEqual(k.contexts[0]?.context, { cluster: k.clusters[0]?.name, user: k.users[0]?.name });
    assert.equal(k['current-context'], k.contexts[0]?.name);
  });

  void test('client certificate and key only: PEM becomes base64 *-data', () => {
    const k = parse(build({ clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY })) as Parsed;
    const user = k.users[0]?.user ?? {};
    assert.equal(user.token, undefined);
    assert.equal(Buffer.from(String(user['client-certificate-data']), 'base64').toString(), CLIENT_CERT);
    assert.equal(Buffer.from(String(user['client-key-data']), 'base64').toString(), CLIENT_KEY);
  });

  void test('token and certificate together', () => {
    const k = parse(build({ token: JWT_TOKEN, clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY })) as Parsed;
    assert.deepEqual(Object.keys(k.users[0]?.user ?? {}).sort(), ['client-certificate-data', 'client-key-data', 'token']);
  });

  void test('half a key pair or no credential is an error that does not quote it', () => {
    for (const creds of [{ clientCertificateData: CLIENT_CERT }, { clientKeyData: CLIENT_KEY }, {}]) {
      const err = thrown(() => build(creds));
      assert.ok(err instanceof InvalidInputError);
      assertNoSecret(err.message);
    }
  });

  void test('all static cluster keys are carried as given; file paths and extensions are not', () => {
    const k = parse(
      build(
        { token: JWT_TOKEN },
        {
          server: 'https://api.spoke:443',
          'tls-server-name': 'kubernetes.default',
          'proxy-url': 'socks5://proxy:1080',
          'disable-compression': true,
          'certificate-authority': '/etc/ca.pem',
          extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { a: 1 } }],
        },
      ),
    ) as Parsed;
    assert.deepEqual(k.clusters[0]?.cluster, {
      server: 'https://api.spoke:443',
      'tls-server-name': 'kubernetes.default',
      'proxy-url': 'socks5://proxy:1080',
      'disable-compression': true,
    });
    const insecure = parse(build({ token: JWT_TOKEN }, { server: 'https://x:1', 'insecure-skip-tls-verify': true })) as Parsed;
    assert.equal(insecure.clusters[0]?.cluster['insecure-skip-tls-verify'], true);
  });

  void test('an empty server is an error naming status.accessProviders[i].cluster.server', () => {
    for (const server of ['', '   ']) {
      const err = thrown(() => build({ token: JWT_TOKEN }, { server }, 'status.accessProviders[2]'));
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.field, 'status.accessProviders[2].cluster.server');
      assert.ok(err.message.includes(OBJ));
    }
    const missing = thrown(() =>
      buildKubeconfig({ name: 'spoke-1', cluster: undefined, credentials: { token: JWT_TOKEN }, object: OBJ, providerField: 'status.credentialProviders[0]' }),
    );
    assert.ok(missing instanceof InvalidInputError);
    assert.equal(missing.field, 'status.credentialProviders[0].cluster');
  });

  void test('bad cluster values are errors naming the field', () => {
    const cases: [KubeconfigCluster, string][] = [
      [{ server: 'not a url' }, 'server'],
      [{ server: 'ftp://x' }, 'server'],
      [{ server: 'https://user:pw@x:1' }, 'server'],
      [{ server: 'https://pw@x:1' }, 'server'],
      [{ server: 'https://x:1/?access_token=pw@' }, 'server'],
      [{ server: 'https://x:1/?' }, 'server'],
      [{ server: 'https://x:1/#pw@' }, 'server'],
      [{ server: 'https://x:1/ pw@' }, 'server'],
      [{ server: 'https://x:1\\pw@' }, 'server'],
      [{ server: `https://x:1/${'a'.repeat(2048)}` }, 'server'],
      [{ server: 'https://x:1', 'certificate-authority-data': 'not base64!' }, 'certificate-authority-data'],
      [{ server: 'https://x:1', 'certificate-authority-data': CA_DATA, 'insecure-skip-tls-verify': true }, 'insecure-skip-tls-verify'],
      [{ server: 'https://x:1', 'proxy-url': 'ftp://proxy' }, 'proxy-url'],
      [{ server: 'https://x:1', 'disable-compression': 'yes' as unknown as boolean }, 'disable-compression'],
    ];
    for (const [c, key] of cases) {
      const err = thrown(() => build({ token: JWT_TOKEN }, c));
      assert.ok(err instanceof InvalidInputError, key);
      assert.equal(err.field, `status.accessProviders[0].cluster.${key}`);
      assert.ok(!err.message.includes('pw@'), 'server credentials are not echoed');
    }
  });

  void test('rendering is deterministic', () => {
    const a = build({ token: JWT_TOKEN, clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY });
    const b = build({ clientKeyData: CLIENT_KEY, clientCertificateData: CLIENT_CERT, token: JWT_TOKEN });
    assert.equal(a, b);
    assert.equal(fingerprint(a), fingerprint(b));
    assert.notEqual(fingerprint(a), fingerprint(build({ token: JWT_TOKEN })));
  });

  void test('long values are not folded across lines', () => {
    const text = build({ clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY });
    const b64 = Buffer.from(CLIENT_CERT).toString('base64');
    assert.ok(text.includes(b64));
  });
});

void describe('fingerprint', () => {
  void test('is 16 hex characters of HMAC-SHA256 under the worker key, for strings and bytes alike', () => {
    const text = build({ token: JWT_TOKEN });
    const fp = fingerprint(text);
    assert.match(fp, /^[0-9a-f]{16}$/);
    assert.ok(createHmac('sha256', loadFingerprintKey()).update(text).digest('hex').startsWith(fp));
    assert.equal(fingerprint(Buffer.from(text)), fp);
    assert.equal(fingerprint(text), fp, 'stable within the process');
  });

  void test('is keyed: an unkeyed hash of a guessed kubeconfig does not match it', () => {
    // A basic-auth kubeconfig whose password is in every wordlist: with an unkeyed hash, anyone who
    // reads the fingerprint in history could confirm the guess offline.
    const render = (password: string) =>
      renderKubeconfig({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://x:6443' } }],
        users: [{ name: 'u', user: { username: 'admin', password } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      });
    const fp = fingerprint(render('hunter2'));
    for (const guess of ['hunter2', 'password', 'admin']) {
      assert.ok(!createHash('sha256').update(render(guess)).digest('hex').startsWith(fp), guess);
    }
    assert.notEqual(fingerprint(render('password')), fp, 'different content, different fingerprint');
  });

  void test('the key: random per process unless configured; a configured key must be long enough', () => {
    assert.notDeepEqual(fingerprintKeyFrom({}), fingerprintKeyFrom({}), 'random when unset');
    const configured = 'k'.repeat(32);
    assert.deepEqual(fingerprintKeyFrom({ [FINGERPRINT_KEY_ENV]: configured }), Buffer.from(configured));
    const err = thrown(() => fingerprintKeyFrom({ [FINGERPRINT_KEY_ENV]: 'short' }));
    assert.ok(err instanceof InvalidInputError);
    assert.ok(err.message.includes(FINGERPRINT_KEY_ENV));
    assert.ok(!err.message.includes('short'), 'the key is not echoed');
  });
});
