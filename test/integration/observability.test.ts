// Observability of the real `clusterinventory run` process (a child process, so that it owns its
// Temporal runtime and its stdout) against the stack's kube-apiserver and a THROWAWAY Temporal dev
// server of this test's own:
//  - /readyz turns ready once Kubernetes, Temporal and the informers are, and flips to 503 (naming
//    "temporal") when that Temporal server is stopped; /healthz stays 200;
//  - /metrics serves the SDK's worker metrics and ours (syncs, failures by reason, exec plugin duration,
//    seconds until expiry per cluster, profiles by phase, watcher counters) on one endpoint;
//  - stdout is structured JSON, one object per line, even at --log-level trace, and no credential
//    (the plugin's token, also printed on a failing plugin's stderr) appears in stdout or stderr.
// No timing assertion: every wait polls with a generous limit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EXEC_EXTENSION } from '../../activities/kube/types.js';
import { repoRoot } from '../../tools/stack/paths.js';
import { freePort } from '../../tools/stack/processes.js';
import { WATCHER_METRIC_NAMES } from '../../worker/metrics.js';
import { TRANSIENT_CREDENTIAL_ERROR } from '../../workflows/api.js';
import { E2E } from '../support/e2e.js';
import { find, parsePrometheus, total, type Sample } from '../support/prometheus.js';
import { eventually, stackEnv, uniqueName } from '../support/stack.js';
import { startThrowawayTemporal, type ThrowawayTemporal } from '../support/throwaway-temporal.js';

const V1 = 'client.authentication.k8s.io/v1';
const LIMIT_MS = 180_000;

describe('observability of the clusterinventory process', { timeout: 10 * 60_000 }, () => {
  const kube = new E2E(); // only its Kubernetes helpers and namespace: the app runs as a child process
  const token = `obs-${randomBytes(24).toString('hex')}`;
  const good = uniqueName('obs-good');
  const bad = uniqueName('obs-bad');
  const taskQueue = uniqueName('obs-tq');
  let temporal: ThrowawayTemporal | undefined;
  let app: ChildProcess | undefined;
  let appExit: Promise<number | null> | undefined;
  let stdout = '';
  let stderr = '';
  let healthPort = 0;
  let metricsPort = 0;

  const get = async (port: number, path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  };
  const metrics = async (): Promise<{ text: string; samples: Sample[] }> => {
    const { status, body } = await get(metricsPort, '/metrics');
    assert.equal(status, 200);
    return { text: body, samples: parsePrometheus(body) };
  };
  const context = (): string => `\n--- app stderr (tail) ---\n${stderr.slice(-3000)}\n--- app stdout (tail) ---\n${stdout.slice(-3000)}`;

  before(async () => {
    stackEnv();
    temporal = await startThrowawayTemporal();
    await kube.core.createNamespace({ body: { metadata: { name: kube.namespace } } });

    const dir = await mkdtemp(join(tmpdir(), 'ci-obs-'));
    const expiry = new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const tokenOut = join(dir, 'token.json');
    await writeFile(tokenOut, JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status: { token, expirationTimestamp: expiry } }));
    const script = async (file: string, text: string): Promise<string> => {
      const path = join(dir, file);
      await writeFile(path, text);
      await chmod(path, 0o755);
      return path;
    };
    const okPlugin = await script('ok.sh', `#!/bin/sh\nexec cat "${tokenOut}"\n`);
    const failPlugin = await script('fail.sh', `#!/bin/sh\necho "token ${token} was refused" >&2\nexit 1\n`);
    const providerFile = join(dir, 'providers.json');
    const provider = (name: string, command: string) => ({ name, execConfig: { command, args: [], env: [], apiVersion: V1, provideClusterInfo: true } });
    await writeFile(providerFile, JSON.stringify({ providers: [provider('obs-token', okPlugin), provider('obs-fail', failPlugin)] }));

    healthPort = await freePort();
    metricsPort = await freePort();
    const env = {
      ...process.env,
      KUBECONFIG: stackEnv().KUBECONFIG,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
    };
    app = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        'run',
        '--namespaces',
        kube.namespace,
        '--task-queue',
        taskQueue,
        '--health-addr',
        `127.0.0.1:${healthPort}`,
        '--metrics-addr',
        `127.0.0.1:${metricsPort}`,
        '--clusterprofile-provider-file',
        providerFile,
        '--log-level',
        'trace',
      ],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    app.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    app.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    appExit = new Promise((resolve) => app!.once('exit', (code) => resolve(code)));
  });

  after(async () => {
    if (app && app.exitCode === null && app.signalCode === null) {
      app.kill('SIGTERM');
      const killer = setTimeout(() => app?.kill('SIGKILL'), 30_000);
      await appExit;
      clearTimeout(killer);
    }
    await temporal?.stop();
    await kube.core.deleteNamespace({ name: kube.namespace }).catch(() => undefined);
  });

  test('/readyz turns ready once Kubernetes, Temporal and the informers are', async () => {
    await eventually(
      'readyz 200',
      async () => {
        if (app?.exitCode !== null) throw new Error(`the app exited (${app?.exitCode})${context()}`);
        const r = await get(healthPort, '/readyz');
        return r.status === 200 ? r : undefined;
      },
      LIMIT_MS,
    ).catch((e: Error) => assert.fail(`${e.message}${context()}`));
    assert.equal((await get(healthPort, '/healthz')).status, 200);
  });

  test('a synced profile and a failing one show in our metrics', async () => {
    const execCluster = (server: string) => ({ server, extensions: [{ name: EXEC_EXTENSION, extension: { audience: 'obs' } }] });
    await kube.createProfile(good, [{ name: 'obs-token', cluster: execCluster('https://obs-good.example:6443') }]);
    await kube.createProfile(bad, [{ name: 'obs-fail', cluster: execCluster('https://obs-bad.example:6443') }]);

    const { samples, text } = await eventually(
      'sync and failure metrics',
      async () => {
        const m = await metrics();
        const synced = total(m.samples, 'clusterinventory_syncs_total', { provider: 'obs-token', secret_changed: 'true' }) >= 1;
        // A plugin exiting 1 may be a blip: a retryable failure of its own type (retried before expiry).
        const failed = total(m.samples, 'clusterinventory_sync_failures_total', { activity: 'syncProfile', reason: TRANSIENT_CREDENTIAL_ERROR, retryable: 'true' }) >= 1;
        const expiry = find(m.samples, 'clusterinventory_credential_expiry_seconds', { namespace: kube.namespace, name: good }).length === 1;
        // The watcher's counters are copied into metrics every few seconds.
        const watched = total(m.samples, 'clusterinventory_watcher_events_total', { informer: 'clusterprofiles', type: 'added' }) >= 2;
        const signalled = total(m.samples, 'clusterinventory_watcher_signals_total', { signal: 'profileChanged' }) >= 2;
        return synced && failed && expiry && watched && signalled ? m : undefined;
      },
      LIMIT_MS,
    ).catch((e: Error) => assert.fail(`${e.message}${context()}`));

    // Exec plugin runs by provider and outcome, in seconds.
    assert.ok(total(samples, 'clusterinventory_exec_plugin_duration_seconds_count', { provider: 'obs-token', outcome: 'success' }) >= 1, 'successful plugin runs timed');
    assert.ok(total(samples, 'clusterinventory_exec_plugin_duration_seconds_count', { provider: 'obs-fail', outcome: 'error' }) >= 1, 'failed plugin runs timed');
    assert.ok(find(samples, 'clusterinventory_exec_plugin_duration_seconds_bucket', { le: '0.5' }).length > 0, 'our bucket boundaries are used');

    // Seconds until expiry: the plugin's credential lives 6 h.
    const [expiry] = find(samples, 'clusterinventory_credential_expiry_seconds', { namespace: kube.namespace, name: good });
    assert.ok(expiry && expiry.value > 5 * 3600 && expiry.value <= 6 * 3600, `seconds until expiry: ${expiry?.value}`);
    assert.equal(find(samples, 'clusterinventory_credential_expiry_seconds', { name: bad }).length, 0, 'no expiry for a profile that never synced');

    // Profiles by phase (from visibility scans) and the watcher's counters.
    assert.ok(text.includes('# TYPE clusterinventory_profiles gauge'), 'profiles by phase');
    for (const name of WATCHER_METRIC_NAMES) assert.ok(text.includes(`# TYPE ${name} counter`), `watcher metric ${name}`);
    assert.ok(find(samples, 'clusterinventory_watcher_signal_dedup_hits_total').length === 1, 'dedup hits exported');
    assert.ok(find(samples, 'clusterinventory_watcher_relists_total', { informer: 'clusterprofiles', reason: 'periodic' }).length === 1, 'relists exported');
    // Leader election is on by default: the only replica holds the Lease.
    assert.equal(total(samples, 'clusterinventory_leader'), 1, 'the single replica leads');
    assert.equal(total(samples, 'clusterinventory_leader_transitions_total', { transition: 'acquired' }), 1, 'acquired once');

    // The SDK's own worker metrics, on the same endpoint.
    assert.ok(total(samples, 'temporal_request', { operation: 'PollWorkflowTaskQueue' }) + total(samples, 'temporal_long_request', { operation: 'PollWorkflowTaskQueue' }) > 0, 'SDK client request metrics');
    assert.ok(find(samples, 'temporal_worker_task_slots_available', { task_queue: taskQueue }).length > 0, 'SDK worker slot metrics for our task queue');
    assert.ok(find(samples, 'temporal_local_activity_execution_latency_count', { activity_type: 'syncProfile' }).length > 0, 'SDK local activity latency');
  });

  test('/readyz flips to 503 when the Temporal server stops; /healthz and /metrics stay up', async () => {
    await temporal!.stop();
    const notReady = await eventually(
      'readyz 503',
      async () => {
        const r = await get(healthPort, '/readyz');
        return r.status === 503 ? r : undefined;
      },
      LIMIT_MS,
    ).catch((e: Error) => assert.fail(`${e.message}${context()}`));
    assert.match(notReady.body, /temporal/, notReady.body);
    assert.doesNotMatch(notReady.body, /kubernetes/, 'Kubernetes is still fine');
    assert.equal((await get(healthPort, '/healthz')).status, 200, 'alive, just not ready');
    assert.ok((await metrics()).text.includes('clusterinventory_syncs_total'), '/metrics still served');
  });

  test('logs are JSON lines with level, time and message, and never hold the credential', () => {
    const lines = stdout.split('\n').filter(Boolean);
    assert.ok(lines.length > 10, `expected logs, got ${lines.length} lines`);
    for (const [i, line] of lines.entries()) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`stdout line ${i} is not JSON: ${line.slice(0, 200)}`);
      }
      assert.equal(typeof entry.level, 'number', `line ${i}: level`);
      assert.equal(typeof entry.time, 'string', `line ${i}: time`);
      assert.equal(typeof entry.msg, 'string', `line ${i}: msg`);
      assert.equal(entry.app, 'clusterinventory', `line ${i}: app`);
    }
    assert.ok(lines.some((l) => l.includes('"level":10')), 'trace level reaches the output');
    assert.ok(lines.some((l) => l.includes(good) && l.includes('kubeconfig Secret written')), 'the sync was logged');
    assert.ok(lines.some((l) => l.includes(bad) && l.includes('exited with code 1')), 'the failure was logged');
    for (const needle of [token, Buffer.from(token).toString('base64')]) {
      assert.ok(!stdout.includes(needle), 'no credential in stdout');
      assert.ok(!stderr.includes(needle), 'no credential in stderr');
    }
  });
});
