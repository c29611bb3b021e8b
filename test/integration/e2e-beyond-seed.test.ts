// Behaviours the Go controller (the seed) lacks, end to end: the real watcher and worker (startApp), the
// real kube-apiserver (with its garbage collector) and the real Temporal dev server. No assertion is about
// wall-clock durations: waits poll with generous limits (`eventually`), and schedule checks compare the
// workflow's own numbers (or a window computed from timestamps taken around the action).
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Watch, type V1Secret } from '@kubernetes/client-node';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { parse } from 'yaml';
import { FINALIZER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, secretNameFor, type AccessProvider } from '../../activities/kube/types.js';
import { refreshUpdate, statusQuery } from '../../workflows/api.js';
import { E2E, localActivityMarker, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { selectedContext, tokenIn } from '../support/kubeconfig-view.js';
import { eventually, uniqueName } from '../support/stack.js';

/** A guard against hangs, not a timing assertion. */
const GUARD = { timeout: 10 * 60_000 };
const EXEC_API = 'client.authentication.k8s.io/v1';
const FOREIGN_FINALIZER = 'e2e.example.com/hold';

async function writePlugin(dir: string, file: string, body: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function execProvider(name: string, server = 'https://spoke.example:6443'): AccessProvider {
  return { name, cluster: { server } };
}

async function lineCount(path: string): Promise<number> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** Every watch event for one Secret, in order, from now on (a name-selected watch). */
async function recordSecretEvents(e2e: E2E, name: string): Promise<{ events: Array<{ type: string; uid?: string; resourceVersion?: string }>; stop(): void }> {
  const events: Array<{ type: string; uid?: string; resourceVersion?: string }> = [];
  const controller = await new Watch(e2e.kc).watch(
    `/api/v1/namespaces/${e2e.namespace}/secrets`,
    { fieldSelector: `metadata.name=${name}` },
    (type: string, obj: V1Secret) => events.push({ type, uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion }),
    () => undefined,
  );
  return { events, stop: () => controller.abort() };
}

/** Per activity execution: event ids of its ActivityTaskScheduled and of the event that closed it. */
function activityTimeline(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): Array<{ type: string; scheduledId: number; closedId?: number }> {
  const byScheduled = new Map<number, { type: string; scheduledId: number; closedId?: number }>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byScheduled.set(id, { type: scheduled.activityType?.name ?? '', scheduledId: id });
      continue;
    }
    const closed =
      e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
    const a = closed ? byScheduled.get(Number(closed.scheduledEventId)) : undefined;
    if (a) a.closedId = id;
    // A local activity (the sync) is one marker, written when it ended.
    const local = localActivityMarker(e);
    if (local) byScheduled.set(id, { type: local.activity_type ?? '', scheduledId: id, closedId: id });
  }
  return [...byScheduled.values()].sort((x, y) => x.scheduledId - y.scheduledId);
}

/** A hang guard with a readable message (not a timing assertion: the limit is far above any normal run). */
async function within<T>(what: string, promise: Promise<T>, ms = 120_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function ownerUids(obj: { metadata?: { ownerReferences?: Array<{ uid: string }> } } | undefined): string[] {
  return (obj?.metadata?.ownerReferences ?? []).map((r) => r.uid);
}

describe('beyond the seed: end to end', GUARD, () => {
  const e2e = new E2E();
  let pluginDir: string;
  const slowStarted = (): string => join(pluginDir, 'slow-started');
  const slowDone = (): string => join(pluginDir, 'slow-done');
  const slowHold = (): string => join(pluginDir, 'slow-hold');
  const slowPids = (): string => join(pluginDir, 'slow-pids');
  /** Whether the latest slow plugin process still runs. */
  const slowRunning = async (): Promise<boolean> => {
    const pid = Number((await readFile(slowPids(), 'utf8').catch(() => '')).trim().split('\n').at(-1));
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  before(async () => {
    pluginDir = await mkdtemp(join(tmpdir(), 'ci-beyond-'));
    // Expires two minutes after each call (RFC 3339, whole seconds, as client-go writes it).
    const expiring = await writePlugin(
      pluginDir,
      'expiring.sh',
      [
        'exp=$(date -u -d "@$(( $(date +%s) + 120 ))" +%Y-%m-%dT%H:%M:%SZ)',
        `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"expiring-token-e2e","expirationTimestamp":"%s"}}' "$exp"`,
      ].join('\n'),
    );
    // Slow on demand: while the hold file exists it waits (the test releases it), so that "deleted while
    // a refresh runs" does not depend on timing. Started/done markers tell the test where it is.
    const slow = await writePlugin(
      pluginDir,
      'slow.sh',
      [
        `echo $$ >> '${slowPids()}'`,
        `echo started >> '${slowStarted()}'`,
        'i=0',
        `while [ -e '${slowHold()}' ] && [ $i -lt 250 ]; do sleep 0.1; i=$((i+1)); done`,
        `echo done >> '${slowDone()}'`,
        `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"slow-token-e2e"}}'`,
      ].join('\n'),
    );
    await e2e.start({
      providers: {
        providers: [
          { name: 'e2e-expiring', execConfig: { command: expiring, args: [], env: [], apiVersion: EXEC_API, provideClusterInfo: false } },
          { name: 'e2e-slow', execConfig: { command: slow, args: [], env: [], apiVersion: EXEC_API, provideClusterInfo: false } },
        ],
      },
      flags: ['--min-refresh-interval', '1s'],
    });
  });
  after(async () => {
    await e2e.stop();
    await rm(pluginDir, { recursive: true, force: true });
  });

  test('(b) an exec credential with an expiry is refreshed at 80% of its remaining lifetime', async () => {
    const name = uniqueName('expiring');
    const t0 = Date.now();
    const profile = await e2e.createProfile(name, [execProvider('e2e-expiring')]);
    const status = await e2e.waitForPhase(profile, 'Ready');
    const t1 = Date.now();

    const expiry = status.credentialExpiresAtMs;
    assert.ok(expiry !== undefined, 'the status reports the credential expiry');
    // The plugin states now + 120 s, truncated to whole seconds.
    assert.ok(expiry >= t0 + 120_000 - 2_000 && expiry <= t1 + 120_000 + 1_000, `expiry ${expiry} near ${t0}..${t1} + 120 s`);
    const next = status.nextRefreshAtMs;
    assert.ok(next !== undefined && status.lastSyncAtMs !== undefined);
    // Exactly the rule, in the workflow's own time: max(min refresh 1 s, 0.8 × (expiry − sync time)).
    assert.equal(next - status.lastSyncAtMs, Math.max(1_000, Math.floor(0.8 * (expiry - status.lastSyncAtMs))));
    // And, independently of the workflow's clock, inside the window the sync could have happened in.
    const lo = 0.2 * t0 + 0.8 * expiry - 1_000;
    const hi = 0.2 * t1 + 0.8 * expiry + 1_000;
    assert.ok(next >= lo && next <= hi, `nextRefreshAtMs ${next} within [${lo}, ${hi}]`);
    assert.ok(next < expiry - 10_000, 'well before the expiry (not the 10 min sync period, not the floor)');
    const { secret } = await e2e.waitForSync(name);
    const kubeconfig = parse(e2e.managedKubeconfig(secret)!) as { users: Array<{ user: { token?: string } }> };
    assert.equal(kubeconfig.users[0]?.user.token, 'expiring-token-e2e');
  });

  test('(c) the managed Secret deleted by hand is restored', async () => {
    const name = uniqueName('restore-del');
    const source = spokeKubeconfig('token-restore-deleted');
    await e2e.createSecret(`${name}-src`, { kubeconfig: source });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    const { secret: first } = await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');

    await e2e.deleteSecret(secretNameFor(name));
    const restored = await eventually('the managed Secret re-created', async () => {
      const s = await e2e.getSecret(secretNameFor(name));
      return s && s.metadata?.uid !== first.metadata?.uid ? s : undefined;
    });
    assert.deepEqual(selectedContext(e2e.managedKubeconfig(restored) ?? ''), selectedContext(source));
    assert.equal(restored.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.deepEqual(ownerUids(restored), [profile.metadata.uid]);
    assert.equal((await e2e.waitForPhase(profile, 'Ready')).phase, 'Ready');
  });

  test('(d) the managed Secret edited by hand is restored to the right content', async () => {
    const name = uniqueName('restore-edit');
    const source = spokeKubeconfig('token-restore-edited');
    await e2e.createSecret(`${name}-src`, { kubeconfig: source });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');

    await e2e.updateSecret(secretNameFor(name), { kubeconfig: spokeKubeconfig('token-someone-else-wrote') });
    const restored = await eventually('the managed Secret content restored', async () => {
      const s = await e2e.getSecret(secretNameFor(name));
      return tokenIn(e2e.managedKubeconfig(s)) === 'token-restore-edited' ? s : undefined;
    });
    assert.equal(restored?.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.deepEqual(ownerUids(restored), [profile.metadata.uid]);
  });

  test('(e) a label someone else adds to the SveltosCluster survives a forced sync, which writes nothing', async () => {
    const name = uniqueName('foreign-label');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-foreign-label') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { labels: { env: 'staging' } });
    await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');

    await e2e.patchSveltosCluster(name, { metadata: { labels: { 'projectsveltos.io/k8s-version': 'v1.33.1', 'team.example.com/owner': 'blue' } } });
    const patched = await e2e.getSveltosCluster(name);
    const outcome = await e2e.workflow(profile).executeUpdate(refreshUpdate, { args: [{ reason: 'e2e: foreign label' }] });
    assert.equal(outcome.phase, 'Ready');
    const sc = await e2e.getSveltosCluster(name);
    assert.equal(sc?.metadata?.labels?.['projectsveltos.io/k8s-version'], 'v1.33.1');
    assert.equal(sc?.metadata?.labels?.['team.example.com/owner'], 'blue');
    assert.equal(sc?.metadata?.labels?.env, 'staging');
    assert.equal(sc?.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.equal(sc?.metadata?.resourceVersion, patched?.metadata?.resourceVersion, 'the forced sync did not write the SveltosCluster');
  });

  test('(f) a pre-existing unmanaged Secret of the managed name: Degraded with a Conflict, never overwritten or deleted', async () => {
    const name = uniqueName('conflict');
    const managedName = secretNameFor(name);
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-conflict') });
    const foreign = await e2e.createSecret(managedName, { kubeconfig: 'belongs to somebody else' }, { app: 'someone-else' });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);

    const status = await e2e.waitForPhase(profile, 'Degraded');
    assert.equal(status.lastError?.reason, 'Conflict');
    assert.match(status.lastError?.message ?? '', new RegExp(managedName));
    await eventually('a Warning Event about the conflict on the ClusterProfile', async () =>
      (await e2e.events(name)).some((e) => e.type === 'Warning' && e.reason === 'Conflict' && (e.message ?? '').includes(managedName)) ? true : undefined,
    );
    const untouched = async (when: string): Promise<void> => {
      const s = await e2e.getSecret(managedName);
      assert.ok(s, `the foreign Secret still exists ${when}`);
      assert.equal(s.metadata?.uid, foreign.metadata?.uid, `same object ${when}`);
      assert.equal(s.metadata?.resourceVersion, foreign.metadata?.resourceVersion, `never written ${when}`);
      assert.equal(e2e.managedKubeconfig(s), 'belongs to somebody else');
      assert.deepEqual(s.metadata?.labels, { app: 'someone-else' });
    };
    await untouched('while Degraded');
    assert.equal(await e2e.getSveltosCluster(name), undefined, 'no SveltosCluster pointing at a Secret that is not ours');

    await e2e.deleteProfile(name);
    await eventually('the ClusterProfile gone', async () => ((await e2e.getProfile(name)) === undefined ? true : undefined));
    await within('workflow completion', e2e.workflow(profile).result());
    await untouched('after the ClusterProfile was deleted');
  });

  test('(g) a source Secret in another namespace is refused by default, naming the flag', async () => {
    const name = uniqueName('xns');
    const sourceNs = uniqueName('e2e-src');
    await e2e.core.createNamespace({ body: { metadata: { name: sourceNs } } });
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-cross-ns') }, undefined, sourceNs);
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`, 'kubeconfig', sourceNs)]);
    const status = await e2e.waitForPhase(profile, 'Degraded');
    assert.match(status.lastError?.message ?? '', /--secret-reader-namespaces/);
    assert.match(status.lastError?.message ?? '', new RegExp(sourceNs));
    assert.equal(await e2e.getSecret(secretNameFor(name)), undefined, 'nothing copied');
    assert.equal(await e2e.getSveltosCluster(name), undefined);

    // Allowed by a second app started with --secret-reader-namespaces <that namespace>.
    const allowed = new E2E();
    try {
      await allowed.start({ flags: ['--secret-reader-namespaces', sourceNs] });
      const source = spokeKubeconfig('token-cross-ns-allowed');
      await allowed.createSecret(`${name}-src2`, { kubeconfig: source }, undefined, sourceNs);
      const allowedProfile = await allowed.createProfile(name, [secretReaderProvider(`${name}-src2`, 'kubeconfig', sourceNs)]);
      const { secret } = await allowed.waitForSync(name);
      assert.deepEqual(selectedContext(allowed.managedKubeconfig(secret) ?? ''), selectedContext(source));
      assert.equal(secret.metadata?.namespace, allowed.namespace, 'the copy lives in the ClusterProfile namespace');
      assert.equal((await allowed.waitForPhase(allowedProfile, 'Ready')).provider, 'kubeconfig-secretreader');
    } finally {
      await allowed.stop();
    }
  });

  test('(h) deleted while a refresh runs: the refresh is cancelled, cleanup completes, nothing is left behind', async () => {
    const name = uniqueName('del-mid');
    const managedName = secretNameFor(name);
    const profile = await e2e.createProfile(name, [execProvider('e2e-slow')]);
    await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');
    const handle = e2e.workflow(profile);
    const secretEvents = await recordSecretEvents(e2e, managedName);
    try {
      await writeFile(slowHold(), 'hold');
      const startedBefore = await lineCount(slowStarted());
      const doneBefore = await lineCount(slowDone());
      const update = await handle.startUpdate(refreshUpdate, { args: [{ reason: 'e2e: refresh during deletion' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await eventually('the refresh running the plugin', async () => ((await lineCount(slowStarted())) > startedBefore ? true : undefined));

      await e2e.deleteProfile(name);
      // The workflow reacts: the watcher's signal puts it in Deleting and it cancels the running sync (a
      // local activity: cancelled in the worker, which kills the plugin's process group). A workflow that
      // did not wait for the sync to end would now schedule the cleanup: give it that chance (up to a few
      // seconds; on a slow machine this can only miss the bug, never fail a correct workflow), then let a
      // plugin that is still holding finish.
      await eventually('the workflow in Deleting', async () => ((await handle.query(statusQuery)).phase === 'Deleting' ? true : undefined)).catch((err: unknown) => {
        // CI once saw this time out and nowhere else: what the watcher, the leader election and the
        // workflow said about this profile is the first thing to read.
        const said = e2e.logs.filter((l) => l.includes(name) || /leader|lease|watch/i.test(l)).slice(-40);
        console.log(`# e2e (h): the controller's last lines about ${name}, the lease and the watches:\n${said.join('\n')}`);
        throw err;
      });
      await eventually(
        'the cleanup scheduled (or a few seconds passed)',
        async () => (activityTimeline(await handle.fetchHistory()).some((a) => a.type === 'cleanupProfile') ? true : undefined),
        3_000,
      ).catch(() => undefined);
      await rm(slowHold(), { force: true });

      await assert.rejects(within('refresh update outcome', update.result()), (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
        assert.match(String(err.cause?.message), /being deleted/);
        return true;
      });
      await within('workflow completion', handle.result());
      assert.equal((await handle.describe()).status.name, 'COMPLETED');
      // The cancelled sync kills the plugin's process group; had it been released first, it finished.
      await eventually('the plugin run ended (finished, or killed with its cancelled sync)', async () =>
        (await lineCount(slowDone())) > doneBefore || !(await slowRunning()) ? true : undefined,
      );
      await e2e.waitForGone(name);
      assert.equal(await e2e.getProfile(name), undefined);

      // The history shows the cleanup scheduled only after the cancelled sync's activity had ended (an
      // abandoned attempt, still running its plugin, would write the Secret after the cleanup deleted it).
      const timeline = activityTimeline(await handle.fetchHistory());
      const cleanup = timeline.find((a) => a.type === 'cleanupProfile');
      assert.ok(cleanup, 'cleanup ran');
      const before = timeline.filter((x) => x.scheduledId < cleanup.scheduledId);
      assert.equal(before.at(-1)?.type, 'syncProfile', 'the cancelled sync ended (its marker) before the cleanup was scheduled');
      for (const a of timeline.filter((x) => x.type !== 'cleanupProfile' && x.scheduledId < cleanup.scheduledId)) {
        assert.ok(
          a.closedId !== undefined && a.closedId < cleanup.scheduledId,
          `${a.type} (scheduled at event ${a.scheduledId}) ended at event ${a.closedId ?? 'never'}, after the cleanup was scheduled at ${cleanup.scheduledId}`,
        );
      }

      // And Kubernetes saw no write to the managed Secret after it was deleted.
      await eventually('the managed Secret deletion observed', () => Promise.resolve(secretEvents.events.some((e) => e.type === 'DELETED') ? true : undefined));
      const deletedAt = secretEvents.events.findIndex((e) => e.type === 'DELETED');
      assert.deepEqual(secretEvents.events.slice(deletedAt + 1), [], 'no write to the managed Secret after its deletion');
      assert.equal(await e2e.getSecret(managedName), undefined);
      assert.equal(await e2e.getSveltosCluster(name), undefined);
    } finally {
      secretEvents.stop();
      await rm(slowHold(), { force: true });
    }
  });

  test('(i) recreated with the same name: a new workflow, objects owned by the new uid, the old workflow completed', async () => {
    const name = uniqueName('reuse');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-reuse') });
    const old = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForSync(name);
    await e2e.waitForPhase(old, 'Ready');
    await e2e.deleteProfile(name);
    await e2e.waitForGone(name);
    await eventually('the old ClusterProfile gone', async () => ((await e2e.getProfile(name)) === undefined ? true : undefined));

    const renewed = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    assert.notEqual(renewed.metadata.uid, old.metadata.uid);
    const oldHandle = e2e.workflow(old);
    const newHandle = e2e.workflow(renewed);
    assert.notEqual(newHandle.workflowId, oldHandle.workflowId);
    await e2e.waitForPhase(renewed, 'Ready');
    const { secret, sveltosCluster } = await e2e.waitForSync(name);
    assert.deepEqual(ownerUids(secret), [renewed.metadata.uid]);
    assert.deepEqual(ownerUids(sveltosCluster), [renewed.metadata.uid]);
    assert.ok((await e2e.getProfile(name))?.metadata.finalizers?.includes(FINALIZER));

    await within('old workflow completion', oldHandle.result());
    assert.equal((await oldHandle.describe()).status.name, 'COMPLETED');
    assert.equal((await newHandle.describe()).status.name, 'RUNNING');
    assert.equal((await e2e.status(old)).phase, 'Deleted');
  });

  test('(j) the refresh update is rejected while deleting', async () => {
    const name = uniqueName('no-refresh');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-no-refresh') });
    // A foreign finalizer keeps the ClusterProfile in deletion after ours is gone; one on the SveltosCluster
    // keeps the workflow's cleanup (and so the workflow) in Deleting until the test releases it.
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { finalizers: [FOREIGN_FINALIZER] });
    await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');
    await e2e.patchSveltosCluster(name, { metadata: { finalizers: [FOREIGN_FINALIZER] } });
    const handle = e2e.workflow(profile);

    await e2e.deleteProfile(name);
    await e2e.waitForPhase(profile, 'Deleting');
    await assert.rejects(handle.executeUpdate(refreshUpdate, { args: [{ reason: 'e2e: too late' }] }), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.match(String(err.cause?.message), /being deleted/);
      return true;
    });

    // Release the SveltosCluster: the cleanup completes, the ClusterProfile lingers (foreign finalizer).
    await e2e.patchSveltosCluster(name, { metadata: { finalizers: null } });
    await within('workflow completion', handle.result());
    assert.equal((await e2e.status(profile)).phase, 'Deleted');
    await e2e.waitForGone(name);
    const lingering = await e2e.getProfile(name);
    assert.ok(lingering?.metadata.deletionTimestamp, 'the ClusterProfile lingers in deletion');
    assert.deepEqual(lingering.metadata.finalizers, [FOREIGN_FINALIZER]);
    await assert.rejects(handle.executeUpdate(refreshUpdate, { args: [{ reason: 'e2e: after completion' }] }));
    assert.equal((await handle.describe()).status.name, 'COMPLETED', 'the lingering profile did not restart the workflow');

    await e2e.patchProfile(name, { metadata: { finalizers: null } });
    await eventually('the ClusterProfile gone', async () => ((await e2e.getProfile(name)) === undefined ? true : undefined));
  });
});

describe('beyond the seed: credentials without an expiry refresh every sync period', GUARD, () => {
  const e2e = new E2E();
  before(async () => {
    await e2e.start({ flags: ['--sync-period', '2s'] });
  });
  after(() => e2e.stop());

  test('(a) syncCount grows and lastSyncAtMs advances; unchanged refreshes write nothing and record no Events', async () => {
    const name = uniqueName('periodic');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-periodic') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    const first = await e2e.waitForPhase(profile, 'Ready');
    const { secret, sveltosCluster } = await e2e.waitForSync(name);
    assert.ok(first.lastSyncAtMs !== undefined && first.nextRefreshAtMs !== undefined);
    assert.equal(first.nextRefreshAtMs - first.lastSyncAtMs, 2_000, 'next refresh one sync period after the sync');
    assert.equal(first.credentialExpiresAtMs, undefined);

    const later = await eventually(
      'two more periodic syncs',
      async () => {
        const s = await e2e.status(profile);
        return s.syncCount >= first.syncCount + 2 ? s : undefined;
      },
      120_000,
    );
    assert.ok(later.lastSyncAtMs! > first.lastSyncAtMs, 'lastSyncAtMs advanced');
    assert.equal(later.phase, 'Ready');
    assert.equal(later.nextRefreshAtMs! - later.lastSyncAtMs!, 2_000);
    assert.equal(later.fingerprint, first.fingerprint);

    const [secretNow, scNow] = await Promise.all([e2e.getSecret(secretNameFor(name)), e2e.getSveltosCluster(name)]);
    assert.equal(secretNow?.metadata?.resourceVersion, secret.metadata?.resourceVersion, 'unchanged refreshes did not write the Secret');
    assert.equal(scNow?.metadata?.resourceVersion, sveltosCluster.metadata?.resourceVersion, 'nor the SveltosCluster');
    const reasons = (await e2e.events(name)).map((e) => e.reason);
    assert.deepEqual(reasons, ['Synced'], 'one Event for the first sync, none per refresh');
  });
});
