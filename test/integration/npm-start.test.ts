// `npm start -- --exit-when-ready` on the local stack, as a newcomer runs it: the example converges,
// the console is readable (text log lines, no task tokens, no webpack report) and ends with the UI
// link of the example's workflow and the "what now". The example goes into a fresh namespace; at the
// default level (info) the activities' own log lines are part of the output, and the SDK attaches a
// task token to each of them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { CLUSTER_PROFILE, SVELTOS_CLUSTER, secretNameFor, type ClusterProfile } from '../../activities/kube/types.js';
import { repoRoot } from '../../tools/stack/paths.js';
import { workflowIdFor } from '../../workflows/api.js';
import { kubeConfig, stackEnv, uniqueName } from '../support/stack.js';

/** A loaded 2-core machine bundles the workflow code and starts the worker slowly. */
const TIMEOUT_MS = 600_000;
const NAME = 'spoke-1';
/** Base64 this long is a blob (task tokens run to hundreds of characters); 64-hex hashes stay below. */
const BASE64_RUN = /[A-Za-z0-9+/]{100,}={0,2}/;

function runNpmStart(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['start', '--silent', '--', ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm start -- --exit-when-ready', { timeout: TIMEOUT_MS }, () => {
  const env = stackEnv();
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const namespace = uniqueName('npm-start');
  const cp = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural, namespace, name: NAME };

  after(async () => {
    // The reconciler is gone, so nobody removes the finalizer on deletion: strip it, then delete what
    // npm start made, and terminate the example's workflow.
    const profile = (await custom.getNamespacedCustomObject(cp).catch(() => undefined)) as ClusterProfile | undefined;
    await custom.patchNamespacedCustomObject({ ...cp, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined);
    await custom.deleteNamespacedCustomObject(cp).catch(() => undefined);
    await custom
      .deleteNamespacedCustomObject({ group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural, namespace, name: NAME })
      .catch(() => undefined);
    for (const name of [secretNameFor(NAME), 'spoke-1-admin-kubeconfig']) await core.deleteNamespacedSecret({ namespace, name }).catch(() => undefined);
    if (profile?.metadata?.uid) {
      const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
      await new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }).workflow
        .getHandle(workflowIdFor({ namespace, name: NAME, uid: profile.metadata.uid }))
        .terminate('npm start test cleanup')
        .catch(() => undefined);
      await connection.close();
    }
  });

  test('converges the example and prints a readable console with the UI link and the what-now', { timeout: TIMEOUT_MS }, async () => {
    const { code, stdout, stderr } = await runNpmStart(['--exit-when-ready', '--log-format', 'text', '--example-namespace', namespace]);
    const all = `${stdout}\n${stderr}`;
    assert.equal(code, 0, `npm start exited with ${code}\n--- stderr\n${stderr.slice(-4000)}`);

    const profile = (await custom.getNamespacedCustomObject(cp)) as ClusterProfile;
    const workflowId = workflowIdFor({ namespace, name: NAME, uid: profile.metadata.uid! });
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    const { runId } = await new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }).workflow.getHandle(workflowId).describe();
    await connection.close();

    // The UI link of the example's (current) run, and the what-now.
    const link = `${env.TEMPORAL_UI_URL}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(workflowId)}/${runId}`;
    assert.ok(stderr.includes(link), `no UI link ${link} in:\n${stderr.slice(-3000)}`);
    assert.match(stderr, new RegExp(`Ready: ClusterProfile ${namespace}/${NAME} converged [\\d.]+ s after start`));
    assert.match(stderr, /What now/);
    assert.match(stderr, /npx clusterinventory status\n/);
    assert.match(stderr, /kind: ClusterProfile/);
    assert.ok(stderr.trimEnd().endsWith('`npm run stack -- down` stops them.'), 'the what-now is the last thing printed');

    // Readable: every log line is a text line, the activities' lines included (named by activity type).
    const logLines = stdout.split('\n').filter(Boolean);
    assert.ok(logLines.length > 0, 'no log lines');
    for (const line of logLines) assert.match(line, /^\d\d:\d\d:\d\d {2}\S/, `not a text log line: ${line.slice(0, 300)}`);
    assert.ok(
      logLines.some((l) => l.includes(`${namespace}/${NAME}`) && /^\d\d:\d\d:\d\d {2}\S+ {2}[A-Za-z]+: /.test(l)),
      `no activity line for the example:\n${logLines.join('\n').slice(-3000)}`,
    );
    assert.doesNotMatch(all, /taskToken/i);
    const blob = BASE64_RUN.exec(all);
    assert.equal(blob, null, `a base64 blob in the output: ${blob?.[0].slice(0, 80)}…`);
    assert.doesNotMatch(all, /webpack|asset workflow-bundle|modules by path/i, 'the bundler report is on the console');
  });
});
