// Fault matrix, the controller's own faults: the real `clusterinventory run` as a child process against
// the real stack, one namespace and task queue for the whole file, so that every profile created by an
// earlier scenario must stay converged through the later ones. Scenarios run in order:
// SIGTERM mid-plugin, SIGKILL mid-plugin, restart over many converged profiles, delete while down,
// force-delete while down, a failed refresh near expiry, churn of one name, mass delete.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { secretNameFor } from '../../activities/kube/types.js';
import type { ReconcileActivities } from '../../workflows/registered-activities.js';
import { total } from '../support/prometheus.js';
import { eventually } from '../support/stack.js';
import { activityExecutions } from '../support/e2e.js';
import { tokenIn } from '../support/kubeconfig-view.js';
import { CONVERGE_LIMIT_MS, FaultFixture, Roster, alive, TERMINATION_GRACE_MS, names, report, type Incarnation } from './harness.js';

const GUARD = { timeout: 10 * 60_000 };
/** Profiles converged before the restart scenario (plus those of earlier scenarios). */
const FLEET = 25;

describe('fault matrix: the controller process', GUARD, () => {
  const fx = new FaultFixture();
  const roster = new Roster();

  before(async () => {
    // No refresh falls due during the file (no credential here expires but near-expiry's).
    await fx.start({ flags: ['--sync-period', '30m'] });
    await fx.client();
  });

  after(async () => fx.stop());

  test('SIGTERM while an exec plugin sleeps: the process exits by itself within the grace period and the plugin dies with it', async () => {
    await fx.plugins.hold(true);
    const slow = await fx.createExecProfile('sigterm-slow', 'fault-slow');
    const pids = await eventually('the plugin started and sleeps', async () => {
      const p = await fx.plugins.alivePids();
      return p.length >= 2 ? p : undefined;
    }, CONVERGE_LIMIT_MS);
    const { exit, ms, killed } = await fx.controller.terminate();
    report('SIGTERM mid-plugin', 'process exit after SIGTERM', ms);
    assert.equal(killed, false, `the process needed the kubelet's SIGKILL after ${TERMINATION_GRACE_MS / 1000} s:\n${fx.controller.tail()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `clean exit:\n${fx.controller.tail()}`);
    assert.deepEqual(pids.filter(alive), [], 'the plugin and its sleep were killed');
    assert.ok(fx.controller.logs.some((l) => l.includes('"msg":"stopped"')), 'the shutdown ran to its end');

    await fx.plugins.hold(false);
    const t0 = Date.now();
    await fx.controller.start();
    roster.live.push(slow);
    await fx.converge(roster.live, roster.deleted);
    report('SIGTERM mid-plugin', 'recovery from restart to converged', Date.now() - t0);
  });

  test('SIGKILL while an exec plugin runs: the restarted worker finishes the sync', async () => {
    await fx.plugins.hold(true);
    await writeFile(fx.plugins.file('pids'), '');
    const slow = await fx.createExecProfile('sigkill-slow', 'fault-slow');
    await eventually('the plugin started', async () => ((await fx.plugins.alivePids()).length >= 2 ? true : undefined), CONVERGE_LIMIT_MS);
    const exit = await fx.controller.kill('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    await fx.plugins.hold(false);
    await fx.plugins.killOrphans();
    const t0 = Date.now();
    await fx.controller.start();
    roster.live.push(slow);
    await fx.converge(roster.live, roster.deleted);
    report('SIGKILL mid-plugin', 'recovery from restart to converged', Date.now() - t0);
  });

  test(`restart over ${FLEET} converged profiles: no signal and no sync after the restart`, async () => {
    roster.live.push(...(await fx.createSecretReaderProfiles(names('fleet', FLEET))));
    report(`restart over ${FLEET}`, `${roster.live.length} profiles converged`, await fx.converge(roster.live, roster.deleted));
    const syncsBefore = await syncCounts(fx, roster.live);
    const neverSynced = Object.entries(syncsBefore).filter(([, n]) => n === 0);
    assert.deepEqual(neverSynced, [], `every converged profile's history holds its ${SYNC_ACTIVITIES.join('/')} executions`);
    const { exit } = await fx.controller.terminate();
    assert.equal(exit.code, 0);
    const t0 = Date.now();
    await fx.controller.start();
    // The watcher evaluates every profile it lists (one decision each) after its first visibility query.
    await eventually(
      'the restarted watcher decided on every profile',
      async () => (total(await fx.controller.metrics(), 'clusterinventory_watcher_decisions_total') >= roster.live.length ? true : undefined),
      CONVERGE_LIMIT_MS,
    );
    report(`restart over ${FLEET}`, 'restart to every profile evaluated', Date.now() - t0);
    // A signal decided on would be sent at once; give it a moment to show, then count.
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await syncCounts(fx, roster.live), syncsBefore, 'no workflow scheduled a sync');
    const metrics = await fx.controller.metrics();
    assert.equal(total(metrics, 'clusterinventory_watcher_signals_total'), 0, 'no signal after the restart');
    assert.equal(total(metrics, 'clusterinventory_syncs_total'), 0, 'no sync in the restarted process');
    await fx.converge(roster.live, roster.deleted);
  });

  test('delete while the controller is down: cleaned up after it starts', async () => {
    const victims = roster.live.filter((l) => l.name.startsWith('fleet-')).slice(0, 5);
    assert.equal((await fx.controller.terminate()).exit.code, 0);
    for (const v of victims) await fx.deleteProfile(v.name);
    roster.drop(victims);
    const t0 = Date.now();
    await fx.controller.start();
    await fx.converge(roster.live, roster.deleted);
    report('delete while down', `${victims.length} released, from restart`, Date.now() - t0);
  });

  test(
    'force-delete while the controller is down (finalizer stripped): the workflow notices and completes',
    async () => {
      const victims = roster.live.filter((l) => l.name.startsWith('fleet-')).slice(0, 3);
      assert.equal((await fx.controller.terminate()).exit.code, 0);
      for (const v of victims) await fx.forceDelete(v.name);
      roster.drop(victims);
      const t0 = Date.now();
      await fx.controller.start();
      try {
        await fx.converge(roster.live, roster.deleted, 60_000);
        report('force-delete while down', `${victims.length} workflows completed, from restart`, Date.now() - t0);
      } finally {
        // Without the fix the workflows stay running: do not let the later scenarios inherit them.
        for (const v of victims) await fx.handleOf(v).terminate('force-delete scenario').catch(() => undefined);
        roster.deleted.splice(roster.deleted.length - victims.length, victims.length);
      }
    },
  );

  test(
    'a refresh that fails once near expiry is retried before the credential expires',
    async () => {
      const lifetimeS = 30;
      await writeFile(fx.plugins.file('lifetime'), String(lifetimeS));
      const inc = await fx.createExecProfile('near-expiry', 'fault-expiring');
      roster.live.push(inc);
      await fx.converge(roster.live, roster.deleted);
      // The first credential is in place; its refresh (at 80% of the lifetime) fails once.
      const first = await tokenOf(fx, inc.name);
      await writeFile(fx.plugins.file('fail-next'), '');
      const firstExpiryMs = await expiryOfCall(fx, Number(first.replace('fault-expiring-', '')));
      const replaced = await eventually(
        'a new credential in the Secret',
        async () => {
          const t = await tokenOf(fx, inc.name);
          return t !== first ? { token: t, atMs: Date.now() } : undefined;
        },
        lifetimeS * 1000 + 30_000,
      ).catch(() => undefined);
      const calls = await readFile(fx.plugins.file('expiring-calls'), 'utf8');
      assert.match(calls, /failed/, `the failure was injected:\n${calls}`);
      assert.ok(replaced, `the credential expiring at ${new Date(firstExpiryMs).toISOString()} was never replaced:\n${calls}`);
      assert.ok(replaced.atMs < firstExpiryMs, `replaced at ${new Date(replaced.atMs).toISOString()}, after the expiry ${new Date(firstExpiryMs).toISOString()}:\n${calls}`);
      report('failed refresh near expiry', 'margin left before expiry', firstExpiryMs - replaced.atMs);
      inc.token = replaced.token;
      // Stop rotating: the profile goes, and its next refreshes with it.
      await fx.deleteProfile(inc.name);
      roster.drop([inc]);
      await fx.converge(roster.live, roster.deleted);
    },
  );

  test('churn of one name: create, delete, create … the last incarnation converges with its own uid', async () => {
    const incarnations: Incarnation[] = [];
    for (let i = 0; i < 4; i++) {
      const [inc] = await fx.createSecretReaderProfiles(['churn'], `gen${i}`);
      incarnations.push(inc!);
      if (i < 3) {
        await fx.deleteProfile('churn');
        // The next create needs the name free: the finalizer goes once the workflow has cleaned up.
        await eventually('the name is free again', async () => ((await fx.getProfile('churn')) ? undefined : true), CONVERGE_LIMIT_MS);
      }
    }
    const t0 = Date.now();
    roster.drop(incarnations.slice(0, 3));
    roster.live.push(incarnations[3]!);
    await fx.converge(roster.live, roster.deleted);
    report('churn of one name', 'last incarnation converged', Date.now() - t0);
    const secret = await fx.getSecret(secretNameFor('churn'));
    assert.equal(secret?.metadata?.ownerReferences?.[0]?.uid, incarnations[3]!.uid);
  });

  test('mass delete: every profile released', async () => {
    const all = [...roster.live];
    const t0 = Date.now();
    for (let i = 0; i < all.length; i += 10) await Promise.all(all.slice(i, i + 10).map((l) => fx.deleteProfile(l.name)));
    roster.drop(all);
    await fx.converge([], roster.deleted);
    report('mass delete', `${all.length} released`, Date.now() - t0);
  });
});

/**
 * The activities that sync a profile in the current workflow code: syncProfile, run as a local activity
 * (a marker in history) or, when a plugin could not run inside the workflow task, as a regular one.
 * Typed by the activity interface, so that a renamed activity fails to compile instead of counting 0.
 */
const SYNC_ACTIVITIES: ReadonlyArray<keyof ReconcileActivities> = ['syncProfile'];

/** Sync executions per workflow (its current run: nothing here continues as new), by profile name. */
async function syncCounts(fx: FaultFixture, incs: Incarnation[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const inc of incs) {
    const history = await fx.handleOf(inc).fetchHistory();
    out[inc.name] = activityExecutions(history).filter((a) => (SYNC_ACTIVITIES as readonly string[]).includes(a.type)).length;
  }
  return out;
}

async function tokenOf(fx: FaultFixture, name: string): Promise<string> {
  // Parsed, not matched as text: the managed kubeconfig is JSON (ADR 8).
  const token = tokenIn(fx.managedKubeconfig(await fx.getSecret(secretNameFor(name))));
  if (typeof token !== 'string' || !/^fault-expiring-\d+$/.test(token)) throw new Error(`the Secret of ${name} holds no fault-expiring token`);
  return token;
}

/** The expiry the plugin stated for its call n (from its log). */
async function expiryOfCall(fx: FaultFixture, n: number): Promise<number> {
  const calls = await readFile(fx.plugins.file('expiring-calls'), 'utf8');
  const m = new RegExp(`^call ${n} token fault-expiring-${n} expires (\\d+)$`, 'm').exec(calls);
  if (!m) throw new Error(`no call ${n} in the plugin log:\n${calls}`);
  return Number(m[1]) * 1000;
}
