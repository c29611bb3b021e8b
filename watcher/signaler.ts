// The Temporal side of the watcher: deliver the decided signals, and read what running workflows last
// observed with one visibility list query.
//
//  - profileChanged: signal-with-start by workflowIdFor(ref), USE_EXISTING while a run is open and
//    ALLOW_DUPLICATE_FAILED_ONLY once it closed: a stale event for a deleted ClusterProfile never
//    resurrects a workflow that completed its cleanup (the server answers "already started": logged at
//    debug, counted), while a run that was terminated, failed or timed out is started again for a
//    profile that still exists, instead of leaving it orphaned.
//  - deletionRequested: to the running workflow; if there is none, signal-with-start, so that cleanup
//    happens even if the workflow never ran.
//  - resyncRequested: to the running workflow; none → dropped (nothing to resync).
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionInfo,
  type WorkflowHandleWithSignaledRunId,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import {
  SearchAttr,
  WORKFLOW_INPUT_VERSION,
  WORKFLOW_TYPE,
  deletionRequested,
  profileChanged,
  resyncRequested,
  workflowIdFor,
  type ClusterProfileWorkflowInput,
  type DeletionRequest,
  type ProfileRef,
  type ProfileSnapshot,
  type ResyncRequest,
} from '../workflows/api.js';
import { DEFAULT_PAGE_SIZE, profilesQuery, rowFromExecution } from '../workflows/visibility.js';
import type { SignalCounters } from './counters.js';
import type { WorkflowView } from './decide.js';
import type { WatcherLogger } from './log.js';

export type SignalOutcome =
  /** Delivered to a running workflow (or to one just started by signal-with-start). */
  | 'signalled'
  /** deletionRequested delivered by signal-with-start because no run was open. */
  | 'started'
  /** The workflow ID belongs to a closed run: nothing to do. */
  | 'already-done'
  /** resyncRequested for a workflow that does not run: dropped. */
  | 'not-found';

export interface RunningWorkflow extends WorkflowView {
  workflowId: string;
  runId: string;
  /** When this run started (visibility); unknown: never taken for an orphan. */
  startedAtMs?: number;
}

/** What the watcher needs from Temporal; tests may substitute a fake. */
export interface WorkflowSignaler {
  profileChanged(ref: ProfileRef, snapshot: ProfileSnapshot): Promise<SignalOutcome>;
  deletionRequested(ref: ProfileRef, snapshot: ProfileSnapshot): Promise<SignalOutcome>;
  resyncRequested(ref: ProfileRef, request: ResyncRequest): Promise<SignalOutcome>;
  /** Running workflows of this task queue by ClusterProfile uid: one visibility list query. */
  listRunning(): Promise<Map<string, RunningWorkflow>>;
}

export interface SignalerOptions {
  client: Client;
  taskQueue: string;
  counters: SignalCounters;
  logger: WatcherLogger;
  /** Passed to new workflows (ClusterProfileWorkflowInput.maxCyclesPerRun); tests set it small. */
  maxCyclesPerRun?: number;
}

export function staticSummaryFor(ref: ProfileRef): string {
  return `ClusterProfile ${ref.namespace}/${ref.name}`;
}

export function staticDetailsFor(ref: ProfileRef): string {
  return [
    `**ClusterProfile** \`${ref.namespace}/${ref.name}\``,
    '',
    `- namespace: \`${ref.namespace}\``,
    `- name: \`${ref.name}\``,
    `- uid: \`${ref.uid}\``,
  ].join('\n');
}

type WorkflowFn = (input: ClusterProfileWorkflowInput) => Promise<void>;

/** Start options shared by both signal-with-start calls (the signal itself is added by the caller). */
export function startOptionsFor(ref: ProfileRef, snapshot: ProfileSnapshot, o: Pick<SignalerOptions, 'taskQueue' | 'maxCyclesPerRun'>, nowMs: number) {
  const input: ClusterProfileWorkflowInput = { version: WORKFLOW_INPUT_VERSION, ref, snapshot };
  if (o.maxCyclesPerRun !== undefined) input.maxCyclesPerRun = o.maxCyclesPerRun;
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: SearchAttr.namespace, value: ref.namespace },
    { key: SearchAttr.name, value: ref.name },
    { key: SearchAttr.observedHash, value: snapshot.observedHash },
    { key: SearchAttr.phase, value: 'Pending' },
  ];
  return {
    workflowId: workflowIdFor(ref),
    taskQueue: o.taskQueue,
    args: [input] as [ClusterProfileWorkflowInput],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' as const,
    typedSearchAttributes,
    // Set at start so that the workflow's first sync upserts no memo (one history event and action less).
    memo: { managedSinceMs: nowMs },
    staticSummary: staticSummaryFor(ref),
    staticDetails: staticDetailsFor(ref),
  };
}

/** One row of the visibility list as the watcher reads it (the read model of workflows/visibility.ts); undefined for a workflow ID that is not ours. */
export function runningWorkflowOf(info: WorkflowExecutionInfo): { uid: string; view: RunningWorkflow } | undefined {
  const row = rowFromExecution(info);
  if (row?.uid === undefined) return undefined;
  const view: RunningWorkflow = { workflowId: row.workflowId, runId: row.runId, running: true, startedAtMs: row.runStartedAtMs };
  if (row.observedHash !== undefined) view.observedHash = row.observedHash;
  if (row.phase !== undefined) view.phase = row.phase;
  return { uid: row.uid, view };
}

export function temporalSignaler(o: SignalerOptions): WorkflowSignaler {
  return new TemporalSignaler(o);
}

class TemporalSignaler implements WorkflowSignaler {
  constructor(private readonly o: SignalerOptions) {}

  async profileChanged(ref: ProfileRef, snapshot: ProfileSnapshot): Promise<SignalOutcome> {
    const { client, counters, logger } = this.o;
    const runId = await this.unlessDone(ref, profileChanged.name, () =>
      client.workflow.signalWithStart<WorkflowFn, [ProfileSnapshot]>(WORKFLOW_TYPE, {
        ...startOptionsFor(ref, snapshot, this.o, Date.now()),
        signal: profileChanged,
        signalArgs: [snapshot],
      }),
    );
    if (runId === undefined) return 'already-done';
    counters.profileChanged++;
    logger.info(
      { workflowId: workflowIdFor(ref), runId, observedHash: snapshot.observedHash, resourceVersion: snapshot.resourceVersion },
      'signalled profileChanged',
    );
    return 'signalled';
  }

  async deletionRequested(ref: ProfileRef, snapshot: ProfileSnapshot): Promise<SignalOutcome> {
    const { client, counters, logger } = this.o;
    const workflowId = workflowIdFor(ref);
    const request: DeletionRequest = { resourceVersion: snapshot.resourceVersion };
    try {
      await client.workflow.getHandle(workflowId).signal(deletionRequested, request);
      counters.deletionRequested++;
      logger.info({ workflowId, resourceVersion: snapshot.resourceVersion }, 'signalled deletionRequested');
      return 'signalled';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const deleting = { ...snapshot, deleting: true };
    const runId = await this.unlessDone(ref, deletionRequested.name, () =>
      client.workflow.signalWithStart<WorkflowFn, [DeletionRequest]>(WORKFLOW_TYPE, {
        ...startOptionsFor(ref, deleting, this.o, Date.now()),
        signal: deletionRequested,
        signalArgs: [request],
      }),
    );
    if (runId === undefined) return 'already-done';
    counters.deletionRequested++;
    counters.deletionStarted++;
    logger.info({ workflowId, runId, resourceVersion: snapshot.resourceVersion }, 'no running workflow: started one with deletionRequested for cleanup');
    return 'started';
  }

  async resyncRequested(ref: ProfileRef, request: ResyncRequest): Promise<SignalOutcome> {
    const { client, counters, logger } = this.o;
    const workflowId = workflowIdFor(ref);
    try {
      await client.workflow.getHandle(workflowId).signal(resyncRequested, request);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      counters.notFound++;
      logger.debug({ workflowId, reason: request.reason, object: request.object }, 'resync dropped: no running workflow');
      return 'not-found';
    }
    counters.resyncRequested++;
    logger.info({ workflowId, reason: request.reason, object: request.object }, 'signalled resyncRequested');
    return 'signalled';
  }

  async listRunning(): Promise<Map<string, RunningWorkflow>> {
    const { client, counters } = this.o;
    counters.visibilityQueries++;
    const out = new Map<string, RunningWorkflow>();
    try {
      const query = profilesQuery({ taskQueue: this.o.taskQueue, running: true });
      for await (const wf of client.workflow.list({ query, pageSize: DEFAULT_PAGE_SIZE })) {
        const row = runningWorkflowOf(wf);
        if (row) out.set(row.uid, row.view);
      }
    } catch (err) {
      counters.visibilityErrors++;
      throw err;
    }
    return out;
  }

  /** Runs a signal-with-start; undefined when the ID belongs to a run that completed. */
  private async unlessDone(ref: ProfileRef, signal: string, call: () => Promise<WorkflowHandleWithSignaledRunId>): Promise<string | undefined> {
    try {
      return (await call()).signaledRunId;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        this.o.counters.alreadyDone++;
        this.o.logger.debug({ workflowId: workflowIdFor(ref), signal }, 'workflow already completed for this ClusterProfile uid; not restarting it');
        return undefined;
      }
      throw err;
    }
  }
}
