// The first release's (0.1) own contract: its workflow input, its patch IDs and the five activities only
// its workflow calls. Part of the legacy box (docs/adr/0012-first-release-code-in-one-box.md): deleted with
// workflows/legacy/ and activities/legacy/ once no first-release workflow can be running. Types and
// constants only; safe in the workflow sandbox.
import type { CleanupResult, CredentialSyncResult, ProfileEvent, ProfileRef, ProfileSnapshot, ScheduleConfig, WorkflowStatus } from '../api.js';

/** `patched()` ID: a running first-release workflow continues as new into the current code. */
export const MIGRATE_TO_V2_PATCH = 'continue-as-v2';

/** `patched()` ID of the first release's status memo (its histories recorded before the memo replay without it). */
export const STATUS_MEMO_PATCH = 'memo-status-v1';

/** The first release's input (no `version`): the schedule was fixed when the workflow started. */
export interface LegacyWorkflowInput {
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  schedule: ScheduleConfig;
  carried?: WorkflowStatus;
  dirty?: boolean;
  maxCyclesPerRun?: number;
}

export interface FinalizerResult {
  /** The ClusterProfile with this uid no longer exists. */
  gone: boolean;
  /** It exists and carries a deletionTimestamp. */
  deleting: boolean;
}

export interface ApplyResult {
  changed: boolean;
}

/**
 * The activities of the first release's workflow, one step each (the current workflow does them in one
 * syncProfile). Workers register them (activities/legacy/) until no first-release workflow can be running.
 */
export interface LegacyActivities {
  ensureFinalizer(ref: ProfileRef): Promise<FinalizerResult>;
  syncCredentials(ref: ProfileRef): Promise<CredentialSyncResult>;
  applySveltosCluster(ref: ProfileRef): Promise<ApplyResult>;
  cleanup(ref: ProfileRef): Promise<CleanupResult>;
  recordEvent(ref: ProfileRef, event: ProfileEvent): Promise<void>;
}
