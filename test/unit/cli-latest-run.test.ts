// `status NAMESPACE/NAME` and `refresh NAMESPACE/NAME` address the workflow by its ID (the latest run),
// never by a run ID read from visibility: visibility lags behind continue-as-new, and a run ID it lists
// may belong to a run that has closed. A fake Temporal client records how the workflow is addressed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { CliClient } from '../../cli/connect.js';
import { collectingIo } from '../support/cli-io.js';
import { runRefresh } from '../../cli/refresh.js';
import { EXIT } from '../../cli/command.js';
import { runStatus } from '../../cli/status.js';
import { SearchAttr, WORKFLOW_TYPE, type SyncOutcome, type WorkflowStatus } from '../../workflows/api.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const WORKFLOW_ID = 'clusterprofile/fleet/spoke-1/u-1';
const UI = 'http://ui.example:8233';

function execution(runId: string, status: 'RUNNING' | 'CONTINUED_AS_NEW', startedAgoMs: number): WorkflowExecutionInfo {
  return {
    type: WORKFLOW_TYPE,
    workflowId: WORKFLOW_ID,
    runId,
    taskQueue: 'clusterinventory',
    status: { code: status === 'RUNNING' ? 1 : 6, name: status },
    historyLength: 10,
    startTime: new Date(NOW - startedAgoMs),
    ...(status === 'RUNNING' ? {} : { closeTime: new Date(NOW - 1000) }),
    memo: { managedSinceMs: NOW - 86_400_000 },
    searchAttributes: {},
    typedSearchAttributes: new TypedSearchAttributes([
      { key: SearchAttr.namespace, value: 'fleet' },
      { key: SearchAttr.name, value: 'spoke-1' },
      { key: SearchAttr.phase, value: 'Ready' },
    ]),
    raw: {},
  };
}

const LATEST: WorkflowStatus = { ref: { namespace: 'fleet', name: 'spoke-1', uid: 'u-1' }, phase: 'Ready', syncCount: 12, runCount: 3 };

/** A Temporal client whose visibility lists `running` / `closed` and whose current run is `run-3`. */
function fakeTemporal(visible: { running: WorkflowExecutionInfo[]; closed: WorkflowExecutionInfo[] }): { connect: () => Promise<CliClient>; handles: Array<[string, string | undefined]> } {
  const handles: Array<[string, string | undefined]> = [];
  const client = {
    workflow: {
      list: ({ query }: { query: string }) => {
        const rows = query.includes(`ExecutionStatus = 'Running'`) ? visible.running : visible.closed;
        return (async function* () {
          for (const r of rows) yield await Promise.resolve(r);
        })();
      },
      getHandle: (workflowId: string, runId?: string) => {
        handles.push([workflowId, runId]);
        // A pinned run that is not the current one answers as a closed run would: stale state, no updates.
        const stale = runId !== undefined && runId !== 'run-3';
        return {
          workflowId,
          query: () => Promise.resolve(stale ? { ...LATEST, syncCount: 1, runCount: 1 } : LATEST),
          describe: () => Promise.resolve({ runId: runId ?? 'run-3' }),
          executeUpdate: () =>
            stale ? Promise.reject(new Error('workflow execution already completed')) : Promise.resolve<SyncOutcome>({ phase: 'Ready', changed: false, nextRefreshAtMs: NOW + 600_000 }),
        };
      },
    },
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
  } as unknown as Client;
  return { connect: () => Promise.resolve({ client, namespace: 'default', address: 'fake:7233', close: () => Promise.resolve() }), handles };
}

const collector = () => collectingIo({ TEMPORAL_UI_URL: UI }, () => NOW);

describe('operator commands address the workflow ID, not a run from visibility', () => {
  test('status: visibility still lists an earlier run; the query reaches the latest one', async () => {
    const t = fakeTemporal({ running: [execution('run-1', 'RUNNING', 3_600_000)], closed: [] });
    const c = collector();
    const code = await runStatus(['fleet/spoke-1', '-o', 'json'], c.io, t.connect);
    assert.equal(code, EXIT.ok, c.err());
    const doc = JSON.parse(c.out()) as { workflowId: string; runId: string; uiUrl: string; status: { runCount: number; syncCount: number } };
    assert.deepEqual(t.handles, [[WORKFLOW_ID, undefined]], 'one handle, by workflow ID only');
    assert.equal(doc.status.runCount, 3, 'the latest run answered');
    assert.equal(doc.runId, 'run-3', 'the run shown is the one that answered, not the listed one');
    assert.equal(doc.uiUrl, `${UI}/namespaces/default/workflows/${encodeURIComponent(WORKFLOW_ID)}`, 'the link follows the latest run');
  });

  test('status: two runs of one ID listed around a continue-as-new are one workflow, not two incarnations', async () => {
    const t = fakeTemporal({ running: [execution('run-2', 'RUNNING', 60_000), execution('run-3', 'RUNNING', 1000)], closed: [] });
    const c = collector();
    const code = await runStatus(['fleet/spoke-1'], c.io, t.connect);
    assert.equal(code, EXIT.ok, c.err());
    assert.equal(c.err(), '', 'no "another workflow also runs" note');
    assert.match(c.out(), new RegExp(`^Workflow:\\s+${WORKFLOW_ID} \\(latest run run-3, task queue clusterinventory\\)$`, 'm'));
    assert.match(c.out(), new RegExp(`^Web UI:\\s+${UI}/namespaces/default/workflows/${encodeURIComponent(WORKFLOW_ID)}$`, 'm'));
  });

  test('status and refresh: visibility shows only the run that continued as new; the workflow is still found', async () => {
    const visible = { running: [], closed: [execution('run-2', 'CONTINUED_AS_NEW', 60_000)] };
    const s = fakeTemporal(visible);
    const c = collector();
    assert.equal(await runStatus(['fleet/spoke-1', '-o', 'json'], c.io, s.connect), EXIT.ok, c.err());
    assert.equal((JSON.parse(c.out()) as { status: WorkflowStatus }).status.runCount, 3);
    assert.deepEqual(s.handles, [[WORKFLOW_ID, undefined]]);

    const r = fakeTemporal(visible);
    const rc = collector();
    assert.equal(await runRefresh(['fleet/spoke-1', '-o', 'json'], rc.io, r.connect), EXIT.ok, rc.err());
    assert.deepEqual(r.handles, [[WORKFLOW_ID, undefined]], 'the update goes to the workflow ID');
    const doc = JSON.parse(rc.out()) as { workflowId: string; runId?: string; uiUrl: string; outcome: { phase: string } };
    assert.equal(doc.outcome.phase, 'Ready');
    assert.equal(doc.runId, undefined, 'no run ID is claimed for an update sent to the workflow ID');
    assert.equal(doc.uiUrl, `${UI}/namespaces/default/workflows/${encodeURIComponent(WORKFLOW_ID)}`);
  });

  test('a completed incarnation is not found: exit 3 with the reason', async () => {
    const completed = { ...execution('run-9', 'CONTINUED_AS_NEW', 60_000), status: { code: 2, name: 'COMPLETED' } } as unknown as WorkflowExecutionInfo;
    const t = fakeTemporal({ running: [], closed: [completed] });
    const c = collector();
    assert.equal(await runRefresh(['fleet/spoke-1'], c.io, t.connect), EXIT.error);
    assert.match(c.err(), /no running workflow for ClusterProfile fleet\/spoke-1/);
    assert.deepEqual(t.handles, [], 'nothing addressed');
  });
});
