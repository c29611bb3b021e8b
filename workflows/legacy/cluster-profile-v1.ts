// FROZEN: the workflow code of the first release (0.1), kept unchanged so that workflows it started replay
// and keep running after an upgrade. Do not edit it, except through patches that old histories replay
// without. Its one patch, MIGRATE_TO_V2_PATCH, makes a running workflow continue as new into the current
// code (workflows/cluster-profile.ts) at its next loop turn (docs/adr/0005-workflow-upgrade.md).
//
// Part of the legacy box (docs/adr/0012-first-release-code-in-one-box.md): its own types, patch IDs and
// activity interface are in ./api.ts; of the live code it uses only the names that ADR lists (eslint
// enforces the list), and the replay of the first release's histories guards their behaviour.
//
// The long-lived workflow behind one ClusterProfile (docs/behaviour.md: Refresh, The workflow). Deterministic: imports only
// @temporalio/workflow, @temporalio/common and types. Credentials never pass through here: activities
// resolve and write them and return metadata (fingerprint, expiry, what changed).
//
// Shape: message handlers only mutate state; the main loop asks decideNext() (phase.ts) what to do and
// does it: sync (ensureFinalizer → syncCredentials → applySveltosCluster), wait (a durable timer until
// 80% of the credential lifetime, the sync period, or the Degraded retry, cut short by any relevant
// change), clean up and complete, or continue as new with the state carried over.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
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
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import {
  ErrorType,
  MEMO_ERROR_MESSAGE_MAX,
  NON_RETRYABLE_ERROR_TYPES,
  SearchAttr,
  deletionRequested,
  profileChanged,
  refreshUpdate,
  resyncRequested,
  statusQuery,
  WORKFLOW_INPUT_VERSION,
  type ClusterProfileWorkflowInput,
  type Phase,
  type ProfileEvent,
  type ProfileSnapshot,
  type StatusMemo,
  type SyncOutcome,
  type WorkflowStatus,
} from '../api.js';
import { decideNext, eventForSyncFailure, eventForSyncSuccess, EventReason, nextPhase, type PhaseEvent } from '../phase.js';
import { formatDuration, nextRefreshDelayMs } from '../schedule.js';
import { MIGRATE_TO_V2_PATCH, STATUS_MEMO_PATCH, type LegacyActivities, type LegacyWorkflowInput } from './api.js';
import { degradedRetryDelayMs } from './schedule.js';

/** Syncs per run before continue-as-new, unless the input says otherwise (tests) or the server suggests it earlier. */
const DEFAULT_MAX_CYCLES_PER_RUN = 500;

/** Transient failures (API 5xx/429, timeouts, plugin hiccups) retry with backoff, forever; wrong input does not. */
const ACTIVITY_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/**
 * A sync cancelled for deletion must have really ended before the cleanup starts: an abandoned attempt
 * (still running its plugin) would write the Secret again after the cleanup deleted it. The SDK documents
 * WAIT_CANCELLATION_COMPLETED as the default, but an unset option reaches Core as TRY_CANCEL (proto value 0),
 * which resolves the activity as cancelled at once; so it is set explicitly. An attempt that does not
 * heartbeat cannot learn of the cancellation and runs to its end (bounded by startToCloseTimeout); one
 * waiting in retry backoff is cancelled by the server immediately.
 */
const SYNC_CANCELLATION = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/** Kubernetes reads and writes: finalizer, SveltosCluster, cleanup. */
const kube = proxyActivities<LegacyActivities>({ startToCloseTimeout: '1m', retry: ACTIVITY_RETRY, cancellationType: SYNC_CANCELLATION });

/** Credential resolution may run an exec plugin (up to its own timeout, 30 s by default) and then write the Secret. */
const credentials = proxyActivities<LegacyActivities>({
  startToCloseTimeout: '2m',
  // The activity heartbeats while a plugin runs; this makes a deletion's cancellation reach it within seconds.
  heartbeatTimeout: '20s',
  retry: ACTIVITY_RETRY,
  cancellationType: SYNC_CANCELLATION,
});

/** Events are best effort: a few quick attempts, then the workflow moves on. */
const events = proxyActivities<LegacyActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

interface SyncTrigger {
  /** For logs. */
  reason: string;
  /** The refresh timer (or the Degraded retry timer) fired; nothing changed. */
  scheduled: boolean;
}

interface State {
  status: WorkflowStatus;
  /** The latest ClusterProfile snapshot received (input or profileChanged). */
  snapshot: ProfileSnapshot;
  dirty: boolean;
  /** Why the next sync happens, for logs. */
  dirtyReason: string;
  deleting: boolean;
  /** The ClusterProfile with our uid no longer exists (no Events can be recorded on it). */
  gone: boolean;
  /** When the next sync is due; undefined = now. Mirrors status.nextRefreshAtMs. */
  nextSyncAtMs: number | undefined;
  /** Mutex: a sync (main loop or refresh update) or the cleanup is running. */
  busy: boolean;
  /** Bumped whenever a sync finishes; wakes the main loop so it re-plans after a refresh update. */
  syncEpoch: number;
  cyclesThisRun: number;
  /** Search attribute values as last upserted (or given at start / continue-as-new), by name. */
  searchAttributes: Map<string, string | number | null>;
  /** Whether the Deleting event was recorded (at most once). */
  deletingEventRecorded: boolean;
  /** The status memo as last upserted (or given at start / continue-as-new). */
  memo: StatusMemo;
}

export async function legacyClusterProfileWorkflow(input: LegacyWorkflowInput): Promise<void> {
  const { ref, schedule } = input;
  const profile = `${ref.namespace}/${ref.name}`;
  const maxCyclesPerRun = Math.max(1, input.maxCyclesPerRun ?? DEFAULT_MAX_CYCLES_PER_RUN);

  const st: State = {
    status: input.carried
      ? { ...input.carried, ref, runCount: input.carried.runCount + 1 }
      : { ref, phase: 'Pending', syncCount: 0, runCount: 1 },
    snapshot: input.snapshot,
    dirty: input.dirty ?? false,
    dirtyReason: input.dirty ? 'change carried over from the previous run' : input.carried ? 'refresh' : 'initial sync',
    deleting: input.snapshot.deleting,
    gone: false,
    nextSyncAtMs: input.carried?.nextRefreshAtMs,
    busy: false,
    syncEpoch: 0,
    cyclesThisRun: 0,
    searchAttributes: initialSearchAttributes(),
    deletingEventRecorded: false,
    memo: { ...(workflowInfo().memo as StatusMemo | undefined) },
  };
  // The first run of this incarnation starts the clock; later runs carry it in the memo (a run that
  // continued as new before the memo existed: the start the SDK reports).
  const managedSinceMs = (input.carried ? st.memo.managedSinceMs : undefined) ?? workflowInfo().startTime.getTime();

  function setPhase(event: PhaseEvent): Phase {
    st.status.phase = nextPhase(st.status.phase, event);
    return st.status.phase;
  }

  function requestDeletion(why: string): void {
    if (!st.deleting) log.info('deletion requested', { profile, why });
    st.deleting = true;
    st.dirty = false;
    setPhase({ type: 'deletionStarted' });
  }

  // ---- message handlers: state changes only ------------------------------------------------------

  setHandler(
    profileChanged,
    (snapshot) => {
      const previous = st.snapshot;
      st.snapshot = snapshot;
      if (snapshot.deleting) {
        requestDeletion('ClusterProfile has a deletionTimestamp');
      } else if (
        !st.deleting &&
        (snapshot.observedHash !== previous.observedHash || snapshot.generation !== previous.generation)
      ) {
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
    description: 'The ClusterProfile is being deleted: stop refreshing, clean up, complete.',
  });

  setHandler(statusQuery, () => st.status, { description: 'Phase, last sync, credential expiry, next refresh, last error.' });

  setHandler(
    refreshUpdate,
    async ({ reason }) => {
      const outcome = await syncExclusive({ reason: `refresh update${reason ? `: ${reason}` : ''}`, scheduled: false });
      if (!outcome) {
        throw ApplicationFailure.create({
          message: `ClusterProfile ${profile} is being deleted; refresh cancelled`,
          type: 'Deleting',
          nonRetryable: true,
        });
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

  // ---- search attributes ---------------------------------------------------------------------------

  function initialSearchAttributes(): Map<string, string | number | null> {
    const info = workflowInfo().typedSearchAttributes;
    const m = new Map<string, string | number | null>();
    m.set(SearchAttr.namespace.name, info.get(SearchAttr.namespace) ?? null);
    m.set(SearchAttr.name.name, info.get(SearchAttr.name) ?? null);
    m.set(SearchAttr.phase.name, info.get(SearchAttr.phase) ?? null);
    m.set(SearchAttr.provider.name, info.get(SearchAttr.provider) ?? null);
    m.set(SearchAttr.credentialExpiry.name, info.get(SearchAttr.credentialExpiry)?.getTime() ?? null);
    m.set(SearchAttr.observedHash.name, info.get(SearchAttr.observedHash) ?? null);
    return m;
  }

  /** Upserts the attributes whose value differs from what was last upserted; nothing when none does. */
  function upsertChangedSearchAttributes(): void {
    const s = st.status;
    const expiry = s.credentialExpiresAtMs;
    const desired: Array<[SearchAttributeUpdatePair, string | number | null]> = [
      [{ key: SearchAttr.namespace, value: ref.namespace }, ref.namespace],
      [{ key: SearchAttr.name, value: ref.name }, ref.name],
      [{ key: SearchAttr.phase, value: s.phase }, s.phase],
      [{ key: SearchAttr.provider, value: s.provider ?? null }, s.provider ?? null],
      [{ key: SearchAttr.credentialExpiry, value: expiry !== undefined ? new Date(expiry) : null }, expiry ?? null],
      [{ key: SearchAttr.observedHash, value: s.observedHash ?? null }, s.observedHash ?? null],
    ];
    const updates: SearchAttributeUpdatePair[] = [];
    for (const [pair, comparable] of desired) {
      if ((st.searchAttributes.get(pair.key.name) ?? null) !== comparable) {
        updates.push(pair);
        st.searchAttributes.set(pair.key.name, comparable);
      }
    }
    if (updates.length > 0) upsertSearchAttributes(updates);
    upsertChangedMemo();
    showCurrentDetails();
  }

  /**
   * Keeps the status memo (workflows/api.ts StatusMemo) in step: one upsert of the keys whose value
   * changed, nothing when none did. Histories recorded before the memo existed replay without it.
   */
  function upsertChangedMemo(): void {
    const s = st.status;
    const desired: StatusMemo = {
      managedSinceMs,
      lastSyncAtMs: s.lastSyncAtMs,
      nextRefreshAtMs: s.nextRefreshAtMs,
      lastError: s.lastError && {
        reason: s.lastError.reason,
        message: shorten(s.lastError.message, MEMO_ERROR_MESSAGE_MAX),
        atMs: s.lastError.atMs,
      },
    };
    const changes: Record<string, unknown> = {};
    for (const key of Object.keys(desired) as Array<keyof StatusMemo>) {
      if (!sameMemoValue(st.memo[key], desired[key])) changes[key] = desired[key];
    }
    if (Object.keys(changes).length === 0 || !patched(STATUS_MEMO_PATCH)) return;
    upsertMemo(changes);
    st.memo = { ...st.memo, ...desired };
  }

  /**
   * The workflow page's "current details" in the Web UI (served by a query; no history event). UI 2.42
   * shows them in a frame about four lines high: the phase, then two short items (the error first when
   * there is one). The ClusterProfile's name is in the static summary already.
   */
  function showCurrentDetails(): void {
    const s = st.status;
    const at = (ms: number | undefined): string => (ms === undefined ? '—' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const expiry = s.credentialExpiresAtMs !== undefined ? at(s.credentialExpiresAtMs) : s.lastSyncAtMs === undefined ? '—' : 'no expiry stated';
    const lines = [`**${s.phase}**${s.provider ? ` · provider \`${s.provider}\`` : ''}`, ''];
    if (s.lastError) {
      // Messages name the profile first ("ClusterProfile ns/name: field: reason"); the summary does already.
      const own = `ClusterProfile ${profile}: `;
      const message = s.lastError.message.startsWith(own) ? s.lastError.message.slice(own.length) : s.lastError.message;
      lines.push(`- last error: \`${s.lastError.reason}\`: ${shorten(message, CURRENT_DETAILS_ERROR_MAX)}`);
      lines.push(`- next retry: ${at(s.nextRefreshAtMs)} · credential expires: ${expiry}`);
    } else {
      lines.push(`- credential expires: ${expiry}`);
      lines.push(`- next refresh: ${at(s.nextRefreshAtMs)} · last sync: ${at(s.lastSyncAtMs)}`);
    }
    setCurrentDetails(lines.join('\n'));
  }

  // ---- activities ----------------------------------------------------------------------------------

  async function recordEvent(event: ProfileEvent): Promise<void> {
    if (st.gone) return;
    try {
      await events.recordEvent.executeWithOptions({ summary: `record ${event.type} event ${event.reason} on ${profile}` }, [
        ref,
        event,
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('could not record event', { profile, reason: event.reason, error: failureOf(err).message });
    }
  }

  /**
   * One sync attempt. Returns its outcome; throws only cancellations (deletion) and workflow bugs. The
   * caller holds the mutex.
   */
  async function syncOnce(trigger: SyncTrigger): Promise<SyncOutcome> {
    const snapshot = st.snapshot;
    const previousPhase = st.status.phase;
    const previousError = st.status.lastError;
    st.dirty = false;
    st.cyclesThisRun++;
    setPhase({ type: 'syncStarted' });
    const previousExpiry = st.status.credentialExpiresAtMs;
    if (trigger.scheduled) log.debug('sync', { profile, trigger: trigger.reason });
    else log.info('sync', { profile, trigger: trigger.reason });
    try {
      const finalizer = await kube.ensureFinalizer.executeWithOptions({ summary: `ensure finalizer on ClusterProfile ${profile}` }, [ref]);
      if (finalizer.gone || finalizer.deleting) {
        st.gone = finalizer.gone;
        requestDeletion(finalizer.gone ? 'ClusterProfile is gone' : 'ClusterProfile has a deletionTimestamp');
        return { phase: st.status.phase, changed: false };
      }
      const cred = await credentials.syncCredentials.executeWithOptions({ summary: `refresh credentials for ${profile}` }, [ref]);
      // The Secret now holds this credential, whatever happens next.
      st.status = { ...st.status, provider: cred.provider, fingerprint: cred.fingerprint, credentialExpiresAtMs: cred.expiresAtMs };
      const applied = await kube.applySveltosCluster.executeWithOptions({ summary: `apply SveltosCluster ${profile}` }, [ref]);

      const nowMs = Date.now();
      const nextAt = nowMs + nextRefreshDelayMs({ nowMs, expiresAtMs: cred.expiresAtMs, schedule });
      const syncedBefore = st.status.lastSyncAtMs !== undefined;
      const phase = setPhase({ type: 'syncSucceeded' });
      st.nextSyncAtMs = nextAt;
      st.status = {
        ...st.status,
        phase,
        provider: cred.provider,
        fingerprint: cred.fingerprint,
        lastSyncAtMs: nowMs,
        credentialExpiresAtMs: cred.expiresAtMs,
        nextRefreshAtMs: nextAt,
        lastError: undefined,
        ...observed(snapshot),
        syncCount: st.status.syncCount + 1,
      };
      st.syncEpoch++;
      const event = eventForSyncSuccess({
        previousPhase,
        syncedBefore,
        secretChanged: cred.secretChanged,
        routineRotation: trigger.scheduled && previousExpiry !== undefined && cred.expiresAtMs !== undefined,
        provider: cred.provider,
        profile,
        expiresAtMs: cred.expiresAtMs,
      });
      if (event) await recordEvent(event);
      return {
        phase,
        fingerprint: cred.fingerprint,
        expiresAtMs: cred.expiresAtMs,
        nextRefreshAtMs: nextAt,
        changed: cred.secretChanged || applied.changed,
      };
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      const failure = failureOf(err);
      if (failure.type === ErrorType.ProfileGone) {
        st.gone = true;
        requestDeletion(`ProfileGone: ${failure.message}`);
        return { phase: st.status.phase, changed: false, error: failure.message };
      }
      // InvalidInput, Conflict, or another non-retryable type: Degraded until a relevant change or the
      // sync period. Transient failures never get here (they retry inside the activity).
      const nowMs = Date.now();
      const nextAt = nowMs + degradedRetryDelayMs(schedule);
      const phase = setPhase({ type: 'syncFailed' });
      st.nextSyncAtMs = nextAt;
      st.status = {
        ...st.status,
        phase,
        nextRefreshAtMs: nextAt,
        lastError: { reason: failure.type, message: failure.message, atMs: nowMs },
        ...observed(snapshot),
      };
      st.syncEpoch++;
      log.warn('sync failed', { profile, reason: failure.type, message: failure.message });
      const event = eventForSyncFailure(previousError, failure.type, failure.message);
      if (event) await recordEvent(event);
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
   * Runs a sync under the mutex, so that the main loop and refresh updates never sync at once, and cancels
   * it if deletion is requested meanwhile (a sync stuck in transient retries must not block the cleanup).
   * Returns undefined when deletion got in the way.
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
      return await work.run(() => syncOnce(trigger));
    } catch (err) {
      if (st.deleting && isCancellation(err)) {
        log.info('sync cancelled for deletion', { profile, trigger: trigger.reason });
        return undefined;
      }
      throw err;
    } finally {
      watch.cancel();
      await watching;
      st.busy = false;
    }
  }

  /** Deletion: stop refreshing, delete the SveltosCluster and the Secret (if ours), remove the finalizer. */
  async function cleanup(): Promise<void> {
    // Wait for an in-flight sync; it is being cancelled. Take the mutex for good: nothing syncs after this.
    while (st.busy) await condition(() => !st.busy);
    st.busy = true;
    setPhase({ type: 'deletionStarted' });
    st.status.nextRefreshAtMs = undefined;
    st.nextSyncAtMs = undefined;
    upsertChangedSearchAttributes();
    await CancellationScope.nonCancellable(async () => {
      if (!st.gone && !st.deletingEventRecorded) {
        st.deletingEventRecorded = true;
        await recordEvent({
          type: 'Normal',
          reason: EventReason.Deleting,
          message: `ClusterProfile ${profile} is being deleted: removing its SveltosCluster and kubeconfig Secret`,
        });
      }
      for (;;) {
        try {
          const result = await kube.cleanup.executeWithOptions(
            { summary: `delete SveltosCluster and kubeconfig Secret of ${profile}, then remove the finalizer` },
            [ref],
          );
          log.info('cleanup done', { profile, ...result });
          return;
        } catch (err) {
          if (!(err instanceof ActivityFailure)) throw err;
          const failure = failureOf(err);
          if (failure.type === ErrorType.ProfileGone) {
            log.info('cleanup: ClusterProfile already gone', { profile });
            return;
          }
          // A non-retryable failure (e.g. Conflict): cleanup must still finish eventually; retry after
          // the sync period rather than in a hot loop.
          const previous = st.status.lastError;
          st.status.lastError = { reason: failure.type, message: failure.message, atMs: Date.now() };
          const event = eventForSyncFailure(previous, failure.type, failure.message);
          if (event) await recordEvent(event);
          await sleep(degradedRetryDelayMs(schedule), {
            summary: `cleanup of ${profile} failed (${failure.type}); retry after the sync period`,
          });
        }
      }
    });
    setPhase({ type: 'cleanupCompleted' });
    upsertChangedSearchAttributes();
  }

  function waitSummary(purpose: 'refresh' | 'degraded-retry', ms: number): string {
    if (purpose === 'degraded-retry') {
      return `${profile} is Degraded (${st.status.lastError?.reason ?? 'error'}): retry after the sync period (${formatDuration(ms)})`;
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
    showCurrentDetails();
    if (!st.deleting && st.status.phase !== 'Deleting' && st.status.phase !== 'Deleted' && patched(MIGRATE_TO_V2_PATCH)) {
      await condition(allHandlersFinished);
      if (!st.deleting && !st.busy) {
        upsertChangedSearchAttributes();
        log.info('continue as new into the current workflow code', { profile });
        const next: ClusterProfileWorkflowInput = {
          version: WORKFLOW_INPUT_VERSION,
          ref,
          snapshot: st.snapshot,
          schedule,
          carried: { ...st.status, nextRefreshAtMs: st.nextSyncAtMs },
          dirty: st.dirty,
        };
        if (input.maxCyclesPerRun !== undefined) next.maxCyclesPerRun = input.maxCyclesPerRun;
        await makeContinueAsNewFunc<(input: ClusterProfileWorkflowInput) => Promise<void>>({
          typedSearchAttributes: workflowInfo().typedSearchAttributes,
          memo: Object.fromEntries(Object.entries(workflowInfo().memo ?? {}).filter(([, v]) => v !== undefined)),
        })(next);
        return;
      }
    }
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
        if (st.busy) {
          // A refresh update is syncing right now: let it finish, then plan again with its result.
          await condition(() => !st.busy || st.deleting);
          break;
        }
        const trigger: SyncTrigger = st.dirty
          ? { reason: st.dirtyReason, scheduled: false }
          : st.status.lastSyncAtMs === undefined
            ? { reason: 'initial sync', scheduled: false }
            : { reason: st.status.phase === 'Degraded' ? 'Degraded retry' : 'scheduled refresh', scheduled: true };
        await syncExclusive(trigger);
        break;
      }

      case 'wait': {
        upsertChangedSearchAttributes();
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
        // Let running handlers (a refresh update) finish; a signal that arrives while the
        // continue-as-new task runs fails that task and is replayed into this state, so the input is
        // built only now, from the state after all handlers ran.
        await condition(allHandlersFinished);
        if (st.deleting || st.busy) break;
        upsertChangedSearchAttributes();
        log.info('continue as new', { profile, cycles: st.cyclesThisRun, historyLength: workflowInfo().historyLength });
        const next: LegacyWorkflowInput = {
          ref,
          snapshot: st.snapshot,
          schedule,
          carried: { ...st.status, nextRefreshAtMs: st.nextSyncAtMs },
          dirty: st.dirty,
        };
        if (input.maxCyclesPerRun !== undefined) next.maxCyclesPerRun = input.maxCyclesPerRun;
        await makeContinueAsNewFunc<typeof legacyClusterProfileWorkflow>({
          typedSearchAttributes: workflowInfo().typedSearchAttributes,
          // The memo goes along (managedSinceMs above all); removed keys are left out.
          memo: Object.fromEntries(Object.entries(workflowInfo().memo ?? {}).filter(([, v]) => v !== undefined)),
        })(next);
        return;
      }
    }
  }
}

function observed(snapshot: ProfileSnapshot): Pick<WorkflowStatus, 'observedGeneration' | 'observedResourceVersion' | 'observedHash'> {
  return {
    observedGeneration: snapshot.generation,
    observedResourceVersion: snapshot.resourceVersion,
    observedHash: snapshot.observedHash,
  };
}

/** The error in the Web UI's current details: the frame is small; `status` and the memo have more. */
const CURRENT_DETAILS_ERROR_MAX = 80;

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function sameMemoValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}

/** The failure type and message that an activity reported (its ApplicationFailure, if any). */
function failureOf(err: ActivityFailure): { type: string; message: string } {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return { type: cause.type ?? 'Error', message: cause.message };
  }
  if (cause) return { type: cause.name, message: cause.message };
  return { type: 'ActivityFailure', message: err.message };
}
