import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { fingerprint } from '../../../activities/credentials/kubeconfig.js';
import { NO_PROVIDER_FILE, type ProviderFile } from '../../../activities/credentials/provider-file.js';
import { resolveKubeconfig, type ResolveDeps } from '../../../activities/credentials/resolve.js';
import type { SecretGetter } from '../../../activities/credentials/secret-reader.js';
import { InvalidInputError, toApplicationFailure } from '../../../activities/errors.js';
import {
  ADDITIONAL_ARGS_EXTENSION,
  ADDITIONAL_ENVS_EXTENSION,
  EXEC_EXTENSION,
  type AccessProvider,
  type ClusterProfile,
  type V1Secret,
} from '../../../activities/kube/types.js';
import {
  CA_DATA,
  CLIENT_CERT,
  CLIENT_KEY,
  JWT_TOKEN,
  OPAQUE_TOKEN,
  assertNoSecret,
  execCredentialJson,
  execInfoOf,
  execProvider,
  fakeSpawn,
  profile,
  providerFile,
  rejection,
  type FakeProcess,
} from './fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const b64 = (s: string) => Buffer.from(s).toString('base64');

const SOURCE_KUBECONFIG = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'c', cluster: { server: 'https://spoke.example:6443', 'certificate-authority-data': CA_DATA } }],
  users: [{ name: 'u', user: { token: OPAQUE_TOKEN } }],
  contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
  'current-context': 'ctx',
});

function secrets(map: Record<string, Record<string, string>>): SecretGetter {
  return (ns, name) => {
    const data = map[`${ns}/${name}`];
    const secret: V1Secret | undefined = data
      ? { metadata: { name, namespace: ns }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) }
      : undefined;
    return Promise.resolve(secret);
  };
}

function deps(extra: Partial<ResolveDeps> = {}): ResolveDeps {
  return {
    providers: NO_PROVIDER_FILE,
    secretReaderNamespaces: [],
    execTimeoutMs: 1000,
    getSecret: secrets({ 'fleet/src': { kubeconfig: SOURCE_KUBECONFIG } }),
    now: () => NOW,
    baseEnv: { PATH: '/usr/bin', HOME: '/home/c', SECRET_OF_CONTROLLER: 'x' },
    spawn: () => {
      throw new Error('spawn not expected');
    },
    ...extra,
  };
}

const secretReader = (ext: unknown = { name: 'src', key: 'kubeconfig' }): AccessProvider => ({
  name: 'kubeconfig-secretreader',
  cluster: { server: 'https://ignored:1', extensions: [{ name: EXEC_EXTENSION, extension: ext }] },
});

const aks = (extra: Partial<AccessProvider['cluster']> = {}): AccessProvider => ({
  name: 'aks',
  cluster: {
    server: 'https://aks.example:443',
    'certificate-authority-data': CA_DATA,
    extensions: [
      { name: EXEC_EXTENSION, extension: { clusterName: 'spoke-1' } },
      { name: ADDITIONAL_ARGS_EXTENSION, extension: ['--tenant-id', 'T-A'] },
      { name: ADDITIONAL_ENVS_EXTENSION, extension: { AZURE_CLIENT_ID: 'id-A' } },
    ],
    ...extra,
  },
});

const AKS_FILE: ProviderFile = providerFile(
  execProvider('aks', { command: '/opt/kubelogin', args: ['get-token'], provideClusterInfo: true }, { args: 'Append', env: 'Replace', envNames: ['AZURE_CLIENT_ID'] }),
);

function respond(stdout: string, stderr = '', code = 0) {
  return fakeSpawn((p: FakeProcess) => p.finish({ stdout, stderr, code }));
}

void describe('resolveKubeconfig', () => {
  void test('secretreader: normalized kubeconfig, fingerprint and metadata', async () => {
    const r = await resolveKubeconfig(profile({ accessProviders: [secretReader()] }), deps());
    assert.equal(r.provider, 'kubeconfig-secretreader');
    assert.equal(r.server, 'https://spoke.example:6443');
    assert.equal(r.expiresAtMs, undefined);
    assert.deepEqual(r.sourceSecret, { namespace: 'fleet', name: 'src', key: 'kubeconfig' });
    assert.equal(r.fingerprint, fingerprint(r.kubeconfig));
    assert.equal((parse(r.kubeconfig) as { users: { user: { token: string } }[] }).users[0]?.user.token, OPAQUE_TOKEN);
  });

  void test('exec: runs the plugin with merged args/env and cluster info, builds a static kubeconfig', async () => {
    const fake = respond(execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: '2026-06-01T13:00:00Z' }));
    const r = await resolveKubeconfig(
      profile({ accessProviders: [aks()] }),
      deps({ providers: AKS_FILE, spawn: fake.spawn }),
    );
    assert.equal(r.provider, 'aks');
    assert.equal(r.server, 'https://aks.example:443');
    assert.equal(r.expiresAtMs, NOW + 3_600_000);
    assert.equal(r.sourceSecret, undefined);
    const call = fake.calls[0];
    assert.ok(call);
    assert.equal(call.command, '/opt/kubelogin');
    assert.deepEqual(call.args, ['get-token', '--tenant-id', 'T-A']);
    assert.equal((call.options.env as Record<string, string>).AZURE_CLIENT_ID, 'id-A');
    assert.equal((call.options.env as Record<string, string>).SECRET_OF_CONTROLLER, undefined);
    const info = execInfoOf(call) as { spec: { cluster: Record<string, unknown> } };
    assert.deepEqual(info.spec.cluster, {
      server: 'https://aks.example:443',
      'certificate-authority-data': CA_DATA,
      config: { clusterName: 'spoke-1' },
    });
    const k = parse(r.kubeconfig) as { clusters: { cluster: unknown }[]; users: { user: unknown }[]; 'current-context': string };
    assert.deepEqual(k.clusters[0]?.cluster, { server: 'https://aks.example:443', 'certificate-authority-data': CA_DATA });
    assert.deepEqual(k.users[0]?.user, { token: JWT_TOKEN });
    assert.equal(k['current-context'], 'spoke-1');
    assert.equal(r.fingerprint, fingerprint(r.kubeconfig));
  });

  void test('exec without provideClusterInfo sends no spec.cluster', async () => {
    const fake = respond(execCredentialJson({ clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY }));
    const file = providerFile(execProvider('aks', { command: '/opt/kubelogin' }));
    const r = await resolveKubeconfig(profile({ accessProviders: [aks()] }), deps({ providers: file, spawn: fake.spawn }));
    assert.deepEqual(execInfoOf(fake.calls[0]), { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
    assert.deepEqual(fake.calls[0]?.args, [], 'Ignore policies: no profile args');
    assert.equal(r.expiresAtMs, undefined);
  });

  void test('the same result twice gives the same fingerprint; a new token a different one', async () => {
    const p = profile({ accessProviders: [aks()] });
    const one = await resolveKubeconfig(p, deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ token: JWT_TOKEN })).spawn }));
    const two = await resolveKubeconfig(p, deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ token: JWT_TOKEN })).spawn }));
    const three = await resolveKubeconfig(p, deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ token: OPAQUE_TOKEN })).spawn }));
    assert.equal(one.fingerprint, two.fingerprint);
    assert.notEqual(one.fingerprint, three.fingerprint);
  });

  void test('an over-long name fails before the plugin runs', async () => {
    const fake = respond(execCredentialJson({ token: JWT_TOKEN }));
    const err = await rejection(resolveKubeconfig(profile({ name: 'a'.repeat(240), accessProviders: [aks()] }), deps({ providers: AKS_FILE, spawn: fake.spawn })));
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, 'metadata.name');
    assert.equal(fake.calls.length, 0);
  });

  void test('an empty server fails before the plugin runs', async () => {
    const fake = respond(execCredentialJson({ token: JWT_TOKEN }));
    const err = await rejection(resolveKubeconfig(profile({ accessProviders: [aks({ server: '' })] }), deps({ providers: AKS_FILE, spawn: fake.spawn })));
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, 'status.accessProviders[0].cluster.server');
    assert.equal(fake.calls.length, 0);
  });

  void test('no supported provider', async () => {
    const err = await rejection(resolveKubeconfig(profile({ accessProviders: [aks()] }), deps()));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /no supported access provider.*"aks"/);
  });
});

void describe('no failure path reveals a credential', () => {
  // Each case plants JWT_TOKEN / OPAQUE_TOKEN / CLIENT_KEY somewhere the failing input carries them.
  const leakyKubeconfig = (mutate: (k: Record<string, unknown>) => void) => {
    const k = parse(SOURCE_KUBECONFIG) as Record<string, unknown>;
    mutate(k);
    return stringify(k);
  };
  const cases: [string, () => [ClusterProfile, ResolveDeps]][] = [
    ['exec: exit 1 with secrets on stderr', () => [
      profile({ accessProviders: [aks()] }),
      deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ token: JWT_TOKEN }), `token=${OPAQUE_TOKEN}\n${JWT_TOKEN}\n${CLIENT_KEY}`, 1).spawn }),
    ]],
    ['exec: garbage with token', () => [profile({ accessProviders: [aks()] }), deps({ providers: AKS_FILE, spawn: respond(`oops ${JWT_TOKEN} ${CLIENT_KEY}`).spawn })]],
    ['exec: wrong apiVersion', () => [
      profile({ accessProviders: [aks()] }),
      deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ token: JWT_TOKEN }, 'client.authentication.k8s.io/v1beta1')).spawn }),
    ]],
    ['exec: key without cert', () => [profile({ accessProviders: [aks()] }), deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ clientKeyData: CLIENT_KEY, token: JWT_TOKEN })).spawn })]],
    ['exec: expired', () => [
      profile({ accessProviders: [aks()] }),
      deps({ providers: AKS_FILE, spawn: respond(execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: '2020-01-01T00:00:00Z' })).spawn }),
    ]],
    ['exec: timeout with secrets on stderr', () => [
      profile({ accessProviders: [aks()] }),
      deps({ providers: AKS_FILE, execTimeoutMs: 20, spawn: fakeSpawn((p) => p.stderr.write(`Bearer ${JWT_TOKEN}\n`)).spawn }),
    ]],
    ['exec: "password hunter2" on stderr', () => [
      profile({ accessProviders: [aks()] }),
      deps({ providers: AKS_FILE, spawn: respond('', 'login failed: password hunter2\n', 1).spawn }),
    ]],
    ['exec: server with a token in the query', () => [profile({ accessProviders: [aks({ server: `https://h:443/?access_token=${OPAQUE_TOKEN}` })] }), deps({ providers: AKS_FILE })]],
    ['secretreader: server with a token in the query', () => [
      profile({ accessProviders: [secretReader()] }),
      deps({
        getSecret: secrets({
          'fleet/src': { kubeconfig: leakyKubeconfig((k) => (k.clusters = [{ name: 'c', cluster: { server: `https://h:443/?access_token=${OPAQUE_TOKEN}` } }])) },
        }),
      }),
    ]],
    ['exec: unlisted env var with a token value', () => [
      profile({ accessProviders: [aks({ extensions: [{ name: ADDITIONAL_ENVS_EXTENSION, extension: { HTTPS_PROXY: `http://u:${OPAQUE_TOKEN}@p` } }] })] }),
      deps({ providers: AKS_FILE }),
    ]],
    ['exec: env var value not a string', () => [
      profile({ accessProviders: [aks({ extensions: [{ name: ADDITIONAL_ENVS_EXTENSION, extension: { API_TOKEN: { v: JWT_TOKEN } } }] })] }),
      deps({ providers: AKS_FILE }),
    ]],
    ['exec: server with credentials', () => [profile({ accessProviders: [aks({ server: `https://x:${OPAQUE_TOKEN}@h` })] }), deps({ providers: AKS_FILE })]],
    ['secretreader: exec user', () => [
      profile({ accessProviders: [secretReader()] }),
      deps({ getSecret: secrets({ 'fleet/src': { kubeconfig: leakyKubeconfig((k) => (k.users = [{ name: 'u', user: { token: JWT_TOKEN, exec: { command: 'x' } } }])) } }) }),
    ]],
    ['secretreader: half key pair', () => [
      profile({ accessProviders: [secretReader()] }),
      deps({ getSecret: secrets({ 'fleet/src': { kubeconfig: leakyKubeconfig((k) => (k.users = [{ name: 'u', user: { 'client-key-data': b64(CLIENT_KEY) } }])) } }) }),
    ]],
    ['secretreader: invalid YAML', () => [
      profile({ accessProviders: [secretReader()] }),
      deps({ getSecret: secrets({ 'fleet/src': { kubeconfig: `users: [{token: "${JWT_TOKEN}` } }) }),
    ]],
    ['secretreader: no current-context', () => [
      profile({ accessProviders: [secretReader()] }),
      deps({ getSecret: secrets({ 'fleet/src': { kubeconfig: leakyKubeconfig((k) => delete k['current-context']) } }) }),
    ]],
    ['secretreader: cross-namespace', () => [profile({ accessProviders: [secretReader({ name: 'src', key: 'kubeconfig', namespace: 'kube-system' })] }), deps()]],
  ];
  for (const [name, make] of cases) {
    void test(name, async () => {
      const [p, d] = make();
      const err = await rejection(resolveKubeconfig(p, d));
      assertNoSecret(err.message, name);
      assertNoSecret(err.stack ?? '', `${name} (stack)`);
      assertNoSecret(toApplicationFailure(err).message, `${name} (failure)`);
      assert.ok(!err.message.includes('hunter2'));
    });
  }
});
