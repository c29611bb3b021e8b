// The stack trace a person reads in the Web UI (the `__stack_trace` query) with the workflow bundle as
// `npm run build` writes it, its source map trimmed (tools/workflow-source-map.ts). With
// --workflow-stack-traces (the bundle as built): our frames name their TypeScript file, line and column, the
// SDK's their file and line; no path of the build machine. Without it (the default: worker/bundle.ts limits
// the sandbox's stack traces): the workflow works the same, and its stack trace names none of our code.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { WORKFLOW_INPUT_VERSION, WORKFLOW_TYPE, profileChanged, statusQuery, workflowIdFor, type ClusterProfileWorkflowInput, type ProfileRef } from '../../workflows/api.js';
import type { clusterProfileWorkflow } from '../../workflows/cluster-profile.js';
import { limitWorkflowStackTraces } from '../../worker/bundle.js';
import { startWorkflowHarness, type WorkflowHarness } from '../workflows/harness.js';
import { MockReconcileActivities, mockDispatcher } from '../workflows/mock-activities.js';
import { eventually } from '../support/stack.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const mocks = new Map<string, MockReconcileActivities>();
/** Each harness (its own test server) with the workflows it started. */
const started: Array<{ harness: WorkflowHarness; open: WorkflowHandle[] }> = [];

after(async () => {
  for (const { harness, open } of started) await harness.stop(open);
});

/** Starts a profile workflow on a worker running the bundle as `adapt` leaves it; returns its stack trace once it synced and sleeps. */
async function sleepingStackTrace(name: string, adapt?: (code: string) => string): Promise<string> {
  const taskQueue = `clusterinventory-stack-trace-${name}`;
  const harness = await startWorkflowHarness(taskQueue, mockDispatcher(mocks), adapt);
  const open: WorkflowHandle[] = [];
  started.push({ harness, open });
  const ref: ProfileRef = { namespace: 'fleet', name, uid: `uid-${name}` };
  mocks.set(ref.name, new MockReconcileActivities({ now: () => harness.ts.env.currentTimeMs(), credentialTtlMs: 60 * 60_000 }));
  const input: ClusterProfileWorkflowInput = {
    version: WORKFLOW_INPUT_VERSION,
    ref,
    snapshot: { observedHash: 'h1', generation: 1, resourceVersion: '1', providerNames: ['mock-provider'], deleting: false },
  };
  const { workflowId } = await harness.ts.env.client.workflow.signalWithStart<typeof clusterProfileWorkflow, [typeof input.snapshot]>(WORKFLOW_TYPE, {
    workflowId: workflowIdFor(ref),
    taskQueue,
    args: [input],
    signal: profileChanged,
    signalArgs: [input.snapshot],
  });
  const handle = harness.ts.env.client.workflow.getHandle<typeof clusterProfileWorkflow>(workflowId);
  open.push(handle);
  await eventually('synced and sleeping', async () => ((await handle.query(statusQuery)).nextRefreshAtMs !== undefined ? true : undefined), 120_000);
  return handle.query<string>('__stack_trace');
}

describe('the stack trace of a sleeping profile workflow', { timeout: 10 * 60_000 }, () => {
  void test('with --workflow-stack-traces: names our TypeScript sources and lines', async () => {
    const trace = await sleepingStackTrace('traced');
    assert.match(trace, /workflows\/reconciler\.ts:\d+:\d+/, `our frames are mapped to their sources:\n${trace}`);
    assert.match(trace, /node_modules\/@temporalio\/workflow\/src\/[\w/-]+\.ts:\d+/, `the SDK's frames name their file and line:\n${trace}`);
    assert.doesNotMatch(trace, /null:null/, `every mapped frame names a file:\n${trace}`);
    assert.doesNotMatch(trace, /\(\/|at \//, `no absolute (build machine) paths:\n${trace}`);
  });

  void test('by default (stack traces limited): the workflow syncs and sleeps alike, and its trace names none of our code', async () => {
    const trace = await sleepingStackTrace('lean', (code) => limitWorkflowStackTraces(code));
    assert.doesNotMatch(trace, /workflows\//, `no frame of our workflow code:\n${trace}`);
  });
});
