// The Temporal worker: the workflow bundle plus the activities wired to a Kubernetes client.
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { ReconcileActivities } from '../workflows/api.js';
import { loadWorkflowBundle } from './bundle.js';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: ReconcileActivities;
  /** Time for in-flight activities to finish on SIGTERM, below the pod's terminationGracePeriodSeconds. */
  shutdownGraceTime?: string;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await loadWorkflowBundle(),
    activities: opts.activities,
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
    // A non-determinism error fails the workflow task (retried after a fix is deployed), never the workflow.
    maxConcurrentActivityTaskExecutions: 50,
  });
}
