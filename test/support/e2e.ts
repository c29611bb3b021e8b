// End-to-end fixture: the real app (`clusterinventory run`, watcher + worker) in this process, against
// the local stack, confined to a fresh Kubernetes namespace and a fresh task queue per fixture.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import type { WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { startApp, type RunningApp } from '../../cli/app.js';
import { parseConfig, type AppConfig } from '../../cli/config.js';
import { createLogger } from '../../worker/logger.js';
import { CLUSTER_PROFILE, FINALIZER, SVELTOS_CLUSTER, secretNameFor, type AccessProvider, type ClusterProfile, type SveltosCluster } from '../../activities/kube/types.js';
import { statusQuery, workflowIdFor, type WorkflowStatus } from '../../workflows/api.js';
import { eventually, kubeConfig, stackEnv, uniqueName } from './stack.js';

export interface E2EOptions {
  /** Provider file contents (written to a temp file and passed with --clusterprofile-provider-file). */
  providers?: unknown;
  /** Extra CLI flags. */
  flags?: string[];
  /** Syncs per workflow run before continue-as-new (AppOverrides.maxCyclesPerRun). */
  maxCyclesPerRun?: number;
  /** The app's log level (default debug; the credential leak test runs the default level, info). */
  logLevel?: AppConfig['logLevel'];
}

const CP = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural };
const SC = { group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural };
const TEST_MANAGER = 'e2e-test';
const apply = (): ReturnType<typeof setHeaderOptions> => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const merge = (): ReturnType<typeof setHeaderOptions> => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A syntactically valid kubeconfig for a fictitious spoke; the token is a recognisable marker. */
export function spokeKubeconfig(token: string, server = 'https://spoke.example:6443'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: spoke',
    '  cluster:',
    `    server: ${server}`,
    'users:',
    '- name: spoke-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: spoke',
    '  context: {cluster: spoke, user: spoke-admin}',
    'current-context: spoke',
    '',
  ].join('\n');
}

/** One activity execution in a workflow run's history, by its ActivityTaskScheduled event. */
export interface ActivityExecution {
  type: string;
  /** Attempt of the last try that started (from ActivityTaskStarted, written when the try ended); undefined while the first try runs. */
  attempt?: number;
  outcome: 'completed' | 'failed' | 'timedOut' | 'canceled' | 'open';
  /** For failed executions: whether the ApplicationFailure was non-retryable. */
  nonRetryable?: boolean;
}

/** Core's record of a local activity (marker `core_local_activity`, details `data`: JSON). */
export interface LocalActivityMarkerData {
  activity_type?: string;
  attempt?: number;
}

type HistoryEvent = NonNullable<History['events']>[number];

/** The data of a local activity's marker; undefined for any other event. */
export function localActivityMarker(e: HistoryEvent): LocalActivityMarkerData | undefined {
  const marker = e.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const payload = marker.details?.data?.payloads?.[0]?.data;
  return payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as LocalActivityMarkerData) : {};
}

/** The activity executions recorded in a history, in schedule order: regular ones and local ones (markers). */
export function activityExecutions(history: History): ActivityExecution[] {
  const byScheduled = new Map<string, ActivityExecution>();
  for (const e of history.events ?? []) {
    const data = localActivityMarker(e);
    const marker = e.markerRecordedEventAttributes;
    if (data && marker) {
      const execution: ActivityExecution = { type: data.activity_type ?? '', outcome: marker.failure ? 'failed' : 'completed' };
      if (typeof data.attempt === 'number') execution.attempt = data.attempt;
      if (marker.failure) execution.nonRetryable = marker.failure.cause?.applicationFailureInfo?.nonRetryable === true || marker.failure.applicationFailureInfo?.nonRetryable === true;
      byScheduled.set(`marker-${String(e.eventId)}`, execution);
      continue;
    }
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byScheduled.set(String(e.eventId), { type: scheduled.activityType?.name ?? '', outcome: 'open' });
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const a = byScheduled.get(String(started.scheduledEventId));
      if (a && typeof started.attempt === 'number') a.attempt = started.attempt;
      continue;
    }
    const ended =
      (e.activityTaskCompletedEventAttributes && (['completed', e.activityTaskCompletedEventAttributes] as const)) ||
      (e.activityTaskFailedEventAttributes && (['failed', e.activityTaskFailedEventAttributes] as const)) ||
      (e.activityTaskTimedOutEventAttributes && (['timedOut', e.activityTaskTimedOutEventAttributes] as const)) ||
      (e.activityTaskCanceledEventAttributes && (['canceled', e.activityTaskCanceledEventAttributes] as const));
    if (ended) {
      const a = byScheduled.get(String(ended[1].scheduledEventId));
      if (!a) continue;
      a.outcome = ended[0];
      if (e.activityTaskFailedEventAttributes) {
        a.nonRetryable = e.activityTaskFailedEventAttributes.failure?.applicationFailureInfo?.nonRetryable === true;
      }
    }
  }
  return [...byScheduled.values()];
}

export function isNotFound(e: unknown): boolean {
  return (e as { code?: number }).code === 404;
}

export class E2E {
  readonly namespace = uniqueName('e2e');
  readonly taskQueue = uniqueName('e2e-tq');
  readonly kc: KubeConfig = kubeConfig();
  readonly core = this.kc.makeApiClient(CoreV1Api);
  readonly custom = this.kc.makeApiClient(CustomObjectsApi);
  /** Every log line the app wrote, for assertions (and the credential leak test). */
  readonly logs: string[] = [];
  app!: RunningApp;
  config!: AppConfig;

  async start(opts: E2EOptions = {}): Promise<this> {
    stackEnv();
    await this.core.createNamespace({ body: { metadata: { name: this.namespace } } });
    const flags = ['--namespaces', this.namespace, '--task-queue', this.taskQueue, '--health-addr', '127.0.0.1:0', '--metrics-addr', '0', '--relist-period', '30s', '--log-level', opts.logLevel ?? 'debug'];
    if (opts.providers !== undefined) {
      const dir = await mkdtemp(join(tmpdir(), 'ci-providers-'));
      const file = join(dir, 'providers.json');
      await writeFile(file, JSON.stringify(opts.providers));
      flags.push('--clusterprofile-provider-file', file);
    }
    this.config = parseConfig(['run', ...flags, ...(opts.flags ?? [])]) as AppConfig;
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => this.logs.push(...chunk.toString().split('\n').filter(Boolean)));
    this.app = await startApp(this.config, {
      kubeConfig: this.kc,
      logger: createLogger(opts.logLevel ?? 'debug', sink),
      ...(opts.maxCyclesPerRun !== undefined ? { maxCyclesPerRun: opts.maxCyclesPerRun } : {}),
    });
    await this.app.watcher?.ready;
    return this;
  }

  /** Stops the app and terminates the fixture's still-running workflows, so the shared dev server does not accumulate them. */
  async stop(): Promise<void> {
    if (!this.app) return;
    const client = this.app.temporal.client;
    const running: string[] = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${this.taskQueue}' AND ExecutionStatus = 'Running'` })) running.push(wf.workflowId);
    await Promise.all(running.map((id) => client.workflow.getHandle(id).terminate('e2e fixture stopped').catch(() => undefined)));
    await this.app.stop();
  }

  async createSecret(name: string, data: Record<string, string>, labels?: Record<string, string>, namespace = this.namespace): Promise<V1Secret> {
    return this.core.createNamespacedSecret({ namespace, body: { metadata: { name, namespace, ...(labels ? { labels } : {}) }, stringData: data } });
  }

  async updateSecret(name: string, data: Record<string, string>, namespace = this.namespace): Promise<void> {
    await this.core.patchNamespacedSecret({ name, namespace, body: { stringData: data } }, merge());
  }

  async getSecret(name: string, namespace = this.namespace): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  managedKubeconfig(secret: V1Secret | undefined): string | undefined {
    const b64 = secret?.data?.kubeconfig;
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  }

  /** Creates the ClusterProfile, then sets its status through the status subresource, as a cluster manager would. */
  async createProfile(
    name: string,
    providers: AccessProvider[],
    opts: { labels?: Record<string, string>; displayName?: string; finalizers?: string[] } = {},
  ): Promise<ClusterProfile> {
    const created = (await this.custom.createNamespacedCustomObject({
      ...CP,
      namespace: this.namespace,
      body: {
        apiVersion: CLUSTER_PROFILE.apiVersion,
        kind: 'ClusterProfile',
        metadata: { name, namespace: this.namespace, labels: opts.labels ?? {}, ...(opts.finalizers ? { finalizers: opts.finalizers } : {}) },
        spec: { clusterManager: { name: 'e2e' }, ...(opts.displayName !== undefined ? { displayName: opts.displayName } : {}) },
      },
    })) as ClusterProfile;
    await this.setProviders(name, providers);
    return created;
  }

  async setProviders(name: string, providers: AccessProvider[]): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        ...CP,
        namespace: this.namespace,
        name,
        body: { apiVersion: CLUSTER_PROFILE.apiVersion, kind: 'ClusterProfile', metadata: { name, namespace: this.namespace }, status: { accessProviders: providers } },
        fieldManager: TEST_MANAGER,
        force: true,
      },
      apply(),
    );
  }

  /**
   * A JSON merge patch of the status, sent as the given text: for objects JSON.stringify cannot write (nested
   * thousands of levels deep, which the API server stores and V8's serialiser overflows on).
   */
  async mergePatchStatusRaw(name: string, json: string): Promise<void> {
    const server = this.kc.getCurrentCluster()?.server ?? '';
    const url = new URL(`${server}/apis/${CP.group}/${CP.version}/namespaces/${this.namespace}/${CP.plural}/${name}/status`);
    const opts: RequestOptions = { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    await new Promise<void>((resolve, reject) => {
      const req = send(url, opts, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`PATCH ${url.pathname}: ${res.statusCode}: ${text.slice(0, 500)}`))));
      });
      req.on('error', reject);
      req.end(json);
    });
  }

  async patchProfile(name: string, body: object): Promise<void> {
    await this.custom.patchNamespacedCustomObject({ ...CP, namespace: this.namespace, name, body }, merge());
  }

  async getProfile(name: string): Promise<ClusterProfile | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...CP, namespace: this.namespace, name })) as ClusterProfile;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async deleteProfile(name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ ...CP, namespace: this.namespace, name });
  }

  async getSveltosCluster(name: string): Promise<SveltosCluster | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...SC, namespace: this.namespace, name })) as SveltosCluster;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async patchSveltosCluster(name: string, body: object): Promise<void> {
    await this.custom.patchNamespacedCustomObject({ ...SC, namespace: this.namespace, name, body }, merge());
  }

  workflow(profile: ClusterProfile): WorkflowHandle {
    return this.app.temporal.client.workflow.getHandle(
      workflowIdFor({ namespace: profile.metadata.namespace!, name: profile.metadata.name!, uid: profile.metadata.uid! }),
    );
  }

  async status(profile: ClusterProfile): Promise<WorkflowStatus> {
    return this.workflow(profile).query(statusQuery);
  }

  /** Waits until the workflow reports the phase (and returns its status). */
  async waitForPhase(profile: ClusterProfile, phase: WorkflowStatus['phase'], timeoutMs = 60_000): Promise<WorkflowStatus> {
    return eventually(
      `workflow of ${profile.metadata.name} in phase ${phase}`,
      async () => {
        const s = await this.status(profile);
        return s.phase === phase ? s : undefined;
      },
      timeoutMs,
    );
  }

  async waitForSync(name: string, timeoutMs = 60_000): Promise<{ secret: V1Secret; sveltosCluster: SveltosCluster }> {
    return eventually(
      `Secret and SveltosCluster for ${this.namespace}/${name}`,
      async () => {
        const [secret, sveltosCluster] = await Promise.all([this.getSecret(secretNameFor(name)), this.getSveltosCluster(name)]);
        return secret && sveltosCluster ? { secret, sveltosCluster } : undefined;
      },
      timeoutMs,
    );
  }

  async waitForGone(name: string, timeoutMs = 60_000): Promise<void> {
    await eventually(
      `cleanup of ${this.namespace}/${name}`,
      async () => {
        const [secret, sc, cp] = await Promise.all([this.getSecret(secretNameFor(name)), this.getSveltosCluster(name), this.getProfile(name)]);
        return !secret && !sc && (!cp || !(cp.metadata?.finalizers ?? []).includes(FINALIZER)) ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** Activity executions of the workflow's current run, from its history. */
  async activities(profile: ClusterProfile): Promise<ActivityExecution[]> {
    return activityExecutions(await this.workflow(profile).fetchHistory());
  }

  /**
   * Every workflow execution (every run, open or closed) on this fixture's task queue, with its full
   * history. Visibility is eventually consistent: `expectAtLeast` waits until that many runs are listed.
   */
  async workflowHistories(expectAtLeast = 0, timeoutMs = 60_000): Promise<Array<{ workflowId: string; runId: string; history: History }>> {
    const client = this.app.temporal.client;
    const executions = await eventually(
      `${expectAtLeast} workflow runs listed on task queue ${this.taskQueue}`,
      async () => {
        const found: Array<{ workflowId: string; runId: string }> = [];
        for await (const wf of client.workflow.list({ query: `TaskQueue = '${this.taskQueue}'` })) {
          found.push({ workflowId: wf.workflowId, runId: wf.runId });
        }
        return found.length >= expectAtLeast ? found : undefined;
      },
      timeoutMs,
    );
    return Promise.all(
      executions.map(async ({ workflowId, runId }) => ({
        workflowId,
        runId,
        history: await client.workflow.getHandle(workflowId, runId).fetchHistory(),
      })),
    );
  }

  /** Every Kubernetes Event in the fixture's namespace. */
  async allEvents(): Promise<Array<{ type?: string; reason?: string; message?: string; involvedObject?: string }>> {
    const list = await this.core.listNamespacedEvent({ namespace: this.namespace });
    return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message, involvedObject: `${e.involvedObject.kind}/${e.involvedObject.name}` }));
  }

  async deleteSecret(name: string, namespace = this.namespace): Promise<void> {
    await this.core.deleteNamespacedSecret({ name, namespace });
  }

  /** Kubernetes Events recorded on a ClusterProfile. */
  async events(name: string): Promise<Array<{ type?: string; reason?: string; message?: string }>> {
    const list = await this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: `involvedObject.name=${name},involvedObject.kind=ClusterProfile` });
    return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
  }
}

export function secretReaderProvider(secretName: string, key = 'kubeconfig', namespace?: string): AccessProvider {
  return {
    name: 'kubeconfig-secretreader',
    cluster: {
      server: 'https://ignored.example:6443',
      extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: secretName, key, ...(namespace ? { namespace } : {}) } }],
    },
  };
}
