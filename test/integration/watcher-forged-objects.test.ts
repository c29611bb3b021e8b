// Forged managed objects against the real stack (kube-apiserver + Temporal, no worker): Secrets and
// SveltosClusters with the managed-by label and an ownerReference carrying a live profile's uid, but in
// another watched namespace or under another name, are edited and deleted; the profile's workflow gets no
// resync. A real managed Secret of the profile, deleted, does (the control).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import {
  CLUSTER_PROFILE,
  EXEC_EXTENSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SECRET_READER_PROVIDER,
  SVELTOS_CLUSTER,
  secretNameFor,
  type ClusterProfile,
} from '../../activities/kube/types.js';
import { workflowIdFor } from '../../workflows/api.js';
import { silentLogger } from '../../watcher/log.js';
import { startWatcher, type RunningWatcher } from '../../watcher/watcher.js';
import { eventually, kubeConfig, stackEnv, uniqueName } from '../support/stack.js';

const EventType = proto.temporal.api.enums.v1.EventType;
const CP = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural };
const SC = { group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural };
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('watcher: forged managed objects trigger nothing (real stack, no worker)', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const home = uniqueName('forged-home');
  const elsewhere = uniqueName('forged-else');
  const taskQueue = uniqueName('forged-tq');
  let connection: Connection;
  let client: Client;
  let watcher: RunningWatcher | undefined;

  before(async () => {
    const env = stackEnv();
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
    for (const name of [home, elsewhere]) await core.createNamespace({ body: { metadata: { name } } });
  });

  after(async () => {
    await watcher?.stop();
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('forged-objects test cleanup').catch(() => undefined);
    }
    for (const name of [home, elsewhere]) await core.deleteNamespace({ name }).catch(() => undefined);
    await connection?.close();
  });

  async function signalNames(workflowId: string): Promise<string[]> {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? [])
      .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
      .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? '');
  }

  test('objects elsewhere or under another name carrying the uid are ignored; the real one is drift', async () => {
    await core.createNamespacedSecret({ namespace: home, body: { metadata: { name: 'src' }, stringData: { kubeconfig: 'unused' } } });
    await custom.createNamespacedCustomObject({
      ...CP,
      namespace: home,
      body: { apiVersion: CLUSTER_PROFILE.apiVersion, kind: CLUSTER_PROFILE.kind, metadata: { name: 'spoke' }, spec: { clusterManager: { name: 'test' } } },
    });
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...CP,
        namespace: home,
        name: 'spoke',
        body: { status: { accessProviders: [{ name: SECRET_READER_PROVIDER, cluster: { server: 'https://x.example', extensions: [{ name: EXEC_EXTENSION, extension: { name: 'src', key: 'kubeconfig' } }] } }] } },
      },
      merge(),
    );
    const profile = (await custom.getNamespacedCustomObject({ ...CP, namespace: home, name: 'spoke' })) as ClusterProfile;
    const uid = profile.metadata.uid!;
    const workflowId = workflowIdFor({ namespace: home, name: 'spoke', uid });

    watcher = startWatcher({
      kubeConfig: kc,
      client,
      taskQueue,
      namespaces: [home, elsewhere],
      debounceMs: 200,
      relistPeriodMs: 10 * 60_000,
      retryBackoff: { initialMs: 200, maxMs: 2000 },
      logger: silentLogger,
    });
    await watcher.ready;
    await eventually('the profile was signalled', async () => ((await signalNames(workflowId)).includes('profileChanged') ? true : undefined));
    await watcher.settled();

    const metadata = (namespace: string, name: string) => ({
      name,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ownerReferences: [{ apiVersion: CLUSTER_PROFILE.apiVersion, kind: CLUSTER_PROFILE.kind, name: 'spoke', uid }],
    });
    const forgedSecrets: Array<[string, string]> = [
      [elsewhere, secretNameFor('spoke')],
      [home, secretNameFor('other')],
    ];
    const forgedClusters: Array<[string, string]> = [
      [elsewhere, 'spoke'],
      [home, 'spoke-copy'],
    ];
    const orphanEvents = watcher.counters.decisions.managedOrphanEvents;
    for (const [namespace, name] of forgedSecrets) {
      await core.createNamespacedSecret({ namespace, body: { metadata: metadata(namespace, name), stringData: { kubeconfig: 'forged' } } });
      // The garbage collector may already have removed one whose owner is in another namespace.
      await core.patchNamespacedSecret({ namespace, name, fieldManager: 'intruder', body: { stringData: { kubeconfig: 'edited' } } }, merge()).catch(() => undefined);
    }
    for (const [namespace, name] of forgedClusters) {
      await custom.createNamespacedCustomObject({
        ...SC,
        namespace,
        body: { apiVersion: SVELTOS_CLUSTER.apiVersion, kind: SVELTOS_CLUSTER.kind, metadata: metadata(namespace, name), spec: { kubeconfigKeyName: 'kubeconfig' } },
      });
      await custom
        .patchNamespacedCustomObject({ ...SC, namespace, name, fieldManager: 'intruder', body: { metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, x: 'y' } } } }, merge())
        .catch(() => undefined);
    }
    for (const [namespace, name] of forgedSecrets) await core.deleteNamespacedSecret({ namespace, name }).catch(() => undefined);
    for (const [namespace, name] of forgedClusters) await custom.deleteNamespacedCustomObject({ ...SC, namespace, name }).catch(() => undefined);
    // Every forged object was seen at least for its creation and its deletion (by us, or by the garbage
    // collector for one whose owner is in another namespace).
    const w = watcher;
    await eventually('the watcher saw the forged objects', () =>
      Promise.resolve(w.counters.decisions.managedOrphanEvents - orphanEvents >= 2 * (forgedSecrets.length + forgedClusters.length) ? true : undefined),
    );
    await w.settled();
    assert.deepEqual((await signalNames(workflowId)).filter((s) => s !== 'profileChanged'), [], 'no resync for forged objects');
    assert.equal(w.counters.decisions.managedSecretDrift + w.counters.decisions.managedSveltosClusterDrift, 0);

    // Control: the profile's own Secret (its namespace, its name, its uid), deleted by somebody: drift.
    await core.createNamespacedSecret({ namespace: home, body: { metadata: metadata(home, secretNameFor('spoke')), stringData: { kubeconfig: 'ours' } } });
    await core.deleteNamespacedSecret({ namespace: home, name: secretNameFor('spoke') });
    await eventually('a resync for the real one', async () => ((await signalNames(workflowId)).includes('resyncRequested') ? true : undefined));
    assert.ok(w.counters.decisions.managedSecretDrift >= 1);
  });
});
