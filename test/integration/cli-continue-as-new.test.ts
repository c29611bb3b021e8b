// `clusterinventory status NAMESPACE/NAME` and `refresh NAMESPACE/NAME` after continue-as-new, on the
// real app and stack: workflows continue as new after every sync here (maxCyclesPerRun 1), so each
// refresh closes the run it went to. The commands address the workflow ID, so they reach the latest
// run every time: the query reports its run count, the update is accepted (a closed run refuses
// updates), and the Web UI link names the workflow, not a run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliRun } from '../support/cli-io.js';
import { runRefresh } from '../../cli/refresh.js';
import { runStatus } from '../../cli/status.js';
import type { ClusterProfile } from '../../activities/kube/types.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { eventually, uniqueName } from '../support/stack.js';

/** Hang guard on a busy machine, not a timing assertion. */
const LIMIT_MS = 120_000;
const UI = 'http://ui.example:8233';

const cli = (command: typeof runStatus, argv: string[]): Promise<CliRun> => runCli(command, argv, UI);

interface StatusDoc {
  workflowId: string;
  runId: string;
  uiUrl: string;
  status: { phase: string; runCount: number; syncCount: number; uid: string };
}

describe('status and refresh reach the latest run after continue-as-new', { timeout: 10 * 60_000 }, () => {
  const e2e = new E2E();
  const name = uniqueName('cli-can');
  let profile: ClusterProfile;

  before(async () => {
    await e2e.start({ flags: ['--sync-period', '1h'], maxCyclesPerRun: 1 });
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('cli-can-token-not-a-secret') });
    profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
  });

  after(async () => e2e.stop());

  /** The workflow's own view (by ID), once its latest run is idle in Ready with at least `runs` runs. */
  const settledAt = (runs: number) =>
    eventually(
      `workflow of ${name} in run ${runs} or later, Ready`,
      async () => {
        const s = await e2e.status(profile);
        return s.phase === 'Ready' && s.runCount >= runs ? s : undefined;
      },
      LIMIT_MS,
    );

  test('status answers from the latest run; refresh goes to it and the next status sees the run after', async () => {
    const target = `${e2e.namespace}/${name}`;
    const workflowId = e2e.workflow(profile).workflowId;
    // The first sync ends run 1: the workflow now runs as run 2 (or later).
    const afterFirst = await settledAt(2);
    const latestRun = (await e2e.workflow(profile).describe()).runId;

    const shown = await cli(runStatus, [target, '-o', 'json']);
    assert.equal(shown.code, 0, shown.err);
    const doc = JSON.parse(shown.out) as StatusDoc;
    assert.equal(doc.workflowId, workflowId);
    assert.equal(doc.status.uid, profile.metadata.uid);
    assert.equal(doc.status.runCount, afterFirst.runCount, 'the status of the latest run');
    assert.equal(doc.runId, latestRun, 'the run shown is the current run');
    assert.equal(doc.uiUrl, `${UI}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`, 'the link names the workflow (the UI opens its latest run)');

    // The refresh syncs in the current run, which then continues as new: its run ID is closed afterwards.
    const refreshed = await cli(runRefresh, [target, '--reason', 'continue-as-new test', '-o', 'json']);
    assert.equal(refreshed.code, 0, refreshed.err);
    const outcome = JSON.parse(refreshed.out) as { workflowId: string; outcome: { phase: string } };
    assert.equal(outcome.workflowId, workflowId);
    assert.equal(outcome.outcome.phase, 'Ready');

    const afterRefresh = await settledAt(afterFirst.runCount + 1);
    assert.ok(afterRefresh.syncCount > afterFirst.syncCount, 'the refresh synced');
    const again = await cli(runStatus, [target, '-o', 'json']);
    assert.equal(again.code, 0, again.err);
    const doc2 = JSON.parse(again.out) as StatusDoc;
    assert.ok(doc2.status.runCount >= afterRefresh.runCount, `run ${doc2.status.runCount} answered, the workflow is in run ${afterRefresh.runCount}`);
    assert.notEqual(doc2.runId, latestRun, 'a later run answered');

    // And a second refresh, sent right after the first one's continue-as-new, is accepted too.
    const second = await cli(runRefresh, [target, '--reason', 'continue-as-new test, again']);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, new RegExp(`^${target}: Ready; `, 'm'));
  });
});
