// "We and client-go read the same kubeconfig", checked against client-go itself rather than assumed.
// test/kubetestenv/cmd/kubeconfig-check loads kubeconfigs with clientcmd.Load (what
// sveltoscluster-manager uses); here only the current context's cluster and user are compared. It
// needs only Go, not the local servers (test/support/client-go-check.ts).
//  (a) Every smuggling probe of the review: client-go sees the exec plugin, token file or other
//      context that a parser ignoring merge keys or duplicate keys would miss, and we refuse it.
//  (b) Every valid source: the kubeconfig we render reads in client-go as the same server, CA, TLS
//      settings and credentials as the source's selected context, and carries nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { buildKubeconfig } from '../../activities/credentials/kubeconfig.js';
import { normalizeSourceKubeconfig } from '../../activities/credentials/secret-reader.js';
import { InvalidInputError } from '../../activities/errors.js';
import { startClientGoChecker, type ClientGoChecker, type ClientGoReport } from '../support/client-go-check.js';
import { CA_DATA, CLIENT_CERT, CLIENT_KEY, JWT_TOKEN, OPAQUE_TOKEN } from '../unit/credentials/fixtures.js';
import { SMUGGLING_PROBES } from '../unit/credentials/kubeconfig-probes.js';

/** The current context's cluster and user as client-go loaded them. */
interface ClientGoView {
  error?: string;
  context: string;
  server?: string;
  certificateAuthorityData?: string;
  certificateAuthority?: string;
  tlsServerName?: string;
  insecureSkipTLSVerify?: boolean;
  proxyURL?: string;
  disableCompression?: boolean;
  clusterFound: boolean;
  userFound: boolean;
  token?: string;
  tokenFile?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  clientCertificate?: string;
  clientKey?: string;
  username?: string;
  password?: string;
  hasExec: boolean;
  hasAuthProvider: boolean;
}

const SOURCE = 'Secret fleet/src (source of ClusterProfile fleet/spoke-1)';
const AT = 'data[kubeconfig]';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The current context's part of client-go's reading (kubeconfig-check reports every entry). */
function currentView(report: ClientGoReport): ClientGoView {
  const config = report.config;
  if (!config) return { error: report.loadError ?? 'no config', context: '', clusterFound: false, userFound: false, hasExec: false, hasAuthProvider: false };
  const context = config.contexts[config.currentContext];
  const c = context ? config.clusters[context.cluster] : undefined;
  const u = context ? config.users[context.user] : undefined;
  return {
    context: config.currentContext,
    server: c?.server,
    certificateAuthorityData: c?.['certificate-authority-data'],
    certificateAuthority: c?.['certificate-authority'],
    tlsServerName: c?.['tls-server-name'],
    insecureSkipTLSVerify: c?.['insecure-skip-tls-verify'],
    proxyURL: c?.['proxy-url'],
    disableCompression: c?.['disable-compression'],
    clusterFound: c !== undefined,
    userFound: u !== undefined,
    token: u?.token,
    tokenFile: u?.tokenFile,
    clientCertificateData: u?.['client-certificate-data'],
    clientKeyData: u?.['client-key-data'],
    clientCertificate: u?.['client-certificate'],
    clientKey: u?.['client-key'],
    username: u?.username,
    password: u?.password,
    hasExec: u?.exec ?? false,
    hasAuthProvider: u?.['auth-provider'] ?? false,
  };
}

let checker: ClientGoChecker;

async function clientGo(text: string): Promise<ClientGoView> {
  return currentView(await checker.read(text));
}

/** The fields that decide where Sveltos connects and as whom. */
function connection(v: ClientGoView): Partial<ClientGoView> {
  const { server, certificateAuthorityData, tlsServerName, insecureSkipTLSVerify, proxyURL, disableCompression } = v;
  const { token, clientCertificateData, clientKeyData, username, password } = v;
  return { server, certificateAuthorityData, tlsServerName, insecureSkipTLSVerify, proxyURL, disableCompression, token, clientCertificateData, clientKeyData, username, password };
}

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'spoke', cluster }, { name: 'decoy', cluster: { server: 'https://decoy.example:6443' } }],
    users: [{ name: 'admin', user }, { name: 'decoy', user: { token: OPAQUE_TOKEN } }],
    contexts: [
      { name: 'admin@spoke', context: { cluster: 'spoke', user: 'admin', namespace: 'team-a' } },
      { name: 'decoy', context: { cluster: 'decoy', user: 'decoy' } },
    ],
    'current-context': 'admin@spoke',
    preferences: {},
    ...extra,
  });
}

describe('client-go parity of source kubeconfigs', () => {
  before(async () => {
    checker = await startClientGoChecker();
  });
  after(async () => {
    await checker.close();
  });

  describe('(a) smuggling probes: client-go sees the danger, we refuse', () => {
    for (const probe of SMUGGLING_PROBES) {
      test(probe.name, async () => {
        const seen = await clientGo(probe.text);
        assert.equal(seen.error, undefined, `client-go loads it: ${seen.error ?? ''}`);
        if (probe.clientGo.context !== undefined) assert.equal(seen.context, probe.clientGo.context);
        if (probe.clientGo.server !== undefined) assert.equal(seen.server, probe.clientGo.server);
        if (probe.clientGo.hasExec !== undefined) assert.equal(seen.hasExec, probe.clientGo.hasExec);
        if (probe.clientGo.tokenFile !== undefined) assert.equal(seen.tokenFile, probe.clientGo.tokenFile);
        assert.throws(
          () => normalizeSourceKubeconfig(probe.text, SOURCE, AT),
          (err: unknown) => err instanceof InvalidInputError && probe.refused.test(err.message) && err.message.startsWith(`${SOURCE}: ${AT}: `),
        );
      });
    }

    test('a tagged value is decoded by client-go (!!binary becomes the token): refused by us', async () => {
      const text = kubeconfig({ server: 'https://spoke.example:6443' }, { token: 'placeholder' }).replace('token: placeholder', `token: !!binary ${b64('decoded-token')}`);
      assert.equal((await clientGo(text)).token, 'decoded-token');
      assert.throws(() => normalizeSourceKubeconfig(text, SOURCE, AT), /tag/);
    });
  });

  describe('(b) valid sources: the rendered kubeconfig reads the same in client-go', () => {
    /** [what, source text, context override of the extension, the same source as client-go would select it]. */
    const cases: [string, string, string?, string?][] = [
      ['token and CA', kubeconfig({ server: 'https://spoke.example:6443', 'certificate-authority-data': CA_DATA }, { token: JWT_TOKEN })],
      ['client certificate and key', kubeconfig({ server: 'https://10.0.0.1:443/prefix', 'certificate-authority-data': CA_DATA }, { 'client-certificate-data': b64(CLIENT_CERT), 'client-key-data': b64(CLIENT_KEY) })],
      ['basic auth', kubeconfig({ server: 'https://spoke.example' }, { username: 'admin', password: 'hunter2' })],
      [
        'TLS server name, proxy, compression',
        kubeconfig(
          { server: 'https://[fd00::1]:6443', 'certificate-authority-data': CA_DATA, 'tls-server-name': 'kubernetes.default', 'proxy-url': 'socks5://proxy:1080', 'disable-compression': true },
          { token: OPAQUE_TOKEN },
        ),
      ],
      ['insecure, written the YAML 1.1 way (yes)', kubeconfig({ server: 'https://spoke.example:6443', 'insecure-skip-tls-verify': true }, { token: JWT_TOKEN }).replace('insecure-skip-tls-verify: true', 'insecure-skip-tls-verify: yes')],
      ['a token that YAML would read as a number if unquoted', kubeconfig({ server: 'https://spoke.example:6443' }, { token: '0123456789' })],
      [
        'names and values that YAML 1.1 reads as booleans or numbers (yes, on, y, 1_000) stay strings',
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'yes', cluster: { server: 'https://spoke.example:6443', 'tls-server-name': 'on' } }],
          users: [{ name: 'y', user: { username: 'NO', password: '1_000' } }],
          contexts: [{ name: 'on', context: { cluster: 'yes', user: 'y', namespace: 'off' } }],
          'current-context': 'on',
        }),
      ],
      ['JSON', JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster: { server: 'https://json.example:6443' } }], users: [{ name: 'u', user: { token: JWT_TOKEN } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x' })],
      [
        'the extension selects another context',
        kubeconfig({ server: 'https://spoke.example:6443' }, { token: JWT_TOKEN }),
        'decoy',
        kubeconfig({ server: 'https://spoke.example:6443' }, { token: JWT_TOKEN }, { 'current-context': 'decoy' }),
      ],
    ];
    for (const [what, text, override, asSelected] of cases) {
      test(what, async () => {
        const source = asSelected ?? text;
        const fromSource = await clientGo(source);
        assert.equal(fromSource.error, undefined, fromSource.error);
        const { kubeconfig: rendered } = normalizeSourceKubeconfig(text, SOURCE, AT, override);
        const fromRendered = await clientGo(rendered);
        assert.equal(fromRendered.error, undefined, fromRendered.error);
        assert.deepEqual(connection(fromRendered), connection(fromSource));
        assert.equal(fromRendered.context, fromSource.context);
        assert.ok(fromRendered.server, 'a server');
        assert.equal(fromRendered.hasExec, false);
        assert.equal(fromRendered.hasAuthProvider, false);
        assert.equal(fromRendered.tokenFile, undefined);
        assert.ok(!rendered.includes('decoy') || override === 'decoy', 'nothing but the selected context is carried');
      });
    }

    test('an exec plugin result renders to the same connection in client-go', async () => {
      const rendered = buildKubeconfig({
        name: 'spoke-1',
        cluster: { server: 'https://aks.example:443', 'certificate-authority-data': CA_DATA, 'tls-server-name': 'aks' },
        credentials: { token: JWT_TOKEN, clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY },
        object: 'ClusterProfile fleet/spoke-1',
        providerField: 'status.accessProviders[0]',
      });
      const seen = await clientGo(rendered);
      assert.deepEqual(connection(seen), {
        server: 'https://aks.example:443',
        certificateAuthorityData: CA_DATA,
        tlsServerName: 'aks',
        insecureSkipTLSVerify: undefined,
        proxyURL: undefined,
        disableCompression: undefined,
        token: JWT_TOKEN,
        clientCertificateData: b64(CLIENT_CERT),
        clientKeyData: b64(CLIENT_KEY),
        username: undefined,
        password: undefined,
      });
    });
  });
});
