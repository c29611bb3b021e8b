// The decisions around one sync of the ClusterProfile workflow, pure and deterministic: what a message
// means for the workflow, why the next sync happens (and whether it is a full one), when it waits for
// access providers, what a failed sync means and what the status says afterwards. The workflow
// (reconciler.ts) feeds in its state and acts on the answers; phase.ts decides the loop's next step.
import {
  ErrorType,
  PROVIDER_BUSY,
  PROVIDER_DEFERRED,
  PROVIDER_TROUBLE_TYPES,
  WORKER_SHUTDOWN_ERROR,
  carriesProviders,
  isTransientFailureType,
  type Phase,
  type ProfileSnapshot,
  type ScheduleConfig,
  type SyncOutcome,
  type SyncReport,
  type SyncRequest,
  type WorkflowStatus,
} from './api.js';
import { failedRefreshDelayMs, spreadRetryDelayMs } from './schedule.js';

/** Why a sync runs. */
export interface SyncTrigger {
  /** For logs and the activity summary. */
  reason: string;
  /** The refresh timer fired; nothing changed. */
  scheduled: boolean;
}

/** What a profileChanged signal means: deletion, a resync (hash or generation moved) or nothing to do. */
export type SnapshotChange = 'deletion' | 'resync' | 'none';

export function snapshotChange(previous: ProfileSnapshot, next: ProfileSnapshot, deleting: boolean): SnapshotChange {
  if (next.deleting) return 'deletion';
  if (deleting) return 'none';
  return next.observedHash !== previous.observedHash || next.generation !== previous.generation ? 'resync' : 'none';
}

export interface TriggerFacts {
  /** Why a change that is not synced yet arrived (undefined: none). */
  change: string | undefined;
  /** A change-triggered sync the provider had no slot for: its retry keeps the trigger (a full sync). */
  pendingTrigger: SyncTrigger | undefined;
  status: Pick<WorkflowStatus, 'lastSyncAtMs' | 'lastError'>;
}

/**
 * Why the sync that is due now runs: a change first, then a postponed change, the initial sync, a retry
 * of a failed sync, or the scheduled refresh. Only the last two are `scheduled`.
 */
export function chooseTrigger(f: TriggerFacts): SyncTrigger {
  if (f.change !== undefined) return { reason: f.change, scheduled: false };
  if (f.pendingTrigger) return f.pendingTrigger;
  if (f.status.lastSyncAtMs === undefined) return { reason: 'initial sync', scheduled: false };
  if (f.status.lastError) return { reason: `retry after ${f.status.lastError.reason}`, scheduled: true };
  return { reason: 'scheduled refresh', scheduled: true };
}

/**
 * A ClusterProfile is often created first and given its access providers by a status update right after:
 * until it carries one, a profile that never synced has nothing to sync (and no error to report). A change
 * or a deletion ends the wait as well.
 */
export function awaitsProviders(f: { snapshot: ProfileSnapshot; dirty: boolean; status: Pick<WorkflowStatus, 'lastSyncAtMs'> }): boolean {
  return !carriesProviders(f.snapshot) && f.status.lastSyncAtMs === undefined && !f.dirty;
}

/**
 * Full sync (compare the Secret with what is written, apply the SveltosCluster) or light one (write the
 * Secret only when the credential's fingerprint moved). Only a scheduled refresh of a healthy profile
 * that synced before may be light.
 */
export function isFullSync(f: { scheduled: boolean; syncedBefore: boolean; previousPhase: Phase }): boolean {
  return !f.scheduled || !f.syncedBefore || f.previousPhase !== 'Ready';
}

/** The request for a sync inside the workflow task, from the status before the sync started. */
export function syncRequestFor(
  status: WorkflowStatus,
  previousPhase: Phase,
  trigger: SyncTrigger,
  f: { finalizerPresent: boolean; attemptsPerSync: number },
): SyncRequest {
  const syncedBefore = status.lastSyncAtMs !== undefined;
  const request: SyncRequest = {
    finalizerPresent: f.finalizerPresent,
    full: isFullSync({ scheduled: trigger.scheduled, syncedBefore, previousPhase }),
    previousPhase,
    syncedBefore,
    scheduled: trigger.scheduled,
    attemptsPerSync: f.attemptsPerSync,
    execMode: 'local',
  };
  if (status.fingerprint !== undefined) request.lastFingerprint = status.fingerprint;
  if (status.credentialExpiresAtMs !== undefined) request.previousExpiresAtMs = status.credentialExpiresAtMs;
  if (status.lastError) request.previousError = { reason: status.lastError.reason, message: status.lastError.message };
  return request;
}

/**
 * Why the last sync could not use its provider (busy, unavailable, failing), if that is how it ended: then
 * the next sync waits for the provider in one activity (execMode `wait`).
 */
export function providerTrouble(f: { busyRetries: number; status: Pick<WorkflowStatus, 'lastError'> }): string | undefined {
  if (f.busyRetries > 0) return PROVIDER_BUSY;
  const reason = f.status.lastError?.reason;
  return reason !== undefined && PROVIDER_TROUBLE_TYPES.includes(reason) ? reason : undefined;
}

/**
 * What a failed sync means:
 * - `retry-soon`: the worker running a regular activity shut down; its failure is in history already,
 *   so the sync is tried again after a short delay, like a busy provider.
 * - `retry-task`: the worker running the sync inside the workflow task shut down; failing that task lets
 *   another worker replay it and sync (nothing is recorded).
 * - `gone`: the ClusterProfile of this incarnation no longer exists (or is being deleted): clean up.
 * - `busy`: the provider had no slot; not a failure, the phase stays.
 * - `failed`: the sync failed; Degraded (or Expired), retried before the held credential expires.
 */
export type FailureKind = 'retry-soon' | 'retry-task' | 'gone' | 'busy' | 'failed';

export function classifyFailure(type: string, ranAsActivity: boolean): FailureKind {
  if (type === WORKER_SHUTDOWN_ERROR) return ranAsActivity ? 'retry-soon' : 'retry-task';
  if (type === ErrorType.ProfileGone) return 'gone';
  if (type === PROVIDER_BUSY || type === PROVIDER_DEFERRED) return 'busy';
  return 'failed';
}

export interface RetryInput {
  nowMs: number;
  failureType: string;
  /** Failed syncs in a row, this one included. */
  failures: number;
  expiresAtMs: number | undefined;
  schedule: ScheduleConfig;
  /** ProviderUnavailable: when the provider's breaker admits a probe. */
  retryAfterMs: number | undefined;
  /** The workflow's Math.random; called only for a transient failure (replay-safe either way). */
  random: () => number;
}

/**
 * How long after a failed sync the next attempt comes: backoff within the held credential's lifetime;
 * a transient failure is spread, so that a fleet behind one provider that fails together does not come
 * back together.
 */
export function retryDelayAfterFailure(r: RetryInput): number {
  const transient = isTransientFailureType(r.failureType);
  const backoff = failedRefreshDelayMs({
    nowMs: r.nowMs,
    expiresAtMs: r.expiresAtMs,
    failures: r.failures,
    transient,
    schedule: r.schedule,
    notBeforeMs: r.retryAfterMs,
  });
  return transient ? spreadRetryDelayMs({ delayMs: backoff, notBeforeMs: r.retryAfterMs, random: r.random() }) : backoff;
}

/** The snapshot's facts the status records as observed by the last sync. */
function observed(snapshot: ProfileSnapshot): Pick<WorkflowStatus, 'observedGeneration' | 'observedResourceVersion' | 'observedHash'> {
  return {
    observedGeneration: snapshot.generation,
    observedResourceVersion: snapshot.resourceVersion,
    observedHash: snapshot.observedHash,
  };
}

/** The status after a successful sync of `snapshot` at `nowMs`, the next one due at `nextAtMs`. */
export function statusAfterSuccess(
  status: WorkflowStatus,
  f: { phase: Phase; report: SyncReport; snapshot: ProfileSnapshot; nowMs: number; nextAtMs: number },
): WorkflowStatus {
  return {
    ...status,
    phase: f.phase,
    provider: f.report.provider,
    fingerprint: f.report.fingerprint,
    lastSyncAtMs: f.nowMs,
    credentialExpiresAtMs: f.report.expiresAtMs,
    nextRefreshAtMs: f.nextAtMs,
    lastError: undefined,
    ...observed(f.snapshot),
    syncCount: status.syncCount + 1,
  };
}

/** The status after a failed sync of `snapshot`, retried at `nextAtMs`. */
export function statusAfterFailure(
  status: WorkflowStatus,
  f: { phase: Phase; failure: { type: string; message: string }; snapshot: ProfileSnapshot; nowMs: number; nextAtMs: number },
): WorkflowStatus {
  return {
    ...status,
    phase: f.phase,
    nextRefreshAtMs: f.nextAtMs,
    lastError: { reason: f.failure.type, message: f.failure.message, atMs: f.nowMs },
    ...observed(f.snapshot),
  };
}

/** What a refresh update returns about a sync that did not succeed (failed, or postponed). */
export function unsyncedOutcome(status: WorkflowStatus, nextRefreshAtMs: number | undefined, error: string): SyncOutcome {
  return {
    phase: status.phase,
    fingerprint: status.fingerprint,
    expiresAtMs: status.credentialExpiresAtMs,
    nextRefreshAtMs,
    changed: false,
    error,
  };
}
