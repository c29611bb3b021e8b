// How Temporal visibility shows the ClusterProfile workflows: the reading half of the search attributes
// (SearchAttr) and the status memo (StatusMemo) that the workflow writes (presentation.ts). One read
// model for everything that lists workflows instead of querying them: `clusterinventory status`, the
// fleet gauges (worker/metrics.ts) and the watcher's start-up comparison (watcher/signaler.ts). Listing
// 10,000 profiles costs a few list calls and no query per workflow (queries reach a worker, and in
// Temporal Cloud each one is an action). Pure: the callers run the list calls.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { PHASES, SearchAttr, WORKFLOW_TYPE, parseWorkflowId, type StatusMemo } from './api.js';

/** Visibility's page size: the largest the server allows by default. */
export const DEFAULT_PAGE_SIZE = 1000;

export interface ProfileRow {
  namespace: string;
  name: string;
  /** The ClusterProfile's uid (from the workflow ID); undefined for IDs of another shape. */
  uid?: string;
  workflowId: string;
  runId: string;
  taskQueue: string;
  /** Temporal's execution status: Running, Completed, Terminated, ... */
  executionStatus: string;
  phase?: string;
  provider?: string;
  /** The ClusterInventoryObservedHash the workflow last reported (what the watcher compares). */
  observedHash?: string;
  credentialExpiresAtMs?: number;
  nextRefreshAtMs?: number;
  lastSyncAtMs?: number;
  lastError?: { reason: string; message: string; atMs: number };
  /** When this ClusterProfile incarnation started being managed (memo), else when this run started. */
  sinceMs: number;
  /** When this run started (runs continue as new every 50 syncs). */
  runStartedAtMs: number;
  closedAtMs?: number;
}

export interface ProfileFilter {
  namespace?: string;
  name?: string;
  phase?: string;
  taskQueue?: string;
  /** Only running workflows (default true); false: closed ones only. */
  running?: boolean;
}

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const NAMESPACE_RE = new RegExp(`^${DNS_LABEL}$`);
const NAME_RE = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);

export class FilterError extends Error {
  override name = 'FilterError';
}

/** Checks a filter's values, so that they can be quoted into a visibility query as they are. */
export function checkFilter(f: ProfileFilter): void {
  if (f.namespace !== undefined && (f.namespace.length > 63 || !NAMESPACE_RE.test(f.namespace))) {
    throw new FilterError(`namespace ${JSON.stringify(f.namespace)} is not a Kubernetes namespace name`);
  }
  if (f.name !== undefined && (f.name.length > 253 || !NAME_RE.test(f.name))) {
    throw new FilterError(`name ${JSON.stringify(f.name)} is not a Kubernetes object name`);
  }
  if (f.phase !== undefined && !(PHASES as readonly string[]).includes(f.phase)) {
    throw new FilterError(`phase ${JSON.stringify(f.phase)} is not one of ${PHASES.join(', ')}`);
  }
  if (f.taskQueue !== undefined && (f.taskQueue === '' || /['"\\]/.test(f.taskQueue))) {
    throw new FilterError(`task queue ${JSON.stringify(f.taskQueue)} cannot be used in a visibility query`);
  }
}

/** The visibility query for a filter (values checked by checkFilter). */
export function profilesQuery(f: ProfileFilter = {}): string {
  checkFilter(f);
  const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`, f.running === false ? `ExecutionStatus != 'Running'` : `ExecutionStatus = 'Running'`];
  if (f.taskQueue !== undefined) clauses.push(`TaskQueue = '${f.taskQueue}'`);
  if (f.namespace !== undefined) clauses.push(`${SearchAttr.namespace.name} = '${f.namespace}'`);
  if (f.name !== undefined) clauses.push(`${SearchAttr.name.name} = '${f.name}'`);
  if (f.phase !== undefined) clauses.push(`${SearchAttr.phase.name} = '${f.phase}'`);
  return clauses.join(' AND ');
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function memoError(v: unknown): ProfileRow['lastError'] {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (typeof e.reason !== 'string' || typeof e.message !== 'string') return undefined;
  return { reason: e.reason, message: e.message, atMs: num(e.atMs) ?? 0 };
}

/** One row from a listed execution; undefined when it is not a ClusterProfile workflow we can name. */
export function rowFromExecution(info: WorkflowExecutionInfo): ProfileRow | undefined {
  const sa = info.typedSearchAttributes;
  const fromId = parseWorkflowId(info.workflowId);
  const namespace = sa.get(SearchAttr.namespace) ?? fromId?.namespace;
  const name = sa.get(SearchAttr.name) ?? fromId?.name;
  if (!namespace || !name) return undefined;
  const memo = (info.memo ?? {}) as Record<keyof StatusMemo, unknown>;
  const runStartedAtMs = info.startTime.getTime();
  const row: ProfileRow = {
    namespace,
    name,
    workflowId: info.workflowId,
    runId: info.runId,
    taskQueue: info.taskQueue,
    executionStatus: info.status.name,
    sinceMs: num(memo.managedSinceMs) ?? runStartedAtMs,
    runStartedAtMs,
  };
  if (fromId) row.uid = fromId.uid;
  const phase = sa.get(SearchAttr.phase);
  if (phase) row.phase = phase;
  const provider = sa.get(SearchAttr.provider);
  if (provider) row.provider = provider;
  const observedHash = sa.get(SearchAttr.observedHash);
  if (observedHash !== undefined) row.observedHash = observedHash;
  const expiry = sa.get(SearchAttr.credentialExpiry);
  if (expiry && Number.isFinite(expiry.getTime())) row.credentialExpiresAtMs = expiry.getTime();
  const next = num(memo.nextRefreshAtMs);
  if (next !== undefined) row.nextRefreshAtMs = next;
  const lastSync = num(memo.lastSyncAtMs);
  if (lastSync !== undefined) row.lastSyncAtMs = lastSync;
  const lastError = memoError(memo.lastError);
  if (lastError) row.lastError = lastError;
  if (info.closeTime) row.closedAtMs = info.closeTime.getTime();
  return row;
}
