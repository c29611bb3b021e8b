// Fault matrix, the servers' faults: Temporal SIGKILLed and restarted, the API server frozen for 30 s,
// the API server SIGKILLed and restarted, each while the real controller (a child process) runs and
// profiles change. The servers are this checkout's stack (`npm run stack -- up`, own ports), restarted
// with the same ports and data directories; the stack is brought up again whatever happens.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FaultFixture, Roster, freezeServer, killServer, names, report, resumeServers, stackUp } from './harness.js';

const GUARD = { timeout: 10 * 60_000 };
const FREEZE_MS = 30_000;

describe('fault matrix: the servers', GUARD, () => {
  const fx = new FaultFixture();
  const roster = new Roster();

  before(async () => {
    await fx.start({ flags: ['--sync-period', '30m'] });
    roster.live.push(...(await fx.createSecretReaderProfiles(names('base', 10))));
    report('servers', `${roster.live.length} profiles converged at start`, await fx.converge(roster.live));
  });

  after(async () => {
    // Whatever a scenario left behind, the next test file finds the stack up and running.
    try {
      await resumeServers();
      await stackUp();
    } finally {
      await fx.stop();
    }
  });

  test('Temporal SIGKILLed and restarted while profiles are created and deleted: all converge', async () => {
    await killServer('temporal');
    // While Temporal is down: new profiles and deletions pile up in the watcher.
    const added = await fx.createSecretReaderProfiles(names('during-temporal', 3));
    const victims = roster.live.slice(0, 2);
    for (const v of victims) await fx.deleteProfile(v.name);
    roster.live.push(...added);
    roster.drop(victims);
    const upMs = await stackUp();
    report('Temporal kill', 'stack up (Temporal restart)', upMs);
    const ms = await fx.converge(roster.live, roster.deleted);
    report('Temporal kill', `${added.length} created and ${victims.length} deleted while down, converged after restart`, ms);
    assert.ok(fx.controller.running, 'the controller rode it out');
  });

  test('SIGTERM while Temporal is frozen: the process still exits before the kubelet would SIGKILL it', async () => {
    const resume = await freezeServer('temporal');
    let result;
    try {
      result = await fx.controller.terminate();
    } finally {
      resume();
    }
    report('SIGTERM with Temporal frozen', `process exit after SIGTERM (code ${result.exit.code})`, result.ms);
    assert.equal(result.killed, false, `the process needed the kubelet's SIGKILL:\n${fx.controller.tail()}`);
    assert.equal(result.exit.signal, null, 'it exited by itself');
    const t0 = Date.now();
    await fx.controller.start();
    await fx.converge(roster.live, roster.deleted);
    report('SIGTERM with Temporal frozen', 'restart to converged', Date.now() - t0);
  });

  test(`API server frozen ${FREEZE_MS / 1000} s (SIGSTOP) during syncs: all converge after it resumes`, async () => {
    const added = await fx.createSecretReaderProfiles(names('during-freeze', 10));
    roster.live.push(...added);
    const resume = await freezeServer('kube');
    try {
      await new Promise((r) => setTimeout(r, FREEZE_MS));
    } finally {
      resume();
    }
    const ms = await fx.converge(roster.live, roster.deleted);
    report('API server frozen', `${roster.live.length} converged after SIGCONT`, ms);
    assert.ok(fx.controller.running, 'the controller rode it out');
  });

  test(
    'API server SIGKILLed and restarted: the running controller reconnects and converges',
    async () => {
      await killServer('kube');
      const upMs = await stackUp();
      report('API server kill', 'stack up (API server restart)', upMs);
      const added = await fx.createSecretReaderProfiles(names('after-kube', 2));
      const victims = roster.live.slice(0, 2);
      for (const v of victims) await fx.deleteProfile(v.name);
      roster.live.push(...added);
      roster.drop(victims);
      const ms = await fx.converge(roster.live, roster.deleted, 90_000);
      report('API server kill', `converged after restart (${added.length} created, ${victims.length} deleted after it)`, ms);
      assert.ok(fx.controller.running, 'the controller rode it out');
    },
  );
});
