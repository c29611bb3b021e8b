// The stack trace a person reads in the Web UI (the `__stack_trace` query) with the workflow bundle as
// `npm run build` writes it, its source map trimmed (tools/workflow-source-map.ts): our frames name their
// TypeScript file, line and column, the SDK's their file and line; no path of the build machine.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { WORKFLOW_INPUT_VERSION, WORKFLOW_TYPE, profileChanged, statusQuery, workflowIdFor, type ClusterProfileWorkflowInput, type ProfileRef } from '../../workflows/api.js';
import type { clusterProfileWorkflow } from '../../workflows/cluster-profile.js';
import { startWorkflowHarness, type WorkflowHarness } from '../workflows/harness.js';
import { MockReconcileActivities, mockDispatcher } from '../workflows/mock-activities.js';
import { eventually } from '../support/stack.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const TASK_QUEUE = 'clusterinventory-stack-trace-test';
const mocks = new Map<string, MockReconcileActivities>();
const open: WorkflowHandle[] = [];
let harness: WorkflowHarness;

before(async () => {
  harness = await startWorkflowHarness(TASK_QUEUE, mockDispatcher(mocks));
});

after(() => harness?.stop(open));

void test("a sleeping profile workflow's stack trace names our TypeScript sources and lines", { timeout: 5 * 60_000 }, async () => {
  const ref: ProfileRef = { namespace: 'fleet', name: 'traced', uid: 'uid-traced' };
  mocks.set(ref.name, new MockReconcileActivities({ now: () => harness.ts.env.currentTimeMs(), credentialTtlMs: 60 * 60_000 }));
  const input: ClusterProfileWorkflowInput = {
    version: WORKFLOW_INPUT_VERSION,
    ref,
    snapshot: { observedHash: 'h1', generation: 1, resourceVersion: '1', providerNames: ['mock-provider'], deleting: false },
  };
  const started = await harness.ts.env.client.workflow.signalWithStart<typeof clusterProfileWorkflow, [typeof input.snapshot]>(WORKFLOW_TYPE, {
    workflowId: workflowIdFor(ref),
    taskQueue: TASK_QUEUE,
    args: [input],
    signal: profileChanged,
    signalArgs: [input.snapshot],
  });
  const handle = harness.ts.env.client.workflow.getHandle<typeof clusterProfileWorkflow>(started.workflowId);
  open.push(handle);
  await eventually('synced and sleeping', async () => ((await handle.query(statusQuery)).nextRefreshAtMs !== undefined ? true : undefined), 120_000);

  const trace = await handle.query<string>('__stack_trace');
  assert.match(trace, /workflows\/reconciler\.ts:\d+:\d+/, `our frames are mapped to their sources:\n${trace}`);
  assert.match(trace, /node_modules\/@temporalio\/workflow\/src\/[\w/-]+\.ts:\d+/, `the SDK's frames name their file and line:\n${trace}`);
  assert.doesNotMatch(trace, /null:null/, `every mapped frame names a file:\n${trace}`);
  assert.doesNotMatch(trace, /\(\/|at \//, `no absolute (build machine) paths:\n${trace}`);
});
