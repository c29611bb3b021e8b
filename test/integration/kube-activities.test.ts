// The Kubernetes activities against the real local kube-apiserver (upstream CRDs, real garbage
// collector), run in Temporal's MockActivityEnvironment: syncProfile and cleanupProfile, with the requests
// the workflow sends, for the finalizer, managed Secret and SveltosCluster, change propagation, drift
// repair, conflicts, cleanup, name reuse, exec plugins and Events; and, while workers still register them,
// the first release's five activities end to end.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1OwnerReference,
  type V1Secret,
} from '@kubernetes/client-node';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NO_PROVIDER_FILE, parseProviderFile, type ProviderFile } from '../../activities/credentials/provider-file.js';
import { KubeApiError } from '../../activities/kube/classify.js';
import { createKubeClient, type KubeClient } from '../../activities/kube/client.js';
import { EVENT_COMPONENT } from '../../activities/kube/desired.js';
import {
  DISPLAY_NAME_ANNOTATION,
  EXEC_EXTENSION,
  FIELD_MANAGER,
  FINALIZER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SECRET_READER_PROVIDER,
  SVELTOS_K8S_VERSION_LABEL,
  secretNameFor,
  type AccessProvider,
  type ClusterProfile,
  type SveltosCluster,
} from '../../activities/kube/types.js';
import { createReconcileActivities } from '../../activities/reconcile.js';
import type { StructuredLogger } from '../../activities/reconcile/scope.js';
import {
  ErrorType,
  PROVIDER_WAIT_MAX_ATTEMPTS,
  SYNC_MAX_ATTEMPTS,
  type CleanupResult,
  type FailureDetails,
  type ProfileRef,
  type ProfileSnapshot,
  type SyncReport,
  type SyncRequest,
  type WorkflowStatus,
} from '../../workflows/api.js';
import { statusAfterFailure, statusAfterSuccess, syncRequestFor, type SyncTrigger } from '../../workflows/decide-sync.js';
import { EventReason, nextPhase } from '../../workflows/phase.js';
import type { ReconcileActivities } from '../../workflows/registered-activities.js';
import { eventually, kubeConfig, uniqueName } from '../support/stack.js';
import { spokeKubeconfig } from '../support/e2e.js';
import { selectedContext } from '../support/kubeconfig-view.js';

const NS = 'default';
const CP = { group: 'multicluster.x-k8s.io', version: 'v1alpha1', plural: 'clusterprofiles' } as const;
const SC = { group: 'lib.projectsveltos.io', version: 'v1beta1', plural: 'sveltosclusters' } as const;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// Why the workflow syncs (workflows/decide-sync.ts chooseTrigger): all but the scheduled ones are full syncs.
const INITIAL: SyncTrigger = { reason: 'initial sync', scheduled: false };
const CHANGED: SyncTrigger = { reason: 'profile changed', scheduled: false };
const DRIFT: SyncTrigger = { reason: 'managed-secret-changed', scheduled: false };
const SOURCE_CHANGED: SyncTrigger = { reason: 'source-secret-changed', scheduled: false };
const SVELTOS_CLUSTER_CHANGED: SyncTrigger = { reason: 'managed-sveltoscluster-changed', scheduled: false };
const SCHEDULED: SyncTrigger = { reason: 'scheduled refresh', scheduled: true };
const RETRY: SyncTrigger = { reason: 'retry after a failed sync', scheduled: true };
/** What the status records as observed; the activities never see it. */
const SNAPSHOT: ProfileSnapshot = { resourceVersion: '1', generation: 1, observedHash: 'h', providerCount: 1, deleting: false };

/** Tokens are distinctive so that a leak into a log line is easy to spot. */
function token(tag: string): string {
  return `tok-${tag}-${Math.random().toString(36).slice(2, 10)}-0123456789abcdef`;
}

function secretReader(sourceSecret: string): AccessProvider {
  return {
    name: SECRET_READER_PROVIDER,
    cluster: { server: 'https://ignored.example:6443', extensions: [{ name: EXEC_EXTENSION, extension: { name: sourceSecret, key: 'kubeconfig' } }] },
  };
}

function isFailure(type: string, pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type);
    assert.equal(err.nonRetryable, true);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

/** Collects every log line, from the activity context and from the injected logger. */
class LogCapture implements Logger {
  readonly lines: string[] = [];
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.lines.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`);
  }
  trace(m: string, meta?: LogMetadata) {
    this.log('TRACE', m, meta);
  }
  debug(m: string, meta?: LogMetadata) {
    this.log('DEBUG', m, meta);
  }
  info(m: string, meta?: LogMetadata) {
    this.log('INFO', m, meta);
  }
  warn(m: string, meta?: LogMetadata) {
    this.log('WARN', m, meta);
  }
  error(m: string, meta?: LogMetadata) {
    this.log('ERROR', m, meta);
  }
  structured(): StructuredLogger {
    return {
      debug: (obj, msg) => this.log('DEBUG', msg, obj),
      info: (obj, msg) => this.log('INFO', msg, obj),
      warn: (obj, msg) => this.log('WARN', msg, obj),
      error: (obj, msg) => this.log('ERROR', msg, obj),
    };
  }
}

describe('Kubernetes activities against the local API server', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let kube: KubeClient;
  let env: MockActivityEnvironment;
  let pluginDir: string;
  const logs = new LogCapture();
  const tokens: string[] = [];
  const profiles = new Set<string>();
  const secrets = new Set<string>();
  const sveltosClusters = new Set<string>();
  const configMaps = new Set<string>();

  function activities(providers: ProviderFile = NO_PROVIDER_FILE): ReconcileActivities {
    return createReconcileActivities({
      kube,
      providers,
      secretReaderNamespaces: [],
      execTimeoutMs: 20_000,
      now: () => Date.now(),
      baseEnv: process.env,
      logger: logs.structured(),
      eventInstance: 'kube-activities-test',
    });
  }

  /** Runs an activity in the mock activity context (Context.current() works, logs go to `logs`). */
  function run<K extends keyof ReconcileActivities>(
    acts: ReconcileActivities,
    name: K,
    ...args: Parameters<ReconcileActivities[K]>
  ): ReturnType<ReconcileActivities[K]> {
    const fn = acts[name] as (...a: Parameters<ReconcileActivities[K]>) => ReturnType<ReconcileActivities[K]>;
    return env.run(fn, ...args) as ReturnType<ReconcileActivities[K]>;
  }

  /**
   * One ClusterProfile's workflow as its activities see it: every sync sends the request the workflow
   * would (syncRequestFor, from the status the workflow keeps after each outcome), so that the first sync
   * adds the finalizer and expects free names, and later ones carry the phase, the fingerprint written and
   * the last error; a scheduled refresh of a Ready profile is a light sync.
   */
  class Workflow {
    private status: WorkflowStatus;
    private finalizerPresent = false;

    constructor(
      readonly acts: ReconcileActivities,
      readonly ref: ProfileRef,
    ) {
      this.status = { ref, phase: 'Pending', syncCount: 0, runCount: 1 };
    }

    /** The request of the next sync for `trigger`. */
    request(trigger: SyncTrigger = CHANGED): SyncRequest {
      return syncRequestFor(this.status, this.status.phase, trigger, { finalizerPresent: this.finalizerPresent, attemptsPerSync: SYNC_MAX_ATTEMPTS });
    }

    sync(trigger: SyncTrigger = CHANGED, overrides: Partial<SyncRequest> = {}): Promise<SyncReport> {
      return this.syncWith({ ...this.request(trigger), ...overrides });
    }

    /** Runs syncProfile with `request` and keeps what the workflow would keep of its outcome. */
    async syncWith(request: SyncRequest): Promise<SyncReport> {
      const nowMs = Date.now();
      try {
        const report = await run(this.acts, 'syncProfile', this.ref, request);
        this.finalizerPresent = true;
        const phase = nextPhase(this.status.phase, { type: 'syncSucceeded' });
        this.status = statusAfterSuccess(this.status, { phase, report, snapshot: SNAPSHOT, nowMs, nextAtMs: nowMs + 60_000 });
        return report;
      } catch (err) {
        if (err instanceof ApplicationFailure) this.failed(err, nowMs);
        throw err;
      }
    }

    private failed(failure: ApplicationFailure, nowMs: number): void {
      const written = (failure.details?.[0] as FailureDetails | undefined)?.written;
      if (written) {
        this.status = { ...this.status, provider: written.provider, fingerprint: written.fingerprint, credentialExpiresAtMs: written.expiresAtMs };
        this.finalizerPresent = true;
      }
      // ProfileGone: the workflow goes on to the cleanup.
      if (failure.type === ErrorType.ProfileGone) return;
      const phase = nextPhase(this.status.phase, { type: 'syncFailed' });
      this.status = statusAfterFailure(this.status, {
        phase,
        failure: { type: failure.type ?? 'Error', message: failure.message },
        snapshot: SNAPSHOT,
        nowMs,
        nextAtMs: nowMs + 60_000,
      });
    }

    /** The cleanup; the workflow asks for the Deleting Event on its first cleanup only. */
    cleanup(recordDeletingEvent = true): Promise<CleanupResult> {
      return run(this.acts, 'cleanupProfile', this.ref, { recordDeletingEvent });
    }
  }

  async function createProfile(
    name: string,
    opts: { labels?: Record<string, string>; displayName?: string; providers?: AccessProvider[]; finalizers?: string[] } = {},
  ): Promise<ProfileRef> {
    profiles.add(name);
    const created = (await custom.createNamespacedCustomObject({
      ...CP,
      namespace: NS,
      body: {
        apiVersion: 'multicluster.x-k8s.io/v1alpha1',
        kind: 'ClusterProfile',
        metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}), ...(opts.finalizers ? { finalizers: opts.finalizers } : {}) },
        spec: { clusterManager: { name: 'kube-activities-test' }, ...(opts.displayName ? { displayName: opts.displayName } : {}) },
      },
    })) as ClusterProfile;
    if (opts.providers) {
      await custom.patchNamespacedCustomObjectStatus(
        { ...CP, namespace: NS, name, body: { status: { accessProviders: opts.providers } } },
        merge,
      );
    }
    return { namespace: NS, name, uid: created.metadata.uid! };
  }

  async function patchProfile(name: string, body: object): Promise<void> {
    await custom.patchNamespacedCustomObject({ ...CP, namespace: NS, name, body }, merge);
  }

  async function getProfile(name: string): Promise<ClusterProfile | undefined> {
    try {
      return (await custom.getNamespacedCustomObject({ ...CP, namespace: NS, name })) as ClusterProfile;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  async function putSourceSecret(name: string, tok: string): Promise<void> {
    secrets.add(name);
    tokens.push(tok);
    const data = { kubeconfig: Buffer.from(spokeKubeconfig(tok)).toString('base64') };
    try {
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name }, data } });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
      await core.patchNamespacedSecret({ namespace: NS, name, body: { data } }, merge);
    }
  }

  async function getSecret(name: string): Promise<V1Secret | undefined> {
    try {
      return await core.readNamespacedSecret({ namespace: NS, name });
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  async function getSveltosCluster(name: string): Promise<SveltosCluster | undefined> {
    try {
      return (await custom.getNamespacedCustomObject({ ...SC, namespace: NS, name })) as SveltosCluster;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  function kubeconfigOf(secret: V1Secret | undefined): string {
    return Buffer.from(secret?.data?.kubeconfig ?? '', 'base64').toString('utf8');
  }

  /** A profile with a secretreader source, after its first sync: finalizer, Secret and SveltosCluster written. */
  async function syncedProfile(
    acts: ReconcileActivities,
    opts: { labels?: Record<string, string>; displayName?: string } = {},
  ): Promise<{ ref: ProfileRef; source: string; tok: string; wf: Workflow; first: SyncReport }> {
    const name = uniqueName('kact');
    const source = `${name}-src`;
    const tok = token('a');
    await putSourceSecret(source, tok);
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    const ref = await createProfile(name, { ...opts, providers: [secretReader(source)] });
    const wf = new Workflow(acts, ref);
    const first = await wf.sync(INITIAL);
    assert.equal(first.secretChanged, true);
    assert.equal(first.sveltosClusterChanged, true);
    return { ref, source, tok, wf, first };
  }

  /** The Events recorded on this ClusterProfile incarnation with `reason`. */
  async function eventsOf(ref: ProfileRef, reason: string): Promise<CoreV1Event[]> {
    return (await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.uid=${ref.uid},reason=${reason}` })).items;
  }

  function ownerOf(refs: V1OwnerReference[] | undefined): V1OwnerReference[] {
    return (refs ?? []).filter((r) => r.kind === 'ClusterProfile');
  }

  before(() => {
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    kube = createKubeClient(kc);
    env = new MockActivityEnvironment(undefined, { logger: logs });
  });

  after(async () => {
    for (const name of profiles) {
      try {
        await patchProfile(name, { metadata: { finalizers: null } });
        await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name });
      } catch {
        // gone already
      }
    }
    for (const name of sveltosClusters) await custom.deleteNamespacedCustomObject({ ...SC, namespace: NS, name }).catch(() => undefined);
    for (const name of secrets) await core.deleteNamespacedSecret({ namespace: NS, name }).catch(() => undefined);
    for (const name of configMaps) await core.deleteNamespacedConfigMap({ namespace: NS, name }).catch(() => undefined);
    if (pluginDir) await rm(pluginDir, { recursive: true, force: true });
    // No credential ever reached a log line.
    const all = logs.lines.join('\n');
    for (const tok of tokens) assert.ok(!all.includes(tok), 'a token leaked into the logs');
  });

  test('the first sync adds the finalizer once and keeps other finalizers; a stale, deleting or gone profile is ProfileGone and untouched', async () => {
    const acts = activities();
    const name = uniqueName('kact-fin');
    const source = `${name}-src`;
    await putSourceSecret(source, token('fin'));
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    const ref = await createProfile(name, { finalizers: ['example.com/keep'], providers: [secretReader(source)] });
    const wf = new Workflow(acts, ref);
    const firstRequest = wf.request(INITIAL);
    assert.equal(firstRequest.finalizerPresent, false);
    await wf.syncWith(firstRequest);
    const first = await getProfile(name);
    assert.deepEqual(first?.metadata.finalizers, ['example.com/keep', FINALIZER]);

    // Idempotent: the first sync again (its attempt's result lost) and a later sync write nothing to the profile.
    await run(acts, 'syncProfile', ref, firstRequest);
    assert.equal(wf.request().finalizerPresent, true);
    await wf.sync(CHANGED);
    assert.equal((await getProfile(name))?.metadata.resourceVersion, first?.metadata.resourceVersion);

    // Another uid (a stale workflow of an earlier namesake): ProfileGone, and nothing touched.
    const stale = { ...ref, uid: '00000000-0000-0000-0000-000000000000' };
    await assert.rejects(run(acts, 'syncProfile', stale, firstRequest), isFailure(ErrorType.ProfileGone, /replaced by a new ClusterProfile/));
    assert.equal((await getProfile(name))?.metadata.resourceVersion, first?.metadata.resourceVersion);

    // Deleting: ProfileGone, and our finalizer is not re-added once removed.
    await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name });
    await patchProfile(name, { metadata: { finalizers: ['example.com/keep'] } });
    await assert.rejects(run(acts, 'syncProfile', ref, firstRequest), isFailure(ErrorType.ProfileGone, /being deleted/));
    await assert.rejects(wf.sync(CHANGED), isFailure(ErrorType.ProfileGone, /being deleted/));
    assert.deepEqual((await getProfile(name))?.metadata.finalizers, ['example.com/keep']);

    await patchProfile(name, { metadata: { finalizers: null } });
    assert.equal(await getProfile(name), undefined);
    await assert.rejects(run(acts, 'syncProfile', ref, firstRequest), isFailure(ErrorType.ProfileGone, /no longer exists/));
  });

  test('the first sync creates both objects with the right names, labels, annotation and owner', async () => {
    const acts = activities();
    const { ref, tok, first } = await syncedProfile(acts, { labels: { env: 'staging' }, displayName: 'My Test Cluster' });
    assert.equal(first.provider, SECRET_READER_PROVIDER);
    assert.equal(first.server, 'https://spoke.example:6443');

    assert.ok((await getProfile(ref.name))?.metadata.finalizers?.includes(FINALIZER));
    const secret = await getSecret(secretNameFor(ref.name));
    assert.ok(secret, 'managed Secret exists');
    assert.equal(secret.type, 'Opaque');
    assert.deepEqual(Object.keys(secret.data ?? {}), ['kubeconfig']);
    assert.match(kubeconfigOf(secret), new RegExp(tok));
    assert.equal(secret.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);

    const sc = await getSveltosCluster(ref.name);
    assert.ok(sc, 'SveltosCluster exists');
    assert.equal(sc.spec?.kubeconfigName, secretNameFor(ref.name));
    assert.equal(sc.spec?.kubeconfigKeyName, 'kubeconfig');
    assert.equal(sc.spec?.tokenRequestRenewalOption, undefined);
    assert.deepEqual(sc.metadata.labels, { env: 'staging', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    assert.equal(sc.metadata.annotations?.[DISPLAY_NAME_ANNOTATION], 'My Test Cluster');

    for (const obj of [secret, sc]) {
      const owners = ownerOf(obj.metadata?.ownerReferences);
      assert.equal(owners.length, 1);
      assert.equal(owners[0]?.name, ref.name);
      assert.equal(owners[0]?.uid, ref.uid);
      assert.equal(owners[0]?.controller, true);
    }
    // One field manager owns what we wrote.
    const managers = new Set((secret.metadata?.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`));
    assert.deepEqual([...managers], ['clusterinventory-controller/Apply']);
  });

  test('an unchanged second sync writes nothing (full after a change, light on the scheduled refresh)', async () => {
    const acts = activities();
    const { ref, wf, first } = await syncedProfile(acts, { labels: { env: 'prod' } });
    const secretBefore = await getSecret(secretNameFor(ref.name));
    const scBefore = await getSveltosCluster(ref.name);

    const full = await wf.sync(CHANGED);
    assert.equal(full.secretChanged, false);
    assert.equal(full.sveltosClusterChanged, false);
    assert.equal(full.provider, SECRET_READER_PROVIDER);
    assert.equal(full.server, 'https://spoke.example:6443');
    assert.match(full.fingerprint, /^[0-9a-f]{16}$/);
    assert.equal(full.fingerprint, first.fingerprint);
    assert.equal('kubeconfig' in full, false);

    const lightRequest = wf.request(SCHEDULED);
    assert.equal(lightRequest.full, false);
    assert.equal(lightRequest.lastFingerprint, first.fingerprint);
    const light = await wf.syncWith(lightRequest);
    assert.equal(light.secretChanged, false);
    assert.equal(light.sveltosClusterChanged, false);
    assert.equal(light.fingerprint, first.fingerprint);

    assert.equal((await getSecret(secretNameFor(ref.name)))?.metadata?.resourceVersion, secretBefore?.metadata?.resourceVersion);
    assert.equal((await getSveltosCluster(ref.name))?.metadata.resourceVersion, scBefore?.metadata.resourceVersion);
  });

  test('a rotated source Secret changes the managed Secret (on the scheduled refresh, and on the resync the watcher asks for)', async () => {
    const acts = activities();
    const { ref, source, wf, first } = await syncedProfile(acts);
    const rotated = token('rotated');
    await putSourceSecret(source, rotated);
    const refreshed = await wf.sync(SCHEDULED);
    assert.equal(refreshed.secretChanged, true);
    assert.notEqual(refreshed.fingerprint, first.fingerprint);
    assert.match(kubeconfigOf(await getSecret(secretNameFor(ref.name))), new RegExp(rotated));

    const again = token('rotated-again');
    await putSourceSecret(source, again);
    const resynced = await wf.sync(SOURCE_CHANGED);
    assert.equal(resynced.secretChanged, true);
    assert.notEqual(resynced.fingerprint, refreshed.fingerprint);
    assert.match(kubeconfigOf(await getSecret(secretNameFor(ref.name))), new RegExp(again));
  });

  test('profile labels propagate by server-side apply while labels of other writers survive', async () => {
    const acts = activities();
    const { ref, wf } = await syncedProfile(acts, { labels: { env: 'staging', tier: 'gold' } });
    // sveltoscluster-manager and classifier label the cluster themselves, as another field manager.
    await custom.patchNamespacedCustomObject(
      {
        ...SC,
        namespace: NS,
        name: ref.name,
        body: { metadata: { labels: { [SVELTOS_K8S_VERSION_LABEL]: 'v1.36.2', 'sveltos-agent': 'present' } } },
        fieldManager: 'sveltoscluster-manager',
      },
      merge,
    );

    await patchProfile(ref.name, { metadata: { labels: { env: 'prod', tier: null, region: 'eu-1' } } });
    assert.equal((await wf.sync(CHANGED)).sveltosClusterChanged, true);
    const labels = (await getSveltosCluster(ref.name))?.metadata.labels;
    assert.deepEqual(labels, {
      env: 'prod',
      region: 'eu-1',
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      [SVELTOS_K8S_VERSION_LABEL]: 'v1.36.2',
      'sveltos-agent': 'present',
    });

    // Removing every profile label keeps managed-by and the foreign labels.
    await patchProfile(ref.name, { metadata: { labels: null } });
    assert.equal((await wf.sync(CHANGED)).sveltosClusterChanged, true);
    assert.deepEqual((await getSveltosCluster(ref.name))?.metadata.labels, {
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      [SVELTOS_K8S_VERSION_LABEL]: 'v1.36.2',
      'sveltos-agent': 'present',
    });
    assert.equal((await wf.sync(CHANGED)).sveltosClusterChanged, false);
  });

  test('displayName is added, changed and removed as the display-name annotation', async () => {
    const acts = activities();
    const { ref, wf } = await syncedProfile(acts);
    const annotation = async () => (await getSveltosCluster(ref.name))?.metadata.annotations?.[DISPLAY_NAME_ANNOTATION];
    assert.equal(await annotation(), undefined);

    await patchProfile(ref.name, { spec: { displayName: 'Cluster One' } });
    assert.equal((await wf.sync(CHANGED)).sveltosClusterChanged, true);
    assert.equal(await annotation(), 'Cluster One');

    await patchProfile(ref.name, { spec: { displayName: 'Cluster Uno' } });
    assert.equal((await wf.sync(CHANGED)).sveltosClusterChanged, true);
    assert.equal(await annotation(), 'Cluster Uno');

    // Someone else's annotation (the shard key) is not ours to remove.
    await custom.patchNamespacedCustomObject(
      { ...SC, namespace: NS, name: ref.name, body: { metadata: { annotations: { 'sharding.projectsveltos.io/key': 'a' } } }, fieldManager: 'sveltosctl' },
      merge,
    );
    await patchProfile(ref.name, { spec: { displayName: null } });
    assert.equal((await wf.sync(CHANGED)).sveltosClusterChanged, true);
    assert.equal(await annotation(), undefined);
    assert.equal((await getSveltosCluster(ref.name))?.metadata.annotations?.['sharding.projectsveltos.io/key'], 'a');
  });

  test('a managed Secret deleted by hand is restored by the next sync', async () => {
    const acts = activities();
    const { ref, tok, wf } = await syncedProfile(acts);
    await core.deleteNamespacedSecret({ namespace: NS, name: secretNameFor(ref.name) });
    assert.equal(await getSecret(secretNameFor(ref.name)), undefined);

    const report = await wf.sync(DRIFT);
    assert.equal(report.secretChanged, true);
    const restored = await getSecret(secretNameFor(ref.name));
    assert.match(kubeconfigOf(restored), new RegExp(tok));
    assert.equal(ownerOf(restored?.metadata?.ownerReferences)[0]?.uid, ref.uid);
  });

  test('a pre-existing unmanaged Secret or SveltosCluster is a Conflict and is left untouched', async () => {
    const acts = activities();
    const name = uniqueName('kact-conflict');
    const source = `${name}-src`;
    await putSourceSecret(source, token('c'));
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    const foreignSecret = await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: secretNameFor(name), labels: { app: 'hand-made' } }, data: { kubeconfig: Buffer.from('mine').toString('base64') } },
    });
    const foreignSc = (await custom.createNamespacedCustomObject({
      ...SC,
      namespace: NS,
      body: {
        apiVersion: 'lib.projectsveltos.io/v1beta1',
        kind: 'SveltosCluster',
        metadata: { name, labels: { 'registered-by': 'sveltosctl' } },
        spec: { kubeconfigName: secretNameFor(name), kubeconfigKeyName: 'kubeconfig' },
      },
    })) as SveltosCluster;
    const ref = await createProfile(name, { providers: [secretReader(source)] });
    const wf = new Workflow(acts, ref);

    await assert.rejects(wf.sync(INITIAL), isFailure(ErrorType.Conflict, new RegExp(`Secret ${NS}/${secretNameFor(name)}: exists and is not managed`)));
    const secretAfter = await getSecret(secretNameFor(name));
    assert.equal(secretAfter?.metadata?.resourceVersion, foreignSecret.metadata?.resourceVersion);
    assert.equal(kubeconfigOf(secretAfter), 'mine');
    assert.equal((await getSveltosCluster(name))?.metadata.resourceVersion, foreignSc.metadata.resourceVersion);

    // A Secret labelled managed-by but owned by another (live) ClusterProfile is not ours either.
    const other = await createProfile(uniqueName('kact-other'));
    await core.deleteNamespacedSecret({ namespace: NS, name: secretNameFor(name) });
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: secretNameFor(name),
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          ownerReferences: [{ apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: other.name, uid: other.uid }],
        },
        data: { kubeconfig: Buffer.from('theirs').toString('base64') },
      },
    });
    await assert.rejects(wf.sync(RETRY), isFailure(ErrorType.Conflict, new RegExp(`owned by ClusterProfile ${other.name}`)));
    assert.equal(kubeconfigOf(await getSecret(secretNameFor(name))), 'theirs');

    // With the Secret's name free, the Secret is written and the foreign SveltosCluster is the Conflict: the
    // failure tells the workflow which credential the Secret now holds.
    await core.deleteNamespacedSecret({ namespace: NS, name: secretNameFor(name) });
    await assert.rejects(wf.sync(RETRY), (err: unknown) => {
      isFailure(ErrorType.Conflict, new RegExp(`^SveltosCluster ${NS}/${name}: exists and is not managed`))(err);
      const written = ((err as ApplicationFailure).details?.[0] as FailureDetails | undefined)?.written;
      assert.equal(written?.secretChanged, true);
      assert.equal(written?.provider, SECRET_READER_PROVIDER);
      return true;
    });
    assert.deepEqual(ownerOf((await getSecret(secretNameFor(name)))?.metadata?.ownerReferences).map((r) => r.uid), [ref.uid]);
    assert.equal((await getSveltosCluster(name))?.metadata.resourceVersion, foreignSc.metadata.resourceVersion);
  });

  test("a first sync creates without reading (apply under a resourceVersion nothing has); a taken name is read and a foreign object left untouched", async () => {
    const acts = activities();
    // Free names: created, owned by our field manager as an apply (so that later applies can drop fields).
    const free = uniqueName('kact-first');
    await putSourceSecret(`${free}-src`, token('f'));
    secrets.add(secretNameFor(free));
    sveltosClusters.add(free);
    const report = await new Workflow(acts, await createProfile(free, { providers: [secretReader(`${free}-src`)] })).sync(INITIAL);
    assert.equal(report.secretChanged && report.sveltosClusterChanged, true);
    for (const meta of [(await getSecret(secretNameFor(free)))?.metadata, (await getSveltosCluster(free))?.metadata]) {
      assert.deepEqual(meta?.managedFields?.map((m) => `${m.manager}/${m.operation}`), [`${FIELD_MANAGER}/Apply`]);
    }
    // Taken names: the create-if-absent apply is refused (409), the read finds a foreign Secret: Conflict.
    const taken = uniqueName('kact-taken');
    await putSourceSecret(`${taken}-src`, token('t'));
    secrets.add(secretNameFor(taken));
    const foreign = await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: secretNameFor(taken) }, data: { kubeconfig: Buffer.from('mine').toString('base64') } },
    });
    assert.equal(await kube.createSecretIfAbsent({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretNameFor(taken), namespace: NS, labels: {} }, type: 'Opaque', data: { kubeconfig: '' } } as never), undefined);
    await assert.rejects(
      new Workflow(acts, await createProfile(taken, { providers: [secretReader(`${taken}-src`)] })).sync(INITIAL),
      isFailure(ErrorType.Conflict, new RegExp(`Secret ${NS}/${secretNameFor(taken)}: exists and is not managed`)),
    );
    const after = await getSecret(secretNameFor(taken));
    assert.equal(after?.metadata?.resourceVersion, foreign.metadata?.resourceVersion);
    assert.equal(kubeconfigOf(after), 'mine');
  });

  test('a managed Secret without owner (made by the Go controller) is adopted', async () => {
    const acts = activities();
    const name = uniqueName('kact-adopt');
    const source = `${name}-src`;
    const tok = token('adopt');
    await putSourceSecret(source, tok);
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: secretNameFor(name), labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
        data: { kubeconfig: Buffer.from('old-seed-kubeconfig').toString('base64') },
      },
    });
    const ref = await createProfile(name, { providers: [secretReader(source)] });
    assert.equal((await new Workflow(acts, ref).sync(INITIAL)).secretChanged, true);
    const secret = await getSecret(secretNameFor(name));
    assert.match(kubeconfigOf(secret), new RegExp(tok));
    assert.deepEqual(ownerOf(secret?.metadata?.ownerReferences).map((r) => r.uid), [ref.uid]);
  });

  test('objects left by an earlier ClusterProfile of the same name are adopted (one controller owner remains)', async () => {
    const acts = activities();
    const name = uniqueName('kact-stale');
    const source = `${name}-src`;
    const tok = token('stale');
    await putSourceSecret(source, tok);
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    const ref = await createProfile(name, { providers: [secretReader(source)] });
    // A live, non-controller owner keeps the garbage collector from deleting the objects outright; it
    // may still strip the dangling reference itself: either way the end state below must hold.
    const anchor = `${name}-anchor`;
    configMaps.add(anchor);
    const cm = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: anchor } } });
    const ownerRefs: V1OwnerReference[] = [
      { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name, uid: '11111111-2222-3333-4444-555555555555', controller: true },
      { apiVersion: 'v1', kind: 'ConfigMap', name: anchor, uid: cm.metadata!.uid! },
    ];
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: secretNameFor(name), labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: ownerRefs },
        data: { kubeconfig: Buffer.from('stale').toString('base64') },
      },
    });
    await custom.createNamespacedCustomObject({
      ...SC,
      namespace: NS,
      body: {
        apiVersion: 'lib.projectsveltos.io/v1beta1',
        kind: 'SveltosCluster',
        metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: ownerRefs },
        spec: { kubeconfigName: secretNameFor(name), kubeconfigKeyName: 'kubeconfig' },
      },
    });

    const report = await new Workflow(acts, ref).sync(INITIAL);
    assert.equal(report.secretChanged && report.sveltosClusterChanged, true);
    const secret = await getSecret(secretNameFor(name));
    const sc = await getSveltosCluster(name);
    assert.match(kubeconfigOf(secret), new RegExp(tok));
    for (const obj of [secret, sc]) {
      assert.deepEqual(ownerOf(obj?.metadata?.ownerReferences).map((r) => r.uid), [ref.uid]);
      assert.equal(obj?.metadata?.ownerReferences?.filter((r) => r.controller).length, 1);
    }
  });

  test('cleanup deletes our objects, leaves foreign ones, removes the finalizer, records Deleting once, and is idempotent', async () => {
    const acts = activities();
    const { ref, wf } = await syncedProfile(acts);
    await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name: ref.name });
    assert.ok((await getProfile(ref.name))?.metadata.deletionTimestamp, 'held by our finalizer');
    // A sync that races the deletion writes nothing more.
    await assert.rejects(wf.sync(CHANGED), isFailure(ErrorType.ProfileGone, /being deleted/));

    assert.deepEqual(await wf.cleanup(), { sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] });
    assert.equal(await getSecret(secretNameFor(ref.name)), undefined);
    assert.equal(await getSveltosCluster(ref.name), undefined);
    assert.equal(await getProfile(ref.name), undefined, 'the ClusterProfile is gone once our finalizer is removed');
    const deleting = await eventsOf(ref, EventReason.Deleting);
    assert.equal(deleting.length, 1);
    assert.equal(deleting[0]?.type, 'Normal');
    assert.match(deleting[0]?.message ?? '', new RegExp(`^ClusterProfile ${NS}/${ref.name} is being deleted`));
    // Run again (the workflow's retry): nothing left to do, and no second Deleting Event.
    assert.deepEqual(await wf.cleanup(false), { sveltosClusterDeleted: false, secretDeleted: false, finalizerRemoved: false, skipped: [] });
    assert.deepEqual((await eventsOf(ref, EventReason.Deleting)).map((e) => e.count), [1]);

    // With a foreign Secret in the way (ours replaced by hand): the SveltosCluster goes, the Secret stays and is reported.
    const { ref: ref2, wf: wf2 } = await syncedProfile(acts);
    const name = ref2.name;
    await core.deleteNamespacedSecret({ namespace: NS, name: secretNameFor(name) });
    const foreign = await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: secretNameFor(name) }, data: { kubeconfig: Buffer.from('hand-made').toString('base64') } },
    });
    await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name });
    const result = await wf2.cleanup();
    assert.equal(result.sveltosClusterDeleted, true);
    assert.equal(result.secretDeleted, false);
    assert.equal(result.finalizerRemoved, true);
    assert.equal(result.skipped.length, 1);
    assert.match(result.skipped[0] ?? '', new RegExp(`^Secret ${NS}/${secretNameFor(name)}: it has no label`));
    assert.equal((await getSecret(secretNameFor(name)))?.metadata?.uid, foreign.metadata?.uid);
    assert.equal(await getSveltosCluster(name), undefined);
    assert.equal(await getProfile(name), undefined);
  });

  test('a ClusterProfile recreated with the same name (new uid) works; the old incarnation touches nothing', async () => {
    const acts = activities();
    const { ref: oldRef, source, wf: oldWf } = await syncedProfile(acts, { labels: { gen: 'one' } });
    await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name: oldRef.name });
    await oldWf.cleanup();
    assert.equal(await getProfile(oldRef.name), undefined);

    const newRef = await createProfile(oldRef.name, { labels: { gen: 'two' }, providers: [secretReader(source)] });
    assert.notEqual(newRef.uid, oldRef.uid);
    // The old workflow's syncs see the profile as replaced, whether or not they know of the finalizer.
    await assert.rejects(oldWf.sync(SCHEDULED), isFailure(ErrorType.ProfileGone, /replaced/));
    await assert.rejects(oldWf.sync(CHANGED, { finalizerPresent: false }), isFailure(ErrorType.ProfileGone, /replaced/));
    assert.equal((await getProfile(newRef.name))?.metadata.finalizers, undefined, 'the old incarnation added no finalizer');
    assert.equal(await getSecret(secretNameFor(newRef.name)), undefined);
    assert.equal(await getSveltosCluster(newRef.name), undefined);

    const report = await new Workflow(acts, newRef).sync(INITIAL);
    assert.equal(report.secretChanged, true);
    assert.equal(report.sveltosClusterChanged, true);
    const sc = await getSveltosCluster(newRef.name);
    assert.equal(sc?.metadata.labels?.gen, 'two');
    assert.deepEqual(ownerOf(sc?.metadata.ownerReferences).map((r) => r.uid), [newRef.uid]);

    // A late cleanup of the old incarnation leaves the new one's objects and finalizer alone.
    const late = await oldWf.cleanup();
    assert.equal(late.sveltosClusterDeleted, false);
    assert.equal(late.secretDeleted, false);
    assert.equal(late.finalizerRemoved, false);
    assert.equal(late.skipped.length, 2);
    assert.ok(await getSveltosCluster(newRef.name));
    assert.ok(await getSecret(secretNameFor(newRef.name)));
    assert.ok((await getProfile(newRef.name))?.metadata.finalizers?.includes(FINALIZER));
    assert.deepEqual(await eventsOf(newRef, EventReason.Deleting), []);
  });

  test('an exec-plugin provider: the Secret carries the plugin token and the expiry is returned', async () => {
    pluginDir = await mkdtemp(join(tmpdir(), 'kact-plugin-'));
    const plugin = join(pluginDir, 'token-plugin.sh');
    const tok = token('plugin');
    tokens.push(tok);
    const expiry = new Date(Date.now() + 3_600_000);
    expiry.setUTCMilliseconds(0);
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: tok, expirationTimestamp: expiry.toISOString().replace('.000Z', 'Z') },
    };
    await writeFile(plugin, `#!/bin/sh\nprintf '%s\\n' '${JSON.stringify(credential)}'\n`);
    await chmod(plugin, 0o755);
    const providers = parseProviderFile(
      JSON.stringify({ providers: [{ name: 'test-plugin', execConfig: { command: plugin, apiVersion: 'client.authentication.k8s.io/v1' } }] }),
      join(pluginDir, 'providers.json'),
    );
    const acts = activities(providers);

    const name = uniqueName('kact-exec');
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    const ref = await createProfile(name, { providers: [{ name: 'test-plugin', cluster: { server: 'https://plugin-spoke.example:6443' } }] });
    // As the workflow runs a plugin outside its workflow task: a provider wait (a regular activity).
    const report = await new Workflow(acts, ref).sync(INITIAL, { execMode: 'wait', attemptsPerSync: PROVIDER_WAIT_MAX_ATTEMPTS });
    assert.equal(report.provider, 'test-plugin');
    assert.equal(report.server, 'https://plugin-spoke.example:6443');
    assert.equal(report.expiresAtMs, expiry.getTime());
    assert.equal(report.secretChanged, true);
    assert.equal(report.sveltosClusterChanged, true);
    const kubeconfig = kubeconfigOf(await getSecret(secretNameFor(name)));
    assert.match(kubeconfig, new RegExp(tok));
    const selected = selectedContext(kubeconfig);
    assert.equal(selected.cluster.server, 'https://plugin-spoke.example:6443');
    assert.equal(selected.user.exec, undefined);
    assert.doesNotMatch(kubeconfig, /"exec"/);
    assert.ok(!JSON.stringify(report).includes(tok), 'the result carries no credential');
  });

  test('client: a cancelled caller stops its requests; an unreachable server is a retryable KubeApiError', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    controller.abort(reason);
    const cancelled = createKubeClient(kc, { signal: () => controller.signal });
    await assert.rejects(cancelled.getSecret(NS, 'anything'), (e: unknown) => e === reason);

    const unreachable = new KubeConfig();
    unreachable.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-a-real-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(createKubeClient(unreachable).getClusterProfile(NS, 'p'), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.reason, 'ECONNREFUSED');
      assert.match(e.message, /^get ClusterProfile default\/p: cannot reach the Kubernetes API server/);
      return true;
    });
  });


  test('Events of syncs are recorded on the ClusterProfile and repeated ones are counted', async () => {
    const acts = activities();
    const name = uniqueName('kact-event');
    const ref = await createProfile(name);
    const wf = new Workflow(acts, ref);
    // No access provider: the first sync fails and records a Warning; the same sync run again (its result
    // lost with a worker) records the same Warning, counted. A Warning of a local sync is sent in the
    // background, hence the wait.
    const first = wf.request(INITIAL);
    const noProvider = isFailure(ErrorType.InvalidInput, new RegExp(`^ClusterProfile ${NS}/${name}: `));
    await assert.rejects(run(acts, 'syncProfile', ref, first), noProvider);
    await assert.rejects(wf.syncWith(first), noProvider);
    const warning = await eventually('the Warning counted twice', async () => {
      const [event] = await eventsOf(ref, ErrorType.InvalidInput);
      return event?.count === 2 ? event : undefined;
    });
    assert.equal(warning.type, 'Warning');
    // The workflow's retry fails the same way: no new Warning.
    await assert.rejects(wf.sync(RETRY), noProvider);

    const source = `${name}-src`;
    await putSourceSecret(source, token('event'));
    secrets.add(secretNameFor(name));
    sveltosClusters.add(name);
    await custom.patchNamespacedCustomObjectStatus({ ...CP, namespace: NS, name, body: { status: { accessProviders: [secretReader(source)] } } }, merge);
    await wf.sync(CHANGED);
    const [synced] = await eventsOf(ref, EventReason.Synced);
    assert.ok(synced, 'Synced event recorded');
    assert.equal(synced.count, 1);
    assert.equal(synced.type, 'Normal');
    assert.equal(synced.message, `SveltosCluster and kubeconfig Secret for ${NS}/${name} created with access provider ${SECRET_READER_PROVIDER}`);
    assert.equal(synced.involvedObject.kind, 'ClusterProfile');
    assert.equal(synced.involvedObject.name, name);
    assert.equal(synced.involvedObject.uid, ref.uid);
    assert.equal(synced.source?.component, EVENT_COMPONENT);
    assert.equal(synced.reportingComponent, EVENT_COMPONENT);
    assert.deepEqual((await eventsOf(ref, ErrorType.InvalidInput)).map((e) => e.count), [2]);
  });

  test('cleanup on a live profile (a forged deletionRequested) is DeletionNotConfirmed and deletes nothing', async () => {
    const acts = activities();
    const { ref, wf } = await syncedProfile(acts);
    await assert.rejects(wf.cleanup(), isFailure(ErrorType.DeletionNotConfirmed, new RegExp(`^ClusterProfile ${NS}/${ref.name}: cleanup refused`)));
    assert.ok(await getSecret(secretNameFor(ref.name)), 'the Secret is still there');
    assert.ok(await getSveltosCluster(ref.name), 'the SveltosCluster is still there');
    assert.ok((await getProfile(ref.name))?.metadata.finalizers?.includes(FINALIZER), 'the finalizer is still there');
    assert.deepEqual(await eventsOf(ref, EventReason.Deleting), [], 'no Deleting Event for a live profile');
    // Once the API server shows the deletion, the same cleanup goes through.
    await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name: ref.name });
    assert.deepEqual(await wf.cleanup(), { sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] });
    assert.equal((await eventsOf(ref, EventReason.Deleting)).length, 1);
  });

  test("a labelled SveltosCluster without owner is adopted only if it holds nothing we don't write (API defaults included)", async () => {
    const acts = activities();
    const make = async (name: string, spec: Record<string, unknown>) => {
      sveltosClusters.add(name);
      secrets.add(secretNameFor(name));
      await putSourceSecret(`${name}-src`, token('sc'));
      await custom.createNamespacedCustomObject({
        ...SC,
        namespace: NS,
        body: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } }, spec },
      });
    };
    const names = { kubeconfigKeyName: 'kubeconfig' };

    // As the Go controller made it; the API server adds its defaults (consecutiveFailureThreshold, pullMode).
    const goName = uniqueName('kact-adopt');
    await make(goName, { ...names, kubeconfigName: secretNameFor(goName) });
    const goSpec = (await getSveltosCluster(goName))?.spec as Record<string, unknown>;
    assert.equal(goSpec.consecutiveFailureThreshold, 3, 'the CRD default is applied by the API server');
    const goRef = await createProfile(goName, { providers: [secretReader(`${goName}-src`)] });
    assert.equal((await new Workflow(acts, goRef).sync(INITIAL)).sveltosClusterChanged, true);
    assert.deepEqual(ownerOf((await getSveltosCluster(goName))?.metadata.ownerReferences).map((r) => r.uid), [goRef.uid]);

    // With a field we do not write: Conflict naming the field, untouched.
    const dataName = uniqueName('kact-data');
    await make(dataName, { ...names, kubeconfigName: secretNameFor(dataName), data: { region: 'eu' } });
    const before = await getSveltosCluster(dataName);
    const dataRef = await createProfile(dataName, { providers: [secretReader(`${dataName}-src`)] });
    await assert.rejects(
      new Workflow(acts, dataRef).sync(INITIAL),
      isFailure(ErrorType.Conflict, new RegExp(`^SveltosCluster ${NS}/${dataName}: .*spec\\.data, which this controller does not write`)),
    );
    const afterwards = await getSveltosCluster(dataName);
    assert.equal(afterwards?.metadata.resourceVersion, before?.metadata.resourceVersion, 'not written');
    assert.deepEqual(afterwards?.metadata.ownerReferences ?? [], []);
  });

  test('tokenRequestRenewalOption: once Sveltos switches spec.kubeconfigKeyName, our applies leave it alone (no tug of war)', async () => {
    const acts = activities();
    const { ref, wf } = await syncedProfile(acts);
    // Someone sets the option; sveltoscluster-manager switches the key with a merge patch (its patch helper).
    await custom.patchNamespacedCustomObject(
      { ...SC, namespace: NS, name: ref.name, body: { spec: { tokenRequestRenewalOption: { renewTokenRequestInterval: '1h' }, kubeconfigKeyName: 're-kubeconfig' } }, fieldManager: 'sveltoscluster-manager' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The watcher reports the SveltosCluster's change: full syncs, each applying it.
    for (let i = 0; i < 2; i++) {
      await wf.sync(SVELTOS_CLUSTER_CHANGED);
      const sc = await getSveltosCluster(ref.name);
      assert.equal(sc?.spec?.kubeconfigKeyName, 're-kubeconfig', `apply ${i + 1} did not switch the key back`);
      assert.deepEqual(sc?.spec?.tokenRequestRenewalOption, { renewTokenRequestInterval: '1h' });
      assert.equal(sc?.spec?.kubeconfigName, secretNameFor(ref.name));
    }
    const events = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${ref.name},reason=SveltosRenewsToken` });
    assert.equal(events.items[0]?.type, 'Warning');
    assert.match(events.items[0]?.message ?? '', /reads key "re-kubeconfig".*remove spec\.tokenRequestRenewalOption/);
    // The option removed and the key cleared, as the Warning says: ours is applied again.
    await custom.patchNamespacedCustomObject(
      { ...SC, namespace: NS, name: ref.name, body: { spec: { tokenRequestRenewalOption: null, kubeconfigKeyName: null } }, fieldManager: 'someone' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal((await wf.sync(SVELTOS_CLUSTER_CHANGED)).sveltosClusterChanged, true);
    assert.equal((await getSveltosCluster(ref.name))?.spec?.kubeconfigKeyName, 'kubeconfig');
  });

  test("profile labels under projectsveltos.io/ (and its subdomains) are not copied to the SveltosCluster", async () => {
    const acts = activities();
    const { ref } = await syncedProfile(acts, {
      labels: { env: 'prod', [SVELTOS_K8S_VERSION_LABEL]: 'v0.0.1', 'sharding.projectsveltos.io/key': 'shard-9' },
    });
    const labels = (await getSveltosCluster(ref.name))?.metadata.labels ?? {};
    assert.equal(labels.env, 'prod');
    assert.equal(labels[SVELTOS_K8S_VERSION_LABEL], undefined);
    assert.equal(labels['sharding.projectsveltos.io/key'], undefined);
    assert.equal(labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
  });

  // Workers register the first release's five activities until no first-release workflow can be running
  // (docs/adr/0012-first-release-code-in-one-box.md); they are thin adapters over the phases above.
  describe("the first release's activities (legacy box, ADR 12)", () => {
    test('ensureFinalizer, syncCredentials, applySveltosCluster, recordEvent and cleanup, end to end', async () => {
      const acts = activities();
      const name = uniqueName('kact-legacy');
      const source = `${name}-src`;
      const tok = token('legacy');
      await putSourceSecret(source, tok);
      secrets.add(secretNameFor(name));
      sveltosClusters.add(name);
      const ref = await createProfile(name, { labels: { env: 'legacy' }, providers: [secretReader(source)] });

      assert.deepEqual(await run(acts, 'ensureFinalizer', ref), { gone: false, deleting: false });
      assert.ok((await getProfile(name))?.metadata.finalizers?.includes(FINALIZER));

      const cred = await run(acts, 'syncCredentials', ref);
      assert.equal(cred.secretChanged, true);
      assert.equal(cred.provider, SECRET_READER_PROVIDER);
      assert.ok(!JSON.stringify(cred).includes(tok), 'the result carries no credential');
      const secret = await getSecret(secretNameFor(name));
      assert.match(kubeconfigOf(secret), new RegExp(tok));
      assert.deepEqual(ownerOf(secret?.metadata?.ownerReferences).map((r) => r.uid), [ref.uid]);
      assert.equal((await run(acts, 'syncCredentials', ref)).secretChanged, false);

      assert.deepEqual(await run(acts, 'applySveltosCluster', ref), { changed: true });
      const sc = await getSveltosCluster(name);
      assert.deepEqual(sc?.metadata.labels, { env: 'legacy', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
      assert.equal(sc?.spec?.kubeconfigName, secretNameFor(name));
      assert.deepEqual(ownerOf(sc?.metadata.ownerReferences).map((r) => r.uid), [ref.uid]);
      assert.deepEqual(await run(acts, 'applySveltosCluster', ref), { changed: false });

      const event = { type: 'Normal' as const, reason: 'Synced', message: `ClusterProfile ${NS}/${name} synced` };
      await run(acts, 'recordEvent', ref, event);
      await run(acts, 'recordEvent', ref, event);
      const [recorded] = await eventsOf(ref, 'Synced');
      assert.equal(recorded?.count, 2);
      assert.equal(recorded?.message, event.message);
      assert.equal(recorded?.source?.component, EVENT_COMPONENT);

      await assert.rejects(run(acts, 'cleanup', ref), isFailure(ErrorType.DeletionNotConfirmed));
      await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name });
      assert.deepEqual(await run(acts, 'ensureFinalizer', ref), { gone: false, deleting: true });
      await assert.rejects(run(acts, 'syncCredentials', ref), isFailure(ErrorType.ProfileGone, /being deleted/));
      assert.deepEqual(await run(acts, 'cleanup', ref), { sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] });
      assert.equal(await getSecret(secretNameFor(name)), undefined);
      assert.equal(await getSveltosCluster(name), undefined);
      assert.equal(await getProfile(name), undefined);
      assert.deepEqual(await run(acts, 'ensureFinalizer', ref), { gone: true, deleting: false });
    });
  });
});
