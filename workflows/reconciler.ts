// The state of one ClusterProfile workflow run and one method per behaviour: the message handlers
// (cluster-profile.ts delegates each in one line), the main loop, a sync, the cleanup and continue-as-new.
// The decisions are pure and live elsewhere: phase.ts (the loop's next step, phase transitions),
// decide-sync.ts (trigger, full or light sync, failures, status), schedule.ts (delays), presentation.ts
// (what the UI shows). Deterministic: imports only @temporalio/workflow and pure modules. Credentials never
// pass through here: one activity per sync resolves and writes them and returns metadata.
//
// The command sequence is that of the code this class was extracted from (recorded histories replay):
// awaits stay where they were, and a handler that finds the lock free starts its sync at once.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  DEFAULT_SCHEDULE,
  ErrorType,
  PROVIDER_BULKHEAD_PATCH,
  PROVIDER_DEFERRED,
  PROVIDER_WAIT_MAX_ATTEMPTS,
  PROVIDER_WAIT_PATCH,
  SYNC_MAX_ATTEMPTS,
  WORKFLOW_INPUT_VERSION,
  boundedSnapshot,
  carriesProviders,
  type ClusterProfileWorkflowInput,
  type Phase,
  type ProfileRef,
  type ProfileSnapshot,
  type ResyncRequest,
  type ScheduleConfig,
  type SyncOutcome,
  type SyncReport,
  type SyncRequest,
  type WorkflowStatus,
} from './api.js';
import {
  awaitsProviders,
  chooseTrigger,
  classifyFailure,
  providerTrouble,
  retryDelayAfterFailure,
  snapshotChange,
  statusAfterFailure,
  statusAfterSuccess,
  syncRequestFor,
  unsyncedOutcome,
  type SyncTrigger,
} from './decide-sync.js';
import { cleanupActivities, failureOf, providerActivities, providerWaitActivities, syncActivities, type ReportedFailure } from './activities.js';
import { Lock } from './lock.js';
import { decideNext, nextPhase, type NextAction, type PhaseEvent } from './phase.js';
import { waitSummary } from './presentation.js';
import { StatusPublisher } from './publisher.js';
import { formatDuration, nextRefreshDelayMs, providerBusyDelayMs } from './schedule.js';

/**
 * Syncs per run before continue-as-new, unless the input says otherwise (tests) or the server suggests it
 * earlier. Small enough that replaying a run evicted from the worker cache stays cheap (about 11 events per
 * refresh: at most ~600 events); one continue-as-new per 50 refreshes costs next to nothing.
 */
export const DEFAULT_MAX_CYCLES_PER_RUN = 50;

type WaitAction = Extract<NextAction, { kind: 'wait' }>;

export class ProfileReconciler {
  private readonly ref: ProfileRef;
  private readonly profile: string;
  private readonly maxCyclesPerRun: number;
  private readonly publisher: StatusPublisher;
  /** One sync or cleanup at a time, whoever starts it (main loop or refresh update). */
  private readonly lock = new Lock();
  /** What the status query returns. */
  status: WorkflowStatus;
  /** The latest ClusterProfile snapshot received (input or profileChanged). */
  private snapshot: ProfileSnapshot;
  /** A change that is not synced yet: why (undefined: none). */
  private change: string | undefined;
  /** A change-triggered sync that found the provider busy: the retry keeps its trigger (a full sync). */
  private pendingTrigger: SyncTrigger | undefined;
  /** Deletion was requested (and is not yet refuted by the API server). */
  private deleting: boolean;
  /** The phase before the deletion request, restored when the API server shows the profile alive. */
  private phaseBeforeDeletion: Phase;
  /** The ClusterProfile with our uid no longer exists (no Events can be recorded on it). */
  private gone = false;
  private deletingEventRecorded = false;
  /** When the next sync is due; undefined = now. Mirrors status.nextRefreshAtMs. */
  private nextSyncAtMs: number | undefined;
  /** Bumped whenever a sync finishes; wakes the main loop so it re-plans after a refresh update. */
  private syncEpoch = 0;
  private cyclesThisRun = 0;
  /** The schedule the last worker reported (DEFAULT_SCHEDULE until one did). */
  private schedule: ScheduleConfig;
  private finalizerPresent: boolean;
  /** Failed syncs in a row. */
  private failures: number;
  /** Syncs in a row that found the provider busy (not failures: the phase stays). */
  private busyRetries = 0;

  constructor(private readonly input: ClusterProfileWorkflowInput) {
    const { ref, carried } = input;
    this.ref = ref;
    this.profile = `${ref.namespace}/${ref.name}`;
    this.maxCyclesPerRun = Math.max(1, input.maxCyclesPerRun ?? DEFAULT_MAX_CYCLES_PER_RUN);
    this.status = carried ? { ...carried, ref, runCount: carried.runCount + 1 } : { ref, phase: 'Pending', syncCount: 0, runCount: 1 };
    this.snapshot = boundedSnapshot(input.snapshot);
    this.change = input.dirty ? 'change carried over from the previous run' : undefined;
    this.deleting = input.snapshot.deleting;
    this.phaseBeforeDeletion = carried?.phase ?? 'Pending';
    this.nextSyncAtMs = carried?.nextRefreshAtMs;
    this.schedule = input.schedule ?? DEFAULT_SCHEDULE;
    this.finalizerPresent = input.finalizerPresent ?? false;
    this.failures = input.failures ?? 0;
    this.publisher = new StatusPublisher(ref);
  }

  // ---- message handlers -----------------------------------------------------------------------------

  /** The ClusterProfile changed: record the snapshot; resync if its hash or generation changed. */
  profileChanged(received: ProfileSnapshot): void {
    const previous = this.snapshot;
    this.snapshot = boundedSnapshot(received);
    const change = snapshotChange(previous, this.snapshot, this.deleting);
    if (change === 'deletion') this.requestDeletion('the watcher saw a deletionTimestamp');
    if (change === 'resync') {
      this.change = `profile changed (generation ${this.snapshot.generation}, resourceVersion ${this.snapshot.resourceVersion})`;
    }
  }

  /** A source Secret or a managed object changed: resync promptly. */
  resyncRequested(request: ResyncRequest): void {
    if (!this.deleting) this.change = `resync requested: ${request.reason} ${request.object}`;
  }

  /** Stop refreshing; the cleanup runs once the API server confirms the deletion. */
  requestDeletion(why: string): void {
    if (!this.deleting) {
      log.info('deletion requested', { profile: this.profile, why });
      this.phaseBeforeDeletion = this.status.phase;
    }
    this.deleting = true;
    this.change = undefined;
    this.setPhase({ type: 'deletionStarted' });
  }

  /** Rejects a refresh update while the profile is being deleted (before it enters history). */
  validateRefresh(): void {
    if (this.deleting || this.status.phase === 'Deleting' || this.status.phase === 'Deleted') {
      throw new Error(`ClusterProfile ${this.profile} is being deleted; refresh rejected`);
    }
  }

  /** A sync now (after any running one), with its outcome; fails if deletion gets in the way. */
  async refresh({ reason }: { reason?: string }): Promise<SyncOutcome> {
    const outcome = await this.syncExclusive({ reason: `refresh update${reason ? `: ${reason}` : ''}`, scheduled: false });
    if (!outcome) {
      throw ApplicationFailure.create({ message: `ClusterProfile ${this.profile} is being deleted; refresh cancelled`, type: 'Deleting', nonRetryable: true });
    }
    return outcome;
  }

  // ---- main loop ----------------------------------------------------------------------------------------

  /** Asks decideNext() what to do and does it, until the profile is cleaned up or the run continues as new. */
  async run(): Promise<void> {
    let timerFired = false;
    for (;;) {
      const action = decideNext({
        phase: this.status.phase,
        deleting: this.deleting,
        dirty: this.change !== undefined,
        nowMs: Date.now(),
        nextSyncAtMs: this.nextSyncAtMs,
        timerFired,
        cyclesThisRun: this.cyclesThisRun,
        maxCyclesPerRun: this.maxCyclesPerRun,
        continueAsNewSuggested: workflowInfo().continueAsNewSuggested,
      });
      timerFired = false;
      switch (action.kind) {
        case 'complete':
          await condition(allHandlersFinished);
          log.info('ClusterProfile cleaned up; workflow complete', { profile: this.profile });
          return;
        case 'cleanup':
          await this.cleanup();
          break;
        case 'sync':
          if (awaitsProviders({ snapshot: this.snapshot, dirty: this.change !== undefined, status: this.status })) {
            await this.waitForProviders();
          } else if (this.lock.held) {
            // A refresh update is syncing right now: let it finish, then plan again with its result.
            await this.lock.released(() => this.deleting);
          } else {
            await this.syncExclusive(chooseTrigger({ change: this.change, pendingTrigger: this.pendingTrigger, status: this.status }));
          }
          break;
        case 'wait':
          timerFired = !(await this.waitUntilDue(action));
          break;
        case 'continueAsNew':
          // Let running handlers finish; a signal that arrives while the continue-as-new task runs fails that
          // task and is replayed into this state, so the input is built only now.
          await condition(allHandlersFinished);
          if (this.deleting || this.lock.held) break;
          await this.continueAsNew();
          return;
      }
    }
  }

  private setPhase(event: PhaseEvent): Phase {
    this.status.phase = nextPhase(this.status.phase, event);
    return this.status.phase;
  }

  private publish(): void {
    this.publisher.publish(this.status);
  }

  /** Nothing to sync until the profile carries an access provider (or changes, or goes). */
  private async waitForProviders(): Promise<void> {
    this.publish();
    await condition(() => this.change !== undefined || this.deleting || carriesProviders(this.snapshot));
    if (this.change === undefined && carriesProviders(this.snapshot)) this.change = 'access providers appeared';
  }

  /** Sleeps until the next sync is due; true when something else woke it first (a change, a sync, deletion). */
  private waitUntilDue(action: WaitAction): Promise<boolean> {
    this.publish();
    const epoch = this.syncEpoch;
    return condition(
      () => this.change !== undefined || this.deleting || this.syncEpoch !== epoch || workflowInfo().continueAsNewSuggested,
      action.ms,
      { summary: waitSummary(this.profile, this.status, action.purpose, action.ms) },
    );
  }

  private async continueAsNew(): Promise<void> {
    this.publish();
    log.info('continue as new', { profile: this.profile, cycles: this.cyclesThisRun, historyLength: workflowInfo().historyLength });
    const next: ClusterProfileWorkflowInput = {
      version: WORKFLOW_INPUT_VERSION,
      ref: this.ref,
      snapshot: this.snapshot,
      schedule: this.schedule,
      carried: { ...this.status, nextRefreshAtMs: this.nextSyncAtMs },
      // A change postponed by a busy provider is synced first by the next run.
      dirty: this.change !== undefined || this.pendingTrigger !== undefined,
      finalizerPresent: this.finalizerPresent,
      failures: this.failures,
    };
    if (this.input.maxCyclesPerRun !== undefined) next.maxCyclesPerRun = this.input.maxCyclesPerRun;
    await makeContinueAsNewFunc<(input: ClusterProfileWorkflowInput) => Promise<void>>({
      typedSearchAttributes: workflowInfo().typedSearchAttributes,
      memo: Object.fromEntries(Object.entries(workflowInfo().memo ?? {}).filter(([, v]) => v !== undefined)),
    })(next);
  }

  // ---- sync ---------------------------------------------------------------------------------------------

  /**
   * Runs a sync under the lock, so that the main loop and refresh updates never sync at once, and cancels it
   * if deletion is requested meanwhile. Returns undefined when deletion got in the way.
   */
  private async syncExclusive(trigger: SyncTrigger): Promise<SyncOutcome | undefined> {
    if (this.deleting) return undefined;
    if (!this.lock.tryAcquire() && !(await this.lock.acquire(() => this.deleting))) return undefined;
    const work = new CancellationScope();
    const watch = new CancellationScope();
    const watching = watch.run(() => condition(() => this.deleting)).then(
      () => work.cancel(),
      () => undefined,
    );
    try {
      const outcome = await work.run(() => this.syncOnce(trigger));
      // A sync run as a regular activity may finish before its cancellation reaches it: deletion still wins,
      // and the cleanup that follows removes what it wrote.
      return this.deleting ? undefined : outcome;
    } catch (err) {
      if (!(this.deleting && isCancellation(err))) throw err;
      log.info('sync cancelled for deletion', { profile: this.profile, trigger: trigger.reason });
      // The sync did not finish: if the deletion turns out not to be real, sync again.
      this.change = 'sync interrupted by a deletion request';
      return undefined;
    } finally {
      watch.cancel();
      await watching;
      this.lock.release();
    }
  }

  /** One sync. Returns its outcome; throws only cancellations (deletion) and workflow bugs. The caller holds the lock. */
  private async syncOnce(trigger: SyncTrigger): Promise<SyncOutcome> {
    const snapshot = this.snapshot;
    const previousPhase = this.status.phase;
    this.change = undefined;
    this.pendingTrigger = undefined;
    this.cyclesThisRun++;
    this.setPhase({ type: 'syncStarted' });
    if (trigger.scheduled) log.debug('sync', { profile: this.profile, trigger: trigger.reason });
    else log.info('sync', { profile: this.profile, trigger: trigger.reason });
    const request = syncRequestFor(this.status, previousPhase, trigger, { finalizerPresent: this.finalizerPresent, attemptsPerSync: SYNC_MAX_ATTEMPTS });
    try {
      return this.syncSucceeded(await this.runSync(trigger, request), snapshot);
    } catch (err) {
      // A local activity's failure arrives as its ApplicationFailure (a regular one's wrapped in an
      // ActivityFailure); anything else is a bug here and fails the workflow task, never the workflow.
      if (isCancellation(err) || !(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
      return this.syncFailed(failureOf(err), err instanceof ActivityFailure, trigger, snapshot);
    }
  }

  /**
   * The sync as a local activity; when its plugin could not run inside the workflow task (ProviderDeferred),
   * once more as a regular activity (a provider wait, whose attempts Temporal retries), so that no workflow
   * task waits on a plugin.
   */
  private async runSync(trigger: SyncTrigger, request: SyncRequest): Promise<SyncReport> {
    const summary = `sync ${this.profile} (${trigger.reason})`;
    const trouble = providerTrouble({ busyRetries: this.busyRetries, status: this.status });
    if (trouble && patched(PROVIDER_WAIT_PATCH)) {
      return providerWaitActivities.syncProfile.executeWithOptions(
        { summary: `${summary}, waiting for the provider (${trouble})` },
        [this.ref, { ...request, execMode: 'wait', attemptsPerSync: PROVIDER_WAIT_MAX_ATTEMPTS }],
      );
    }
    try {
      return await syncActivities.syncProfile.executeWithOptions({ summary }, [this.ref, request]);
    } catch (err) {
      const deferred = (err instanceof ActivityFailure || err instanceof ApplicationFailure) && failureOf(err).type === PROVIDER_DEFERRED;
      if (!deferred || !patched(PROVIDER_BULKHEAD_PATCH)) throw err;
      if (patched(PROVIDER_WAIT_PATCH)) {
        // Busy, slow or due for a probe: the plugin runs in a provider wait, whose retries cost no workflow task.
        return providerWaitActivities.syncProfile.executeWithOptions(
          { summary: `${summary}, waiting for the provider: ${failureOf(err).message}` },
          [this.ref, { ...request, execMode: 'wait', attemptsPerSync: PROVIDER_WAIT_MAX_ATTEMPTS }],
        );
      }
      return providerActivities.syncProfile.executeWithOptions(
        { summary: `${summary} as an activity: ${failureOf(err).message}` },
        [this.ref, { ...request, execMode: 'activity', attemptsPerSync: 1 }],
      );
    }
  }

  private syncSucceeded(report: SyncReport, snapshot: ProfileSnapshot): SyncOutcome {
    this.schedule = report.schedule;
    this.finalizerPresent = true;
    this.failures = 0;
    this.busyRetries = 0;
    const nowMs = Date.now();
    const nextAtMs = nowMs + nextRefreshDelayMs({ nowMs, expiresAtMs: report.expiresAtMs, schedule: this.schedule });
    const phase = this.setPhase({ type: 'syncSucceeded' });
    this.nextSyncAtMs = nextAtMs;
    this.status = statusAfterSuccess(this.status, { phase, report, snapshot, nowMs, nextAtMs });
    this.syncEpoch++;
    return {
      phase,
      fingerprint: report.fingerprint,
      expiresAtMs: report.expiresAtMs,
      nextRefreshAtMs: nextAtMs,
      changed: report.secretChanged || report.sveltosClusterChanged,
    };
  }

  private syncFailed(failure: ReportedFailure, ranAsActivity: boolean, trigger: SyncTrigger, snapshot: ProfileSnapshot): SyncOutcome {
    const kind = classifyFailure(failure.type, ranAsActivity);
    // A regular activity's failure is in history: failing the task would only replay it. Try again soon.
    if (kind === 'retry-soon') return this.providerBusy(trigger, failure.message);
    // Not a failure of the sync: fail this workflow task so that another worker replays it and syncs.
    if (kind === 'retry-task') throw new Error(`the worker running the sync of ${this.profile} shut down; the task is retried elsewhere`);
    if (failure.schedule) this.schedule = failure.schedule;
    if (failure.written) {
      // The Secret holds this credential now, whatever failed after it was written.
      const w = failure.written;
      this.status = { ...this.status, provider: w.provider, fingerprint: w.fingerprint, credentialExpiresAtMs: w.expiresAtMs };
      this.finalizerPresent = true;
    }
    if (kind === 'gone') {
      this.gone = true;
      this.requestDeletion(`ProfileGone: ${failure.message}`);
      return { phase: this.status.phase, changed: false, error: failure.message };
    }
    if (kind === 'busy') return this.providerBusy(trigger, failure.message, failure.retryAfterMs);
    this.failures++;
    this.busyRetries = 0;
    const nowMs = Date.now();
    const expiresAtMs = this.status.credentialExpiresAtMs;
    const delay = retryDelayAfterFailure({
      nowMs,
      failureType: failure.type,
      failures: this.failures,
      expiresAtMs,
      schedule: this.schedule,
      retryAfterMs: failure.retryAfterMs,
      random: Math.random,
    });
    const nextAtMs = nowMs + delay;
    const phase = this.setPhase({ type: 'syncFailed', expired: expiresAtMs !== undefined && expiresAtMs <= nowMs });
    this.nextSyncAtMs = nextAtMs;
    this.status = statusAfterFailure(this.status, { phase, failure, snapshot, nowMs, nextAtMs });
    this.syncEpoch++;
    log.warn('sync failed', { profile: this.profile, reason: failure.type, message: failure.message, failures: this.failures, retryInMs: delay });
    return unsyncedOutcome(this.status, nextAtMs, failure.message);
  }

  /** The provider had no slot for this sync: not a failure (the phase stays); try again after a jittered delay. */
  private providerBusy(trigger: SyncTrigger, message: string, notBeforeMs?: number): SyncOutcome {
    this.busyRetries++;
    if (!trigger.scheduled) this.pendingTrigger = trigger;
    const nowMs = Date.now();
    const delay = providerBusyDelayMs({ nowMs, expiresAtMs: this.status.credentialExpiresAtMs, busyRetries: this.busyRetries, random: Math.random(), notBeforeMs });
    this.nextSyncAtMs = nowMs + delay;
    this.status = { ...this.status, nextRefreshAtMs: this.nextSyncAtMs };
    this.syncEpoch++;
    log.info('provider busy; sync postponed', { profile: this.profile, message, busyRetries: this.busyRetries, retryInMs: delay });
    return unsyncedOutcome(this.status, this.nextSyncAtMs, message);
  }

  // ---- deletion -----------------------------------------------------------------------------------------

  /**
   * Deletion: the cleanup activity first checks with the API server that this uid is gone or has a
   * deletionTimestamp; only then does it delete the SveltosCluster and the Secret (if ours) and release the
   * finalizer. A request the API server refutes is logged and ignored: the workflow goes on reconciling.
   */
  private async cleanup(): Promise<void> {
    // Wait for an in-flight sync; it is being cancelled.
    if (!this.lock.tryAcquire()) await this.lock.acquire();
    try {
      this.setPhase({ type: 'deletionStarted' });
      this.status.nextRefreshAtMs = undefined;
      this.nextSyncAtMs = undefined;
      this.publish();
      const done = await CancellationScope.nonCancellable(() => this.cleanupUntilSettled());
      if (done) {
        this.setPhase({ type: 'cleanupCompleted' });
      } else {
        this.deleting = false;
        this.setPhase({ type: 'deletionNotConfirmed', previous: this.phaseBeforeDeletion });
        this.change = 'deletion request refuted by the API server';
      }
      this.publish();
    } finally {
      this.lock.release();
    }
  }

  /** Runs the cleanup activity until it is done (true) or the API server refutes the deletion (false). */
  private async cleanupUntilSettled(): Promise<boolean> {
    for (;;) {
      try {
        const recordDeletingEvent = !this.gone && !this.deletingEventRecorded;
        const result = await cleanupActivities.cleanupProfile.executeWithOptions(
          { summary: `verify the deletion of ${this.profile}, delete its SveltosCluster and kubeconfig Secret, remove the finalizer` },
          [this.ref, { recordDeletingEvent }],
        );
        this.deletingEventRecorded ||= recordDeletingEvent;
        log.info('cleanup done', { profile: this.profile, ...result });
        return true;
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const failure = failureOf(err);
        if (failure.type === ErrorType.ProfileGone) {
          log.info('cleanup: ClusterProfile already gone', { profile: this.profile });
          return true;
        }
        if (failure.type === ErrorType.DeletionNotConfirmed) {
          log.warn('deletion request ignored: the API server shows the ClusterProfile alive', { profile: this.profile, message: failure.message });
          return false;
        }
        // A non-retryable failure (e.g. Conflict): cleanup must still finish; retry after the sync period
        // rather than in a hot loop. The activity recorded the Warning Event.
        this.status.lastError = { reason: failure.type, message: failure.message, atMs: Date.now() };
        this.publish();
        const ms = Math.max(1, this.schedule.syncPeriodMs);
        await sleep(ms, { summary: `cleanup of ${this.profile} failed (${failure.type}); retry in ${formatDuration(ms)}` });
      }
    }
  }
}
