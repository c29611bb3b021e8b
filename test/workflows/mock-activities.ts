// A recording, scriptable implementation of the current workflow's activities (ProfileActivities:
// syncProfile, cleanupProfile) for workflow tests. Runs in the worker (not in the workflow sandbox). It
// records each call with its request and how it ended, and the Kubernetes Events the real activities would
// record (decided by the same pure functions). Times are server (workflow) time, so that on the
// time-skipping server "expires in 1 h" means one hour of skipped time, not of wall time.
import { Context } from '@temporalio/activity';
import { providerWaitFailure } from '../../activities/providers/wait-retry.js';
import { ApplicationFailure } from '@temporalio/common';
import { EventReason, eventForSyncFailure, eventForSyncReport } from '../../workflows/phase.js';
import {
  DEFAULT_SCHEDULE,
  ErrorType,
  PROVIDER_BUSY,
  PROVIDER_DEFERRED,
  type CleanupRequest,
  type CleanupResult,
  type CredentialSyncResult,
  type ProfileActivities,
  type ProfileEvent,
  type ProfileRef,
  type ScheduleConfig,
  type SyncReport,
  type SyncRequest,
} from '../../workflows/api.js';

export type ActivityName = keyof ProfileActivities;

/** `ok`, or the type of the failure the call ended with (undefined while it runs). */
export type CallOutcome = string;

export type RecordedCall =
  | { name: 'syncProfile'; atMs: number; ref: ProfileRef; request: SyncRequest; outcome?: CallOutcome }
  | { name: 'cleanupProfile'; atMs: number; ref: ProfileRef; request: CleanupRequest; outcome?: CallOutcome };

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

/** The ClusterProfile as the API server would show it to a sync. */
export type ProfileState = 'present' | 'deleting' | 'gone';

export class MockReconcileActivities {
  readonly calls: RecordedCall[] = [];
  /** The Events the activities recorded on the ClusterProfile, in order. */
  private readonly recordedEvents: ProfileEvent[] = [];
  credentialTtlMs: number | undefined;
  provider: string;
  /** A sync's credential step fails with this (e.g. ApplicationFailure.nonRetryable(msg, 'InvalidInput')). */
  syncFailure: (() => Error) | undefined;
  /** A sync's SveltosCluster step fails with this (e.g. a Conflict), after the Secret was written. */
  applyFailure: (() => Error) | undefined;
  /** What a sync finds: `deleting` or `gone` fail it with ProfileGone, as the real activity does. */
  profile: ProfileState = 'present';
  /** cleanupProfile answers DeletionNotConfirmed (the API server shows the profile alive). */
  deletionRefuted = false;
  /** cleanupProfile throws a retryable error this many times before it succeeds. */
  cleanupTransientFailures = 0;
  /** Awaited inside syncProfile (before the credential step) and cleanupProfile before they go on. */
  syncGate: Gate | undefined;
  cleanupGate: Gate | undefined;
  /** Runs inside syncProfile (n = 1-based syncProfile call) before its credential step. */
  onSync: ((n: number) => Promise<void>) | undefined;
  /**
   * The provider bulkhead's answer to a sync before its plugin runs (e.g. ProviderDeferred for a sync in the
   * workflow task): an error to fail the sync with, or undefined to go on. n = 1-based syncProfile call.
   */
  providerAnswer: ((req: SyncRequest, n: number) => Error | undefined) | undefined;
  /** What syncProfile reports as the worker's schedule. */
  schedule: ScheduleConfig = DEFAULT_SCHEDULE;
  /** Highest number of syncProfile calls running at once. */
  maxConcurrentSyncs = 0;
  private runningSyncs = 0;
  private credentialsIssued = 0;
  private sveltosClusterApplies = 0;
  private readonly now: () => Promise<number>;

  constructor(options: MockOptions) {
    this.now = options.now;
    this.credentialTtlMs = options.credentialTtlMs;
    this.provider = options.provider ?? 'mock-provider';
  }

  /** Calls of an activity, optionally only those that ended with `outcome`. */
  count(name: ActivityName, outcome?: CallOutcome): number {
    return this.callsOf(name, outcome).length;
  }

  /** Server times at which calls of an activity started. */
  times(name: ActivityName, outcome?: CallOutcome): number[] {
    return this.callsOf(name, outcome).map((c) => c.atMs);
  }

  /** The requests syncProfile received, in order. */
  get syncRequests(): SyncRequest[] {
    return this.calls.flatMap((c) => (c.name === 'syncProfile' ? [c.request] : []));
  }

  events(): ProfileEvent[] {
    return [...this.recordedEvents];
  }

  private callsOf(name: ActivityName, outcome?: CallOutcome): RecordedCall[] {
    return this.calls.filter((c) => c.name === name && (outcome === undefined || c.outcome === outcome));
  }

  private async record<C extends RecordedCall>(call: Omit<C, 'atMs'>): Promise<C> {
    const recorded = { ...call, atMs: await this.now() } as C;
    this.calls.push(recorded);
    return recorded;
  }

  /** Runs a call, noting how it ended. */
  private async settle<R>(call: RecordedCall, run: () => Promise<R>): Promise<R> {
    try {
      const result = await run();
      call.outcome = 'ok';
      return result;
    } catch (err) {
      call.outcome = err instanceof ApplicationFailure ? (err.type ?? 'Error') : 'Error';
      throw err;
    }
  }

  private issueCredential(atMs: number): CredentialSyncResult {
    this.credentialsIssued++;
    if (this.credentialTtlMs === undefined) {
      // A static credential: same content every time, so only the first write changes the Secret.
      return { provider: this.provider, fingerprint: 'fp-static', secretChanged: this.credentialsIssued === 1, server: 'https://spoke.example:6443' };
    }
    return {
      provider: this.provider,
      fingerprint: `fp-${this.credentialsIssued}`,
      expiresAtMs: atMs + this.credentialTtlMs,
      secretChanged: true,
      server: 'https://spoke.example:6443',
    };
  }

  /** The steps of the real syncProfile, in its order; `written` is set once the Secret holds a credential. */
  private async syncSteps(call: { ref: ProfileRef; request: SyncRequest; atMs: number }, n: number, written: { cred?: CredentialSyncResult }): Promise<SyncReport> {
    const { ref, request } = call;
    if (this.profile !== 'present') {
      throw profileGone(`ClusterProfile ${ref.namespace}/${ref.name}: ${this.profile === 'gone' ? 'no longer exists' : 'is being deleted'}`);
    }
    const refused = this.providerAnswer?.(request, n);
    if (refused) throw refused;
    if (this.syncGate) await this.syncGate.opened;
    if (this.onSync) await this.onSync(n);
    if (this.syncFailure) throw this.syncFailure();
    const cred = this.issueCredential(call.atMs);
    written.cred = cred;
    let sveltosClusterChanged = false;
    if (request.full) {
      if (this.applyFailure) throw this.applyFailure();
      sveltosClusterChanged = ++this.sveltosClusterApplies === 1;
    }
    const event = eventForSyncReport(ref, request, cred);
    if (event) this.recordedEvents.push(event);
    return { ...cred, sveltosClusterChanged, schedule: this.schedule };
  }

  /** A failure as the real activity lets it leave: with the worker's schedule and the credential written, if any. */
  private async failureOfSync(err: unknown, request: SyncRequest, written: CredentialSyncResult | undefined): Promise<Error> {
    const failure = err instanceof ApplicationFailure ? err : ApplicationFailure.retryable(err instanceof Error ? err.message : String(err), 'MockTransient');
    const final = failure.nonRetryable === true || Context.current().info.attempt >= request.attemptsPerSync;
    const notAFailure = failure.type === PROVIDER_DEFERRED || failure.type === PROVIDER_BUSY;
    if (final && failure.type !== ErrorType.ProfileGone && !notAFailure) {
      const event = eventForSyncFailure(request.previousError, failure.type ?? 'Error', failure.message);
      if (event) this.recordedEvents.push(event);
    }
    const classified = ApplicationFailure.create({
      message: failure.message,
      type: failure.type ?? 'Error',
      nonRetryable: failure.nonRetryable ?? false,
      details: [{ ...(failure.details?.[0] as object | undefined), schedule: this.schedule, ...(written ? { written } : {}) }],
    });
    // As activities/reconcile.ts does: a provider wait's attempts are retried by Temporal.
    const info = Context.current().info;
    return providerWaitFailure(classified, request, { attempt: info.attempt, nowMs: await this.now(), random: 0.5, waitingSinceMs: info.scheduledTimestampMs });
  }

  readonly activities: ProfileActivities = {
    syncProfile: async (ref: ProfileRef, request: SyncRequest): Promise<SyncReport> => {
      const call = await this.record<Extract<RecordedCall, { name: 'syncProfile' }>>({ name: 'syncProfile', ref, request });
      const n = this.count('syncProfile');
      this.runningSyncs++;
      this.maxConcurrentSyncs = Math.max(this.maxConcurrentSyncs, this.runningSyncs);
      const written: { cred?: CredentialSyncResult } = {};
      try {
        return await this.settle(call, async () => {
          try {
            return await this.syncSteps(call, n, written);
          } catch (err) {
            throw await this.failureOfSync(err, request, written.cred);
          }
        });
      } finally {
        this.runningSyncs--;
      }
    },

    cleanupProfile: async (ref: ProfileRef, request: CleanupRequest): Promise<CleanupResult> => {
      const call = await this.record<Extract<RecordedCall, { name: 'cleanupProfile' }>>({ name: 'cleanupProfile', ref, request });
      return this.settle(call, async () => {
        if (this.deletionRefuted) {
          throw ApplicationFailure.nonRetryable(`ClusterProfile ${ref.namespace}/${ref.name} exists without a deletionTimestamp`, ErrorType.DeletionNotConfirmed);
        }
        if (request.recordDeletingEvent && this.profile !== 'gone' && Context.current().info.attempt === 1) {
          this.recordedEvents.push({
            type: 'Normal',
            reason: EventReason.Deleting,
            message: `ClusterProfile ${ref.namespace}/${ref.name} is being deleted: removing its SveltosCluster and kubeconfig Secret`,
          });
        }
        if (this.cleanupGate) await this.cleanupGate.opened;
        if (this.cleanupTransientFailures > 0) {
          this.cleanupTransientFailures--;
          throw ApplicationFailure.retryable('apiserver: 503 Service Unavailable', 'KubeApiError');
        }
        return { sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] };
      });
    },
  };
}

/** Routes each call to the mock of the profile it is about (by name), so that tests share one worker. */
export function mockDispatcher(mocks: ReadonlyMap<string, MockReconcileActivities>): ProfileActivities {
  const mockFor = (ref: ProfileRef): ProfileActivities => {
    const mock = mocks.get(ref.name);
    if (!mock) throw new Error(`no mock for ${ref.name}`);
    return mock.activities;
  };
  return {
    syncProfile: (ref, req) => mockFor(ref).syncProfile(ref, req),
    cleanupProfile: (ref, req) => mockFor(ref).cleanupProfile(ref, req),
  };
}

/** The failure an activity throws for a wrong provider configuration. */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.InvalidInput);
}

export function conflict(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.Conflict);
}

export function profileGone(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.ProfileGone);
}
