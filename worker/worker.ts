// The Temporal worker: the workflow bundle plus the activities wired to a Kubernetes client.
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { ReconcileActivities } from '../workflows/registered-activities.js';
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
 * Workflows kept in memory between their tasks, each about 0.5–1 MiB. Profiles are mostly idle (one task per
 * refresh, minutes apart), so above a few hundred profiles a refresh replays its workflow from history
 * whatever the cache size short of the whole fleet; what the cache must hold is the workflows busy at once
 * (the SDK's 40 concurrent workflow tasks) and the ones signalled again within seconds. Histories stay short
 * (a run continues as new after DEFAULT_MAX_CYCLES_PER_RUN syncs). docs/adr/0007-memory-tuning.md.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 50;

/**
 * Workflow tasks in progress at once (the SDK's default is 40). A sync is a local activity inside its
 * workflow task, so this also bounds the syncs in flight. With 40, a start-up backlog at the default write
 * limit queued each sync's four writes behind 39 others: the first tasks outlived the 10 s workflow task
 * timeout and their syncs ran twice (WorkflowTaskTimedOut for half of 1,000 profiles). 20 keeps
 * every task well inside it without slowing a backlog (qps 1000: the CPU is the limit).
 */
export const MAX_CONCURRENT_WORKFLOW_TASKS = 20;

/** Worker settings the throughput benchmark's Temporal floor uses too, so that both are measured alike. */
export const WORKER_TUNING = {
  maxConcurrentActivityTaskExecutions: 50,
  maxConcurrentWorkflowTaskExecutions: MAX_CONCURRENT_WORKFLOW_TASKS,
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
  /** Full stack traces in workflow code, for the Web UI's stack-trace query (default off: worker/bundle.ts). */
  workflowStackTraces?: boolean;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const graceMs = opts.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await loadWorkflowBundle({ stackTraces: opts.workflowStackTraces ?? false }),
    activities: opts.activities,
    shutdownGraceTime: graceMs,
    shutdownForceTime: graceMs + (SHUTDOWN_FORCE_MS - SHUTDOWN_GRACE_MS),
    ...WORKER_TUNING,
    maxCachedWorkflows: opts.maxCachedWorkflows ?? WORKER_TUNING.maxCachedWorkflows,
  });
}
