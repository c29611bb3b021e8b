// A worker for clusterProfileWorkflow on the time-skipping test server (tools/test-server), bundled from
// source as `npm run build` bundles it (source map cut to our code), with the given (mocked) activities:
// what the workflow tests share.
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { startTimeSkippingEnvironment, type TimeSkippingEnvironment } from '../../tools/test-server/env.js';
import { bundleAsBuilt } from '../../tools/workflow-source-map.js';
import { SearchAttr } from '../../workflows/api.js';

const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkflowHarness {
  ts: TimeSkippingEnvironment;
  /** The bundle the worker runs (for replays). */
  workflowCode: string;
  /** Terminates the given workflows, stops the worker and the server. */
  stop(open: readonly WorkflowHandle[]): Promise<void>;
}

/** `adapt`: what the worker does to the built bundle before it runs it (e.g. worker/bundle.ts limitWorkflowStackTraces). */
export async function startWorkflowHarness(taskQueue: string, activities: object, adapt: (code: string) => string = (code) => code): Promise<WorkflowHarness> {
  const ts = await startTimeSkippingEnvironment({ searchAttributes: Object.values(SearchAttr) });
  const workflowCode = adapt((await bundleAsBuilt(workflowsPath, repoRoot, new DefaultLogger('WARN'))).code);
  const worker = await Worker.create({ connection: ts.env.nativeConnection, taskQueue, workflowBundle: { code: workflowCode }, activities });
  const running = worker.run();
  return {
    ts,
    workflowCode,
    async stop(open) {
      for (const h of open) await h.terminate('test finished').catch(() => undefined);
      worker.shutdown();
      await running;
      await ts.env.teardown();
    },
  };
}
