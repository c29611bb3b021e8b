// The long-lived workflow behind one ClusterProfile (docs/behaviour.md: Refresh, The workflow). Deterministic: imports only
// @temporalio/workflow, @temporalio/common and pure modules. Credentials never pass through here: one
// activity per sync resolves and writes them and returns metadata (fingerprint, expiry, what changed).
//
// Shape: message handlers only mutate state; the main loop asks decideNext() (phase.ts) what to do and
// does it: sync (one syncProfile activity: finalizer the first time, credential, Secret, SveltosCluster when
// needed, Event), wait (a durable timer until 80% of the credential lifetime, the sync period, or a retry
// before the held credential expires, cut short by any relevant change), clean up once the API server
// confirms the deletion, or continue as new with the state carried over. What the UI shows is decided in
// presentation.ts. Workflows started by the first release run workflows/legacy/ until they continue as new.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import {
  DEFAULT_SCHEDULE,
  ErrorType,
  NON_RETRYABLE_ERROR_TYPES,
  PROVIDER_BULKHEAD_PATCH,
  PROVIDER_BUSY,
  PROVIDER_DEFERRED,
  PROVIDER_TROUBLE_TYPES,
  PROVIDER_WAIT_MAX_ATTEMPTS,
  PROVIDER_WAIT_PATCH,
  SearchAttr,
  WORKER_SHUTDOWN_ERROR,
  WORKFLOW_INPUT_VERSION,
  boundedSnapshot,
  isTransientFailureType,
  carriesProviders,
  deletionRequested,
  profileChanged,
  refreshUpdate,
  resyncRequested,
  statusQuery,
  type ClusterProfileWorkflowInput,
  type FailureDetails,
  type Phase,
  type ProfileSnapshot,
  type ReconcileActivities,
  type ScheduleConfig,
  type StatusMemo,
  type SyncOutcome,
  type SyncReport,
  type SyncRequest,
  type WorkflowStatus,
} from './api.js';
import { legacyClusterProfileWorkflow, type LegacyWorkflowInput } from './legacy/cluster-profile-v1.js';
import { decideNext, nextPhase, type PhaseEvent } from './phase.js';
import { changedMemo, changedSearchAttributes, currentDetails, type SearchAttributeValues } from './presentation.js';
import { failedRefreshDelayMs, formatDuration, nextRefreshDelayMs, providerBusyDelayMs, spreadRetryDelayMs } from './schedule.js';

/**
 * Syncs per run before continue-as-new, unless the input says otherwise (tests) or the server suggests it
 * earlier. Small enough that replaying a run evicted from the worker cache stays cheap (about 11 events per
 * refresh: at most ~600 events); one continue-as-new per 50 refreshes costs next to nothing.
 */
export const DEFAULT_MAX_CYCLES_PER_RUN = 50;

/**
 * Attempts of one sync before the workflow takes over: a few quick retries (1 s, 2 s, 4 s) ride out an API
 * blip or a plugin hiccup; then the workflow marks the profile Degraded and retries before the held
 * credential expires (schedule.ts failedRefreshDelayMs), so persisting failures are visible while retries go on.
 */
export const SYNC_MAX_ATTEMPTS = 4;

const SYNC_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: SYNC_MAX_ATTEMPTS,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** Cleanup must finish eventually: transient failures retry with backoff, without bound. */
const CLEANUP_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/**
 * A sync cancelled for deletion must have really ended before the cleanup starts (an abandoned attempt
 * could write the Secret again after the cleanup deleted it). An unset option reaches Core as TRY_CANCEL,
 * so it is set explicitly.
 */
const WAIT_FOR_CANCELLATION = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/**
 * The sync is a local activity: it runs on the worker that runs the workflow task, so a sync costs one
 * history event (a marker) and one round trip to the server instead of three events and three round trips
 * (ADR 6). A worker that dies mid-sync loses the workflow task; the server hands it to another worker after
 * the task timeout, which syncs again (syncs are idempotent). Cancellation reaches it in-process.
 */
const activities = proxyLocalActivities<ReconcileActivities>({
  // An exec plugin may run up to its own timeout (30 s by default) before the writes.
  startToCloseTimeout: '2m',
  retry: SYNC_RETRY,
  // Retries of a sync stay inside the workflow task (1 s, 2 s, 4 s), never a timer.
  localRetryThreshold: '30s',
  cancellationType: WAIT_FOR_CANCELLATION,
});

/**
 * A sync whose exec plugin could not run inside the workflow task (no free slot at once, a slow provider, a
 * breaker probe due) runs once more as a regular activity: it may wait briefly for a slot, gives the plugin
 * its full timeout and heartbeats, and no workflow task waits for it (ADR 9). One attempt: the workflow
 * decides the retries (jittered, before the held credential expires).
 */
const providerActivities = proxyActivities<ReconcileActivities>({
  // A few seconds' queue, the plugin's timeout (30 s by default) and the writes.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { maximumAttempts: 1 },
  cancellationType: WAIT_FOR_CANCELLATION,
});

/**
 * A sync after its provider was busy, unavailable or failing waits for the provider in one regular activity:
 * Temporal retries its attempts at the delays the worker gives (jittered, within the breaker's cool-down, before
 * the held credential expires), so a fleet behind a provider that is down costs no workflow task per retry and
 * leaves the task queue to healthy profiles (ADR 9). The last attempt's failure comes back to the workflow.
 */
const providerWaitActivities = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { maximumAttempts: PROVIDER_WAIT_MAX_ATTEMPTS, initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m' },
  cancellationType: WAIT_FOR_CANCELLATION,
});

const cleanupActivities = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1m',
  retry: CLEANUP_RETRY,
  cancellationType: WAIT_FOR_CANCELLATION,
});

interface SyncTrigger {
  /** For logs. */
  reason: string;
  /** The refresh timer fired; nothing changed. */
  scheduled: boolean;
}

interface State {
  status: WorkflowStatus;
  /** The latest ClusterProfile snapshot received (input or profileChanged). */
  snapshot: ProfileSnapshot;
  dirty: boolean;
  dirtyReason: string;
  /** Deletion was requested (and is not yet refuted by the API server). */
  deleting: boolean;
  /** The phase before the deletion request, restored when the API server shows the profile alive. */
  phaseBeforeDeletion: Phase;
  /** The ClusterProfile with our uid no longer exists (no Events can be recorded on it). */
  gone: boolean;
  /** When the next sync is due; undefined = now. Mirrors status.nextRefreshAtMs. */
  nextSyncAtMs: number | undefined;
  /** Mutex: a sync (main loop or refresh update) or the cleanup is running. */
  busy: boolean;
  /** Bumped whenever a sync finishes; wakes the main loop so it re-plans after a refresh update. */
  syncEpoch: number;
  cyclesThisRun: number;
  /** The schedule the last worker reported (DEFAULT_SCHEDULE until one did). */
  schedule: ScheduleConfig;
  finalizerPresent: boolean;
  /** Failed syncs in a row. */
  failures: number;
  /** Syncs in a row that found the provider busy (not failures: the phase stays). */
  busyRetries: number;
  /** A change-triggered sync that found the provider busy: the retry keeps its trigger (a full sync). */
  pendingTrigger: SyncTrigger | undefined;
  searchAttributes: SearchAttributeValues;
  deletingEventRecorded: boolean;
  memo: StatusMemo;
}

/**
 * Entry point (workflow type `clusterProfileWorkflow`). The input's version tells which code a history was
 * started with, so histories of the first release replay with its frozen code (no marker, no extra event).
 */
export async function clusterProfileWorkflow(input: ClusterProfileWorkflowInput | LegacyWorkflowInput): Promise<void> {
  if (!('version' in input) || input.version !== WORKFLOW_INPUT_VERSION) {
    return legacyClusterProfileWorkflow(input as LegacyWorkflowInput);
  }
  return reconcileClusterProfile(input);
}

async function reconcileClusterProfile(input: ClusterProfileWorkflowInput): Promise<void> {
  const { ref } = input;
  const profile = `${ref.namespace}/${ref.name}`;
  const maxCyclesPerRun = Math.max(1, input.maxCyclesPerRun ?? DEFAULT_MAX_CYCLES_PER_RUN);

  const st: State = {
    status: input.carried
      ? { ...input.carried, ref, runCount: input.carried.runCount + 1 }
      : { ref, phase: 'Pending', syncCount: 0, runCount: 1 },
    snapshot: boundedSnapshot(input.snapshot),
    dirty: input.dirty ?? false,
    dirtyReason: input.dirty ? 'change carried over from the previous run' : input.carried ? 'refresh' : 'initial sync',
    deleting: input.snapshot.deleting,
    phaseBeforeDeletion: input.carried?.phase ?? 'Pending',
    gone: false,
    nextSyncAtMs: input.carried?.nextRefreshAtMs,
    busy: false,
    syncEpoch: 0,
    cyclesThisRun: 0,
    schedule: input.schedule ?? DEFAULT_SCHEDULE,
    finalizerPresent: input.finalizerPresent ?? false,
    failures: input.failures ?? 0,
    busyRetries: 0,
    pendingTrigger: undefined,
    searchAttributes: initialSearchAttributes(),
    deletingEventRecorded: false,
    memo: { ...(workflowInfo().memo as StatusMemo | undefined) },
  };
  // The watcher sets it at start; a run continued from the first release carries it in the memo.
  const managedSinceMs = st.memo.managedSinceMs ?? workflowInfo().startTime.getTime();

  function setPhase(event: PhaseEvent): Phase {
    st.status.phase = nextPhase(st.status.phase, event);
    return st.status.phase;
  }

  function requestDeletion(why: string): void {
    if (!st.deleting) {
      log.info('deletion requested', { profile, why });
      st.phaseBeforeDeletion = st.status.phase;
    }
    st.deleting = true;
    st.dirty = false;
    setPhase({ type: 'deletionStarted' });
  }

  // ---- message handlers: state changes only ------------------------------------------------------

  setHandler(
    profileChanged,
    (received) => {
      const previous = st.snapshot;
      const snapshot = boundedSnapshot(received);
      st.snapshot = snapshot;
      if (snapshot.deleting) {
        requestDeletion('the watcher saw a deletionTimestamp');
      } else if (!st.deleting && (snapshot.observedHash !== previous.observedHash || snapshot.generation !== previous.generation)) {
        st.dirty = true;
        st.dirtyReason = `profile changed (generation ${snapshot.generation}, resourceVersion ${snapshot.resourceVersion})`;
      }
    },
    { description: 'The ClusterProfile changed: record the snapshot; resync if its hash or generation changed.' },
  );

  setHandler(
    resyncRequested,
    (request) => {
      if (st.deleting) return;
      st.dirty = true;
      st.dirtyReason = `resync requested: ${request.reason} ${request.object}`;
    },
    { description: 'A source Secret or a managed object changed: resync promptly.' },
  );

  setHandler(deletionRequested, () => requestDeletion('deletionRequested signal'), {
    description: 'The ClusterProfile is being deleted: stop refreshing; clean up once the API server confirms it.',
  });

  setHandler(statusQuery, () => st.status, { description: 'Phase, last sync, credential expiry, next refresh, last error.' });

  setHandler(
    refreshUpdate,
    async ({ reason }) => {
      const outcome = await syncExclusive({ reason: `refresh update${reason ? `: ${reason}` : ''}`, scheduled: false });
      if (!outcome) {
        throw ApplicationFailure.create({ message: `ClusterProfile ${profile} is being deleted; refresh cancelled`, type: 'Deleting', nonRetryable: true });
      }
      return outcome;
    },
    {
      validator: (_request) => {
        if (st.deleting || st.status.phase === 'Deleting' || st.status.phase === 'Deleted') {
          throw new Error(`ClusterProfile ${profile} is being deleted; refresh rejected`);
        }
      },
      description: 'Force a credential sync now and return its outcome.',
    },
  );

  // ---- what the UI shows ---------------------------------------------------------------------------

  function initialSearchAttributes(): SearchAttributeValues {
    const info = workflowInfo().typedSearchAttributes;
    const m: SearchAttributeValues = new Map();
    m.set(SearchAttr.namespace.name, info.get(SearchAttr.namespace) ?? null);
    m.set(SearchAttr.name.name, info.get(SearchAttr.name) ?? null);
    m.set(SearchAttr.phase.name, info.get(SearchAttr.phase) ?? null);
    m.set(SearchAttr.provider.name, info.get(SearchAttr.provider) ?? null);
    m.set(SearchAttr.credentialExpiry.name, info.get(SearchAttr.credentialExpiry)?.getTime() ?? null);
    m.set(SearchAttr.observedHash.name, info.get(SearchAttr.observedHash) ?? null);
    return m;
  }

  /** Upserts what changed since the last upsert (search attributes, memo); nothing when nothing did. */
  function publish(): void {
    const updates = changedSearchAttributes(ref, st.status, st.searchAttributes);
    if (updates.length > 0) upsertSearchAttributes(updates);
    const memo = changedMemo(st.status, managedSinceMs, st.memo);
    if (Object.keys(memo).length > 0) {
      upsertMemo(memo);
      st.memo = { ...st.memo, ...memo };
    }
    setCurrentDetails(currentDetails(profile, st.status));
  }

  // ---- sync ----------------------------------------------------------------------------------------

  /** One sync. Returns its outcome; throws only cancellations (deletion) and workflow bugs. The caller holds the mutex. */
  async function syncOnce(trigger: SyncTrigger): Promise<SyncOutcome> {
    const snapshot = st.snapshot;
    const previousPhase = st.status.phase;
    st.dirty = false;
    st.pendingTrigger = undefined;
    st.cyclesThisRun++;
    setPhase({ type: 'syncStarted' });
    if (trigger.scheduled) log.debug('sync', { profile, trigger: trigger.reason });
    else log.info('sync', { profile, trigger: trigger.reason });
    const syncedBefore = st.status.lastSyncAtMs !== undefined;
    const request: SyncRequest = {
      finalizerPresent: st.finalizerPresent,
      // Only a scheduled refresh of a healthy profile may skip the Secret comparison and the SveltosCluster.
      full: !trigger.scheduled || !syncedBefore || previousPhase !== 'Ready',
      previousPhase,
      syncedBefore,
      scheduled: trigger.scheduled,
      attemptsPerSync: SYNC_MAX_ATTEMPTS,
      execMode: 'local',
    };
    if (st.status.fingerprint !== undefined) request.lastFingerprint = st.status.fingerprint;
    if (st.status.credentialExpiresAtMs !== undefined) request.previousExpiresAtMs = st.status.credentialExpiresAtMs;
    if (st.status.lastError) request.previousError = { reason: st.status.lastError.reason, message: st.status.lastError.message };
    try {
      const report = await runSync(trigger, request);
      st.schedule = report.schedule;
      st.finalizerPresent = true;
      st.failures = 0;
      st.busyRetries = 0;
      const nowMs = Date.now();
      const nextAt = nowMs + nextRefreshDelayMs({ nowMs, expiresAtMs: report.expiresAtMs, schedule: st.schedule });
      const phase = setPhase({ type: 'syncSucceeded' });
      st.nextSyncAtMs = nextAt;
      st.status = {
        ...st.status,
        phase,
        provider: report.provider,
        fingerprint: report.fingerprint,
        lastSyncAtMs: nowMs,
        credentialExpiresAtMs: report.expiresAtMs,
        nextRefreshAtMs: nextAt,
        lastError: undefined,
        observedGeneration: snapshot.generation,
        observedResourceVersion: snapshot.resourceVersion,
        observedHash: snapshot.observedHash,
        syncCount: st.status.syncCount + 1,
      };
      st.syncEpoch++;
      return {
        phase,
        fingerprint: report.fingerprint,
        expiresAtMs: report.expiresAtMs,
        nextRefreshAtMs: nextAt,
        changed: report.secretChanged || report.sveltosClusterChanged,
      };
    } catch (err) {
      // A local activity's failure arrives as its ApplicationFailure (a regular one's wrapped in an
      // ActivityFailure); anything else is a bug here and fails the workflow task, never the workflow.
      if (isCancellation(err) || !(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
      const failure = failureOf(err);
      // A regular activity's failure is in history: failing the task would only replay it. Try again soon.
      if (failure.type === WORKER_SHUTDOWN_ERROR && err instanceof ActivityFailure) return providerBusy(trigger, failure.message);
      if (failure.type === WORKER_SHUTDOWN_ERROR) {
        // Not a failure of the sync: fail this workflow task so that another worker replays it and syncs.
        throw new Error(`the worker running the sync of ${profile} shut down; the task is retried elsewhere`);
      }
      if (failure.schedule) st.schedule = failure.schedule;
      if (failure.written) {
        // The Secret holds this credential now, whatever failed after it was written.
        const w = failure.written;
        st.status = { ...st.status, provider: w.provider, fingerprint: w.fingerprint, credentialExpiresAtMs: w.expiresAtMs };
        st.finalizerPresent = true;
      }
      if (failure.type === ErrorType.ProfileGone) {
        st.gone = true;
        requestDeletion(`ProfileGone: ${failure.message}`);
        return { phase: st.status.phase, changed: false, error: failure.message };
      }
      if (failure.type === PROVIDER_BUSY || failure.type === PROVIDER_DEFERRED) return providerBusy(trigger, failure.message, failure.retryAfterMs);
      st.failures++;
      st.busyRetries = 0;
      const nowMs = Date.now();
      const expiresAtMs = st.status.credentialExpiresAtMs;
      const transient = isTransientFailureType(failure.type);
      const backoff = failedRefreshDelayMs({ nowMs, expiresAtMs, failures: st.failures, transient, schedule: st.schedule, notBeforeMs: failure.retryAfterMs });
      // A fleet behind one provider fails together: spread its retries (Math.random is replay-safe here).
      const delay = transient ? spreadRetryDelayMs({ delayMs: backoff, notBeforeMs: failure.retryAfterMs, random: Math.random() }) : backoff;
      const nextAt = nowMs + delay;
      const phase = setPhase({ type: 'syncFailed', expired: expiresAtMs !== undefined && expiresAtMs <= nowMs });
      st.nextSyncAtMs = nextAt;
      st.status = {
        ...st.status,
        phase,
        nextRefreshAtMs: nextAt,
        lastError: { reason: failure.type, message: failure.message, atMs: nowMs },
        observedGeneration: snapshot.generation,
        observedResourceVersion: snapshot.resourceVersion,
        observedHash: snapshot.observedHash,
      };
      st.syncEpoch++;
      log.warn('sync failed', { profile, reason: failure.type, message: failure.message, failures: st.failures, retryInMs: delay });
      return {
        phase,
        fingerprint: st.status.fingerprint,
        expiresAtMs: st.status.credentialExpiresAtMs,
        nextRefreshAtMs: nextAt,
        changed: false,
        error: failure.message,
      };
    }
  }

  /**
   * The sync as a local activity; when its plugin could not run inside the workflow task (ProviderDeferred),
   * once more as a regular activity, so that no workflow task waits on a plugin.
   */
  async function runSync(trigger: SyncTrigger, request: SyncRequest): Promise<SyncReport> {
    const summary = `sync ${profile} (${trigger.reason})`;
    const trouble = providerTrouble();
    if (trouble && patched(PROVIDER_WAIT_PATCH)) {
      return providerWaitActivities.syncProfile.executeWithOptions(
        { summary: `${summary}, waiting for the provider (${trouble})` },
        [ref, { ...request, execMode: 'wait', attemptsPerSync: PROVIDER_WAIT_MAX_ATTEMPTS }],
      );
    }
    try {
      return await activities.syncProfile.executeWithOptions({ summary }, [ref, request]);
    } catch (err) {
      const deferred = (err instanceof ActivityFailure || err instanceof ApplicationFailure) && failureOf(err).type === PROVIDER_DEFERRED;
      if (!deferred || !patched(PROVIDER_BULKHEAD_PATCH)) throw err;
      if (patched(PROVIDER_WAIT_PATCH)) {
        // Busy, slow or due for a probe: the plugin runs in a provider wait, whose retries cost no workflow task.
        return providerWaitActivities.syncProfile.executeWithOptions(
          { summary: `${summary}, waiting for the provider: ${failureOf(err).message}` },
          [ref, { ...request, execMode: 'wait', attemptsPerSync: PROVIDER_WAIT_MAX_ATTEMPTS }],
        );
      }
      return providerActivities.syncProfile.executeWithOptions(
        { summary: `${summary} as an activity: ${failureOf(err).message}` },
        [ref, { ...request, execMode: 'activity', attemptsPerSync: 1 }],
      );
    }
  }

  /** Why the last sync could not use its provider (busy, unavailable, failing), if that is how it ended. */
  function providerTrouble(): string | undefined {
    if (st.busyRetries > 0) return PROVIDER_BUSY;
    const reason = st.status.lastError?.reason;
    return reason !== undefined && PROVIDER_TROUBLE_TYPES.includes(reason) ? reason : undefined;
  }

  /** The provider had no slot for this sync: not a failure (the phase stays); try again after a jittered delay. */
  function providerBusy(trigger: SyncTrigger, message: string, notBeforeMs?: number): SyncOutcome {
    st.busyRetries++;
    if (!trigger.scheduled) st.pendingTrigger = trigger;
    const nowMs = Date.now();
    const delay = providerBusyDelayMs({ nowMs, expiresAtMs: st.status.credentialExpiresAtMs, busyRetries: st.busyRetries, random: Math.random(), notBeforeMs });
    st.nextSyncAtMs = nowMs + delay;
    st.status = { ...st.status, nextRefreshAtMs: st.nextSyncAtMs };
    st.syncEpoch++;
    log.info('provider busy; sync postponed', { profile, message, busyRetries: st.busyRetries, retryInMs: delay });
    return {
      phase: st.status.phase,
      fingerprint: st.status.fingerprint,
      expiresAtMs: st.status.credentialExpiresAtMs,
      nextRefreshAtMs: st.nextSyncAtMs,
      changed: false,
      error: message,
    };
  }

  /**
   * Runs a sync under the mutex, so that the main loop and refresh updates never sync at once, and cancels it
   * if deletion is requested meanwhile. Returns undefined when deletion got in the way.
   */
  async function syncExclusive(trigger: SyncTrigger): Promise<SyncOutcome | undefined> {
    for (;;) {
      if (st.deleting) return undefined;
      if (!st.busy) break;
      await condition(() => !st.busy || st.deleting);
    }
    st.busy = true;
    const work = new CancellationScope();
    const watch = new CancellationScope();
    const watching = watch.run(() => condition(() => st.deleting)).then(
      () => work.cancel(),
      () => undefined,
    );
    try {
      const outcome = await work.run(() => syncOnce(trigger));
      // A sync run as a regular activity may finish before its cancellation reaches it: deletion still wins,
      // and the cleanup that follows removes what it wrote.
      return st.deleting ? undefined : outcome;
    } catch (err) {
      if (st.deleting && isCancellation(err)) {
        log.info('sync cancelled for deletion', { profile, trigger: trigger.reason });
        // The sync did not finish: if the deletion turns out not to be real, sync again.
        st.dirty = true;
        st.dirtyReason = 'sync interrupted by a deletion request';
        return undefined;
      }
      throw err;
    } finally {
      watch.cancel();
      await watching;
      st.busy = false;
    }
  }

  /**
   * Deletion: the cleanup activity first checks with the API server that this uid is gone or has a
   * deletionTimestamp; only then does it delete the SveltosCluster and the Secret (if ours) and release the
   * finalizer. A request the API server refutes is logged and ignored: the workflow goes on reconciling.
   * Returns whether the cleanup happened.
   */
  async function cleanup(): Promise<boolean> {
    // Wait for an in-flight sync; it is being cancelled.
    while (st.busy) await condition(() => !st.busy);
    st.busy = true;
    try {
      setPhase({ type: 'deletionStarted' });
      st.status.nextRefreshAtMs = undefined;
      st.nextSyncAtMs = undefined;
      publish();
      const done = await CancellationScope.nonCancellable(async () => {
        for (;;) {
          try {
            const recordDeletingEvent = !st.gone && !st.deletingEventRecorded;
            const result = await cleanupActivities.cleanupProfile.executeWithOptions(
              { summary: `verify the deletion of ${profile}, delete its SveltosCluster and kubeconfig Secret, remove the finalizer` },
              [ref, { recordDeletingEvent }],
            );
            st.deletingEventRecorded ||= recordDeletingEvent;
            log.info('cleanup done', { profile, ...result });
            return true;
          } catch (err) {
            if (!(err instanceof ActivityFailure)) throw err;
            const failure = failureOf(err);
            if (failure.type === ErrorType.ProfileGone) {
              log.info('cleanup: ClusterProfile already gone', { profile });
              return true;
            }
            if (failure.type === ErrorType.DeletionNotConfirmed) {
              log.warn('deletion request ignored: the API server shows the ClusterProfile alive', { profile, message: failure.message });
              return false;
            }
            // A non-retryable failure (e.g. Conflict): cleanup must still finish; retry after the sync
            // period rather than in a hot loop. The activity recorded the Warning Event.
            st.status.lastError = { reason: failure.type, message: failure.message, atMs: Date.now() };
            publish();
            const ms = Math.max(1, st.schedule.syncPeriodMs);
            await sleep(ms, { summary: `cleanup of ${profile} failed (${failure.type}); retry in ${formatDuration(ms)}` });
          }
        }
      });
      if (done) {
        setPhase({ type: 'cleanupCompleted' });
      } else {
        st.deleting = false;
        setPhase({ type: 'deletionNotConfirmed', previous: st.phaseBeforeDeletion });
        st.dirty = true;
        st.dirtyReason = 'deletion request refuted by the API server';
      }
      publish();
      return done;
    } finally {
      st.busy = false;
    }
  }

  function waitSummary(purpose: 'refresh' | 'degraded-retry', ms: number): string {
    if (purpose === 'degraded-retry') {
      return `${profile} is ${st.status.phase} (${st.status.lastError?.reason ?? 'error'}): retry in ${formatDuration(ms)}`;
    }
    const expiry = st.status.credentialExpiresAtMs;
    if (expiry !== undefined) {
      return `sleep until 80% of credential lifetime for ${profile} (expires ${new Date(expiry).toISOString()}; ${formatDuration(ms)})`;
    }
    return `wait for the sync period for ${profile} (${formatDuration(ms)})`;
  }

  // ---- main loop -------------------------------------------------------------------------------------

  let timerFired = false;
  for (;;) {
    const action = decideNext({
      phase: st.status.phase,
      deleting: st.deleting,
      dirty: st.dirty,
      nowMs: Date.now(),
      nextSyncAtMs: st.nextSyncAtMs,
      timerFired,
      cyclesThisRun: st.cyclesThisRun,
      maxCyclesPerRun,
      continueAsNewSuggested: workflowInfo().continueAsNewSuggested,
    });
    timerFired = false;

    switch (action.kind) {
      case 'complete':
        await condition(allHandlersFinished);
        log.info('ClusterProfile cleaned up; workflow complete', { profile });
        return;

      case 'cleanup':
        await cleanup();
        break;

      case 'sync': {
        if (!carriesProviders(st.snapshot) && st.status.lastSyncAtMs === undefined && !st.dirty) {
          // A ClusterProfile is often created first and given its access providers by a status update
          // right after: nothing to sync (and no error to report) until then.
          publish();
          await condition(() => st.dirty || st.deleting || carriesProviders(st.snapshot));
          if (!st.dirty && carriesProviders(st.snapshot)) {
            st.dirty = true;
            st.dirtyReason = 'access providers appeared';
          }
          break;
        }
        if (st.busy) {
          await condition(() => !st.busy || st.deleting);
          break;
        }
        const trigger: SyncTrigger = st.dirty
          ? { reason: st.dirtyReason, scheduled: false }
          : st.pendingTrigger
            ? st.pendingTrigger
            : st.status.lastSyncAtMs === undefined
            ? { reason: 'initial sync', scheduled: false }
            : st.status.lastError
              ? { reason: `retry after ${st.status.lastError.reason}`, scheduled: true }
              : { reason: 'scheduled refresh', scheduled: true };
        await syncExclusive(trigger);
        break;
      }

      case 'wait': {
        publish();
        const epoch = st.syncEpoch;
        const woken = await condition(
          () => st.dirty || st.deleting || st.syncEpoch !== epoch || workflowInfo().continueAsNewSuggested,
          action.ms,
          { summary: waitSummary(action.purpose, action.ms) },
        );
        timerFired = !woken;
        break;
      }

      case 'continueAsNew': {
        // Let running handlers finish; a signal that arrives while the continue-as-new task runs fails that
        // task and is replayed into this state, so the input is built only now.
        await condition(allHandlersFinished);
        if (st.deleting || st.busy) break;
        publish();
        log.info('continue as new', { profile, cycles: st.cyclesThisRun, historyLength: workflowInfo().historyLength });
        const next: ClusterProfileWorkflowInput = {
          version: WORKFLOW_INPUT_VERSION,
          ref,
          snapshot: st.snapshot,
          schedule: st.schedule,
          carried: { ...st.status, nextRefreshAtMs: st.nextSyncAtMs },
          // A change postponed by a busy provider is synced first by the next run.
          dirty: st.dirty || st.pendingTrigger !== undefined,
          finalizerPresent: st.finalizerPresent,
          failures: st.failures,
        };
        if (input.maxCyclesPerRun !== undefined) next.maxCyclesPerRun = input.maxCyclesPerRun;
        await makeContinueAsNewFunc<typeof clusterProfileWorkflow>({
          typedSearchAttributes: workflowInfo().typedSearchAttributes,
          memo: Object.fromEntries(Object.entries(workflowInfo().memo ?? {}).filter(([, v]) => v !== undefined)),
        })(next);
        return;
      }
    }
  }
}

interface ReportedFailure extends Partial<FailureDetails> {
  type: string;
  message: string;
}

/** The failure type and message an activity reported, with the details it carried (worker schedule, written credential). */
function failureOf(err: ActivityFailure | ApplicationFailure): ReportedFailure {
  const cause = err instanceof ApplicationFailure ? err : err.cause;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as Partial<FailureDetails> | undefined;
    return { ...details, type: cause.type ?? 'Error', message: cause.message };
  }
  if (cause) return { type: cause.name, message: cause.message };
  return { type: 'ActivityFailure', message: err.message };
}
