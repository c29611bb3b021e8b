// Records the histories of a few representative end-to-end workflow runs (real watcher + worker +
// kube-apiserver + Temporal dev server) into test/fixtures/histories/*.json, for the replay test
// (test/unit/replay.test.ts). Run by hand after a deliberate, compatible workflow change, or to add cases:
//
//   npm run stack -- up
//   node --import tsx test/support/record-histories.ts            # every scenario
//   node --import tsx test/support/record-histories.ts exec-expiry  # only the named ones
//   node --import tsx test/support/record-histories.ts --suffix memo-v1  # <scenario>.memo-v1.json
//
// Fixtures are never meant to be re-recorded in place after a workflow change: histories of the old code
// are exactly what the replay test must keep replaying. Add new ones (--suffix) next to them instead.
// Only short runs are recorded (nothing is trimmed). Every history is scanned for the test credentials
// before it is written; a hit aborts the recording.
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { CLUSTER_PROFILE, type AccessProvider, type ClusterProfile } from '../../activities/kube/types.js';
import {
  SearchAttr,
  WORKFLOW_INPUT_VERSION,
  WORKFLOW_TYPE,
  refreshUpdate,
  statusQuery,
  workflowIdFor,
  type ClusterProfileWorkflowInput,
} from '../../workflows/api.js';
import type { clusterProfileWorkflow } from '../../workflows/cluster-profile.js';
import type { LegacyWorkflowInput } from '../../workflows/legacy/api.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from './e2e.js';
import { credentialLeaks, historyToJSONText, type History } from './histories.js';
import { eventually, uniqueName } from './stack.js';

export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

const EXEC_API = 'client.authentication.k8s.io/v1';
const CP = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural };

/** Waits until the run is idle on its timer (last event TimerStarted) or closed. */
async function settled(handle: WorkflowHandle, what: string): Promise<History> {
  return eventually(
    `${what}: workflow idle or closed`,
    async () => {
      const history = await handle.fetchHistory();
      const last = history.events?.at(-1);
      const idle =
        last?.timerStartedEventAttributes ||
        last?.workflowExecutionCompletedEventAttributes ||
        last?.workflowExecutionContinuedAsNewEventAttributes;
      return idle ? history : undefined;
    },
    120_000,
  );
}

let suffix = '';

async function save(scenario: string, history: History): Promise<void> {
  const name = suffix ? `${scenario}.${suffix}` : scenario;
  const text = historyToJSONText(history);
  const leaks = credentialLeaks(JSON.parse(text));
  if (leaks.length > 0) throw new Error(`history ${name} would leak credentials: ${leaks.join('; ')}`);
  await mkdir(HISTORIES_DIR, { recursive: true });
  const file = join(HISTORIES_DIR, `${name}.json`);
  await writeFile(file, text);
  process.stdout.write(`wrote ${file} (${history.events?.length ?? 0} events, ${text.length} bytes)\n`);
}

async function writePlugin(dir: string, file: string, body: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

interface Ctx {
  e2e: E2E;
  pluginDir: string;
}

const exec = (name: string): AccessProvider => ({ name, cluster: { server: 'https://spoke.example:6443' } });

const scenarios: Record<string, (ctx: Ctx) => Promise<void>> = {
  /** Secret reader: first sync, a label change (profileChanged), a source rotation (resync), a refresh update; idle. */
  async 'ready-secretreader'({ e2e }) {
    const name = uniqueName('rec-ready');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('rec-token-ready') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { labels: { env: 'staging' } });
    await e2e.waitForPhase(profile, 'Ready');
    await e2e.patchProfile(name, { metadata: { labels: { env: 'prod' } } });
    await eventually('label propagated', async () => ((await e2e.getSveltosCluster(name))?.metadata?.labels?.env === 'prod' ? true : undefined));
    await e2e.updateSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('rec-token-ready-rotated') });
    await eventually('rotation propagated', async () => {
      const s = await e2e.getSecret(`${name}-sveltos-kubeconfig`);
      return e2e.managedKubeconfig(s)?.includes('rec-token-ready-rotated') ? true : undefined;
    });
    await e2e.workflow(profile).executeUpdate(refreshUpdate, { args: [{ reason: 'recording' }] });
    await save('ready-secretreader', await settled(e2e.workflow(profile), 'ready-secretreader'));
  },

  /** Exec plugin whose credential expires in 2 min: idle on the timer at 80% of the lifetime. */
  async 'exec-expiry'({ e2e }) {
    const profile = await e2e.createProfile(uniqueName('rec-exp'), [exec('rec-expiring')]);
    await e2e.waitForPhase(profile, 'Ready');
    await save('exec-expiry', await settled(e2e.workflow(profile), 'exec-expiry'));
  },

  /** Source Secret without the key: Degraded (InvalidInput); the key added: Recovered, Ready; idle. */
  async 'degraded-recovered'({ e2e }) {
    const name = uniqueName('rec-deg');
    await e2e.createSecret(`${name}-src`, { other: 'nothing useful' });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForPhase(profile, 'Degraded');
    await e2e.updateSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('rec-token-degraded') });
    await e2e.waitForPhase(profile, 'Ready');
    await save('degraded-recovered', await settled(e2e.workflow(profile), 'degraded-recovered'));
  },

  /** An exec plugin slower than the 2 s budget of the workflow task: ProviderDeferred, then the regular activity; Ready. */
  async 'provider-deferred'({ e2e, pluginDir }) {
    const hold = join(pluginDir, 'slow-hold');
    await writeFile(hold, '');
    const profile = await e2e.createProfile(uniqueName('rec-defer'), [exec('rec-slow')]);
    // The local attempt is cut at 2 s; the activity's run is let go once it started.
    await eventually('the deferred run started', async () => ((await readFile(join(pluginDir, 'slow-started'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length >= 2 ? true : undefined));
    await rm(hold, { force: true });
    await e2e.waitForPhase(profile, 'Ready');
    await save('provider-deferred', await settled(e2e.workflow(profile), 'provider-deferred'));
  },

  /** A provider failing for five profiles opens its breaker: a sixth is Degraded (ProviderUnavailable), then recovers. */
  async 'provider-unavailable'({ e2e, pluginDir }) {
    const fail = join(pluginDir, 'failing-fail');
    await writeFile(fail, '');
    const first = await Promise.all([1, 2, 3, 4, 5].map(() => e2e.createProfile(uniqueName('rec-fail'), [exec('rec-failing')])));
    for (const p of first) await e2e.waitForPhase(p, 'Degraded');
    const profile = await e2e.createProfile(uniqueName('rec-unavail'), [exec('rec-failing')]);
    await eventually('ProviderUnavailable', async () => ((await e2e.status(profile)).lastError?.reason === 'ProviderUnavailable' ? true : undefined));
    await rm(fail, { force: true });
    await e2e.waitForPhase(profile, 'Ready', 120_000);
    await save('provider-unavailable', await settled(e2e.workflow(profile), 'provider-unavailable'));
    for (const p of first) await e2e.deleteProfile(p.metadata.name!);
  },

  /** Ready, then the ClusterProfile deleted: cleanup, completed. */
  async 'deleted-completed'({ e2e }) {
    const name = uniqueName('rec-del');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('rec-token-deleted') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForPhase(profile, 'Ready');
    await e2e.deleteProfile(name);
    await e2e.workflow(profile).result();
    await save('deleted-completed', await e2e.workflow(profile).fetchHistory());
  },

  /** Deleted while a refresh update runs a (held) plugin: the sync is cancelled and awaited, cleanup, completed. */
  async 'deleted-during-refresh'({ e2e, pluginDir }) {
    const hold = join(pluginDir, 'slow-hold');
    const started = join(pluginDir, 'slow-started');
    const name = uniqueName('rec-delmid');
    const profile = await e2e.createProfile(name, [exec('rec-slow')]);
    await e2e.waitForPhase(profile, 'Ready');
    const handle = e2e.workflow(profile);
    await writeFile(hold, 'hold');
    await rm(started, { force: true });
    const update = await handle.startUpdate(refreshUpdate, { args: [{ reason: 'recording' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await eventually('plugin running', async () => {
      try {
        await access(started);
        return true;
      } catch {
        return undefined;
      }
    });
    await e2e.deleteProfile(name);
    // The sync is a local activity: its cancellation happens in the worker, not in the history.
    await eventually('the workflow in Deleting', async () => ((await handle.query(statusQuery)).phase === 'Deleting' ? true : undefined));
    await rm(hold, { force: true });
    await update.result().catch(() => undefined);
    await handle.result();
    await save('deleted-during-refresh', await handle.fetchHistory());
  },

  /**
   * Continue-as-new: `run` has no flag for the cycles per run, so the workflow is started directly (on
   * the app's task queue, as the watcher would start it) for a profile in a namespace the watcher does
   * not watch, with 2 syncs per run and a 1 s sync period. Recorded: the first run (ends in
   * ContinuedAsNew) and the last one (the profile deleted: ensureFinalizer sees it, cleanup, completed).
   */
  async 'continued-as-new'({ e2e }) {
    const { ns, name, ref, created } = await unwatchedProfile(e2e, 'rec-can');
    const input: ClusterProfileWorkflowInput = {
      version: WORKFLOW_INPUT_VERSION,
      ref,
      snapshot: { resourceVersion: created.metadata.resourceVersion ?? '1', generation: 1, observedHash: 'recording', providerCount: 1, deleting: false },
      maxCyclesPerRun: 2,
    };
    const client = e2e.app.temporal.client;
    const first = await client.workflow.start<typeof clusterProfileWorkflow>(WORKFLOW_TYPE, {
      workflowId: workflowIdFor(ref),
      taskQueue: e2e.taskQueue,
      args: [input],
      typedSearchAttributes: startAttributes(ns, name),
    });
    const firstRun = await eventually('the first run continued as new', async () => {
      const h = await client.workflow.getHandle(first.workflowId, first.firstExecutionRunId).fetchHistory();
      return h.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes ? h : undefined;
    });
    await save('continued-as-new-first-run', firstRun);
    await e2e.custom.deleteNamespacedCustomObject({ ...CP, namespace: ns, name });
    const latest = client.workflow.getHandle(first.workflowId);
    await latest.result();
    await save('continued-as-new-last-run', await latest.fetchHistory());
  },

  /**
   * Upgrade: a workflow with the first release's input (no version) runs the frozen code, which continues
   * as new into the current code at its next loop turn (patch marker `continue-as-v2`). Recorded: the
   * first release's run and the current code's run (Ready, then the profile deleted).
   */
  async 'legacy-migrated'({ e2e }) {
    const { ns, name, ref, created } = await unwatchedProfile(e2e, 'rec-legacy');
    const input: LegacyWorkflowInput = {
      ref,
      snapshot: { resourceVersion: created.metadata.resourceVersion ?? '1', generation: 1, observedHash: 'recording', providerCount: 1, deleting: false },
      schedule: { syncPeriodMs: 1_000, minRefreshMs: 1_000 },
    };
    const client = e2e.app.temporal.client;
    const first = await client.workflow.start(WORKFLOW_TYPE, {
      workflowId: workflowIdFor(ref),
      taskQueue: e2e.taskQueue,
      args: [input],
      typedSearchAttributes: startAttributes(ns, name),
    });
    const firstRun = await eventually('the first release\'s run continued as new', async () => {
      const h = await client.workflow.getHandle(first.workflowId, first.firstExecutionRunId).fetchHistory();
      return h.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes ? h : undefined;
    });
    await save('legacy-migrated-first-run', firstRun);
    const latest = client.workflow.getHandle(first.workflowId);
    await eventually('the current code Ready', async () => ((await latest.query(statusQuery)).phase === 'Ready' ? true : undefined));
    await e2e.custom.deleteNamespacedCustomObject({ ...CP, namespace: ns, name });
    await latest.result();
    await save('legacy-migrated-last-run', await latest.fetchHistory());
  },
};

function startAttributes(ns: string, name: string) {
  return [
    { key: SearchAttr.namespace, value: ns },
    { key: SearchAttr.name, value: name },
    { key: SearchAttr.observedHash, value: 'recording' },
    { key: SearchAttr.phase, value: 'Pending' },
  ];
}

/** A secretreader ClusterProfile in a namespace the app's watcher does not watch: the test starts its workflow itself. */
async function unwatchedProfile(e2e: E2E, prefix: string) {
  const ns = uniqueName(prefix);
  await e2e.core.createNamespace({ body: { metadata: { name: ns } } });
  const name = uniqueName(prefix);
  await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('rec-token-can') }, undefined, ns);
  const created = (await e2e.custom.createNamespacedCustomObject({
    ...CP,
    namespace: ns,
    body: { apiVersion: CLUSTER_PROFILE.apiVersion, kind: 'ClusterProfile', metadata: { name, namespace: ns }, spec: { clusterManager: { name: 'e2e' } } },
  })) as ClusterProfile;
  await e2e.custom.patchNamespacedCustomObjectStatus(
    {
      ...CP,
      namespace: ns,
      name,
      body: { status: { accessProviders: [secretReaderProvider(`${name}-src`)] } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const ref = { namespace: ns, name, uid: created.metadata.uid! };
  return { ns, name, ref, created };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--suffix');
  if (at >= 0) {
    suffix = args[at + 1] ?? '';
    if (!/^[a-z0-9][a-z0-9-]*$/.test(suffix)) throw new Error('--suffix needs a value of lowercase letters, digits and dashes');
    args.splice(at, 2);
  }
  const wanted = args;
  for (const w of wanted) if (!(w in scenarios)) throw new Error(`unknown scenario ${w}; known: ${Object.keys(scenarios).join(', ')}`);
  const pluginDir = await mkdtemp(join(tmpdir(), 'ci-record-'));
  const expiring = await writePlugin(
    pluginDir,
    'expiring.sh',
    [
      'exp=$(date -u -d "@$(( $(date +%s) + 120 ))" +%Y-%m-%dT%H:%M:%SZ)',
      `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"rec-exec-token-expiring","expirationTimestamp":"%s"}}' "$exp"`,
    ].join('\n'),
  );
  const slow = await writePlugin(
    pluginDir,
    'slow.sh',
    [
      `echo started >> '${join(pluginDir, 'slow-started')}'`,
      'i=0',
      `while [ -e '${join(pluginDir, 'slow-hold')}' ] && [ $i -lt 250 ]; do sleep 0.1; i=$((i+1)); done`,
      `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"rec-exec-token-slow"}}'`,
    ].join('\n'),
  );
  const failing = await writePlugin(
    pluginDir,
    'failing.sh',
    [
      `if [ -e '${join(pluginDir, 'failing-fail')}' ]; then echo 'identity provider unavailable' >&2; exit 1; fi`,
      `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"rec-exec-token-failing"}}'`,
    ].join('\n'),
  );
  const e2e = new E2E();
  await e2e.start({
    providers: {
      providers: [
        { name: 'rec-expiring', execConfig: { command: expiring, args: [], env: [], apiVersion: EXEC_API, provideClusterInfo: false } },
        { name: 'rec-slow', execConfig: { command: slow, args: [], env: [], apiVersion: EXEC_API, provideClusterInfo: false } },
        { name: 'rec-failing', execConfig: { command: failing, args: [], env: [], apiVersion: EXEC_API, provideClusterInfo: false } },
      ],
    },
    // The schedule is the worker's (each sync reports it): short, so that a run continues as new quickly.
    flags: ['--min-refresh-interval', '1s', '--sync-period', '1s'],
  });
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      if (wanted.length > 0 && !wanted.includes(name)) continue;
      process.stdout.write(`recording ${name}\n`);
      await run({ e2e, pluginDir });
    }
  } finally {
    await e2e.stop();
    await rm(pluginDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
