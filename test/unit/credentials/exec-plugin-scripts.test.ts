// The exec plugin runner against real processes: tiny /bin/sh plugins written to a temp dir.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExecPluginTransientError,
  MAX_STDOUT_BYTES,
  runExecPlugin,
  type ExecPluginRequest,
} from '../../../activities/credentials/exec-plugin.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { CLIENT_CERT, JWT_TOKEN, OPAQUE_TOKEN, assertNoSecret, execCredentialJson, rejection } from './fixtures.js';

const V1 = 'client.authentication.k8s.io/v1';
let dir = '';

async function plugin(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function request(command: string, extra: Partial<ExecPluginRequest> = {}): ExecPluginRequest {
  return {
    object: 'ClusterProfile fleet/spoke-1',
    providerField: 'status.accessProviders[0]',
    provider: 'script',
    invocation: { command, args: [], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } },
    apiVersion: V1,
    ...extra,
  };
}

/** Single-quoted for sh. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Dead, or a zombie waiting for its reaper (which may never come in a container). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

void describe('exec plugin with real processes', { skip: process.platform === 'win32' }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'exec-plugin-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void test('token with expirationTimestamp', async () => {
    const out = execCredentialJson({ token: JWT_TOKEN, expirationTimestamp: '2099-01-01T00:00:00Z' });
    const cmd = await plugin('token.sh', `printf '%s\\n' ${q(out)}`);
    const cred = await runExecPlugin(request(cmd), { now: () => Date.parse('2026-06-01T00:00:00Z') });
    assert.equal(cred.token, JWT_TOKEN);
    assert.equal(cred.expiresAtMs, Date.parse('2099-01-01T00:00:00Z'));
    assert.ok(cred.durationMs >= 0);
  });

  void test('the plugin sees exactly the minimal env, KUBERNETES_EXEC_INFO and verbatim args (no shell)', async () => {
    const envFile = join(dir, 'env.out');
    const argsFile = join(dir, 'args.out');
    const out = execCredentialJson({ token: JWT_TOKEN });
    const cmd = await plugin(
      'env.sh',
      `env > ${q(envFile)}\nfor a in "$@"; do printf '%s\\n' "$a"; done > ${q(argsFile)}\nprintf '%s' ${q(out)}`,
    );
    process.env.EXEC_PLUGIN_TEST_SENTINEL = 'must-not-leak';
    try {
      const args = ['--name', '$(CLUSTER_NAME)', 'two words', '; touch pwned', '`id`'];
      await runExecPlugin(
        request(cmd, { invocation: { command: cmd, args, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, MY_VAR: 'x y' } } }),
      );
      const env = await readFile(envFile, 'utf8');
      assert.ok(!env.includes('EXEC_PLUGIN_TEST_SENTINEL'));
      assert.match(env, /^MY_VAR=x y$/m);
      assert.match(env, new RegExp(`^HOME=${dir}$`, 'm'));
      const info = /^KUBERNETES_EXEC_INFO=(.*)$/m.exec(env)?.[1];
      assert.deepEqual(JSON.parse(info ?? 'null'), { apiVersion: V1, kind: 'ExecCredential', spec: { interactive: false } });
      assert.deepEqual((await readFile(argsFile, 'utf8')).split('\n').slice(0, -1), args);
      assert.ok(!existsSync(join(dir, 'pwned')));
    } finally {
      delete process.env.EXEC_PLUGIN_TEST_SENTINEL;
    }
  });

  void test('stdin is closed', async () => {
    const out = execCredentialJson({ token: JWT_TOKEN });
    const cmd = await plugin('stdin.sh', `if read line; then echo "got input" >&2; exit 7; fi\nprintf '%s' ${q(out)}`);
    assert.equal((await runExecPlugin(request(cmd))).token, JWT_TOKEN);
  });

  void test('exits 1: the error withholds stderr, the log has it redacted', async () => {
    const cmd = await plugin(
      'fail.sh',
      `echo "error: login failed for tenant T-A" >&2\necho "token: ${OPAQUE_TOKEN}" >&2\necho "${JWT_TOKEN}" >&2\nexit 1`,
    );
    const logged: string[] = [];
    const err = await rejection(runExecPlugin(request(cmd), { logStderr: (e) => logged.push(e.debugTail()) }));
    assert.ok(err instanceof ExecPluginTransientError, 'exit ≠ 0 is transient: retried before the held credential expires');
    assert.match(err.message, /exited with code 1/);
    assert.ok(!err.message.includes('login failed for tenant T-A'));
    assert.ok(logged[0]?.includes('login failed for tenant T-A'));
    assertNoSecret(logged[0] ?? '');
    assert.ok(err.message.includes(cmd));
    assert.ok(err.message.includes('"script"'));
    assertNoSecret(err.message);
  });

  void test('hangs: timeout kills the whole process group', async () => {
    const pidFile = join(dir, 'child.pid');
    const cmd = await plugin('hang.sh', `sleep 1000 &\necho $! > ${q(pidFile)}\nwait`);
    const started = Date.now();
    const err = await rejection(runExecPlugin(request(cmd), { timeoutMs: 300 }));
    assert.ok(err instanceof ExecPluginTransientError);
    assert.match(err.message, /did not finish within 300 ms/);
    assert.ok(Date.now() - started < 5000);
    const child = Number((await readFile(pidFile, 'utf8')).trim());
    assert.ok(child > 0);
    for (let i = 0; i < 50 && !gone(child); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(gone(child), 'the plugin\'s own child was killed too');
  });

  void test('a killed plugin is reaped before its run ends: the provider never sees the next run overlap it', async () => {
    const pidFile = join(dir, 'self.pid');
    const cmd = await plugin('hang-self.sh', `echo $$ > ${q(pidFile)}\nwhile :; do sleep 0.05; done`);
    const err = await runExecPlugin(request(cmd), { timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Synchronously from here: no event-loop turn in which Node could reap the process late.
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(err instanceof ExecPluginTransientError);
    assert.ok(pid > 0);
    // Not even a zombie: the process table no longer has it when the run (and so its slot) ends.
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `plugin ${pid} still in the process table after its run ended`);
  });

  void test('prints garbage', async () => {
    const cmd = await plugin('garbage.sh', `echo "Your token is ${JWT_TOKEN}, enjoy"`);
    const err = await rejection(runExecPlugin(request(cmd)));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /not print valid JSON/);
    assertNoSecret(err.message);
  });

  void test('prints more than 1 MiB', async () => {
    const cmd = await plugin('big.sh', `head -c ${MAX_STDOUT_BYTES + 4096} /dev/zero | tr '\\0' 'a'\nsleep 5`);
    const started = Date.now();
    const err = await rejection(runExecPlugin(request(cmd)));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, new RegExp(`more than ${MAX_STDOUT_BYTES} bytes`));
    assert.ok(Date.now() - started < 4000, 'killed, not waited for');
  });

  void test('exactly 1 MiB of valid output is accepted', async () => {
    const json = execCredentialJson({ token: JWT_TOKEN });
    const pad = MAX_STDOUT_BYTES - json.length;
    const cmd = await plugin('edge.sh', `printf '%s' ${q(json)}\nhead -c ${pad} /dev/zero | tr '\\0' ' '`);
    assert.equal((await runExecPlugin(request(cmd))).token, JWT_TOKEN);
  });

  void test('wrong apiVersion', async () => {
    const out = execCredentialJson({ token: JWT_TOKEN }, 'client.authentication.k8s.io/v1beta1');
    const cmd = await plugin('beta.sh', `printf '%s' ${q(out)}`);
    const err = await rejection(runExecPlugin(request(cmd)));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /apiVersion "client.authentication.k8s.io\/v1beta1"/);
    assertNoSecret(err.message);
  });

  void test('cert without key', async () => {
    const out = execCredentialJson({ clientCertificateData: CLIENT_CERT });
    const cmd = await plugin('certonly.sh', `printf '%s' ${q(out)}`);
    const err = await rejection(runExecPlugin(request(cmd)));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /certificate without its key/);
  });

  void test('a command that does not exist', async () => {
    const err = await rejection(runExecPlugin(request(join(dir, 'missing-plugin'))));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /command not found/);
  });

  void test('a file that is not executable', async () => {
    const path = join(dir, 'noexec.sh');
    await writeFile(path, '#!/bin/sh\nexit 0\n');
    await chmod(path, 0o644);
    const err = await rejection(runExecPlugin(request(path)));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /permission denied/);
  });
});
