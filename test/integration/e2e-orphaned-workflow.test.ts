// A ClusterProfile force-deleted (finalizer stripped) while the controller is down leaves its workflow
// running. On start, the watcher finds running workflows whose profile uid is missing from its complete
// list and tells them deletionRequested; the workflow checks with the API server, cleans up and completes.
// The real app (watcher + worker), the real kube-apiserver and the real Temporal dev server.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { startApp } from '../../cli/app.js';
import { createLogger } from '../../worker/logger.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { workflowIdFor } from '../../workflows/api.js';
import { eventually, stackEnv, uniqueName } from '../support/stack.js';

/** A guard against hangs, not a timing assertion. */
const GUARD = { timeout: 5 * 60_000 };

describe('orphaned workflow: profile force-deleted while the controller was down', () => {
  const e2e = new E2E();
  // Our own client: the app's closes with the app.
  let connection: Connection;
  let client: Client;

  before(async () => {
    await e2e.start();
    const env = stackEnv();
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  });

  after(async () => {
    await e2e.stop();
    await connection?.close();
  });

  test('the restarted watcher tells the workflow, which cleans up and completes', GUARD, async () => {
    const name = uniqueName('orphan');
    const source = `${name}-src`;
    await e2e.createSecret(source, { kubeconfig: spokeKubeconfig('tok-orphan-0123456789abcdef') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(source)]);
    await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');
    const handle = client.workflow.getHandle(workflowIdFor({ namespace: e2e.namespace, name, uid: profile.metadata.uid! }));

    // The controller goes down; its workflow keeps running in Temporal.
    await e2e.app.stop();
    // Force-delete: strip every finalizer, then delete. No watcher sees it.
    await e2e.patchProfile(name, { metadata: { finalizers: null } });
    await e2e.deleteProfile(name);
    await eventually(`ClusterProfile ${name} gone`, async () => ((await e2e.getProfile(name)) ? undefined : true));
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the workflow outlived its profile');

    // The controller starts again.
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => e2e.logs.push(...chunk.toString().split('\n').filter(Boolean)));
    e2e.app = await startApp(e2e.config, { kubeConfig: e2e.kc, logger: createLogger('debug', sink) });
    await e2e.app.watcher?.ready;

    await handle.result();
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
    await e2e.waitForGone(name);
    assert.equal(e2e.app.watcher?.counters.decisions.orphanedWorkflows, 1);
    assert.ok(e2e.logs.some((l) => l.includes('running workflow without its ClusterProfile') && l.includes(profile.metadata.uid!)), 'logged');
  });
});
