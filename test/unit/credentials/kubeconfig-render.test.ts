// The renderer, without Go: every kubeconfig we write consists of printable ASCII (plus whole astral
// characters), so no character client-go's goyaml v2 takes for a line break or a blank can sit inside
// a value, and it reads back (as JSON, which is YAML) exactly as the model; every field's allowlist
// refuses with the field named. The same adversarial cases go through client-go itself in
// test/integration/kubeconfig-render-client-go.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { buildKubeconfig, type StaticCredentials } from '../../../activities/credentials/kubeconfig.js';
import { normalizeSourceKubeconfig } from '../../../activities/credentials/secret-reader.js';
import { InvalidInputError } from '../../../activities/errors.js';
import type { ClientGoConfig } from '../../support/client-go-check.js';
import {
  PROFILE_OBJECT,
  SOURCE_AT,
  SOURCE_OBJECT,
  baseSource,
  baselineCases,
  expectedView,
  inputProxy,
  proxyMeansInput,
  randomCases,
  render,
  sourceText,
  systematicCases,
  type RenderCase,
  type SourceModel,
} from '../../support/render-cases.js';
import { CA_DATA, JWT_TOKEN, thrown } from './fixtures.js';

/** Printable ASCII, the line feeds between JSON lines, and astral characters (four UTF-8 bytes, never a break to goyaml). */
const SAFE_TEXT_RE = /^(?:[\x20-\x7e\n]|[\u{10000}-\u{10ffff}])*$/u;

interface Named {
  name: string;
  [key: string]: unknown;
}

/** A parsed kubeconfig in the shape kubeconfig-check reports (maps by name). */
function asClientGoConfig(doc: { clusters: Named[]; users: Named[]; contexts: Named[]; 'current-context': string }): ClientGoConfig {
  const byName = (list: Named[], key: string) => Object.fromEntries(list.map((e) => [e.name, e[key]]));
  return {
    currentContext: doc['current-context'],
    clusters: byName(doc.clusters, 'cluster'),
    users: byName(doc.users, 'user'),
    contexts: byName(doc.contexts, 'context'),
  } as ClientGoConfig;
}

function check(c: RenderCase): string | undefined {
  const rendered = render(c);
  if (!rendered.ok) {
    const err = rendered.error;
    if (!(err instanceof InvalidInputError)) return `${c.name}: threw ${String(err)}`;
    if (!c.fuzzed.some((f) => f.errorField.test(err.field ?? ''))) return `${c.name}: refused naming ${err.field ?? '(no field)'}`;
    return undefined;
  }
  const bad = [...rendered.text].find((ch) => !SAFE_TEXT_RE.test(ch));
  if (bad !== undefined) return `${c.name}: writes U+${(bad.codePointAt(0) ?? 0).toString(16).padStart(4, '0')} unescaped`;
  const config = asClientGoConfig(parse(rendered.text) as Parameters<typeof asClientGoConfig>[0]);
  const written = Object.values(config.clusters)[0]?.['proxy-url'];
  if (inputProxy(c) !== undefined && !proxyMeansInput(inputProxy(c), written)) return `${c.name}: proxy-url changed meaning`;
  try {
    assert.deepEqual(config, expectedView(c, written).config);
  } catch {
    return `${c.name}: reads back differently`;
  }
  return undefined;
}

function assertAllHold(cases: readonly RenderCase[]): void {
  const failures = cases.map(check).filter((f) => f !== undefined);
  assert.equal(failures.length, 0, `${failures.length} of ${cases.length} failed:\n${failures.slice(0, 20).join('\n')}`);
}

void describe('rendered kubeconfigs: escaped, exact, or refused naming the field', () => {
  void test('the base models', () => assertAllHold(baselineCases()));
  // Two of the four placements keep this under a few seconds; the client-go test runs all four.
  void test('every adversarial piece, alone and inside a valid value, in every field of both paths', () => assertAllHold(systematicCases(['alone', 'inside'])));
  void test('seeded random combinations', () => assertAllHold(randomCases(20261207, 400)));

  void test('non-ASCII is written as \\u escapes, astral characters whole, and reads back exactly', () => {
    const model = baseSource('basic');
    model.user.password = 'pä\u2028ss\u{1F600}';
    const err = thrown(() => normalizeSourceKubeconfig(sourceText(model), SOURCE_OBJECT, SOURCE_AT));
    assert.ok(err instanceof InvalidInputError && err.field?.endsWith('.user.password'), 'a line separator in a password is refused');
    assert.match(err.message, /U\+2028 at character 3/);
    assert.ok(!err.message.includes('pä'), 'the password is not echoed');

    model.user.password = 'pä ss\u{1F600}';
    const { kubeconfig } = normalizeSourceKubeconfig(sourceText(model), SOURCE_OBJECT, SOURCE_AT);
    assert.ok(kubeconfig.includes('"password": "p\\u00e4 ss\u{1F600}"'), kubeconfig);
    assert.equal((JSON.parse(kubeconfig) as { users: { user: { password: string } }[] }).users[0]?.user.password, 'pä ss\u{1F600}');
  });
});

void describe('field allowlists', () => {
  const exec = (cluster: Record<string, unknown>, credentials: StaticCredentials = { token: JWT_TOKEN }) =>
    buildKubeconfig({
      name: 'spoke-1',
      cluster: { server: 'https://spoke.example:6443', ...cluster },
      credentials,
      object: PROFILE_OBJECT,
      providerField: 'status.accessProviders[0]',
    });
  const writtenCluster = (text: string) => (JSON.parse(text) as { clusters: { cluster: Record<string, unknown> }[] }).clusters[0]?.cluster ?? {};
  const refusedField = (fn: () => unknown) => {
    const err = thrown(fn);
    assert.ok(err instanceof InvalidInputError, String(err));
    return err.field;
  };

  void test('tls-server-name: a DNS name or an IP address', () => {
    for (const name of ['api.spoke.example', 'kubernetes.default', 'yes', '10.0.0.1', 'fd00::1', 'API.Spoke', 'a_b.c']) {
      assert.equal(writtenCluster(exec({ 'tls-server-name': name }))['tls-server-name'], name);
    }
    const long = `${'a'.repeat(63)}.`.repeat(4) + 'a';
    for (const name of ['a b', 'x\u2029current-context: evil', 'https://x', '[::1]', 'fe80::1%eth0', 'a..b', '-a.b', 'a.b-', long, 'x\u200b']) {
      assert.equal(refusedField(() => exec({ 'tls-server-name': name })), 'status.accessProviders[0].cluster.tls-server-name', name);
    }
  });

  void test('proxy-url: http, https or socks5 to a host and port; the parsed value is written', () => {
    const cases: [string, string][] = [
      ['HTTP://Proxy.Example:80', 'http://proxy.example'],
      ['http://proxy.example:3128/', 'http://proxy.example:3128'],
      ['https://10.0.0.1:8443', 'https://10.0.0.1:8443'],
      ['socks5://proxy.example:1080', 'socks5://proxy.example:1080'],
      ['socks5://[fd00::1]:1080/', 'socks5://[fd00::1]:1080'],
    ];
    for (const [given, written] of cases) assert.equal(writtenCluster(exec({ 'proxy-url': given }))['proxy-url'], written, given);
    for (const bad of [
      'ftp://proxy',
      'http://user:secretpw@proxy:3128',
      'http://proxy:3128/path',
      'http://proxy:3128/?x=1',
      'http://proxy:3128\u2028    certificate-authority: /etc/ca',
      'http://proxy\u2029:3128',
      'http://pro xy:3128',
      'socks5://pro%78y:1080',
    ]) {
      const err = thrown(() => exec({ 'proxy-url': bad }));
      assert.ok(err instanceof InvalidInputError && err.field === 'status.accessProviders[0].cluster.proxy-url', bad);
      assert.ok(!err.message.includes('secretpw'), 'proxy credentials are not echoed');
    }
  });

  void test('server: only the shape Go and WHATWG parse alike', () => {
    for (const server of ['https://spoke{.example:6443', 'https:/\u00d9/aks.example:443', 'HTTPS://x:1/p', 'https://x:0', 'https://x:1/\u00e9', 'https://x:1/%zz']) {
      assert.equal(refusedField(() => exec({ server })), 'status.accessProviders[0].cluster.server', server);
    }
    for (const server of ['https://x:1/a%2Fb/~c', 'https://[fd00::1]:6443/k8s/clusters/c-1', 'http://10.0.0.1']) {
      assert.equal(writtenCluster(exec({ server })).server, server);
    }
  });

  void test('tokens: visible ASCII on both paths', () => {
    assert.equal(refusedField(() => exec({}, { token: `${JWT_TOKEN}\u2028    tokenFile: /etc/passwd` })), 'exec plugin result for status.accessProviders[0].status.token');
    const model = baseSource();
    model.user.token = `a\u0085b`;
    assert.equal(refusedField(() => normalizeSourceKubeconfig(sourceText(model), SOURCE_OBJECT, SOURCE_AT)), `${SOURCE_AT}.users[admin].user.token`);
  });

  void test('impersonation is refused naming the field; empty lists and maps are no impersonation', () => {
    const source = (user: Record<string, unknown>) => {
      const model: SourceModel = baseSource();
      model.user = { ...model.user, ...user };
      return () => normalizeSourceKubeconfig(sourceText(model), SOURCE_OBJECT, SOURCE_AT);
    };
    const fields: [string, unknown][] = [
      ['as', 'system:admin'],
      ['as-uid', '42'],
      ['as-groups', ['system:masters']],
      ['as-user-extra', { scopes: ['all'] }],
    ];
    for (const [key, value] of fields) assert.equal(refusedField(source({ [key]: value })), `${SOURCE_AT}.users[admin].user.${key}`);
    const { kubeconfig } = source({ as: '', 'as-groups': [], 'as-user-extra': {} })();
    assert.ok(!kubeconfig.includes('"as'), 'nothing of impersonation is written');
  });

  void test('names: printable, non-empty; a token together with basic auth is refused as client-go would', () => {
    const model = baseSource();
    model.clusterName = 'spoke\u2028- name: evil';
    assert.match(refusedField(() => normalizeSourceKubeconfig(sourceText(model), SOURCE_OBJECT, SOURCE_AT)) ?? '', /^data\[kubeconfig\]\.clusters\[.*\]\.name$/);
    const both = baseSource();
    both.user = { token: JWT_TOKEN, username: 'admin', password: 'x' };
    assert.equal(refusedField(() => normalizeSourceKubeconfig(sourceText(both), SOURCE_OBJECT, SOURCE_AT)), `${SOURCE_AT}.users[admin].user`);
  });

  void test('base64 data is written canonically, as Go re-encodes the bytes it decodes', () => {
    assert.equal(writtenCluster(exec({ 'certificate-authority-data': 'QR==' }))['certificate-authority-data'], 'QQ==');
    assert.equal(writtenCluster(exec({ 'certificate-authority-data': CA_DATA }))['certificate-authority-data'], CA_DATA);
  });
});
