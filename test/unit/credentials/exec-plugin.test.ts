import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  ExecPluginTransientError,
  STDERR_WITHHELD,
  execClusterInfo,
  redactSecrets,
  runExecPlugin,
  type ExecPluginDeps,
  type ExecPluginRequest,
  type StderrLogEntry,
} from '../../../activities/credentials/exec-plugin.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { EXEC_EXTENSION, type KubeconfigCluster } from '../../../activities/kube/types.js';
import {
  CA_DATA,
  CLIENT_CERT,
  CLIENT_KEY,
  JWT_TOKEN,
  OPAQUE_TOKEN,
  assertNoSecret,
  execCredentialJson,
  execInfoOf,
  fakeSpawn,
  rejection,
  type FakeProcess,
} from './fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const V1 = 'client.authentication.k8s.io/v1';

function request(extra: Partial<ExecPluginRequest> = {}): ExecPluginRequest {
  return {
    object: 'ClusterProfile fleet/spoke-1',
    providerField: 'status.accessProviders[0]',
    provider: 'aks',
    invocation: { command: '/opt/kubelogin', args: ['get-token', '--tenant', 'T-A'], env: { HOME: '/h', PATH: '/bin', AZURE_CLIENT_ID: 'id' } },
    apiVersion: V1,
    ...extra,
  };
}

function run(behave: (p: FakeProcess) => void, extra: Partial<ExecPluginRequest> = {}, deps: ExecPluginDeps = {}) {
  const fake = fakeSpawn(behave);
  return { fake, result: runExecPlugin(request(extra), { spawn: fake.spawn, now: () => NOW, ...deps }) };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const err = await rejection(promise);
  assertNoSecret(err.message);
  assert.ok(err.message.includes('"aks"'), 'names the provider');
  assert.ok(err.message.includes('/opt/kubelogin'), 'names the command');
  assert.ok(err.message.includes('ClusterProfile fleet/spoke-1'), 'names the profile');
  return err;
}

async function invalid(promise: Promise<unknown>): Promise<InvalidInputError> {
  const err = await failure(promise);
  assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${err.name}: ${err.message}`);
  return err;
}

void describe('exec plugin: how it is started', () => {
  void test('no shell, stdin closed, own process group, exactly the given env plus KUBERNETES_EXEC_INFO', async () => {
    const { fake, result } = run((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN }) }));
    await result;
    const call = fake.calls[0];
    assert.ok(call);
    assert.equal(call.command, '/opt/kubelogin');
    assert.deepEqual(call.args, ['get-token', '--tenant', 'T-A']);
    assert.equal(call.options.shell, false);
    assert.equal(call.options.detached, true);
    assert.deepEqual(call.options.stdio, ['ignore', 'pipe', 'pipe']);
    const env = call.options.env ?? {};
    assert.deepEqual(Object.keys(env).sort(), ['AZURE_CLIENT_ID', 'HOME', 'KUBERNETES_EXEC_INFO', 'PATH']);
    assert.deepEqual(execInfoOf(call), { apiVersion: V1, kind: 'ExecCredential', spec: { interactive: false } });
  });

  void test('KUBERNETES_EXEC_INFO uses the configured apiVersion', async () => {
    const v1beta1 = 'client.authentication.k8s.io/v1beta1';
    const { fake, result } = run((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN }, v1beta1) }), { apiVersion: v1beta1 });
    await result;
    assert.equal(execInfoOf(fake.calls[0]).apiVersion, v1beta1);
  });

  void test('with provideClusterInfo, spec.cluster carries the cluster and the exec extension as config', async () => {
    const cluster: KubeconfigCluster = {
      server: 'https://a.example:443',
      'certificate-authority-data': CA_DATA,
      'tls-server-name': 'api.internal',
      'insecure-skip-tls-verify': false,
      'proxy-url': 'http://p:3128',
      'disable-compression': true,
      'certificate-authority': '/not/copied',
      extensions: [
        { name: EXEC_EXTENSION, extension: { clusterName: 'spoke-1', nested: { a: [1, 2] } } },
        { name: 'other', extension: { x: 1 } },
      ],
    };
    const info = execClusterInfo(cluster, 'ClusterProfile fleet/spoke-1', 'status.accessProviders[0]');
    const { fake, result } = run((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN }) }), { cluster: info });
    await result;
    assert.deepEqual(execInfoOf(fake.calls[0]), {
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: 'https://a.example:443',
          'certificate-authority-data': CA_DATA,
          'tls-server-name': 'api.internal',
          'proxy-url': 'http://p:3128',
          'disable-compression': true,
          config: { clusterName: 'spoke-1', nested: { a: [1, 2] } },
        },
      },
    });
  });

  void test('the request env is not modified', async () => {
    const req = request();
    const before = JSON.stringify(req);
    const fake = fakeSpawn((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN }) }));
    await runExecPlugin(req, { spawn: fake.spawn, now: () => NOW });
    assert.equal(JSON.stringify(req), before);
  });
});

void describe('exec plugin: results', () => {
  void test('token', async () => {
    const { result } = run((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN }) }));
    const cred = await result;
    assert.equal(cred.token, JWT_TOKEN);
    assert.equal(cred.expiresAtMs, undefined);
    assert.equal(cred.clientCertificateData, undefined);
  });

  void test('token with expirationTimestamp', async () => {
    const { result } = run((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: '2026-06-01T13:00:00Z' }) }));
    const cred = await result;
    assert.equal(cred.expiresAtMs, NOW + 3_600_000);
    assert.equal(cred.expirationTimestamp, '2026-06-01T13:00:00Z');
  });

  void test('RFC 3339 with fraction and offset', async () => {
    const { result } = run((p) => p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: '2026-06-01T14:30:00.5+02:00' }) }));
    assert.equal((await result).expiresAtMs, NOW + 30 * 60_000 + 500);
  });

  void test('cert and key', async () => {
    const { result } = run((p) => p.finish({ stdout: execCredentialJson({ clientCertificateData: CLIENT_CERT, clientKeyData: CLIENT_KEY }) }));
    const cred = await result;
    assert.equal(cred.clientCertificateData, CLIENT_CERT);
    assert.equal(cred.clientKeyData, CLIENT_KEY);
    assert.equal(cred.token, undefined);
  });

  void test('duration is measured with the injected clock', async () => {
    let t = NOW;
    const fake = fakeSpawn((p) => {
      t += 1234;
      p.finish({ stdout: execCredentialJson({ token: JWT_TOKEN }) });
    });
    const cred = await runExecPlugin(request(), { spawn: fake.spawn, now: () => t });
    assert.equal(cred.durationMs, 1234);
  });

  void test('stdout in several chunks', async () => {
    const json = execCredentialJson({ token: JWT_TOKEN });
    const { result } = run((p) => {
      p.stdout.write(json.slice(0, 10));
      p.stdout.write(Buffer.from(json.slice(10)));
      p.finish({});
    });
    assert.equal((await result).token, JWT_TOKEN);
  });
});

void describe('exec plugin: bad output', () => {
  const cases: [string, string, RegExp][] = [
    ['garbage containing the token', `Here is your token: ${JWT_TOKEN} ${OPAQUE_TOKEN}`, /not print valid JSON/],
    ['nothing', '', /printed nothing/],
    ['a JSON list', JSON.stringify([JWT_TOKEN]), /not print a JSON object/],
    ['wrong apiVersion', execCredentialJson({ token: JWT_TOKEN }, 'client.authentication.k8s.io/v1beta1'), /apiVersion "client.authentication.k8s.io\/v1beta1".*"client.authentication.k8s.io\/v1"/],
    ['token as apiVersion', execCredentialJson({ token: JWT_TOKEN }, JWT_TOKEN), /apiVersion an unexpected value/],
    ['wrong kind', JSON.stringify({ apiVersion: V1, kind: 'Secret', status: { token: JWT_TOKEN } }), /kind "Secret"/],
    ['no status', execCredentialJson(undefined), /no status/],
    ['empty status', execCredentialJson({}), /neither a token nor a client certificate/],
    ['token not a string', execCredentialJson({ token: 42 }), /status.token that is not a string/],
    ['cert without key', execCredentialJson({ clientCertificateData: CLIENT_CERT }), /certificate without its key/],
    ['key without cert', execCredentialJson({ clientKeyData: CLIENT_KEY }), /key without its certificate/],
    ['cert not PEM', execCredentialJson({ clientCertificateData: `garbage ${JWT_TOKEN}`, clientKeyData: CLIENT_KEY }), /not a PEM certificate/],
    ['key not PEM', execCredentialJson({ clientCertificateData: CLIENT_CERT, clientKeyData: `garbage ${OPAQUE_TOKEN}` }), /not a PEM private key/],
    ['bad expirationTimestamp', execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: 'tomorrow' }), /not an RFC 3339 time/],
    ['already expired', execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: '2026-06-01T11:59:59Z' }), /expired at 2026-06-01T11:59:59/],
  ];
  for (const [name, stdout, reason] of cases) {
    void test(`${name} → non-retryable error`, async () => {
      const { result } = run((p) => p.finish({ stdout }));
      const err = await invalid(result);
      assert.match(err.message, reason);
      assert.equal(err.field, 'status.accessProviders[0]');
    });
  }

  void test('a key that does not match the certificate', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { result } = run((p) => p.finish({ stdout: execCredentialJson({ clientCertificateData: CLIENT_CERT, clientKeyData: other }) }));
    const err = await invalid(result);
    assert.match(err.message, /does not match/);
    assert.ok(!err.message.includes(other.slice(40, 80)));
  });
});

void describe('exec plugin: process failures', () => {
  /** Runs a plugin that writes `stderr` and exits with `code`; returns the error and what was logged. */
  async function failWith(stderr: string | ((p: FakeProcess) => void), code = 1) {
    const logged: StderrLogEntry[] = [];
    const behave = typeof stderr === 'string' ? (p: FakeProcess) => p.finish({ stderr, code }) : stderr;
    const { result } = run(behave, {}, { logStderr: (e) => logged.push(e) });
    // Exit ≠ 0 may pass (an identity provider blip): transient, retried before the credential expires.
    const err = await failure(result);
    assert.ok(err instanceof ExecPluginTransientError, `expected ExecPluginTransientError, got ${err.name}: ${err.message}`);
    return { err, logged };
  }

  void test('exit code ≠ 0: the error says how it ended and withholds stderr; the log gets a redacted tail', async () => {
    const stderr = `E0601 authentication failed\nusing token=${OPAQUE_TOKEN}\nAuthorization: Bearer ${JWT_TOKEN}\n${CLIENT_KEY}\nhint: check the tenant\n`;
    const { err, logged } = await failWith(stderr, 3);
    assert.match(err.message, /exited with code 3/);
    assert.ok(err.message.endsWith(STDERR_WITHHELD), err.message);
    assert.ok(!err.message.includes('authentication failed'), 'no stderr text in the error');
    assert.equal(logged.length, 1);
    const entry = logged[0] as StderrLogEntry;
    assert.equal(entry.object, 'ClusterProfile fleet/spoke-1');
    assert.equal(entry.provider, 'aks');
    assert.ok(entry.debugTail().includes('authentication failed'), 'the log keeps ordinary text');
    assert.ok(entry.debugTail().includes('hint: check the tenant'));
    assertNoSecret(entry.debugTail());
  });

  void test('"password hunter2" reaches neither the error nor the log', async () => {
    const { err, logged } = await failWith('login failed: password hunter2\nsecret s3cr3t!\napi key k-1\n');
    assert.ok(!err.message.includes('hunter2'));
    const tail = logged[0]?.debugTail() ?? '';
    for (const secret of ['hunter2', 's3cr3t!', 'k-1']) assert.ok(!tail.includes(secret), `${secret} in ${tail}`);
    assert.ok(tail.includes('login failed: password [REDACTED]'), tail);
  });

  void test('an empty stderr adds nothing to the error; the log gets the outcome and 0 bytes', async () => {
    const { err, logged } = await failWith('', 2);
    assert.match(err.message, /exited with code 2$/);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.outcome, 'exited with code 2');
    assert.equal(logged[0]?.stderrBytes, 0);
  });

  void test('what the default level logs is the outcome and the byte count: no stderr content at all', async () => {
    // Words the old redaction did not know, a non-English one and a homoglyph: none may reach the log.
    const stderr = 'login failed (pass: Hx7q)\nPIN 4711\notp=829144\npw tiger\npasscode: 5512\nContraseña: gato123\nрassword: h0moglyph\n';
    const { err, logged } = await failWith(stderr, 1);
    assert.ok(err.message.endsWith(STDERR_WITHHELD));
    const entry = logged[0] as StderrLogEntry;
    assert.equal(entry.outcome, 'exited with code 1');
    assert.equal(entry.stderrBytes, Buffer.byteLength(stderr));
    // What a structured logger serialises from the entry (the debug tail is a function: never serialised).
    const logged_ = JSON.stringify(entry);
    for (const secret of ['Hx7q', '4711', '829144', 'tiger', '5512', 'gato123', 'h0moglyph', 'login failed']) {
      assert.ok(!logged_.includes(secret), `${secret} in ${logged_}`);
    }
  });

  void test('only the last 4 KiB of stderr are logged', async () => {
    const { logged } = await failWith(`FIRST-LINE\n${'x '.repeat(10_000)}\nLAST-LINE\n`);
    const tail = logged[0]?.debugTail() ?? '';
    assert.ok(tail.includes('LAST-LINE'));
    assert.ok(!tail.includes('FIRST-LINE'));
    assert.ok(tail.length <= 4096 + 10, `tail is ${tail.length} characters (newlines are escaped)`);
  });

  void test('a secret that straddles the 64 KiB stderr buffer edge is not revealed', async () => {
    const { logged } = await failWith((p) => {
      p.stderr.write(`token ${OPAQUE_TOKEN}`);
      p.stderr.write('y'.repeat(64 * 1024 - 20));
      p.finish({ stderr: `\ndone\n`, code: 1 });
    });
    assert.ok(!(logged[0]?.debugTail() ?? '').includes(OPAQUE_TOKEN.slice(-20)));
  });

  void test('terminal escape sequences in stderr are escaped in the log', async () => {
    const { logged } = await failWith('\u001b[31mred\u001b[0m \u202e');
    const tail = logged[0]?.debugTail() ?? '';
    assert.ok(!tail.includes('\u001b') && !tail.includes('\u202e'));
    assert.ok(tail.includes('\\x1b[31mred'), tail);
  });

  void test('timeout: killed, retryable', async () => {
    const { fake, result } = run(() => undefined, {}, { timeoutMs: 30 });
    const err = await failure(result);
    assert.ok(err instanceof ExecPluginTransientError);
    assert.match(err.message, /did not finish within 30 ms/);
    assert.deepEqual(fake.processes[0]?.kills, ['SIGKILL']);
  });

  void test('timeout kills the process group when the process has a pid', async () => {
    const groups: [number, string][] = [];
    const fake = fakeSpawn(() => undefined, 4242);
    const err = await rejection(
      runExecPlugin(request(), { spawn: fake.spawn, now: () => NOW, timeoutMs: 20, reapWaitMs: 20, killProcessGroup: (pid, sig) => void groups.push([pid, sig]) }),
    );
    assert.ok(err instanceof ExecPluginTransientError);
    assert.deepEqual(groups, [[4242, 'SIGKILL']]);
    assert.deepEqual(fake.processes[0]?.kills, [], 'the group kill sufficed');
  });

  void test('activity cancellation kills the plugin: retryable', async () => {
    const controller = new AbortController();
    const { fake, result } = run(() => setTimeout(() => controller.abort(), 5), {}, { signal: controller.signal, timeoutMs: 10_000 });
    const err = await failure(result);
    assert.ok(err instanceof ExecPluginTransientError);
    assert.match(err.message, /cancelled/);
    assert.deepEqual(fake.processes[0]?.kills, ['SIGKILL']);
  });

  void test('an already cancelled activity does not start the plugin', async () => {
    const controller = new AbortController();
    controller.abort();
    const { fake, result } = run(() => undefined, {}, { signal: controller.signal });
    assert.ok((await failure(result)) instanceof ExecPluginTransientError);
    assert.equal(fake.calls.length, 0);
  });

  void test('stdout over the cap: killed, non-retryable', async () => {
    const { fake, result } = run(
      (p) => {
        p.stdout.write('a'.repeat(600));
        p.stdout.write('b'.repeat(600));
      },
      {},
      { maxStdoutBytes: 1000 },
    );
    const err = await invalid(result);
    assert.match(err.message, /more than 1000 bytes/);
    assert.deepEqual(fake.processes[0]?.kills, ['SIGKILL']);
  });

  void test('killed by a signal it did not get from us: retryable', async () => {
    const { result } = run((p) => p.finish({ code: null, signal: 'SIGKILL' }));
    const err = await failure(result);
    assert.ok(err instanceof ExecPluginTransientError);
    assert.match(err.message, /signal SIGKILL/);
  });

  void test('command not found: non-retryable, with the install hint', async () => {
    const { result } = run((p) => p.emit('error', Object.assign(new Error('spawn /opt/kubelogin ENOENT'), { code: 'ENOENT' })), {
      installHint: 'install kubelogin from https://example',
    });
    const err = await invalid(result);
    assert.match(err.message, /command not found.*install kubelogin/);
  });

  void test('EACCES is non-retryable', async () => {
    const { result } = run((p) => p.emit('error', Object.assign(new Error('spawn EACCES'), { code: 'EACCES' })));
    assert.match((await invalid(result)).message, /permission denied/);
  });

  for (const code of ['EAGAIN', 'EMFILE', 'ENOMEM']) {
    void test(`${code} when spawning is retryable`, async () => {
      const { result } = run((p) => p.emit('error', Object.assign(new Error(`spawn ${code}`), { code })));
      const err = await failure(result);
      assert.ok(err instanceof ExecPluginTransientError);
      assert.ok(err.message.includes(code));
    });
  }

  void test('a spawn that throws synchronously', async () => {
    const err = await rejection(
      runExecPlugin(request(), {
        spawn: () => {
          throw Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' });
        },
      }),
    );
    assert.ok(err instanceof ExecPluginTransientError);
  });
});

void describe('redactSecrets', () => {
  void test('removes tokens, keys and blobs but keeps ordinary text', () => {
    const text = [
      `error: token=${OPAQUE_TOKEN}`,
      `"password": "hunter2"`,
      `Authorization: Bearer abc.def`,
      `jwt ${JWT_TOKEN} end`,
      CLIENT_KEY,
      `blob ${Buffer.from(CLIENT_KEY).toString('base64').slice(0, 80)}`,
      `hex 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`,
      'failed to get cluster fleet/src: clusters "src" is forbidden',
      'connecting to https://api.spoke.example.com:6443 via /usr/local/bin/kubelogin',
    ].join('\n');
    const out = redactSecrets(text);
    assertNoSecret(out);
    assert.ok(!out.includes('hunter2'));
    assert.ok(!out.includes('abc.def'));
    assert.ok(!out.includes('9f86d081884c7d659a2feaa0c55ad015'));
    assert.ok(out.includes('failed to get cluster fleet/src: clusters "src" is forbidden'));
    assert.ok(out.includes('https://api.spoke.example.com:6443'));
    assert.ok(out.includes('/usr/local/bin/kubelogin'));
  });

  void test('a line naming a credential loses everything after that word, however short the value', () => {
    assert.equal(redactSecrets('password hunter2'), 'password [REDACTED]');
    assert.equal(redactSecrets('my Token is abc'), 'my Token [REDACTED]');
    assert.equal(redactSecrets('key: k-1\nnext line'), 'key [REDACTED]\nnext line', 'only to the end of that line');
    assert.equal(redactSecrets('the key'), 'the key', 'nothing after the word: nothing to redact');
  });
});
