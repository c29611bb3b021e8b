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

/** The inverse of workflowIdFor; undefined for IDs of another shape. */
export function parseWorkflowId(workflowId: string): ProfileRef | undefined {
  const parts = workflowId.split('/');
  if (parts.length !== 4 || parts[0] !== 'clusterprofile') return undefined;
  const [, namespace, name, uid] = parts as [string, string, string, string];
  if (!namespace || !name || !uid) return undefined;
  return { namespace, name, uid };
}

/**
 * Fields of a ClusterProfile that matter to the reconciler, reduced to non-secret facts of bounded size:
 * it is the workflow's start input, every profileChanged signal's argument and part of each continue-as-new
 * input, so whatever the profile holds (400 provider names of 1,000 characters) a change costs the same
 * few hundred bytes of history. The hash says "changed"; the activity reads the profile itself.
 */
export interface ProfileSnapshot {
  resourceVersion: string;
  generation: number;
  /** Hash of labels, displayName and access providers: what the watcher compares after a restart. */
  observedHash: string;
  /** How many access providers the profile carries (accessProviders, then credentialProviders not repeated). */
  providerCount?: number;
  /**
   * Read only: snapshots written by earlier releases carried every provider name (unbounded). Histories
   * holding them still replay; boundedSnapshot() drops them before anything is carried on.
   */
  providerNames?: string[];
  deleting: boolean;
}

/** The profile carries at least one access provider (either shape of the snapshot). */
export function carriesProviders(snapshot: ProfileSnapshot): boolean {
  return (snapshot.providerCount ?? snapshot.providerNames?.length ?? 0) > 0;
}

/** The snapshot in its bounded shape: an old one's provider names become their count. */
export function boundedSnapshot(snapshot: ProfileSnapshot): ProfileSnapshot {
  const out: ProfileSnapshot = {
    resourceVersion: String(snapshot.resourceVersion).slice(0, SNAPSHOT_STRING_MAX),
    generation: snapshot.generation,
    observedHash: String(snapshot.observedHash).slice(0, SNAPSHOT_STRING_MAX),
    providerCount: snapshot.providerCount ?? snapshot.providerNames?.length ?? 0,
    deleting: snapshot.deleting,
  };
  return out;
}

/** resourceVersion and observedHash are short (an etcd revision, a sha256): anything longer is cut. */
export const SNAPSHOT_STRING_MAX = 128;

/** Why the watcher asks for a prompt resync without a profile change. */
export interface ResyncRequest {
  reason: 'source-secret-changed' | 'managed-secret-changed' | 'managed-sveltoscluster-changed' | 'relist';
  /** "namespace/name" of the object that changed, for the audit trail. */
  object: string;
}

export interface DeletionRequest {
  resourceVersion: string;
}

/**
 * Ready: the Secret holds a valid credential and the last refresh succeeded. Degraded: the last sync or
 * refresh failed (a retry is scheduled before the held credential expires). Expired: the credential held
 * in the Secret has expired and no refresh has succeeded since (Sveltos cannot reach the cluster).
 */
export const PHASES = ['Pending', 'Syncing', 'Ready', 'Degraded', 'Expired', 'Deleting', 'Deleted'] as const;
export type Phase = (typeof PHASES)[number];

/** Phases in which Sveltos may not be able to use the credential: `status` exits 1 for them. */
export const UNHEALTHY_PHASES: readonly Phase[] = ['Degraded', 'Expired'];

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

export interface CleanupResult {
  sveltosClusterDeleted: boolean;
  secretDeleted: boolean;
  finalizerRemoved: boolean;
  /** Objects left in place because they are not ours. */
  skipped: string[];
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

/**
 * `patched()` ID of the provider bulkhead: a sync whose plugin could not run inside the workflow task is run
 * again as a regular activity (a new command). Called only when that happens, so histories of healthy
 * syncs carry no marker.
 */
export const PROVIDER_BULKHEAD_PATCH = 'provider-bulkhead-v1';

/**
 * `patched()` ID of waiting for a provider in one activity: a sync whose plugin could not run inside the
 * workflow task, and the next sync after one that found its provider busy, unavailable or failing, is one
 * regular activity whose attempts Temporal retries (each attempt told when by the worker: jittered, within the
 * breaker's cool-down and before the held credential expires), instead of a workflow timer and a local attempt
 * per retry. Called only on those paths.
 */
export const PROVIDER_WAIT_PATCH = 'provider-wait-v1';

/**
 * Attempts of one sync before the workflow takes over: a few quick retries (1 s, 2 s, 4 s) ride out an API
 * blip or a plugin hiccup; then the workflow marks the profile Degraded and retries before the held
 * credential expires (schedule.ts failedRefreshDelayMs), so persisting failures are visible while retries go on.
 */
export const SYNC_MAX_ATTEMPTS = 4;

/** Attempts of one provider wait (execMode `wait`), and the time after which it gives up (status stays current). */
export const PROVIDER_WAIT_MAX_ATTEMPTS = 12;
export const PROVIDER_WAIT_BUDGET_MS = 150_000;

/** lastError.message in the memo is cut to this many characters (the status query has it whole). */
export const MEMO_ERROR_MESSAGE_MAX = 300;

/** Durations are inputs so that tests can shorten them. */
export interface ScheduleConfig {
  syncPeriodMs: number;
  minRefreshMs: number;
}

export const DEFAULT_SCHEDULE: ScheduleConfig = { syncPeriodMs: 10 * 60_000, minRefreshMs: 60_000 };

/**
 * Input of the current workflow code (`version: 2`). Histories whose input has no version were started by
 * the first release and run the frozen code in workflows/legacy/ until it continues as new into this one
 * (docs/adr/0005-workflow-upgrade.md, docs/adr/0012-first-release-code-in-one-box.md).
 */
export interface ClusterProfileWorkflowInput {
  version: typeof WORKFLOW_INPUT_VERSION;
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  /**
   * The schedule last reported by a worker (carried across continue-as-new). Never set by the watcher: each
   * sync reports the settings of the worker that ran it, so flags take effect when workers restart.
   */
  schedule?: ScheduleConfig;
  /** State carried across continue-as-new. */
  carried?: WorkflowStatus;
  /** Carried across continue-as-new: a change arrived that the previous run had not synced yet. */
  dirty?: boolean;
  /** Carried across continue-as-new: an earlier sync of this incarnation added the finalizer. */
  finalizerPresent?: boolean;
  /** Carried across continue-as-new: failed syncs in a row (for the retry backoff). */
  failures?: number;
  /** Syncs per run before continue-as-new (default 50, DEFAULT_MAX_CYCLES_PER_RUN; also on continueAsNewSuggested). Tests set it small. */
  maxCyclesPerRun?: number;
}

export const WORKFLOW_INPUT_VERSION = 2;

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
  /**
   * The access provider's circuit breaker is open on the worker: its plugin kept failing, so runs are refused
   * at once for a cool-down. Transient: the workflow retries on a jittered timer, before the held credential
   * expires.
   */
  ProviderUnavailable: 'ProviderUnavailable',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
export const NON_RETRYABLE_ERROR_TYPES: string[] = Object.values(ErrorType);

/** Failure types that may pass on their own although the activity does not retry them. */
export const TRANSIENT_NON_RETRYABLE_TYPES: readonly string[] = [ErrorType.ProviderUnavailable];

/** A failure that may pass on its own, so it is retried (by Temporal or by the workflow), not left for a change. */
export function isTransientFailureType(type: string): boolean {
  return !NON_RETRYABLE_ERROR_TYPES.includes(type) || TRANSIENT_NON_RETRYABLE_TYPES.includes(type);
}

/**
 * The sync inside the workflow task did not run the provider's plugin: no free slot on this worker, the
 * provider is slow (its last run outlived the local budget), or a breaker probe is due. Not a failure: the
 * workflow runs the sync as a regular activity instead (details: ProviderDeferral).
 */
export const PROVIDER_DEFERRED = 'ProviderDeferred';

/**
 * The regular activity found the provider's slots and queue full on its worker. Not a failure either: the
 * workflow tries again after a jittered delay.
 */
export const PROVIDER_BUSY = 'ProviderBusy';

/**
 * A credential source failed in a way that may pass (exec plugin exit != 0 or timeout, an identity provider
 * blip): retried by the activity a few times, then by the workflow before the held credential expires.
 */
export const TRANSIENT_CREDENTIAL_ERROR = 'CredentialSourceFailed';

/**
 * The worker running a sync is shutting down (SIGTERM): the sync was abandoned, not failed. The workflow
 * fails its task instead of recording anything, so another worker replays it and syncs again.
 */
export const WORKER_SHUTDOWN_ERROR = 'WorkerShutdown';

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

/** The activities the current workflow calls (workflows/activities.ts); implemented in activities/. */
export interface ProfileActivities {
  /** One sync: finalizer (first time), credential, Secret, SveltosCluster, Event. */
  syncProfile(ref: ProfileRef, request: SyncRequest): Promise<SyncReport>;
  /** Cleanup: verifies the deletion, records the Deleting Event once, cleans up. */
  cleanupProfile(ref: ProfileRef, request: CleanupRequest): Promise<CleanupResult>;
}

/** What the workflow knows, so that a sync writes (and reads) only what it must. */
export interface SyncRequest {
  /** The finalizer was added by an earlier sync of this incarnation: no finalizer step. */
  finalizerPresent: boolean;
  /**
   * First sync, a profile change, drift of a managed object, a refresh update or a retry: compare the Secret
   * with what is written and apply the SveltosCluster. Otherwise (a scheduled refresh) the Secret is only
   * read and written when the resolved credential's fingerprint differs from `lastFingerprint`.
   */
  full: boolean;
  lastFingerprint?: string;
  /** Facts for the Kubernetes Event the sync records (workflows/phase.ts decides which). */
  previousPhase: Phase;
  syncedBefore: boolean;
  /** The refresh timer fired and nothing else changed: an expected rotation records no Event. */
  scheduled: boolean;
  previousExpiresAtMs?: number;
  previousError?: { reason: string; message: string };
  /** The workflow's maximumAttempts per sync: the last attempt records the Warning Event of a transient failure. */
  attemptsPerSync: number;
  /**
   * Where an exec plugin runs. `local`: inside the workflow task, so only with a free slot at once and for a
   * short budget, else the sync fails with PROVIDER_DEFERRED. `activity`: a regular activity, which may wait
   * briefly for a slot and gives the plugin its full timeout. `wait`: like `activity`, but a busy, unavailable
   * or failing provider leaves as a retryable failure with the delay before the next attempt, so that
   * Temporal retries it without a workflow task (up to PROVIDER_WAIT_MAX_ATTEMPTS). Absent (workflows of
   * earlier code): `activity`.
   */
  execMode?: ExecMode;
}

export type ExecMode = 'local' | 'activity' | 'wait';

/** Failure types a provider wait retries (and after which the workflow's next sync waits for the provider). */
export const PROVIDER_TROUBLE_TYPES: readonly string[] = [PROVIDER_BUSY, ErrorType.ProviderUnavailable, TRANSIENT_CREDENTIAL_ERROR];

/** Metadata of one sync (never the credential), plus the worker's schedule settings. */
export interface SyncReport extends CredentialSyncResult {
  sveltosClusterChanged: boolean;
  /** The schedule configured on the worker that ran the sync: flags take effect on a worker restart. */
  schedule: ScheduleConfig;
}

export interface CleanupRequest {
  /** Record the Deleting Event (once per workflow, and only while the ClusterProfile exists). */
  recordDeletingEvent: boolean;
}

/** Attached as the first detail of every failure of syncProfile/cleanupProfile. */
export interface FailureDetails {
  schedule: ScheduleConfig;
  /** The sync wrote (or confirmed) this credential before a later step failed: the Secret holds it. */
  written?: CredentialSyncResult;
  /** ProviderUnavailable: when the provider's breaker lets a probe through on that worker. */
  retryAfterMs?: number;
}

export interface ProfileEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
