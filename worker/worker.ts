// The Temporal worker: the workflow bundle plus the activities wired to a Kubernetes client.
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { ReconcileActivities } from '../workflows/api.js';
import { loadWorkflowBundle } from './bundle.js';

/**
 * The shutdown budget, inside the pod's terminationGracePeriodSeconds (40 s in the chart; Kubernetes'
 * default is 30 s): in-flight activities get SHUTDOWN_GRACE_MS to finish, then they are cancelled (an
 * exec plugin's process group is killed, Kubernetes requests are aborted) and their attempt fails, so
 * that another worker retries it at once instead of after a heartbeat timeout. A worker that still has
 * not drained at SHUTDOWN_FORCE_MS gives up, and the process exits at SHUTDOWN_DEADLINE_MS at the latest.
 */
export const SHUTDOWN_GRACE_MS = 20_000;
export const SHUTDOWN_FORCE_MS = 25_000;
export const SHUTDOWN_DEADLINE_MS = 28_000;

/**
 * Workflows kept in memory between their tasks. Profiles are mostly idle (one task per refresh), so a cache
 * far below the fleet size keeps the worker small: an evicted workflow is replayed from its history when it
 * wakes, and histories stay short (a run continues as new after DEFAULT_MAX_CYCLES_PER_RUN syncs).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 500;

/** Worker settings the throughput benchmark's Temporal floor uses too, so that both are measured alike. */
export const WORKER_TUNING = {
  maxConcurrentActivityTaskExecutions: 50,
  maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS,
} as const;

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: ReconcileActivities;
  /** Time for in-flight activities to finish on SIGTERM (default SHUTDOWN_GRACE_MS). */
  shutdownGraceMs?: number;
  maxCachedWorkflows?: number;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const graceMs = opts.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await loadWorkflowBundle(),
    activities: opts.activities,
    shutdownGraceTime: graceMs,
    shutdownForceTime: graceMs + (SHUTDOWN_FORCE_MS - SHUTDOWN_GRACE_MS),
    ...WORKER_TUNING,
    maxCachedWorkflows: opts.maxCachedWorkflows ?? WORKER_TUNING.maxCachedWorkflows,
  });
}
