// No credential ever leaves the activity that resolves and writes it (ADR 3): after the
// token, client-certificate and secretreader flows, a failing plugin that prints its token on stderr,
// and one `refresh` update each, every workflow history of the task queue (raw and with payloads
// decoded), every log line, every Kubernetes Event and every `status` query result is scanned for the
// tokens, the private keys, the certificates and the kubeconfig bytes. The managed Secrets are checked
// to hold them, so the scan looks for something that exists.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { EXEC_EXTENSION, secretNameFor, type ClusterProfile } from '../../activities/kube/types.js';
import { STDERR_LOG_MESSAGE, STDERR_WITHHELD } from '../../activities/credentials/exec-plugin.js';
import { selectedContext } from '../support/kubeconfig-view.js';
import { refreshUpdate, type SyncOutcome } from '../../workflows/api.js';
import { E2E, secretReaderProvider } from '../support/e2e.js';
import { historyToJSONText } from '../support/histories.js';
import { pemBody, selfSignedClientCertificate, type ClientCertificate } from '../support/selfsigned.js';
import { eventually, uniqueName } from '../support/stack.js';

const V1 = 'client.authentication.k8s.io/v1';
const TIMEOUT_MS = 120_000;

const b64url = (bytes: number): string => randomBytes(bytes).toString('base64url');
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** A JWT-shaped service account token, as most exec plugins return. */
const jwtToken = (): string => `eyJhbGciOiJSUzI1NiIsImtpZCI6ImUyZSJ9.${b64url(96)}.${b64url(64)}`;

interface Needle {
  what: string;
  value: string;
}

/** The forms a secret can take once serialized: as is, inside a JSON string, and base64-encoded. */
function variants(what: string, value: string): Needle[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  const out: Needle[] = [
    { what, value },
    { what: `${what} (base64)`, value: b64(value) },
  ];
  if (escaped !== value) out.push({ what: `${what} (JSON-escaped)`, value: escaped });
  return out;
}

/** A distinctive slice from the middle of a long secret: catches partial or re-wrapped copies. */
function middle(value: string, length = 40): string {
  const start = Math.max(0, Math.floor((value.length - length) / 2));
  return value.slice(start, start + length);
}

function pemNeedles(what: string, pem: string): Needle[] {
  const body = pemBody(pem);
  const asKubeconfigData = b64(pem);
  return [
    ...variants(`${what} PEM`, pem),
    { what: `${what} PEM body`, value: body },
    { what: `${what} PEM body (substring)`, value: middle(body) },
    { what: `${what} PEM body (first line)`, value: pem.split('\n')[1] ?? '' },
    { what: `${what} base64 of PEM (kubeconfig *-data)`, value: asKubeconfigData },
    { what: `${what} base64 of PEM (substring)`, value: middle(asKubeconfigData) },
  ];
}

function findLeaks(haystack: string, needles: readonly Needle[]): string[] {
  return needles.filter((n) => n.value.length >= 16 && haystack.includes(n.value)).map((n) => n.what);
}

/** Every `data` string in a JSON document, base64-decoded (payload bytes in proto3 JSON, as historyToJSON writes them). */
function decodedPayloads(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) decodedPayloads(item, out);
  } else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'data' && typeof value === 'string') out.push(Buffer.from(value, 'base64').toString('utf8'));
      else decodedPayloads(value, out);
    }
  }
  return out;
}

describe('no credential leaks', () => {
  const e2e = new E2E();
  const tokenFlow = { name: uniqueName('leak-token'), token: jwtToken() };
  const certFlow = { name: uniqueName('leak-cert'), cert: undefined as unknown as ClientCertificate };
  const readerFlow = { name: uniqueName('leak-reader'), token: `sha256~${b64url(32)}`, cert: undefined as unknown as ClientCertificate, kubeconfig: '' };
  const failFlow = { name: uniqueName('leak-fail'), token: randomBytes(24).toString('hex') };
  /**
   * Short secrets after words the old redaction's word list did not know (and could never list in full):
   * each value is unique, so finding it anywhere in a log line is a leak.
   */
  const shortSecrets = ['pass:', 'PIN', 'otp=', 'pw', 'passcode', 'Kennwort:', 'раssword:' /* Cyrillic р, а */].map((word) => ({
    word,
    value: `q${randomBytes(5).toString('hex')}`,
  }));
  const failStderr = [
    `exchanging token ${failFlow.token} failed`,
    `{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"${failFlow.token}"}}`,
    `Authorization: Bearer ${failFlow.token}`,
    `login failed (pass: ${shortSecrets[0]!.value})`,
    ...shortSecrets.slice(1).map((s) => `${s.word} ${s.value}`),
    '',
  ].join('\n');
  const profiles = new Map<string, ClusterProfile>();
  const needles: Needle[] = [];

  before(async () => {
    certFlow.cert = selfSignedClientCertificate('e2e-leak-plugin');
    readerFlow.cert = selfSignedClientCertificate('e2e-leak-reader');
    readerFlow.kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: spoke',
      '  cluster:',
      '    server: https://leak-reader.example:6443',
      'users:',
      '- name: spoke-admin',
      '  user:',
      `    token: ${readerFlow.token}`,
      `    client-certificate-data: ${b64(readerFlow.cert.certPem)}`,
      `    client-key-data: ${b64(readerFlow.cert.keyPem)}`,
      'contexts:',
      '- name: spoke',
      '  context: {cluster: spoke, user: spoke-admin}',
      'current-context: spoke',
      '',
    ].join('\n');

    const dir = await mkdtemp(join(tmpdir(), 'ci-leak-plugin-'));
    const expiry = new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const plugin = async (file: string, script: string): Promise<string> => {
      const path = join(dir, file);
      await writeFile(path, script);
      await chmod(path, 0o755);
      return path;
    };
    const output = async (file: string, body: unknown): Promise<string> => {
      const path = join(dir, file);
      await writeFile(path, JSON.stringify(body));
      return path;
    };
    const tokenOut = await output('token.json', { apiVersion: V1, kind: 'ExecCredential', status: { token: tokenFlow.token, expirationTimestamp: expiry } });
    const certOut = await output('cert.json', {
      apiVersion: V1,
      kind: 'ExecCredential',
      status: { clientCertificateData: certFlow.cert.certPem, clientKeyData: certFlow.cert.keyPem },
    });
    const tokenPlugin = await plugin('token.sh', `#!/bin/sh\nexec cat "${tokenOut}"\n`);
    const certPlugin = await plugin('cert.sh', `#!/bin/sh\nexec cat "${certOut}"\n`);
    const stderrFile = await plugin('fail-stderr.txt', failStderr);
    const failPlugin = await plugin('fail.sh', `#!/bin/sh\ncat "${stderrFile}" >&2\nexit 1\n`);
    const provider = (name: string, command: string) => ({ name, execConfig: { command, args: [], env: [], apiVersion: V1, provideClusterInfo: true } });
    await e2e.start({
      providers: { providers: [provider('e2e-token', tokenPlugin), provider('e2e-cert', certPlugin), provider('e2e-fail', failPlugin)] },
      flags: ['--sync-period', '1h'],
      // The default level: what a production worker logs.
      logLevel: 'info',
    });

    needles.push(
      ...variants('token-flow token', tokenFlow.token),
      { what: 'token-flow token (substring)', value: middle(tokenFlow.token) },
      ...pemNeedles('cert-flow private key', certFlow.cert.keyPem),
      ...pemNeedles('cert-flow certificate', certFlow.cert.certPem),
      ...variants('secretreader token', readerFlow.token),
      ...pemNeedles('secretreader private key', readerFlow.cert.keyPem),
      ...pemNeedles('secretreader certificate', readerFlow.cert.certPem),
      ...variants('secretreader kubeconfig', readerFlow.kubeconfig),
      ...variants('failing-flow token', failFlow.token),
    );
  });

  after(async () => e2e.stop());

  const execCluster = (server: string) => ({
    server,
    extensions: [{ name: EXEC_EXTENSION, extension: { audience: 'e2e-leak' } }],
  });

  test('token flow: exec plugin token with expirationTimestamp reaches the managed Secret', async () => {
    const profile = await e2e.createProfile(tokenFlow.name, [{ name: 'e2e-token', cluster: execCluster('https://leak-token.example:6443') }]);
    profiles.set(tokenFlow.name, profile);
    const status = await e2e.waitForPhase(profile, 'Ready', TIMEOUT_MS);
    assert.ok(status.credentialExpiresAtMs, 'the expiry is known');
    const { secret } = await e2e.waitForSync(tokenFlow.name, TIMEOUT_MS);
    const kubeconfig = e2e.managedKubeconfig(secret)!;
    const parsed = parse(kubeconfig) as { users: Array<{ user: { token?: string } }> };
    assert.equal(parsed.users[0]?.user.token, tokenFlow.token, 'the token reached the managed Secret');
    needles.push(...variants('token-flow kubeconfig', kubeconfig), ...variants('token-flow Secret data', secret.data!.kubeconfig!));
  });

  test('client certificate flow: exec plugin cert + key reach the managed Secret', async () => {
    const profile = await e2e.createProfile(certFlow.name, [{ name: 'e2e-cert', cluster: execCluster('https://leak-cert.example:6443') }]);
    profiles.set(certFlow.name, profile);
    await e2e.waitForPhase(profile, 'Ready', TIMEOUT_MS);
    const { secret } = await e2e.waitForSync(certFlow.name, TIMEOUT_MS);
    const kubeconfig = e2e.managedKubeconfig(secret)!;
    const parsed = parse(kubeconfig) as { users: Array<{ user: Record<string, string | undefined> }> };
    const user = parsed.users[0]?.user ?? {};
    assert.equal(Buffer.from(user['client-key-data'] ?? '', 'base64').toString('utf8'), certFlow.cert.keyPem, 'the key reached the managed Secret');
    assert.equal(Buffer.from(user['client-certificate-data'] ?? '', 'base64').toString('utf8'), certFlow.cert.certPem, 'the certificate reached the managed Secret');
    needles.push(...variants('cert-flow kubeconfig', kubeconfig), ...variants('cert-flow Secret data', secret.data!.kubeconfig!));
  });

  test('secretreader flow: the source context, cluster and user reach the managed Secret', async () => {
    await e2e.createSecret(`${readerFlow.name}-src`, { kubeconfig: readerFlow.kubeconfig });
    const profile = await e2e.createProfile(readerFlow.name, [secretReaderProvider(`${readerFlow.name}-src`)]);
    profiles.set(readerFlow.name, profile);
    await e2e.waitForPhase(profile, 'Ready', TIMEOUT_MS);
    const { secret } = await e2e.waitForSync(readerFlow.name, TIMEOUT_MS);
    const managed = e2e.managedKubeconfig(secret) ?? '';
    assert.deepEqual(selectedContext(managed), selectedContext(readerFlow.kubeconfig), 'rendered from the source, equal in meaning');
    needles.push(...variants('secretreader managed kubeconfig', managed), ...variants('secretreader Secret data', secret.data!.kubeconfig!));
  });

  test('failing flow: a plugin that prints its token on stderr and exits 1 is Degraded; stderr stays out of the message', async () => {
    const profile = await e2e.createProfile(failFlow.name, [{ name: 'e2e-fail', cluster: execCluster('https://leak-fail.example:6443') }]);
    profiles.set(failFlow.name, profile);
    const status = await e2e.waitForPhase(profile, 'Degraded', TIMEOUT_MS);
    const message = status.lastError?.message ?? '';
    assert.ok(message.includes(`exited with code 1${STDERR_WITHHELD}`), message);
    assert.ok(!message.includes(failFlow.token));
    assert.equal(await e2e.getSecret(secretNameFor(failFlow.name)), undefined);
  });

  test('one refresh update per workflow', async () => {
    assert.equal(profiles.size, 4);
    for (const [name, profile] of profiles) {
      const outcome: SyncOutcome = await e2e.workflow(profile).executeUpdate(refreshUpdate, { args: [{ reason: 'leak test' }] });
      if (name === failFlow.name) {
        assert.equal(outcome.phase, 'Degraded');
        assert.ok(outcome.error && !outcome.error.includes(failFlow.token));
      } else {
        assert.equal(outcome.phase, 'Ready', `${name}: ${JSON.stringify(outcome)}`);
      }
    }
  });

  test('the scanner finds what it looks for (positive control)', async () => {
    const secret = await e2e.getSecret(secretNameFor(certFlow.name));
    const leaks = findLeaks(JSON.stringify(secret), needles);
    assert.ok(leaks.includes('cert-flow Secret data'), leaks.join(', '));
    const decoded = findLeaks(e2e.managedKubeconfig(secret)!, needles);
    assert.ok(decoded.includes('cert-flow private key base64 of PEM (kubeconfig *-data)'), decoded.join(', '));
    const jsonEscaped = findLeaks(JSON.stringify({ key: certFlow.cert.keyPem }), needles);
    assert.ok(jsonEscaped.includes('cert-flow private key PEM (JSON-escaped)'), jsonEscaped.join(', '));
    assert.ok(needles.length > 40);
  });

  test('no credential in any workflow history of the task queue (raw and decoded payloads)', async () => {
    const histories = await e2e.workflowHistories(profiles.size);
    const ids = new Set(histories.map((h) => h.workflowId));
    for (const profile of profiles.values()) assert.ok(ids.has(e2e.workflow(profile).workflowId), `history of ${profile.metadata?.name} was fetched`);
    const raw: string[] = [];
    const decoded: string[] = [];
    for (const { workflowId, runId, history } of histories) {
      assert.ok((history.events?.length ?? 0) > 0);
      // historyToJSON (with a workaround for this install's duplicated protobufjs, see test/support/histories.ts).
      const json = historyToJSONText(history);
      raw.push(json);
      assert.deepEqual(findLeaks(json, needles), [], `history ${workflowId}/${runId} (raw JSON)`);
      for (const text of decodedPayloads(JSON.parse(json))) {
        decoded.push(text);
        assert.deepEqual(findLeaks(text, needles), [], `history ${workflowId}/${runId} (decoded payload)`);
      }
    }
    // What was scanned is the real thing: activity results, the update outcome and the failure are there.
    assert.ok(decoded.some((t) => t.includes('"provider":"e2e-token"')), 'syncCredentials results were decoded');
    assert.ok(decoded.some((t) => t.includes('"phase":"Ready"') && t.includes('"fingerprint"')), 'refresh update outcomes were decoded');
    assert.ok(raw.some((t) => t.includes(`exited with code 1${STDERR_WITHHELD}`)), 'the failing plugin is in history, its stderr withheld');
  });

  test('no credential in the logs', () => {
    assert.ok(e2e.logs.some((l) => l.includes(tokenFlow.name) && l.includes('kubeconfig Secret written')), 'activity logs were captured');
    assert.ok(e2e.logs.some((l) => l.includes(failFlow.name) && l.includes('exited with code 1')), 'the failure was logged');
    // The default level (info) gets how the plugin ended and the size of its stderr, never its content.
    const bytes = Buffer.byteLength(failStderr);
    const failureLines = e2e.logs.filter((l) => l.includes(failFlow.name) && l.includes(STDERR_LOG_MESSAGE));
    assert.ok(failureLines.length > 0, 'the plugin failure was logged with its stderr withheld');
    assert.ok(failureLines.every((l) => l.includes('exited with code 1') && new RegExp(`stderrBytes\\W+${bytes}\\b`).test(l)), `outcome and byte count ${bytes}: ${failureLines[0]}`);
    assert.ok(!e2e.logs.some((l) => l.includes('stderrTail') || l.includes('exchanging token')), 'no stderr content at the default level');
    const leaks = e2e.logs.flatMap((line, i) => findLeaks(line, needles).map((what) => `line ${i}: ${what}`));
    assert.deepEqual(leaks, []);
    for (const { word, value } of shortSecrets) {
      assert.ok(!e2e.logs.some((l) => l.includes(value)), `the secret after ${JSON.stringify(word)} reached the log`);
    }
  });

  test('no credential in Kubernetes Events', async () => {
    const events = await eventually('Events for every profile', async () => {
      const all = await e2e.allEvents();
      return [...profiles.keys()].every((name) => all.some((e) => e.involvedObject === `ClusterProfile/${name}`)) ? all : undefined;
    });
    for (const e of events) assert.deepEqual(findLeaks(`${e.reason ?? ''} ${e.message ?? ''}`, needles), [], `${e.involvedObject}: ${e.reason}`);
    assert.ok(events.some((e) => e.type === 'Warning' && e.involvedObject === `ClusterProfile/${failFlow.name}`));
  });

  test('no credential in the status query', async () => {
    for (const [name, profile] of profiles) {
      const status = await e2e.status(profile);
      assert.deepEqual(findLeaks(JSON.stringify(status), needles), [], name);
    }
  });
});
