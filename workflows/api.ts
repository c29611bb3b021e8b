// The one shared contract between the watcher, the workflow, the activities, the worker and the CLI:
// task queue, workflow ID, message definitions, payload types and search attribute keys.
// Everything here is safe inside the workflow sandbox, and nothing here ever holds a credential.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const DEFAULT_TASK_QUEUE = 'clusterinventory';
export const WORKFLOW_TYPE = 'clusterProfileWorkflow';

/** Identifies one ClusterProfile incarnation: the uid makes name reuse and stale events harmless. */
export interface ProfileRef {
  namespace: string;
  name: string;
  uid: string;
}

export function workflowIdFor(ref: ProfileRef): string {
  return `clusterprofile/${ref.namespace}/${ref.name}/${ref.uid}`;
}

/** Fields of a ClusterProfile that matter to the reconciler, reduced to non-secret facts. */
export interface ProfileSnapshot {
  resourceVersion: string;
  generation: number;
  /** Hash of labels, displayName and access providers: what the watcher compares after a restart. */
  observedHash: string;
  /** Names of the access providers the profile carries, in order (accessProviders first). */
  providerNames: string[];
  deleting: boolean;
}

/** Why the watcher asks for a prompt resync without a profile change. */
export interface ResyncRequest {
  reason: 'source-secret-changed' | 'managed-secret-changed' | 'managed-sveltoscluster-changed' | 'relist';
  /** "namespace/name" of the object that changed, for the audit trail. */
  object: string;
}

export interface DeletionRequest {
  resourceVersion: string;
}

export type Phase = 'Pending' | 'Syncing' | 'Ready' | 'Degraded' | 'Deleting' | 'Deleted';

/** Metadata about one credential sync. Never contains the credential itself. */
export interface CredentialSyncResult {
  provider: string;
  /** sha256 of the written kubeconfig, truncated: tells whether content changed without revealing it. */
  fingerprint: string;
  /** Absolute expiry in ms since epoch, when the credential source states one. */
  expiresAtMs?: number;
  secretChanged: boolean;
  server: string;
}

export interface ApplyResult {
  changed: boolean;
}

export interface CleanupResult {
  sveltosClusterDeleted: boolean;
  secretDeleted: boolean;
  finalizerRemoved: boolean;
  /** Objects left in place because they are not ours. */
  skipped: string[];
}

export interface FinalizerResult {
  /** The ClusterProfile with this uid no longer exists. */
  gone: boolean;
  /** It exists and carries a deletionTimestamp. */
  deleting: boolean;
}

export interface SyncOutcome {
  phase: Phase;
  fingerprint?: string;
  expiresAtMs?: number;
  nextRefreshAtMs?: number;
  changed: boolean;
  error?: string;
}

export interface WorkflowStatus {
  ref: ProfileRef;
  phase: Phase;
  provider?: string;
  fingerprint?: string;
  lastSyncAtMs?: number;
  credentialExpiresAtMs?: number;
  nextRefreshAtMs?: number;
  lastError?: { reason: string; message: string; atMs: number };
  observedGeneration?: number;
  observedResourceVersion?: string;
  observedHash?: string;
  syncCount: number;
  runCount: number;
}

/**
 * Memo the workflow keeps up to date (upserted only when a value changes), so that
 * `clusterinventory status` can build its table from Temporal visibility alone, without a query per
 * workflow. Credential-free: times, and the last error's reason and (shortened) message, which are
 * written for Events and logs anyway. Absent keys: not known (or not applicable) right now.
 */
export interface StatusMemo {
  /** When this ClusterProfile incarnation (uid) started being managed: the first run's start. */
  managedSinceMs?: number;
  lastSyncAtMs?: number;
  nextRefreshAtMs?: number;
  lastError?: { reason: string; message: string; atMs: number };
}

/** `patched()` ID of the status memo (new commands: existing histories replay without it). */
export const STATUS_MEMO_PATCH = 'memo-status-v1';

/** lastError.message in the memo is cut to this many characters (the status query has it whole). */
export const MEMO_ERROR_MESSAGE_MAX = 300;

/** Durations are inputs so that tests can shorten them. */
export interface ScheduleConfig {
  syncPeriodMs: number;
  minRefreshMs: number;
}

export const DEFAULT_SCHEDULE: ScheduleConfig = { syncPeriodMs: 10 * 60_000, minRefreshMs: 60_000 };

export interface ClusterProfileWorkflowInput {
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  schedule: ScheduleConfig;
  /** State carried across continue-as-new. */
  carried?: WorkflowStatus;
  /** Carried across continue-as-new: a change arrived that the previous run had not synced yet. */
  dirty?: boolean;
  /** Syncs per run before continue-as-new (default 500; also on continueAsNewSuggested). Tests set it small. */
  maxCyclesPerRun?: number;
}

/** Failure types raised by activities; the workflow keys its decisions on them. */
export const ErrorType = {
  /** The user's input is wrong (profile, provider file, source Secret): retrying cannot help. */
  InvalidInput: 'InvalidInput',
  /** An object we would write exists and is not ours. */
  Conflict: 'Conflict',
  /** The ClusterProfile with our uid no longer exists. */
  ProfileGone: 'ProfileGone',
  /** Cleanup was asked for, but the API server shows the ClusterProfile alive and not being deleted. */
  DeletionNotConfirmed: 'DeletionNotConfirmed',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
export const NON_RETRYABLE_ERROR_TYPES: string[] = Object.values(ErrorType);

export const profileChanged = defineSignal<[ProfileSnapshot]>('profileChanged');
export const resyncRequested = defineSignal<[ResyncRequest]>('resyncRequested');
export const deletionRequested = defineSignal<[DeletionRequest]>('deletionRequested');
export const statusQuery = defineQuery<WorkflowStatus>('status');
export const refreshUpdate = defineUpdate<SyncOutcome, [{ reason?: string }]>('refresh');

export const SearchAttr = {
  namespace: defineSearchAttributeKey('ClusterProfileNamespace', 'KEYWORD'),
  name: defineSearchAttributeKey('ClusterProfileName', 'KEYWORD'),
  phase: defineSearchAttributeKey('ClusterInventoryPhase', 'KEYWORD'),
  provider: defineSearchAttributeKey('ClusterInventoryProvider', 'KEYWORD'),
  credentialExpiry: defineSearchAttributeKey('ClusterInventoryCredentialExpiry', 'DATETIME'),
  observedHash: defineSearchAttributeKey('ClusterInventoryObservedHash', 'KEYWORD'),
} as const;

/** `--search-attribute NAME=TYPE` pairs for the Temporal dev server and the operator API. */
export const SEARCH_ATTRIBUTE_DECLARATIONS: ReadonlyArray<{ name: string; type: string }> = Object.values(SearchAttr).map(
  (key) => ({ name: key.name, type: key.type.charAt(0) + key.type.slice(1).toLowerCase() }),
);

/** The activity surface the workflow calls; implemented in activities/. */
export interface ReconcileActivities {
  ensureFinalizer(ref: ProfileRef): Promise<FinalizerResult>;
  syncCredentials(ref: ProfileRef): Promise<CredentialSyncResult>;
  applySveltosCluster(ref: ProfileRef): Promise<ApplyResult>;
  cleanup(ref: ProfileRef): Promise<CleanupResult>;
  recordEvent(ref: ProfileRef, event: ProfileEvent): Promise<void>;
}

export interface ProfileEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
