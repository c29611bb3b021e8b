// The activities' control flow against an in-memory KubeClient: guard retries, stale-owner adoption,
// pending deletions, Event failures, failure conversion and logging outside an activity context.
// The real API server behaviour is covered by test/integration/kube-activities.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { NO_PROVIDER_FILE } from '../../../activities/credentials/provider-file.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { KubeApiError } from '../../../activities/kube/classify.js';
import { PATCH_GUARD_FAILED, type DeleteOutcome, type KubeClient } from '../../../activities/kube/client.js';
import type { ManagedKind } from '../../../activities/kube/types.js';
import {
  FINALIZER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SECRET_READER_PROVIDER,
  type ClusterProfile,
  type SveltosCluster,
  type V1ObjectMeta,
  type V1Secret,
} from '../../../activities/kube/types.js';
import { createReconcileActivities } from '../../../activities/reconcile.js';
import type { ReconcileDeps, StructuredLogger } from '../../../activities/reconcile/scope.js';
import { DEFAULT_SCHEDULE, ErrorType, type ProfileRef, type SyncRequest } from '../../../workflows/api.js';

const REF: ProfileRef = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const TOKEN = 'fake-token-0123456789abcdef0123456789';
const SOURCE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://spoke.example:6443'}
users:
- name: u
  user: {token: ${TOKEN}}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`;

const guardFailure = () => new KubeApiError('changed meanwhile', 422, PATCH_GUARD_FAILED);

/** An in-memory KubeClient; every method can be overridden per test. */
class FakeKube implements KubeClient {
  profile: ClusterProfile | undefined = {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1', resourceVersion: '1' },
    spec: { clusterManager: { name: 't' } },
    status: {
      accessProviders: [
        {
          name: SECRET_READER_PROVIDER,
          cluster: { server: 'https://x', extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: 'src', key: 'kubeconfig' } }] },
        },
      ],
    },
  };
  secrets = new Map<string, V1Secret>([['src', { metadata: { name: 'src', namespace: 'fleet', resourceVersion: '5' }, data: { kubeconfig: Buffer.from(SOURCE_KUBECONFIG).toString('base64') } }]]);
  sveltosClusters = new Map<string, SveltosCluster>();
  calls: string[] = [];
  events: CoreV1Event[] = [];
  rv = 100;

  getClusterProfile = (): Promise<ClusterProfile | undefined> => Promise.resolve(structuredClone(this.profile));
  addFinalizer = (observed: ClusterProfile, finalizer: string): Promise<ClusterProfile> => {
    this.calls.push('addFinalizer');
    this.profile!.metadata.finalizers = [...(observed.metadata.finalizers ?? []), finalizer];
    return Promise.resolve(structuredClone(this.profile!));
  };
  removeFinalizer = (_observed: ClusterProfile, finalizer: string): Promise<ClusterProfile | undefined> => {
    this.calls.push('removeFinalizer');
    this.profile!.metadata.finalizers = (this.profile!.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    return Promise.resolve(structuredClone(this.profile));
  };
  getSecret = (_ns: string, name: string): Promise<V1Secret | undefined> => Promise.resolve(structuredClone(this.secrets.get(name)));
  applySecret = (body: { metadata: V1ObjectMeta; type: string; data: Record<string, string> }): Promise<V1Secret> => {
    this.calls.push('applySecret');
    const prev = this.secrets.get(body.metadata.name!);
    const next: V1Secret = {
      metadata: { ...prev?.metadata, ...body.metadata, uid: prev?.metadata?.uid ?? 'secret-uid', resourceVersion: String(++this.rv) },
      type: body.type,
      data: { ...prev?.data, ...body.data },
    };
    this.secrets.set(body.metadata.name!, next);
    return Promise.resolve(structuredClone(next));
  };
  /** The client's create-if-absent: taken names write nothing; a free one is an apply, recorded as `call`. */
  private createIfAbsent<T>(call: string, taken: boolean, apply: () => Promise<T>): Promise<T | undefined> {
    if (taken) {
      this.calls.push(`${call}: taken`);
      return Promise.resolve(undefined);
    }
    const created = apply();
    this.calls[this.calls.length - 1] = call;
    return created;
  }
  createSecretIfAbsent = (body: { metadata: V1ObjectMeta; type: string; data: Record<string, string> }): Promise<V1Secret | undefined> =>
    this.createIfAbsent('createSecretIfAbsent', this.secrets.has(body.metadata.name!), () => this.applySecret(body));
  deleteSecret = (_ns: string, name: string): Promise<DeleteOutcome> => {
    this.calls.push(`deleteSecret ${name}`);
    return Promise.resolve(this.secrets.delete(name) ? 'deleted' : 'absent');
  };
  getSveltosCluster = (_ns: string, name: string): Promise<SveltosCluster | undefined> => Promise.resolve(structuredClone(this.sveltosClusters.get(name)));
  applySveltosCluster = (body: { metadata: V1ObjectMeta }): Promise<SveltosCluster> => {
    this.calls.push('applySveltosCluster');
    const next = { ...(body as SveltosCluster), metadata: { ...body.metadata, uid: 'sc-uid', resourceVersion: String(++this.rv) } };
    this.sveltosClusters.set(body.metadata.name!, next);
    return Promise.resolve(structuredClone(next));
  };
  createSveltosClusterIfAbsent = (body: { metadata: V1ObjectMeta }): Promise<SveltosCluster | undefined> =>
    this.createIfAbsent('createSveltosClusterIfAbsent', this.sveltosClusters.has(body.metadata.name!), () => this.applySveltosCluster(body));
  deleteSveltosCluster = (_ns: string, name: string): Promise<DeleteOutcome> => {
    this.calls.push(`deleteSveltosCluster ${name}`);
    return Promise.resolve(this.sveltosClusters.delete(name) ? 'deleted' : 'absent');
  };
  removeOwnerReferences = (kind: ManagedKind, observed: V1ObjectMeta, indexes: number[]): Promise<void> => {
    this.calls.push(`removeOwnerReferences ${kind} ${indexes.join(',')}`);
    const store: Map<string, { metadata?: V1ObjectMeta }> = kind === 'Secret' ? this.secrets : this.sveltosClusters;
    const obj = store.get(observed.name!)!;
    obj.metadata!.ownerReferences = (obj.metadata!.ownerReferences ?? []).filter((_, i) => !indexes.includes(i));
    obj.metadata!.resourceVersion = String(++this.rv);
    return Promise.resolve();
  };
  recordEvent = (event: CoreV1Event): Promise<void> => {
    this.events.push(event);
    return Promise.resolve();
  };
}

function capture(): StructuredLogger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    lines.push(`${level} ${msg} ${JSON.stringify(obj)}`);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function activities(kube: FakeKube, logger = capture(), extra: Partial<ReconcileDeps> = {}) {
  return createReconcileActivities({
    kube,
    providers: NO_PROVIDER_FILE,
    secretReaderNamespaces: [],
    execTimeoutMs: 1000,
    now: () => Date.parse('2026-01-01T00:00:00Z'),
    baseEnv: {},
    logger,
    eventInstance: 'test',
    guardAttempts: 3,
    ...extra,
  });
}

describe('reconcile activities (in-memory client)', () => {
  test('ensureFinalizer reads again after a lost guard and then succeeds', async () => {
    const kube = new FakeKube();
    const add = kube.addFinalizer;
    let failures = 1;
    kube.addFinalizer = (observed, f) => (failures-- > 0 ? Promise.reject(guardFailure()) : add(observed, f));
    assert.deepEqual(await activities(kube).ensureFinalizer(REF), { gone: false, deleting: false });
    assert.deepEqual(kube.profile?.metadata.finalizers, [FINALIZER]);
  });

  test('ensureFinalizer gives up after the configured attempts with a retryable error', async () => {
    const kube = new FakeKube();
    let attempts = 0;
    kube.addFinalizer = () => {
      attempts++;
      return Promise.reject(guardFailure());
    };
    await assert.rejects(activities(kube).ensureFinalizer(REF), (e: unknown) => e instanceof KubeApiError && !(e instanceof ApplicationFailure));
    assert.equal(attempts, 3);
  });

  test('a missing profile is ProfileGone for writers and "gone" for ensureFinalizer', async () => {
    const kube = new FakeKube();
    kube.profile = undefined;
    const acts = activities(kube);
    assert.deepEqual(await acts.ensureFinalizer(REF), { gone: true, deleting: false });
    for (const run of [() => acts.syncCredentials(REF), () => acts.applySveltosCluster(REF)]) {
      await assert.rejects(run(), (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.ProfileGone && e.nonRetryable);
    }
  });

  test('syncCredentials writes once, then not again; the result carries no credential', async () => {
    const kube = new FakeKube();
    const logger = capture();
    const acts = activities(kube, logger);
    const first = await acts.syncCredentials(REF);
    assert.equal(first.secretChanged, true);
    const second = await acts.syncCredentials(REF);
    assert.equal(second.secretChanged, false);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.deepEqual(kube.calls, ['createSecretIfAbsent']);
    assert.ok(!JSON.stringify([first, second]).includes(TOKEN));
    // Outside an activity context the injected (pino-style) logger is used, and never sees the token.
    assert.ok(logger.lines.some((l) => l.startsWith('info kubeconfig Secret written')));
    assert.ok(!logger.lines.join('\n').includes(TOKEN));
  });

  test('a label the SveltosCluster cannot carry fails only applySveltosCluster (InvalidInput)', async () => {
    const kube = new FakeKube();
    kube.profile!.metadata.labels = { 'bad key!': 'x' };
    const acts = activities(kube);
    assert.equal((await acts.syncCredentials(REF)).secretChanged, true);
    await assert.rejects(acts.applySveltosCluster(REF), (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.InvalidInput && /bad key!/.test(e.message));
  });

  test('objects of an earlier namesake lose the stale ownerReference before the apply', async () => {
    const kube = new FakeKube();
    const stale = { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: 'spoke-1', uid: 'uid-0', controller: true };
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'anchor', uid: 'cm-uid' };
    kube.sveltosClusters.set('spoke-1', {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      metadata: { name: 'spoke-1', namespace: 'fleet', uid: 'sc-uid', resourceVersion: '7', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: [other, stale] },
    });
    assert.deepEqual(await activities(kube).applySveltosCluster(REF), { changed: true });
    assert.deepEqual(kube.calls, ['removeOwnerReferences SveltosCluster 1', 'applySveltosCluster']);
  });

  test('a foreign SveltosCluster is a non-retryable Conflict and is not written', async () => {
    const kube = new FakeKube();
    kube.sveltosClusters.set('spoke-1', {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      metadata: { name: 'spoke-1', namespace: 'fleet', uid: 'x', resourceVersion: '7' },
    });
    await assert.rejects(activities(kube).applySveltosCluster(REF), (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.Conflict);
    assert.deepEqual(kube.calls, []);
  });

  test('cleanup keeps the finalizer while a deleted object still exists', async () => {
    const kube = new FakeKube();
    kube.profile!.metadata.finalizers = [FINALIZER];
    const acts = activities(kube);
    await acts.applySveltosCluster(REF);
    kube.profile!.metadata.deletionTimestamp = new Date();
    kube.deleteSveltosCluster = () => Promise.resolve('pending');
    await assert.rejects(acts.cleanup(REF), (e: unknown) => e instanceof KubeApiError && /still exists/.test(e.message));
    assert.deepEqual(kube.profile?.metadata.finalizers, [FINALIZER]);
    assert.ok(!kube.calls.includes('removeFinalizer'));
  });

  test('cleanup of a live profile (a forged deletionRequested) deletes nothing: DeletionNotConfirmed, non-retryable', async () => {
    const kube = new FakeKube();
    kube.profile!.metadata.finalizers = [FINALIZER];
    const acts = activities(kube);
    await acts.syncCredentials(REF);
    await acts.applySveltosCluster(REF);
    kube.calls = [];
    await assert.rejects(
      acts.cleanup(REF),
      (e: unknown) =>
        e instanceof ApplicationFailure &&
        e.type === ErrorType.DeletionNotConfirmed &&
        e.nonRetryable &&
        /ClusterProfile fleet\/spoke-1: cleanup refused: .*uid-1.* no deletionTimestamp/.test(e.message),
    );
    assert.deepEqual(kube.calls, []);
    assert.ok(kube.secrets.has('spoke-1-sveltos-kubeconfig'));
    assert.ok(kube.sveltosClusters.has('spoke-1'));
    assert.deepEqual(kube.profile?.metadata.finalizers, [FINALIZER]);
  });

  test('cleanup proceeds when the API server confirms: deletionTimestamp set, uid gone, or replaced by a namesake', async () => {
    for (const confirm of [
      (k: FakeKube) => (k.profile!.metadata.deletionTimestamp = new Date()),
      (k: FakeKube) => (k.profile = undefined),
      (k: FakeKube) => (k.profile!.metadata.uid = 'uid-2'),
    ]) {
      const kube = new FakeKube();
      kube.profile!.metadata.finalizers = [FINALIZER];
      const acts = activities(kube);
      await acts.syncCredentials(REF);
      await acts.applySveltosCluster(REF);
      confirm(kube);
      const result = await acts.cleanup(REF);
      assert.equal(result.secretDeleted, true, String(confirm));
      assert.equal(result.sveltosClusterDeleted, true, String(confirm));
    }
  });

  test('an unowned labelled SveltosCluster holding a field we do not write is a Conflict naming the field, not adopted', async () => {
    const kube = new FakeKube();
    kube.sveltosClusters.set('spoke-1', {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      metadata: { name: 'spoke-1', namespace: 'fleet', uid: 'x', resourceVersion: '7', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      spec: { kubeconfigName: 'spoke-1-sveltos-kubeconfig', kubeconfigKeyName: 'kubeconfig', data: { region: 'eu' } },
    });
    await assert.rejects(
      activities(kube).applySveltosCluster(REF),
      (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.Conflict && /SveltosCluster fleet\/spoke-1: .*spec\.data/.test(e.message),
    );
    assert.deepEqual(kube.calls, []);
    // Nor is it deleted by a confirmed cleanup: it is not ours.
    kube.profile = undefined;
    const result = await activities(kube).cleanup(REF);
    assert.equal(result.sveltosClusterDeleted, false);
    assert.match(result.skipped.join('\n'), /spec\.data/);
  });

  test('tokenRequestRenewalOption: the key Sveltos switched to is left to it (no switching back), and a Warning says what to do', async () => {
    const kube = new FakeKube();
    const renewing = { kubeconfigName: 'spoke-1-sveltos-kubeconfig', kubeconfigKeyName: 're-kubeconfig', tokenRequestRenewalOption: { renewTokenRequestInterval: '1h' } };
    kube.sveltosClusters.set('spoke-1', {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      // Unowned (as the Go controller left it) and already switched by Sveltos: adopted, not a Conflict.
      metadata: { name: 'spoke-1', namespace: 'fleet', uid: 'x', resourceVersion: '7', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      spec: renewing,
    });
    assert.deepEqual(await activities(kube).applySveltosCluster(REF), { changed: true });
    assert.deepEqual(kube.sveltosClusters.get('spoke-1')!.spec, { kubeconfigName: 'spoke-1-sveltos-kubeconfig' }, 'kubeconfigKeyName is not applied');
    const warning = kube.events.find((e) => e.reason === 'SveltosRenewsToken');
    assert.equal(warning?.type, 'Warning');
    assert.match(warning.message!, /SveltosCluster fleet\/spoke-1 has spec\.tokenRequestRenewalOption: Sveltos renews this cluster's token itself and reads key "re-kubeconfig"/);
    assert.match(warning.message!, /remove spec\.tokenRequestRenewalOption and spec\.kubeconfigKeyName/);

    // Before Sveltos switched the key, ours is still applied (unchanged: nothing to fight over yet).
    const early = new FakeKube();
    early.sveltosClusters.set('spoke-1', { ...kube.sveltosClusters.get('spoke-1')!, spec: { ...renewing, kubeconfigKeyName: 'kubeconfig' } });
    early.sveltosClusters.get('spoke-1')!.metadata.ownerReferences = undefined;
    await activities(early).applySveltosCluster(REF);
    assert.equal(early.sveltosClusters.get('spoke-1')!.spec?.kubeconfigKeyName, 'kubeconfig');
    assert.ok(early.events.some((e) => e.reason === 'SveltosRenewsToken'));

    // Without the option nothing is left out and no Warning is recorded.
    const plain = new FakeKube();
    await activities(plain).applySveltosCluster(REF);
    assert.equal(plain.sveltosClusters.get('spoke-1')!.spec?.kubeconfigKeyName, 'kubeconfig');
    assert.equal(plain.events.length, 0);
  });

  test('an unowned labelled SveltosCluster as the Go controller made it (API defaults included) is adopted', async () => {
    const kube = new FakeKube();
    kube.sveltosClusters.set('spoke-1', {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      metadata: { name: 'spoke-1', namespace: 'fleet', uid: 'x', resourceVersion: '7', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, 'projectsveltos.io/k8s-version': 'v1.36.2' } },
      spec: { kubeconfigName: 'spoke-1-sveltos-kubeconfig', kubeconfigKeyName: 'kubeconfig', consecutiveFailureThreshold: 3, pullMode: false },
    });
    assert.deepEqual(await activities(kube).applySveltosCluster(REF), { changed: true });
    assert.deepEqual(kube.calls, ['applySveltosCluster']);
  });

  test('an unowned labelled Secret with a data key we do not write is a Conflict, not adopted (Sveltos re-kubeconfig excepted)', async () => {
    const kube = new FakeKube();
    kube.secrets.set('spoke-1-sveltos-kubeconfig', {
      metadata: { name: 'spoke-1-sveltos-kubeconfig', namespace: 'fleet', uid: 's', resourceVersion: '3', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      type: 'Opaque',
      data: { kubeconfig: 'eA==', 're-kubeconfig': 'eQ==', other: 'eg==' },
    });
    await assert.rejects(
      activities(kube).syncCredentials(REF),
      (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.Conflict && /data\["other"\]/.test(e.message),
    );
    assert.deepEqual(kube.calls, []);
  });

  test('recordEvent drops non-transient failures and lets transient ones be retried', async () => {
    const kube = new FakeKube();
    const logger = capture();
    const acts = activities(kube, logger);
    const event = { type: 'Normal' as const, reason: 'Synced', message: 'ok' };
    await acts.recordEvent(REF, event);
    assert.equal(kube.events[0]?.involvedObject.uid, 'uid-1');

    kube.recordEvent = () => Promise.reject(new InvalidInputError('Event fleet/x', 'reason', 'rejected'));
    await acts.recordEvent(REF, event);
    assert.ok(logger.lines.some((l) => l.startsWith('warn could not record event')));

    kube.recordEvent = () => Promise.reject(new KubeApiError('API server error 503', 503));
    await assert.rejects(acts.recordEvent(REF, event), (e: unknown) => e instanceof KubeApiError);
  });
});

describe('syncProfile: what one sync reads and writes', () => {
  const request = (over: Partial<SyncRequest> = {}): SyncRequest => ({
    finalizerPresent: false,
    full: true,
    previousPhase: 'Pending',
    syncedBefore: false,
    scheduled: false,
    attemptsPerSync: 4,
    ...over,
  });
  const counting = (kube: FakeKube) => {
    const reads: string[] = [];
    const getProfile = kube.getClusterProfile;
    const getSecret = kube.getSecret;
    kube.getClusterProfile = () => (reads.push('getClusterProfile'), getProfile());
    kube.getSecret = (ns, name) => (reads.push(`getSecret ${name}`), getSecret(ns, name));
    return reads;
  };

  test('first sync: finalizer, Secret and SveltosCluster written, a Synced Event, the worker schedule reported', async () => {
    const kube = new FakeKube();
    const report = await activities(kube).syncProfile(REF, request());
    assert.deepEqual(kube.calls.filter((c) => c !== 'recordEvent'), ['addFinalizer', 'createSecretIfAbsent', 'createSveltosClusterIfAbsent']);
    assert.equal(report.secretChanged, true);
    assert.equal(report.sveltosClusterChanged, true);
    assert.deepEqual(report.schedule, DEFAULT_SCHEDULE);
    assert.deepEqual(kube.events.map((e) => e.reason), ['Synced']);
  });

  test('a first sync whose credential cannot be had writes nothing, not even the finalizer; the finalizer precedes the first write', async () => {
    // A fleet behind a provider that is down must not queue its finalizers ahead of healthy profiles.
    const kube = new FakeKube();
    const source = kube.secrets.get('src')!;
    kube.secrets.delete('src');
    await assert.rejects(activities(kube).syncProfile(REF, request()));
    assert.deepEqual(kube.calls, []);
    assert.equal(kube.profile?.metadata.finalizers, undefined);

    kube.secrets.set('src', source);
    await activities(kube).syncProfile(REF, request());
    assert.deepEqual(kube.calls.filter((c) => c !== 'recordEvent').slice(0, 2), ['addFinalizer', 'createSecretIfAbsent']);
  });

  test('a first sync reads no managed object: it creates them, and reads only a name that turns out taken', async () => {
    const kube = new FakeKube();
    const reads = counting(kube);
    const getSveltosCluster = kube.getSveltosCluster;
    kube.getSveltosCluster = (ns, name) => (reads.push(`getSveltosCluster ${name}`), getSveltosCluster(ns, name));
    await activities(kube).syncProfile(REF, request());
    assert.deepEqual(reads, ['getClusterProfile', 'getSecret src']);

    // The workflow started again over objects it wrote before (e.g. after a termination): taken, read, ours.
    kube.calls.length = 0;
    reads.length = 0;
    const again = await activities(kube).syncProfile(REF, request({ finalizerPresent: true }));
    assert.deepEqual(reads, ['getClusterProfile', 'getSecret src', 'getSecret spoke-1-sveltos-kubeconfig', 'getSveltosCluster spoke-1']);
    assert.deepEqual(kube.calls.filter((c) => c !== 'recordEvent'), ['createSecretIfAbsent: taken', 'createSveltosClusterIfAbsent: taken', 'applySveltosCluster']);
    assert.equal(again.secretChanged, false);
  });

  test('a first sync whose names are taken by foreign objects writes nothing to them (Conflict)', async () => {
    const kube = new FakeKube();
    kube.secrets.set('spoke-1-sveltos-kubeconfig', { metadata: { name: 'spoke-1-sveltos-kubeconfig', namespace: 'fleet', uid: 'theirs', resourceVersion: '3' }, data: { kubeconfig: 'dGhlaXJz' } });
    await assert.rejects(
      activities(kube).syncProfile(REF, request()),
      (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.Conflict && /Secret fleet\/spoke-1-sveltos-kubeconfig/.test(e.message),
    );
    assert.deepEqual(kube.calls.filter((c) => c !== 'recordEvent'), ['addFinalizer', 'createSecretIfAbsent: taken']);
    assert.equal(kube.secrets.get('spoke-1-sveltos-kubeconfig')?.data?.kubeconfig, 'dGhlaXJz');

    kube.secrets.delete('spoke-1-sveltos-kubeconfig');
    kube.sveltosClusters.set('spoke-1', { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'spoke-1', namespace: 'fleet', uid: 'x', resourceVersion: '7' } });
    kube.calls.length = 0;
    await assert.rejects(
      activities(kube).syncProfile(REF, request({ finalizerPresent: true })),
      (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.Conflict && /SveltosCluster fleet\/spoke-1/.test(e.message),
    );
    assert.deepEqual(kube.calls.filter((c) => c !== 'recordEvent'), ['createSecretIfAbsent', 'createSveltosClusterIfAbsent: taken']);
    assert.equal(kube.sveltosClusters.get('spoke-1')?.metadata.uid, 'x');
  });

  test('an unchanged scheduled refresh reads the profile and the source only, and writes nothing', async () => {
    const kube = new FakeKube();
    const acts = activities(kube);
    const first = await acts.syncProfile(REF, request());
    kube.calls.length = 0;
    const reads = counting(kube);
    const again = await acts.syncProfile(REF, request({ finalizerPresent: true, full: false, scheduled: true, lastFingerprint: first.fingerprint, previousPhase: 'Ready', syncedBefore: true }));
    assert.deepEqual(reads, ['getClusterProfile', 'getSecret src']);
    assert.deepEqual(kube.calls, [], 'no write');
    assert.equal(again.secretChanged, false);
  });

  test("with the watcher's cache the profile is not read from the API server; a cached namesake is not trusted", async () => {
    const kube = new FakeKube();
    let cached: ClusterProfile | undefined = structuredClone(kube.profile);
    const acts = activities(kube, capture(), { profileCache: () => cached });
    const reads = counting(kube);
    await acts.syncProfile(REF, request({ finalizerPresent: true }));
    assert.ok(!reads.includes('getClusterProfile'), `reads: ${reads.join(', ')}`);
    cached = { ...structuredClone(kube.profile)!, metadata: { ...kube.profile!.metadata, uid: 'uid-of-a-namesake' } };
    reads.length = 0;
    await acts.syncProfile(REF, request({ finalizerPresent: true }));
    assert.ok(reads.includes('getClusterProfile'), 'a cached object of another uid sends the read to the API server');
  });

  test('a forged cleanup request is refused by the API server check: nothing deleted', async () => {
    const kube = new FakeKube();
    const acts = activities(kube);
    await acts.syncProfile(REF, request());
    kube.calls.length = 0;
    await assert.rejects(acts.cleanupProfile(REF, { recordDeletingEvent: true }), (e: unknown) => e instanceof ApplicationFailure && e.type === ErrorType.DeletionNotConfirmed);
    assert.deepEqual(kube.calls.filter((c) => c.startsWith('delete') || c === 'removeFinalizer'), []);
  });
});
