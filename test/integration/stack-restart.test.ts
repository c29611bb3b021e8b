// The local stack restarts like real servers do: the kube-apiserver keeps its CA, serving certificate
// and admin token across `down`/`up` and across a crash (kill -9), so a client that was connected
// before keeps working with the same kubeconfig; the Temporal dev server's SQLite file (WAL mode)
// keeps a workflow started before a `down`/`up` and before a crash.
// These tests stop the shared stack of this checkout and always bring it back up.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { down, loadState, up } from '../../tools/stack/stack.js';
import { isOurs } from '../../tools/stack/processes.js';
import { eventually, kubeConfig, stackEnv, uniqueName } from '../support/stack.js';

const RESTART_TIMEOUT_MS = 240_000;

/**
 * `up` as the stack was brought up: with the test path (Sveltos, the test tools) when it ran, so that the
 * test files after this one find the stack they were promised (`.stack/env` exports SVELTOS_NAMESPACE).
 */
const upAsBefore = (): Promise<void> => up({ forTests: stackEnv().SVELTOS_NAMESPACE !== undefined });

async function killHard(which: 'kube' | 'temporal'): Promise<number> {
  const rec = (await loadState())?.[which];
  assert.ok(rec && isOurs(rec), `the stack's ${which} server is not running`);
  process.kill(rec.pid, 'SIGKILL');
  await eventually(`${which} (pid ${rec.pid}) to exit`, () => Promise.resolve(isOurs(rec) ? undefined : true));
  return rec.pid;
}

/** Polls with the given client until it answers; returns the errors seen on the way. */
async function untilItAnswers<T>(what: string, call: () => Promise<T>): Promise<{ value: T; errors: string[] }> {
  const errors: string[] = [];
  const value = await eventually(
    what,
    async () => {
      try {
        return await call();
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
    60_000,
  );
  return { value, errors };
}

/** What a client sees when the server changed identity: a CA it does not trust, or a token it does not know. */
const IDENTITY_CHANGED = /certificate|self[- ]signed|Unauthorized|\b401\b/i;

describe('the local stack restarts like real servers', { timeout: 3 * RESTART_TIMEOUT_MS }, () => {
  const env = stackEnv();
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = 'default';
  const configMap = uniqueName('restart-probe');
  const cleanups: Array<() => Promise<unknown>> = [];

  after(async () => {
    // Whatever happened, leave the stack running for the next test file.
    await upAsBefore();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('a client created before a kube-apiserver crash keeps working afterwards with the same kubeconfig', { timeout: RESTART_TIMEOUT_MS }, async () => {
    const kubeconfigBefore = await readFile(env.KUBECONFIG, 'utf8');
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: configMap }, data: { written: 'before the crash' } } });
    cleanups.push(() => core.deleteNamespacedConfigMap({ namespace, name: configMap }));

    const oldPid = await killHard('kube');
    await upAsBefore();
    const newPid = (await loadState())?.kube?.pid;
    assert.ok(newPid && newPid !== oldPid, 'up started a new kube-apiserver');

    const { value, errors } = await untilItAnswers('the old client reads the ConfigMap', () => core.readNamespacedConfigMap({ namespace, name: configMap }));
    assert.equal(value.data?.written, 'before the crash', 'etcd data survived the crash');
    assert.deepEqual(errors.filter((e) => IDENTITY_CHANGED.test(e)), [], 'the server kept its CA and token');
    assert.equal(await readFile(env.KUBECONFIG, 'utf8'), kubeconfigBefore, 'the kubeconfig is unchanged');
  });

  test('down/up keeps both servers: the same kube client works, and a workflow started before is still there', { timeout: RESTART_TIMEOUT_MS }, async () => {
    const kubeconfigBefore = await readFile(env.KUBECONFIG, 'utf8');
    const workflowId = uniqueName('stack-durability');
    let connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    // No worker polls this task queue: the workflow stays Running with its first task pending.
    const started = await new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }).workflow.start('stackDurabilityProbe', {
      taskQueue: uniqueName('stack-durability-tq'),
      workflowId,
    });
    await connection.close();
    cleanups.push(async () => {
      const c = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
      try {
        await new Client({ connection: c, namespace: env.TEMPORAL_NAMESPACE }).workflow.getHandle(workflowId).terminate('stack restart test cleanup');
      } finally {
        await c.close();
      }
    });

    await down();
    await upAsBefore();

    const { errors } = await untilItAnswers('the old kube client lists namespaces', () => core.listNamespace());
    assert.deepEqual(errors.filter((e) => IDENTITY_CHANGED.test(e)), [], 'the server kept its CA and token');
    assert.equal(await readFile(env.KUBECONFIG, 'utf8'), kubeconfigBefore);

    const describeIt = async (): Promise<{ runId: string; status: string }> => {
      connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
      try {
        const d = await new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }).workflow.getHandle(workflowId).describe();
        return { runId: d.runId, status: d.status.name };
      } finally {
        await connection.close();
      }
    };
    assert.deepEqual(await describeIt(), { runId: started.firstExecutionRunId, status: 'RUNNING' }, 'survived down/up');

    await killHard('temporal');
    await upAsBefore();
    assert.deepEqual(await describeIt(), { runId: started.firstExecutionRunId, status: 'RUNNING' }, 'survived a crash of the dev server');
  });
});
