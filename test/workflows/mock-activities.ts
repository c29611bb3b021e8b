// A recording, scriptable implementation of ReconcileActivities for workflow tests. Runs in the worker
// (not in the workflow sandbox). Times are server (workflow) time, so that on the time-skipping server
// "expires in 1 h" means one hour of skipped time, not of wall time.
import { providerWaitFailure } from '../../activities/providers/wait-retry.js';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { EventReason, eventForSyncFailure, eventForSyncReport } from '../../workflows/phase.js';
import {
  DEFAULT_SCHEDULE,
  ErrorType,
  PROVIDER_BUSY,
  PROVIDER_DEFERRED,
  type ApplyResult,
  type CleanupRequest,
  type ScheduleConfig,
  type SyncReport,
  type SyncRequest,
  type CleanupResult,
  type CredentialSyncResult,
  type FinalizerResult,
  type ProfileEvent,
  type ProfileRef,
  type ReconcileActivities,
} from '../../workflows/api.js';

export type ActivityName = keyof ReconcileActivities;

export interface RecordedCall {
  name: ActivityName;
  /** Server time when the call started. */
  atMs: number;
  ref: ProfileRef;
  event?: ProfileEvent;
}

/** A gate that activities can wait on; open() lets them through. */
export class Gate {
  private release!: () => void;
  readonly opened: Promise<void> = new Promise((resolve) => (this.release = resolve));
  open(): void {
    this.release();
  }
}

export interface MockOptions {
  /** Server time source, e.g. `() => env.currentTimeMs()`. */
  now: () => Promise<number>;
  /** Credential lifetime; undefined = the credential states no expiry. */
  credentialTtlMs?: number;
  provider?: string;
}

export class MockReconcileActivities {
  readonly calls: RecordedCall[] = [];
  credentialTtlMs: number | undefined;
  provider: string;
  /** Make syncCredentials fail with this (e.g. ApplicationFailure.nonRetryable(msg, 'InvalidInput')). */
  syncFailure: (() => Error) | undefined;
  /** Make applySveltosCluster fail with this (e.g. a Conflict). */
  applyFailure: (() => Error) | undefined;
  /** Checked by ensureFinalizer. */
  finalizer: FinalizerResult = { gone: false, deleting: false };
  /** cleanupProfile answers DeletionNotConfirmed (the API server shows the profile alive). */
  deletionRefuted = false;
  /** cleanup throws a retryable error this many times before it succeeds. */
  cleanupTransientFailures = 0;
  /** Awaited inside syncCredentials / cleanup before they return. */
  syncGate: Gate | undefined;
  cleanupGate: Gate | undefined;
  /** Runs inside syncCredentials (n = 1-based call number) before it returns. */
  onSync: ((n: number) => Promise<void>) | undefined;
  /**
   * The provider bulkhead's answer to a sync before its plugin runs (e.g. ProviderDeferred for a sync in the
   * workflow task): an error to fail the sync with, or undefined to go on. n = 1-based syncProfile call.
   */
  providerAnswer: ((req: SyncRequest, n: number) => Error | undefined) | undefined;
  /** What syncProfile reports as the worker's schedule. */
  schedule: ScheduleConfig = DEFAULT_SCHEDULE;
  /** The requests syncProfile received, in order. */
  readonly syncRequests: SyncRequest[] = [];
  /** Highest number of syncCredentials calls running at once. */
  maxConcurrentSyncs = 0;
  private runningSyncs = 0;
  private tokenSerial = 0;
  private readonly now: () => Promise<number>;

  constructor(options: MockOptions) {
    this.now = options.now;
    this.credentialTtlMs = options.credentialTtlMs;
    this.provider = options.provider ?? 'mock-provider';
  }

  count(name: ActivityName): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  times(name: ActivityName): number[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.atMs);
  }

  events(): ProfileEvent[] {
    return this.calls.flatMap((c) => (c.event ? [c.event] : []));
  }

  private async record(name: ActivityName, ref: ProfileRef, event?: ProfileEvent): Promise<number> {
    const atMs = await this.now();
    this.calls.push(event ? { name, atMs, ref, event } : { name, atMs, ref });
    return atMs;
  }

  readonly activities: ReconcileActivities = {
    ensureFinalizer: async (ref: ProfileRef): Promise<FinalizerResult> => {
      await this.record('ensureFinalizer', ref);
      return { ...this.finalizer };
    },

    syncCredentials: async (ref: ProfileRef): Promise<CredentialSyncResult> => {
      const atMs = await this.record('syncCredentials', ref);
      const n = this.count('syncCredentials');
      this.runningSyncs++;
      this.maxConcurrentSyncs = Math.max(this.maxConcurrentSyncs, this.runningSyncs);
      try {
        if (this.syncGate) await this.syncGate.opened;
        if (this.onSync) await this.onSync(n);
        if (this.syncFailure) throw this.syncFailure();
        if (this.credentialTtlMs === undefined) {
          // A static credential: same content every time, so only the first write changes the Secret.
          return { provider: this.provider, fingerprint: 'fp-static', secretChanged: n === 1, server: 'https://spoke.example:6443' };
        }
        this.tokenSerial++;
        return {
          provider: this.provider,
          fingerprint: `fp-${this.tokenSerial}`,
          expiresAtMs: atMs + this.credentialTtlMs,
          secretChanged: true,
          server: 'https://spoke.example:6443',
        };
      } finally {
        this.runningSyncs--;
      }
    },

    applySveltosCluster: async (ref: ProfileRef): Promise<ApplyResult> => {
      await this.record('applySveltosCluster', ref);
      if (this.applyFailure) throw this.applyFailure();
      return { changed: this.count('applySveltosCluster') === 1 };
    },

    cleanup: async (ref: ProfileRef): Promise<CleanupResult> => {
      await this.record('cleanup', ref);
      if (this.cleanupGate) await this.cleanupGate.opened;
      if (this.cleanupTransientFailures > 0) {
        this.cleanupTransientFailures--;
        throw new Error('apiserver: 503 Service Unavailable');
      }
      return { sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] };
    },

    recordEvent: async (ref: ProfileRef, event: ProfileEvent): Promise<void> => {
      await this.record('recordEvent', ref, event);
    },

    // The current workflow's activities, composed from the steps above as activities/reconcile.ts composes
    // them, so that tests keep counting finalizer, credential and SveltosCluster steps.
    syncProfile: async (ref: ProfileRef, req: SyncRequest): Promise<SyncReport> => {
      this.syncRequests.push(req);
      const a = this.activities;
      let written: CredentialSyncResult | undefined;
      try {
        // With the finalizer in place the real activity only reads the profile (not recorded as a step).
        const f = req.finalizerPresent ? { ...this.finalizer } : await a.ensureFinalizer(ref);
        if (f.gone || f.deleting) throw profileGone(`ClusterProfile ${ref.namespace}/${ref.name}: ${f.gone ? 'no longer exists' : 'is being deleted'}`);
        const refused = this.providerAnswer?.(req, this.syncRequests.length);
        if (refused) throw refused;
        const cred = await a.syncCredentials(ref);
        written = cred;
        const applied = req.full ? await a.applySveltosCluster(ref) : { changed: false };
        const event = eventForSyncReport(ref, req, cred);
        if (event) await a.recordEvent(ref, event);
        return { ...cred, sveltosClusterChanged: applied.changed, schedule: this.schedule };
      } catch (err) {
        const failure = err instanceof ApplicationFailure ? err : ApplicationFailure.retryable(err instanceof Error ? err.message : String(err), 'MockTransient');
        const final = failure.nonRetryable === true || (Context.current().info.attempt >= req.attemptsPerSync);
        const notAFailure = failure.type === PROVIDER_DEFERRED || failure.type === PROVIDER_BUSY;
        if (final && failure.type !== ErrorType.ProfileGone && !notAFailure) {
          const event = eventForSyncFailure(req.previousError, failure.type ?? 'Error', failure.message);
          if (event) await a.recordEvent(ref, event);
        }
        const classified = ApplicationFailure.create({
          message: failure.message,
          type: failure.type ?? 'Error',
          nonRetryable: failure.nonRetryable ?? false,
          details: [{ ...(failure.details?.[0] as object | undefined), schedule: this.schedule, ...(written ? { written } : {}) }],
        });
        // As activities/reconcile.ts does: a provider wait's attempts are retried by Temporal.
        const info = Context.current().info;
        throw providerWaitFailure(classified, req, { attempt: info.attempt, nowMs: await this.now(), random: 0.5, waitingSinceMs: info.scheduledTimestampMs });
      }
    },

    cleanupProfile: async (ref: ProfileRef, req: CleanupRequest): Promise<CleanupResult> => {
      if (this.deletionRefuted) {
        await this.record('cleanup', ref);
        throw ApplicationFailure.nonRetryable(`ClusterProfile ${ref.namespace}/${ref.name} exists without a deletionTimestamp`, ErrorType.DeletionNotConfirmed);
      }
      if (req.recordDeletingEvent && !this.finalizer.gone && Context.current().info.attempt === 1) {
        await this.activities.recordEvent(ref, {
          type: 'Normal',
          reason: EventReason.Deleting,
          message: `ClusterProfile ${ref.namespace}/${ref.name} is being deleted: removing its SveltosCluster and kubeconfig Secret`,
        });
      }
      return this.activities.cleanup(ref);
    },
  };
}

/** The failure an activity throws for a wrong provider configuration. */
/** Routes each call to the mock of the profile it is about (by name), so that tests share one worker. */
export function mockDispatcher(mocks: ReadonlyMap<string, MockReconcileActivities>): ReconcileActivities {
  const mockFor = (ref: ProfileRef): ReconcileActivities => {
    const mock = mocks.get(ref.name);
    if (!mock) throw new Error(`no mock for ${ref.name}`);
    return mock.activities;
  };
  return {
    ensureFinalizer: (ref) => mockFor(ref).ensureFinalizer(ref),
    syncCredentials: (ref) => mockFor(ref).syncCredentials(ref),
    applySveltosCluster: (ref) => mockFor(ref).applySveltosCluster(ref),
    cleanup: (ref) => mockFor(ref).cleanup(ref),
    recordEvent: (ref, event) => mockFor(ref).recordEvent(ref, event),
    syncProfile: (ref, req) => mockFor(ref).syncProfile(ref, req),
    cleanupProfile: (ref, req) => mockFor(ref).cleanupProfile(ref, req),
  };
}

export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.InvalidInput);
}

export function conflict(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.Conflict);
}

export function profileGone(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.ProfileGone);
}
