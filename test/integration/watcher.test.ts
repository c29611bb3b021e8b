// The watcher against the real local stack: a real kube-apiserver and a real Temporal dev server, but
// no worker polls the (unique) task queue, so the workflows the watcher starts just sit Running and
// their histories show exactly which signals arrived. Confined to a fresh namespace and task queue.
// No timed assertions: "nothing was sent" is checked after the watcher has provably seen the change
// (its resourceVersion, or a counter) and has settled (nothing pending or in flight).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import {
  CLUSTER_PROFILE,
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SECRET_READER_PROVIDER,
  EXEC_EXTENSION,
  SVELTOS_CLUSTER,
  secretNameFor,
  type ClusterProfile,
} from '../../activities/kube/types.js';
import {
  SearchAttr,
  WORKFLOW_INPUT_VERSION,
  WORKFLOW_TYPE,
  workflowIdFor,
  type ClusterProfileWorkflowInput,
  type ProfileRef,
} from '../../workflows/api.js';
import { jsonLogger, silentLogger } from '../../watcher/log.js';
import { profileRef } from '../../activities/profile/model.js';
import { snapshotOf } from '../../watcher/snapshot.js';
import { startWatcher, type RunningWatcher } from '../../watcher/watcher.js';
import { eventually, kubeConfig, stackEnv, uniqueName } from '../support/stack.js';

const EventType = proto.temporal.api.enums.v1.EventType;
const CP = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural };
const SC = { group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural };
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const apply = () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const HOLD_FINALIZER = 'test.clusterinventory.projectsveltos.io/hold';

interface SignalSeen {
  name: string;
  arg: Record<string, unknown>;
}

function kubeconfigText(token: string): string {
  return `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://spoke.example:6443\nusers:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`;
}

describe('watcher against the local stack (no worker)', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let connection: Connection;
  let client: Client;
  const namespace = uniqueName('watcher');
  const taskQueue = uniqueName('watcher-tq');
  const watchers: RunningWatcher[] = [];
  const heldProfiles: string[] = [];

  const logger = process.env.WATCHER_TEST_LOG ? jsonLogger('debug') : silentLogger;

  function newWatcher(): RunningWatcher {
    const w = startWatcher({
      kubeConfig: kc,
      client,
      taskQueue,
      namespaces: [namespace],
      debounceMs: 200,
      relistPeriodMs: 10 * 60_000,
      retryBackoff: { initialMs: 200, maxMs: 2000 },
      logger,
    });
    watchers.push(w);
    return w;
  }

  async function stopWatcher(w: RunningWatcher): Promise<void> {
    await w.stop();
    watchers.splice(watchers.indexOf(w), 1);
  }

  async function getProfile(name: string): Promise<ClusterProfile> {
    return (await custom.getNamespacedCustomObject({ ...CP, namespace, name })) as ClusterProfile;
  }

  async function createProfile(name: string, labels: Record<string, string>, sourceSecret: string): Promise<ClusterProfile> {
    await custom.createNamespacedCustomObject({
      ...CP,
      namespace,
      body: {
        apiVersion: CLUSTER_PROFILE.apiVersion,
        kind: CLUSTER_PROFILE.kind,
        metadata: { name, namespace, labels },
        spec: { displayName: `Cluster ${name}`, clusterManager: { name: 'test' } },
      },
    });
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...CP,
        namespace,
        name,
        body: {
          status: {
            accessProviders: [
              {
                name: SECRET_READER_PROVIDER,
                cluster: {
                  server: 'https://spoke.example:6443',
                  extensions: [{ name: EXEC_EXTENSION, extension: { name: sourceSecret, key: 'kubeconfig' } }],
                },
              },
            ],
          },
        },
      },
      merge(),
    );
    return getProfile(name);
  }

  async function signalsOf(workflowId: string, runId?: string): Promise<SignalSeen[]> {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const out: SignalSeen[] = [];
    for (const e of history.events ?? []) {
      if (e.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) continue;
      const a = e.workflowExecutionSignaledEventAttributes;
      const payload = a?.input?.payloads?.[0];
      const arg = payload?.data ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>) : {};
      out.push({ name: a?.signalName ?? '', arg });
    }
    return out;
  }

  const named = (signals: SignalSeen[], name: string) => signals.filter((s) => s.name === name);

  /** eventually() for an in-process condition. */
  const until = (what: string, cond: () => boolean): Promise<true> =>
    eventually(what, () => Promise.resolve(cond() ? (true as const) : undefined));

  /** Waits until the watcher has seen this resourceVersion of the profile and has acted on it. */
  async function seenAndSettled(w: RunningWatcher, uid: string, resourceVersion: string): Promise<void> {
    await until(`watcher saw resourceVersion ${resourceVersion}`, () => w.inspect(uid)?.snapshot.resourceVersion === resourceVersion);
    await w.settled();
  }

  async function runningExecutions(workflowId: string): Promise<Array<{ runId: string; hash?: string }>> {
    const out: Array<{ runId: string; hash?: string }> = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Running'` })) {
      const hash = wf.typedSearchAttributes.get(SearchAttr.observedHash);
      out.push({ runId: wf.runId, ...(hash !== undefined ? { hash } : {}) });
    }
    return out;
  }

  before(async () => {
    const env = stackEnv();
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  after(async () => {
    for (const w of [...watchers]) await w.stop();
    for (const name of heldProfiles) {
      await custom
        .patchNamespacedCustomObject({ ...CP, namespace, name, body: { metadata: { finalizers: null } } }, merge())
        .catch(() => undefined);
    }
    if (client) {
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('watcher test cleanup').catch(() => undefined);
      }
    }
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
    await connection?.close();
  });

  // State shared by the ordered tests below.
  let watcherA: RunningWatcher;
  let p1: ClusterProfile;
  let ref1: ProfileRef;
  let id1: string;

  test('a new ClusterProfile gets exactly one workflow, with its search attributes and a profileChanged signal', async () => {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'src-1' }, stringData: { kubeconfig: kubeconfigText('one') } } });
    watcherA = newWatcher();
    await watcherA.ready;
    assert.equal(watcherA.isReady(), true);

    p1 = await createProfile('spoke-1', { env: 'test' }, 'src-1');
    ref1 = profileRef(p1);
    id1 = workflowIdFor(ref1);
    const expected = snapshotOf(p1);
    await seenAndSettled(watcherA, ref1.uid, expected.resourceVersion);

    const signals = named(await signalsOf(id1), 'profileChanged');
    assert.ok(signals.length >= 1, 'at least one profileChanged');
    assert.equal(signals.at(-1)?.arg.observedHash, expected.observedHash, 'the last profileChanged carries the current hash');
    assert.equal(signals.at(-1)?.arg.resourceVersion, expected.resourceVersion);
    assert.equal(signals.at(-1)?.arg.providerCount, 1, 'a provider count, never the names');
    assert.equal(signals.at(-1)?.arg.providerNames, undefined);
    assert.equal(watcherA.counters.signals.profileChanged, signals.length);
    assert.deepEqual(watcherA.inspect(ref1.uid)?.sourceSecrets, [`${namespace}/src-1`]);

    const desc = await client.workflow.getHandle(id1).describe();
    assert.equal(desc.type, WORKFLOW_TYPE);
    assert.equal(desc.taskQueue, taskQueue);
    assert.equal(desc.status.name, 'RUNNING');
    assert.equal(desc.typedSearchAttributes.get(SearchAttr.namespace), namespace);
    assert.equal(desc.typedSearchAttributes.get(SearchAttr.name), 'spoke-1');
    assert.equal(desc.typedSearchAttributes.get(SearchAttr.phase), 'Pending');
    // Set at start, from the snapshot of the first signal-with-start.
    assert.equal(desc.typedSearchAttributes.get(SearchAttr.observedHash), signals[0]?.arg.observedHash);
    assert.equal(await desc.staticSummary(), `ClusterProfile ${namespace}/spoke-1`);
    const details = (await desc.staticDetails()) ?? '';
    for (const part of [namespace, 'spoke-1', ref1.uid]) assert.ok(details.includes(part), `staticDetails mention ${part}`);

    const history = await client.workflow.getHandle(id1).fetchHistory();
    const starts = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    assert.equal(starts.length, 1, 'one run');
    const input = JSON.parse(
      Buffer.from(starts[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString('utf8'),
    ) as ClusterProfileWorkflowInput;
    assert.deepEqual(input.ref, ref1);
    assert.equal(input.version, WORKFLOW_INPUT_VERSION);
    assert.equal(input.schedule, undefined, 'the schedule is the worker\'s, never baked into the input');
    await eventually('visibility lists exactly one running execution', async () =>
      (await runningExecutions(id1)).length === 1 ? true : undefined,
    );
  });

  test('a change of status.conditions or properties only sends nothing', async () => {
    const before = named(await signalsOf(id1), 'profileChanged').length;
    const dedupBefore = watcherA.counters.decisions.dedupHits;
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...CP,
        namespace,
        name: 'spoke-1',
        body: {
          status: {
            conditions: [
              { type: 'ControlPlaneHealthy', status: 'True', reason: 'Healthy', message: 'ok', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
            ],
            properties: [{ name: 'region', value: 'eu-1' }],
          },
        },
      },
      merge(),
    );
    const cur = await getProfile('spoke-1');
    assert.notEqual(cur.metadata.resourceVersion, p1.metadata.resourceVersion);
    assert.equal(snapshotOf(cur).observedHash, snapshotOf(p1).observedHash);
    await seenAndSettled(watcherA, ref1.uid, cur.metadata.resourceVersion!);
    assert.equal(named(await signalsOf(id1), 'profileChanged').length, before, 'no new profileChanged');
    assert.ok(watcherA.counters.decisions.dedupHits > dedupBefore, 'counted as a dedup hit');
    p1 = cur;
  });

  test('a label change sends exactly one profileChanged', async () => {
    const before = named(await signalsOf(id1), 'profileChanged').length;
    await custom.patchNamespacedCustomObject({ ...CP, namespace, name: 'spoke-1', body: { metadata: { labels: { env: 'prod' } } } }, merge());
    const cur = await getProfile('spoke-1');
    const expected = snapshotOf(cur);
    assert.notEqual(expected.observedHash, snapshotOf(p1).observedHash);
    await seenAndSettled(watcherA, ref1.uid, expected.resourceVersion);
    const signals = named(await signalsOf(id1), 'profileChanged');
    assert.equal(signals.length, before + 1, 'one new profileChanged');
    assert.equal(signals.at(-1)?.arg.observedHash, expected.observedHash);
    p1 = cur;
  });

  let watcherB: RunningWatcher;
  let run1: string;

  test('a restarted watcher re-signals nothing for converged profiles and catches up on new ones', async () => {
    await stopWatcher(watcherA);
    // Simulate the workflow having processed the current snapshot: it would then report the current
    // hash in ClusterInventoryObservedHash. Search attributes cannot be upserted from outside, so the
    // run is replaced by one started with that hash (as the workflow would report it).
    const hash = snapshotOf(p1).observedHash;
    await client.workflow.getHandle(id1).terminate('replaced by a run that reports the current hash');
    const input: ClusterProfileWorkflowInput = { version: WORKFLOW_INPUT_VERSION, ref: ref1, snapshot: snapshotOf(p1) };
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      workflowId: id1,
      taskQueue,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SearchAttr.namespace, value: namespace },
        { key: SearchAttr.name, value: 'spoke-1' },
        { key: SearchAttr.phase, value: 'Ready' },
        { key: SearchAttr.observedHash, value: hash },
      ],
    });
    run1 = handle.firstExecutionRunId;
    await eventually('visibility shows the replacement run with the current hash', async () => {
      const running = await runningExecutions(id1);
      return running.length === 1 && running[0]?.runId === run1 && running[0]?.hash === hash ? true : undefined;
    });
    // A profile created while no watcher runs.
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'src-2' }, stringData: { kubeconfig: kubeconfigText('two') } } });
    const p2 = await createProfile('spoke-2', { env: 'test' }, 'src-2');

    watcherB = newWatcher();
    await watcherB.ready;
    await watcherB.settled();
    assert.equal(watcherB.counters.signals.visibilityQueries, 1, 'one visibility query at start-up');
    // The metadata-only Secret lists and watches are accepted by the real API server.
    for (const [name, c] of Object.entries(watcherB.counters.informers)) {
      assert.equal(c.lists, 1, `${name} listed once`);
      assert.equal(c.listErrors + c.watchErrors, 0, `${name} had no errors`);
    }
    assert.deepEqual(await signalsOf(id1, run1), [], 'the converged profile got no signal');
    assert.ok(watcherB.counters.decisions.dedupHits >= 1);
    assert.equal(watcherB.counters.signals.profileChanged, 1, 'only the new profile was signalled');
    const s2 = named(await signalsOf(workflowIdFor(profileRef(p2))), 'profileChanged');
    assert.equal(s2.length, 1);
    assert.equal(s2[0]?.arg.observedHash, snapshotOf(p2).observedHash);
  });

  test("editing a source Secret's data sends resyncRequested to the profiles that read it", async () => {
    await core.patchNamespacedSecret({ namespace, name: 'src-1', body: { stringData: { kubeconfig: kubeconfigText('one-rotated') } } }, merge());
    const resyncs = await eventually('resyncRequested for spoke-1', async () => {
      const r = named(await signalsOf(id1, run1), 'resyncRequested');
      return r.length > 0 ? r : undefined;
    });
    assert.deepEqual(resyncs[0]?.arg, { reason: 'source-secret-changed', object: `${namespace}/src-1` });
    await watcherB.settled();
    assert.equal(named(await signalsOf(id1, run1), 'resyncRequested').length, 1, 'exactly one');
    assert.equal(named(await signalsOf(id1, run1), 'profileChanged').length, 0, 'and no profileChanged');
  });

  test('managed objects: foreign edits of what we own request a resync; a foreign label is not drift', async () => {
    const ownerReferences = [{ apiVersion: CLUSTER_PROFILE.apiVersion, kind: CLUSTER_PROFILE.kind, name: 'spoke-1', uid: ref1.uid }];
    const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, env: 'prod' };
    const resyncs = async () => named(await signalsOf(id1, run1), 'resyncRequested').map((s) => s.arg);
    const base = (await resyncs()).length;

    // Written by us (server-side apply, our field manager): not drift.
    await core.patchNamespacedSecret(
      {
        namespace,
        name: secretNameFor('spoke-1'),
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secretNameFor('spoke-1'), namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences },
          type: 'Opaque',
          data: { kubeconfig: Buffer.from(kubeconfigText('ours')).toString('base64') },
        },
      },
      apply(),
    );
    await custom.patchNamespacedCustomObject(
      {
        ...SC,
        namespace,
        name: 'spoke-1',
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: SVELTOS_CLUSTER.apiVersion,
          kind: SVELTOS_CLUSTER.kind,
          metadata: { name: 'spoke-1', namespace, labels, ownerReferences },
          spec: { kubeconfigName: secretNameFor('spoke-1'), kubeconfigKeyName: 'kubeconfig' },
        },
      },
      apply(),
    );
    await until(
      'the watcher saw both managed objects',
      () => watcherB.counters.informers['managed-secrets'].added >= 1 && watcherB.counters.informers['managed-sveltosclusters'].added >= 1,
    );
    await watcherB.settled();
    assert.equal((await resyncs()).length, base, 'our own writes are not drift');

    // A label somebody else adds to the SveltosCluster: not drift.
    const noDrift = watcherB.counters.decisions.managedNoDrift;
    await custom.patchNamespacedCustomObject(
      { ...SC, namespace, name: 'spoke-1', fieldManager: 'kubectl-label', body: { metadata: { labels: { 'team.example/owner': 'x' } } } },
      merge(),
    );
    await until('the foreign label was seen', () => watcherB.counters.decisions.managedNoDrift > noDrift);
    await watcherB.settled();
    assert.equal((await resyncs()).length, base, 'a foreign label is not drift');

    // Somebody removes a label we set on the SveltosCluster: drift.
    await custom.patchNamespacedCustomObject(
      { ...SC, namespace, name: 'spoke-1', fieldManager: 'kubectl-label', body: { metadata: { labels: { env: null } } } },
      merge(),
    );
    await eventually('managed-sveltoscluster-changed', async () => ((await resyncs()).length === base + 1 ? true : undefined));
    assert.deepEqual((await resyncs()).at(-1), { reason: 'managed-sveltoscluster-changed', object: `${namespace}/spoke-1` });

    // Somebody else edits the Secret: drift.
    await core.patchNamespacedSecret(
      { namespace, name: secretNameFor('spoke-1'), fieldManager: 'intruder', body: { stringData: { kubeconfig: kubeconfigText('theirs') } } },
      merge(),
    );
    await eventually('managed-secret-changed (edit)', async () => ((await resyncs()).length === base + 2 ? true : undefined));
    assert.deepEqual((await resyncs()).at(-1), { reason: 'managed-secret-changed', object: `${namespace}/${secretNameFor('spoke-1')}` });

    // Somebody deletes the Secret: drift.
    await core.deleteNamespacedSecret({ namespace, name: secretNameFor('spoke-1') });
    await eventually('managed-secret-changed (delete)', async () => ((await resyncs()).length === base + 3 ? true : undefined));
    await watcherB.settled();
    assert.equal((await resyncs()).length, base + 3, 'one resync per drift');
    assert.equal(watcherB.counters.decisions.managedSecretDrift, 2);
    assert.equal(watcherB.counters.decisions.managedSveltosClusterDrift, 1);
  });

  test('deleting a profile (held by a finalizer) sends deletionRequested once', async () => {
    await custom.patchNamespacedCustomObject({ ...CP, namespace, name: 'spoke-1', body: { metadata: { finalizers: [HOLD_FINALIZER] } } }, merge());
    heldProfiles.push('spoke-1');
    await custom.deleteNamespacedCustomObject({ ...CP, namespace, name: 'spoke-1' });
    const deleting = await getProfile('spoke-1');
    assert.ok(deleting.metadata.deletionTimestamp, 'lingers with a deletionTimestamp');
    await seenAndSettled(watcherB, ref1.uid, deleting.metadata.resourceVersion!);
    const deletions = named(await signalsOf(id1, run1), 'deletionRequested');
    assert.equal(deletions.length, 1);
    assert.deepEqual(deletions[0]?.arg, { resourceVersion: deleting.metadata.resourceVersion });
    assert.equal(watcherB.inspect(ref1.uid)?.deletionSignalled, true);

    // The finalizer goes, the object goes: nothing more to say.
    await custom.patchNamespacedCustomObject({ ...CP, namespace, name: 'spoke-1', body: { metadata: { finalizers: null } } }, merge());
    await until('the watcher forgot the deleted profile', () => watcherB.inspect(ref1.uid) === undefined);
    await watcherB.settled();
    assert.equal(named(await signalsOf(id1, run1), 'deletionRequested').length, 1, 'still one deletionRequested');
  });

  test('a deletion for a terminated workflow starts a new run, so that cleanup still happens', async () => {
    // A run that COMPLETED is never started again (the end-to-end tests cover that path with a worker);
    // one an operator terminated is, so that the profile is not orphaned.
    const p2 = await getProfile('spoke-2');
    const id2 = workflowIdFor(profileRef(p2));
    const terminated = await client.workflow.getHandle(id2).describe();
    await client.workflow.getHandle(id2).terminate('operator terminated it');
    await custom.deleteNamespacedCustomObject({ ...CP, namespace, name: 'spoke-2' });
    const next = await eventually('a new run of the same workflow ID', async () => {
      const d = await client.workflow.getHandle(id2).describe();
      return d.runId !== terminated.runId && d.status.name === 'RUNNING' ? d : undefined;
    });
    await watcherB.settled();
    const signals = named(await signalsOf(id2, next.runId), 'deletionRequested');
    assert.equal(signals.length, 1, 'the new run received the deletion');
  });

  test('a second watcher replica does not create a second workflow', async () => {
    const watcherC = newWatcher();
    await watcherC.ready;
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'src-3' }, stringData: { kubeconfig: kubeconfigText('three') } } });
    const p3 = await createProfile('spoke-3', {}, 'src-3');
    const uid3 = p3.metadata.uid!;
    const id3 = workflowIdFor(profileRef(p3));
    for (const w of [watcherB, watcherC]) await seenAndSettled(w, uid3, p3.metadata.resourceVersion!);
    for (const w of [watcherB, watcherC]) assert.equal(w.inspect(uid3)?.lastSentHash, snapshotOf(p3).observedHash);

    const history = await client.workflow.getHandle(id3).fetchHistory();
    const events = history.events ?? [];
    assert.equal(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).length, 1, 'one run');
    const changed = named(await signalsOf(id3), 'profileChanged');
    assert.ok(changed.length >= 2, 'both replicas signalled the same run');
    assert.ok(changed.every((s) => typeof s.arg.observedHash === 'string'));
    await eventually('visibility lists exactly one running execution', async () =>
      (await runningExecutions(id3)).length === 1 ? true : undefined,
    );
  });
});
