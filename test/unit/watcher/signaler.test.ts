import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { runningWorkflowOf, startOptionsFor } from '../../../watcher/signaler.js';
import { SearchAttr, WORKFLOW_INPUT_VERSION, workflowIdFor, type ProfileSnapshot } from '../../../workflows/api.js';

const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const SNAP: ProfileSnapshot = { resourceVersion: '7', generation: 2, observedHash: 'h7', providerCount: 1, deleting: false };

/** The typed search attributes of a listed workflow, as the client gives them. */
function attrs(values: Record<string, string>) {
  return { get: (key: { name: string }) => values[key.name] } as unknown as Parameters<typeof runningWorkflowOf>[0]['typedSearchAttributes'];
}

describe('signaler: what goes to Temporal and what is read back', () => {
  test('startOptionsFor: one workflow per profile uid, reused while open, never resurrected once completed; the snapshot and the Pending phase indexed', () => {
    const o = startOptionsFor(REF, SNAP, { taskQueue: 'q', maxCyclesPerRun: 3 }, 1234);
    assert.equal(o.workflowId, workflowIdFor(REF));
    assert.equal(o.taskQueue, 'q');
    assert.equal(o.workflowIdConflictPolicy, 'USE_EXISTING');
    assert.equal(o.workflowIdReusePolicy, 'ALLOW_DUPLICATE_FAILED_ONLY');
    assert.deepEqual(o.args, [{ version: WORKFLOW_INPUT_VERSION, ref: REF, snapshot: SNAP, maxCyclesPerRun: 3 }]);
    assert.deepEqual(o.memo, { managedSinceMs: 1234 });
    const indexed = Object.fromEntries(o.typedSearchAttributes.map((p) => [p.key.name, p.value]));
    assert.deepEqual(indexed, { [SearchAttr.namespace.name]: 'fleet', [SearchAttr.name.name]: 'spoke-1', [SearchAttr.observedHash.name]: 'h7', [SearchAttr.phase.name]: 'Pending' });
    assert.equal(startOptionsFor(REF, SNAP, { taskQueue: 'q' }, 0).args[0].maxCyclesPerRun, undefined);
  });

  test('runningWorkflowOf: our workflow IDs by uid with hash, phase and start; other IDs skipped', () => {
    const row = runningWorkflowOf(execution({
      workflowId: workflowIdFor(REF),
      runId: 'r1',
      startTime: new Date(5000),
      typedSearchAttributes: attrs({ [SearchAttr.observedHash.name]: 'h7', [SearchAttr.phase.name]: 'Ready' }),
    }));
    assert.deepEqual(row, { uid: 'uid-1', view: { workflowId: workflowIdFor(REF), runId: 'r1', running: true, startedAtMs: 5000, observedHash: 'h7', phase: 'Ready' } });
    const bare = runningWorkflowOf(execution({ workflowId: workflowIdFor(REF), runId: 'r2', startTime: new Date(1), typedSearchAttributes: attrs({}) }));
    assert.deepEqual(bare?.view, { workflowId: workflowIdFor(REF), runId: 'r2', running: true, startedAtMs: 1 });
    assert.equal(runningWorkflowOf(execution({ workflowId: 'other-workflow', runId: 'r3', startTime: new Date(1), typedSearchAttributes: attrs({}) })), undefined);
  });
});

/** A listed execution as the client returns it, with the fields the watcher reads. */
function execution(fields: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'startTime' | 'typedSearchAttributes'>): WorkflowExecutionInfo {
  return { ...fields, taskQueue: 'q', status: { code: 1, name: 'RUNNING' }, memo: {} } as unknown as WorkflowExecutionInfo;
}
