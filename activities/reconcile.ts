// The ReconcileActivities implementation (workflows/api.ts): everything the per-ClusterProfile workflow
// does to Kubernetes. Each activity is idempotent, reads what it needs afresh (by namespace/name and
// checked against the workflow's uid), decides with the pure helpers in kube/desired.ts and then acts.
// Our error classes leave as ApplicationFailures (toApplicationFailure): InvalidInput, Conflict and
// ProfileGone are non-retryable; anything else (KubeApiError, plugin hiccups) is retried by Temporal.
// Credentials stay inside the sync activity (syncProfile; syncCredentials for runs of the first release):
// it resolves and writes them, and returns metadata only (ADR 3).
import { hostname } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_SCHEDULE, PROVIDER_BUSY, PROVIDER_DEFERRED, TRANSIENT_CREDENTIAL_ERROR, WORKER_SHUTDOWN_ERROR, type CleanupRequest, type CleanupResult, type CredentialSyncResult, type FailureDetails, type ProfileEvent, type ProfileRef, type ScheduleConfig, type SyncReport, type SyncRequest } from '../workflows/api.js';
import type { ReconcileActivities } from '../workflows/registered-activities.js';
import { EventReason, eventForSyncFailure, eventForSyncReport } from '../workflows/phase.js';
import { currentActivityContext, currentCancellationSignal, withHeartbeat } from './activity-context.js';
import { validateSecretName } from './credentials/names.js';
import { resolveKubeconfig, type ResolveDeps } from './credentials/resolve.js';
import { providerWaitFailure } from './providers/wait-retry.js';
import { BoundedRetryError, ConflictError, DeletionNotConfirmedError, ProfileGoneError, ProviderBusyError, ProviderUnavailableError, toApplicationFailure } from './errors.js';
import { ProviderBulkheads } from './providers/bulkhead.js';
import { maxConcurrentRunsOf } from './credentials/provider-file.js';
import { isTransient, KubeApiError } from './kube/classify.js';
import { sveltosClusterForLive, sveltosRenewalWarning, sveltosRenewsToken } from './kube/sveltos-renewal.js';
import { PATCH_GUARD_FAILED, type DeleteOutcome, type KubeClient } from './kube/client.js';
import {
  desiredEvent,
  desiredSecret,
  desiredSveltosCluster,
  secretDifferences,
} from './kube/desired.js';
import {
  FINALIZER,
  KUBECONFIG_SECRET_TYPE,
  SVELTOS_CLUSTER,
  secretNameFor,
  type ClusterProfile,
  type ManagedKind,
} from './kube/types.js';
import { hasFinalizer, isDeleting } from './profile/model.js';
import { createLegacyActivities } from './legacy/first-release.js';
import { ownershipOf, staleOwnerReferences, type ExistingManagedObject } from './profile/ownership.js';

/** The Kubernetes rate-limit lane of failure Events (activities/kube/client.ts recordEvent). */
export const FAILURE_EVENT_LANE = 'failures';
/** Failure Events of syncs inside workflow tasks waiting to be sent; beyond this they are dropped (and logged). */
const MAX_PENDING_FAILURE_EVENTS = 1000;

/** pino-style structured logger (object first, message second), as the worker injects. */
export interface StructuredLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface ReconcileDeps extends Omit<ResolveDeps, 'getSecret' | 'signal' | 'execMode'> {
  kube: KubeClient;
  /** Used outside an activity context; inside one, Context.current().log is used. */
  logger?: StructuredLogger;
  /** reportingInstance of Events (default: the host name). */
  eventInstance?: string;
  /** Guarded patches (finalizer, stale ownerReference) tried per activity attempt before Temporal's retry takes over (default 5). */
  guardAttempts?: number;
  /** This worker's refresh schedule (--sync-period, --min-refresh-interval), reported to the workflow by every sync. */
  schedule?: ScheduleConfig;
  /** Aborted when the process shuts down: running plugins are killed and the sync is abandoned (WORKER_SHUTDOWN_ERROR). */
  shutdownSignal?: AbortSignal;
  /** ClusterProfiles from the watcher's informer, when the process runs one (`run`): saves a GET per sync. */
  profileCache?: (namespace: string, name: string) => ClusterProfile | undefined;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Logs through the activity context when there is one, else through the injected logger. Never pass credentials. */
function makeLog(deps: ReconcileDeps) {
  return (level: Level, msg: string, meta: Record<string, unknown>): void => {
    const ctx = currentActivityContext();
    if (ctx) {
      ctx.log[level](msg, meta);
      return;
    }
    deps.logger?.[level](meta, msg);
  };
}

function describe(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}

function profileObject(ref: ProfileRef): string {
  return describe('ClusterProfile', ref.namespace, ref.name);
}

export function createReconcileActivities(deps: ReconcileDeps): ReconcileActivities {
  const { kube } = deps;
  const log = makeLog(deps);
  const guardAttempts = Math.max(1, deps.guardAttempts ?? 5);
  const instance = (deps.eventInstance ?? hostname()).slice(0, 128);
  const resolveDeps: ResolveDeps = {
    providers: deps.providers,
    secretReaderNamespaces: deps.secretReaderNamespaces,
    execTimeoutMs: deps.execTimeoutMs,
    now: deps.now,
    baseEnv: deps.baseEnv,
    getSecret: (namespace, name) => kube.getSecret(namespace, name),
    bulkheads: deps.bulkheads ?? new ProviderBulkheads((name) => maxConcurrentRunsOf(deps.providers, name)),
    ...(deps.spawn ? { spawn: deps.spawn } : {}),
    ...(deps.killProcessGroup ? { killProcessGroup: deps.killProcessGroup } : {}),
  };

  /** The ClusterProfile of this incarnation, or ProfileGoneError (deleted, or replaced by a namesake). */
  async function loadProfile(ref: ProfileRef, opts: { allowDeleting: boolean; fresh?: boolean }): Promise<ClusterProfile> {
    // The watcher's cache, when this process runs one and it holds this incarnation: the signal that
    // started this sync came from that cache, so it is at least as new. Otherwise (and to retry a guarded
    // patch that lost) the API server.
    const cached = opts.fresh ? undefined : deps.profileCache?.(ref.namespace, ref.name);
    const profile = cached?.metadata.uid === ref.uid ? cached : await kube.getClusterProfile(ref.namespace, ref.name);
    if (!profile) throw new ProfileGoneError(profileObject(ref));
    if (profile.metadata.uid !== ref.uid) {
      throw new ProfileGoneError(profileObject(ref), `was replaced by a new ClusterProfile of the same name (uid ${profile.metadata.uid ?? '?'}, expected ${ref.uid})`);
    }
    if (!opts.allowDeleting && isDeleting(profile)) {
      throw new ProfileGoneError(profileObject(ref), 'is being deleted (deletionTimestamp is set); nothing more is written for it');
    }
    return profile;
  }

  /**
   * Runs read-decide-patch attempts: a guarded patch that lost against a concurrent write (or an attempt
   * returning 'retry') reads again and decides anew, a few times; then Temporal's retry takes over.
   */
  async function withGuardRetries<T>(attempt: () => Promise<T | 'retry'>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < guardAttempts; i++) {
      try {
        const result = await attempt();
        if (result !== 'retry') return result;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.reason === PATCH_GUARD_FAILED)) throw err;
        last = err;
      }
    }
    throw last instanceof Error ? last : new KubeApiError('concurrent updates kept winning; will retry');
  }

  // ---- activities -------------------------------------------------------------------------------

  /** The profile with our finalizer on it (one GET, plus one PATCH the first time), or ProfileGoneError. */
  async function profileWithFinalizer(ref: ProfileRef): Promise<ClusterProfile> {
    let attempt = 0;
    return withGuardRetries(async () => {
      const profile = await loadProfile(ref, { allowDeleting: false, fresh: attempt++ > 0 });
      if (profile.metadata.finalizers?.includes(FINALIZER)) return profile;
      const patched = await kube.addFinalizer(profile, FINALIZER);
      log('info', 'finalizer added', { profile: `${ref.namespace}/${ref.name}`, finalizer: FINALIZER });
      return patched;
    });
  }

  /**
   * One sync of the current workflow code, in one activity (one history entry, one billable action): the
   * finalizer the first time, the credential and the Secret, the SveltosCluster when something may have
   * changed, and the Event the transition deserves. Heartbeats from start to end.
   */
  async function syncProfile(ref: ProfileRef, req: SyncRequest): Promise<SyncReport> {
    return withHeartbeat(async () => {
      const profile = req.finalizerPresent ? await loadProfile(ref, { allowDeleting: false }) : await profileWithFinalizer(ref);
      // The first sync of a new profile expects its names to be free: it creates without reading first, and
      // reads (to check ownership) only when a name turns out to be taken.
      const expectAbsent = !req.syncedBefore && req.previousError === undefined;
      const cred = await writeCredentials(ref, profile, {
        compare: req.full,
        expectAbsent,
        ...(req.execMode ? { execMode: req.execMode } : {}),
        ...(req.lastFingerprint !== undefined ? { lastFingerprint: req.lastFingerprint } : {}),
      });
      let sveltosClusterChanged = false;
      try {
        if (req.full) sveltosClusterChanged = (await applySveltosClusterFor(ref, profile, { expectAbsent })).changed;
      } catch (err) {
        throw new FailedAfterWrite(err, cred);
      }
      const event = eventForSyncReport(ref, req, cred);
      if (event) await recordEvent(ref, event);
      return { ...cred, sveltosClusterChanged, schedule };
    });
  }

  /**
   * Records the Warning Event of a failed sync, when it is final (non-retryable or the last attempt) and new.
   * Failure Events have a rate-limit lane of their own: a provider's outage across a fleet fails hundreds of
   * syncs at once, and their Events must not delay the Events of healthy syncs. A sync inside a workflow
   * task does not wait for its failure Event at all (the task would stay open behind that backlog).
   */
  async function recordSyncFailure(ref: ProfileRef, req: SyncRequest, failure: Error, final: boolean): Promise<void> {
    if (!final || !(failure instanceof ApplicationFailure) || failure.type === 'ProfileGone') return;
    // Not failures: the workflow runs the sync elsewhere or again in a moment.
    if (failure.type === PROVIDER_DEFERRED || failure.type === PROVIDER_BUSY) return;
    const event = eventForSyncFailure(req.previousError, failure.type ?? 'Error', failure.message);
    if (!event) return;
    if (req.execMode !== 'local') return recordEvent(ref, event, FAILURE_EVENT_LANE);
    if (pendingFailureEvents >= MAX_PENDING_FAILURE_EVENTS) {
      log('warn', 'failure Event dropped: too many waiting to be recorded', { profile: `${ref.namespace}/${ref.name}`, reason: event.reason });
      return;
    }
    pendingFailureEvents++;
    void recordEvent(ref, event, FAILURE_EVENT_LANE)
      .catch((e: unknown) => log('warn', 'could not record event', { profile: `${ref.namespace}/${ref.name}`, reason: event.reason, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => pendingFailureEvents--);
  }
  let pendingFailureEvents = 0;

  async function cleanupProfile(ref: ProfileRef, req: CleanupRequest): Promise<CleanupResult> {
    // One read serves both the Event decision and the deletion check.
    const current = await kube.getClusterProfile(ref.namespace, ref.name);
    // Once per cleanup, not once per attempt.
    if (req.recordDeletingEvent && (currentActivityContext()?.info.attempt ?? 1) === 1) {
      if (current?.metadata.uid === ref.uid && isDeleting(current)) {
        await recordEvent(ref, {
          type: 'Normal',
          reason: EventReason.Deleting,
          message: `ClusterProfile ${ref.namespace}/${ref.name} is being deleted: removing its SveltosCluster and kubeconfig Secret`,
        });
      }
    }
    return cleanupGiven(ref, current);
  }

  /**
   * Resolves the credential and writes the Secret when its content differs. `compare: false` with the
   * fingerprint last written: a credential with that same fingerprint is taken as written (drift of the
   * Secret is reported by the watcher and then synced with `compare: true`), so an unchanged refresh
   * neither reads nor writes the managed Secret.
   */
  async function writeCredentials(
    ref: ProfileRef,
    profile: ClusterProfile,
    opts: { compare: boolean; lastFingerprint?: string; expectAbsent?: boolean; execMode?: SyncRequest['execMode'] },
  ): Promise<CredentialSyncResult> {
    // Only the Secret name is checked here: a bad label fails the SveltosCluster step, while the credential
    // behind an existing SveltosCluster keeps being refreshed.
    const secretName = validateSecretName(profile);
    const secretObject = describe('Secret', ref.namespace, secretName);

    const readSecret = async () => {
      const found = await readForWrite('Secret', secretObject, ref, () => kube.getSecret(ref.namespace, secretName));
      if (found && (found.type ?? KUBECONFIG_SECRET_TYPE) !== KUBECONFIG_SECRET_TYPE) {
        throw new ConflictError(
          secretObject,
          `has type "${found.type}" but the managed kubeconfig Secret must be ${KUBECONFIG_SECRET_TYPE} (type is immutable); ` +
            'delete it to let the controller recreate it',
        );
      }
      return found;
    };

    // Refuse a foreign Secret before running any plugin: it will not be overwritten anyway. A first sync
    // skips this read; should the name be taken after all, one plugin run is wasted, and its retry reads first.
    const readBefore = opts.compare && !opts.expectAbsent ? { secret: await readSecret() } : undefined;
    const signals = [currentCancellationSignal(), deps.shutdownSignal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const resolved = await resolveKubeconfig(profile, {
      ...resolveDeps,
      ...(signal ? { signal } : {}),
      ...(opts.execMode ? { execMode: opts.execMode } : {}),
    });

    let secretChanged = false;
    let changedFields: string[] = [];
    if (opts.compare || resolved.fingerprint !== opts.lastFingerprint) {
      const desired = desiredSecret(profile, resolved.kubeconfig);
      // After a plugin ran (seconds) the Secret is read again right before writing; the secret reader resolves
      // in milliseconds, so the read before it is as fresh.
      let existing = opts.expectAbsent ? undefined : readBefore && resolved.execDurationMs === undefined ? readBefore.secret : await readSecret();
      // A name believed free is taken only if it still is; a taken one is read (ownership) and, like any
      // existing Secret, written only under the resourceVersion read (a change in between fails with 409, retried).
      if (!existing && (await kube.createSecretIfAbsent(desired))) {
        changedFields = ['created'];
        secretChanged = true;
      } else {
        existing ??= await readSecret();
        if (!existing) throw new KubeApiError(`${secretObject} was deleted while being written; will retry`);
        changedFields = secretDifferences(existing, desired);
        if (changedFields.length > 0) {
          const before = existing.metadata?.resourceVersion;
          const written = await kube.applySecret(desired, before ? { resourceVersion: before } : {});
          secretChanged = written.metadata?.resourceVersion !== before;
        }
      }
    }

    const meta: Record<string, unknown> = {
      profile: `${ref.namespace}/${ref.name}`,
      secret: secretName,
      provider: resolved.provider,
      fingerprint: resolved.fingerprint,
      secretChanged,
    };
    if (secretChanged) meta.changed = changedFields;
    if (resolved.expiresAtMs !== undefined) meta.expiresAt = new Date(resolved.expiresAtMs).toISOString();
    if (resolved.execDurationMs !== undefined) meta.execDurationMs = resolved.execDurationMs;
    log(secretChanged ? 'info' : 'debug', secretChanged ? 'kubeconfig Secret written' : 'kubeconfig Secret up to date', meta);

    const result: CredentialSyncResult = {
      provider: resolved.provider,
      fingerprint: resolved.fingerprint,
      secretChanged,
      server: resolved.server,
    };
    if (resolved.expiresAtMs !== undefined) result.expiresAtMs = resolved.expiresAtMs;
    return result;
  }

  async function applySveltosClusterFor(ref: ProfileRef, profile: ClusterProfile, opts: { expectAbsent?: boolean } = {}): Promise<{ changed: boolean }> {
    const desired = desiredSveltosCluster(profile);
    const object = describe(SVELTOS_CLUSTER.kind, ref.namespace, desired.metadata.name);
    const read = () => readForWrite(SVELTOS_CLUSTER.kind, object, ref, () => kube.getSveltosCluster(ref.namespace, desired.metadata.name));
    let existing = opts.expectAbsent ? undefined : await read();
    if (!existing && (await kube.createSveltosClusterIfAbsent(desired))) {
      log('info', 'SveltosCluster applied', { profile: `${ref.namespace}/${ref.name}`, sveltosCluster: desired.metadata.name, created: true, changed: true });
      return { changed: true };
    }
    existing ??= await read();
    if (!existing) throw new KubeApiError(`${object} was deleted while being written; will retry`);
    const before = existing.metadata?.resourceVersion;
    const renewal = sveltosRenewsToken(existing);
    if (renewal) await recordEvent(ref, sveltosRenewalWarning(object, renewal));
    // Always applied: a no-op apply changes nothing (same resourceVersion), and an apply is what removes
    // labels the profile dropped while keeping everyone else's.
    const after = await kube.applySveltosCluster(sveltosClusterForLive(desired, renewal), before ? { resourceVersion: before } : {});
    const changed = after.metadata?.resourceVersion !== before;
    log(changed ? 'info' : 'debug', changed ? 'SveltosCluster applied' : 'SveltosCluster up to date', {
      profile: `${ref.namespace}/${ref.name}`,
      sveltosCluster: desired.metadata.name,
      created: false,
      changed,
    });
    return { changed };
  }

  /** The cleanup, given the ClusterProfile as just read from the API server (undefined: gone). */
  async function cleanupGiven(ref: ProfileRef, current: ClusterProfile | undefined): Promise<CleanupResult> {
    // A signal is a hint, not proof (anyone who may signal the workflow could forge one): delete only when
    // the API server confirms that this incarnation is gone or being deleted.
    if (current !== undefined && current.metadata.uid === ref.uid && !isDeleting(current)) {
      throw new DeletionNotConfirmedError(
        profileObject(ref),
        `cleanup refused: the ClusterProfile (uid ${ref.uid}) exists and has no deletionTimestamp; nothing was deleted`,
      );
    }
    // A live namesake (new uid) owns whatever it adopted: then only objects owned by our uid go.
    const namesake = current !== undefined && current.metadata.uid !== ref.uid;
    const skipped: string[] = [];

    const deleteIfOurs = async (
      kind: ManagedKind,
      name: string,
      get: () => Promise<ExistingManagedObject | undefined>,
      del: (uid: string, resourceVersion?: string) => Promise<DeleteOutcome>,
    ): Promise<boolean> => {
      const object = describe(kind, ref.namespace, name);
      const obj = await get();
      if (!obj) return false;
      const own = ownershipOf(kind, obj, ref);
      const deletable = namesake ? own.kind === 'ours' : own.kind !== 'foreign';
      if (!deletable) {
        const why = own.kind === 'ours' ? '' : own.why;
        skipped.push(`${object}: ${namesake && own.kind === 'adoptable' ? 'belongs to the new ClusterProfile of the same name' : why}`);
        log('info', 'left in place: not ours', { profile: `${ref.namespace}/${ref.name}`, object, why });
        return false;
      }
      const uid = obj.metadata?.uid;
      if (!uid) throw new KubeApiError(`${object} has no uid; will retry`);
      const outcome = await del(uid, obj.metadata?.resourceVersion);
      if (outcome === 'pending') {
        const finalizers = (await get())?.metadata?.finalizers ?? [];
        throw new KubeApiError(
          `${object} is being deleted but still exists${finalizers.length ? ` (finalizers: ${finalizers.join(', ')})` : ''}; ` +
            'the ClusterProfile finalizer stays until it is gone',
        );
      }
      if (outcome === 'deleted') log('info', 'deleted', { profile: `${ref.namespace}/${ref.name}`, object });
      return outcome === 'deleted';
    };

    const sveltosClusterDeleted = await deleteIfOurs(
      SVELTOS_CLUSTER.kind,
      ref.name,
      () => kube.getSveltosCluster(ref.namespace, ref.name),
      (uid, resourceVersion) => kube.deleteSveltosCluster(ref.namespace, ref.name, { uid, ...(resourceVersion ? { resourceVersion } : {}) }),
    );
    const secretName = secretNameFor(ref.name);
    const secretDeleted = await deleteIfOurs(
      'Secret',
      secretName,
      () => kube.getSecret(ref.namespace, secretName),
      (uid, resourceVersion) => kube.deleteSecret(ref.namespace, secretName, { uid, ...(resourceVersion ? { resourceVersion } : {}) }),
    );

    let finalizerRemoved = false;
    if (current && !namesake) {
      finalizerRemoved = await withGuardRetries(async () => {
        const profile = await kube.getClusterProfile(ref.namespace, ref.name);
        if (!profile || profile.metadata.uid !== ref.uid) return false;
        if (!hasFinalizer(profile)) return false;
        await kube.removeFinalizer(profile, FINALIZER);
        return true;
      });
      if (finalizerRemoved) log('info', 'finalizer removed', { profile: `${ref.namespace}/${ref.name}`, finalizer: FINALIZER });
    }
    return { sveltosClusterDeleted, secretDeleted, finalizerRemoved, skipped };
  }

  async function recordEvent(ref: ProfileRef, event: ProfileEvent, lane?: string): Promise<void> {
    try {
      await kube.recordEvent(desiredEvent(ref, event, new Date(deps.now()), instance), lane ? { lane } : {});
    } catch (err) {
      // Transient failures are retried (a few times, by the workflow's policy); anything else is
      // dropped: an Event is never worth failing over.
      if (isTransient(err)) throw err;
      log('warn', 'could not record event', {
        profile: `${ref.namespace}/${ref.name}`,
        reason: event.reason,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /**
   * Reads an object we are about to write. Absent: undefined. Foreign: ConflictError (never overwritten).
   * Adoptable after name reuse: the earlier incarnation's ownerReference is removed first (guarded), so
   * that the apply leaves exactly one controller reference. Returns the object as last read.
   */
  async function readForWrite<T extends ExistingManagedObject>(
    kind: ManagedKind,
    object: string,
    ref: ProfileRef,
    get: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    return withGuardRetries(async () => {
      const obj = await get();
      if (!obj) return undefined;
      const own = ownershipOf(kind, obj, ref);
      if (own.kind === 'foreign') {
        throw new ConflictError(
          object,
          `exists and is not managed by this controller for ${profileObject(ref)}: ${own.why}; it is left untouched ` +
            '(delete or rename it, or remove the ClusterProfile, to resolve)',
        );
      }
      if (own.kind === 'ours') return obj;
      log('info', 'adopting', { profile: `${ref.namespace}/${ref.name}`, object, why: own.why });
      const stale = staleOwnerReferences(obj.metadata, ref);
      if (stale.length === 0 || !obj.metadata) return obj;
      await kube.removeOwnerReferences(kind, obj.metadata, stale);
      return 'retry';
    });
  }

  const schedule: ScheduleConfig = deps.schedule ?? DEFAULT_SCHEDULE;
  const wrap = failureWrapper(log);
  const details: FailureDetails = { schedule };
  return {
    syncProfile: wrap('syncProfile', syncProfile, {
      details,
      ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
      onFailure: (args, failure, final) => recordSyncFailure(args[0], args[1], failure, final && args[1].attemptsPerSync > 0),
      finalAttempt: (args) => args[1].attemptsPerSync,
      retryAs: (args, failure, attempt) =>
        providerWaitFailure(failure, args[1], { attempt, nowMs: Date.now(), random: Math.random(), waitingSinceMs: currentActivityContext()?.info.scheduledTimestampMs }),
    }),
    cleanupProfile: wrap('cleanupProfile', cleanupProfile, { details }),
    // The first release's activities (the legacy box), registered while its workflows may still run.
    ...createLegacyActivities({ kube, log, withGuardRetries, loadProfile, writeCredentials, applySveltosClusterFor, cleanupGiven, recordEvent }, wrap),
  };
}

interface WrapOptions<A extends unknown[]> {
  /** Attached to every failure (the workflow reads the worker's schedule from it). */
  details?: FailureDetails;
  /** The attempt on which a retryable failure is final (the workflow's maximumAttempts). */
  finalAttempt?: (args: A) => number;
  /** Runs before the failure leaves the activity; `final`: no attempt follows. Its own errors are logged. */
  onFailure?: (args: A, failure: Error, final: boolean) => Promise<void>;
  /** Once aborted, any failure leaves as WORKER_SHUTDOWN_ERROR (abandoned, not failed; nothing recorded). */
  shutdownSignal?: AbortSignal;
  /** May turn the failure into a retry Temporal schedules (a provider wait: providers/wait-retry.ts). */
  retryAs?: (args: A, failure: Error, attempt: number) => Error;
}

/** A sync step failed after the Secret was written: the workflow still learns which credential it holds. */
class FailedAfterWrite extends Error {
  override readonly name = 'FailedAfterWrite';
  constructor(
    readonly failure: unknown,
    readonly written: CredentialSyncResult,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

/**
 * With `details` (the current workflow's activities) every failure leaves as an ApplicationFailure that
 * carries them; a bounded-retry error (plugin timeout or kill) stays retryable: the workflow bounds the
 * attempts and schedules the next sync itself, before the held credential expires.
 */
function withDetails(err: unknown, details: FailureDetails): Error {
  if (err instanceof FailedAfterWrite) return withDetails(err.failure, { ...details, written: err.written });
  if (err instanceof ProviderUnavailableError || (err instanceof ProviderBusyError && err.retryAfterMs > 0)) details = { ...details, retryAfterMs: err.retryAfterMs };
  if (err instanceof BoundedRetryError) {
    return ApplicationFailure.create({ message: err.message, type: TRANSIENT_CREDENTIAL_ERROR, nonRetryable: false, details: [details] });
  }
  const failure = toApplicationFailure(err);
  if (failure instanceof ApplicationFailure) {
    return ApplicationFailure.create({ message: failure.message, type: failure.type ?? 'Error', nonRetryable: failure.nonRetryable ?? false, details: [details] });
  }
  return ApplicationFailure.create({ message: failure.message, type: failure.name, nonRetryable: false, details: [details] });
}

/** Wraps an activity so that our error classes leave it as ApplicationFailures (and failures are logged). */
function failureWrapper(log: (level: Level, msg: string, meta: Record<string, unknown>) => void) {
  return <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>, opts: WrapOptions<A> = {}) => {
    const wrapped = async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        // Cancelled (deletion, worker shutdown): whatever the cancellation broke (a killed plugin, an aborted
        // request) leaves as the cancellation itself, so Temporal records a cancelled attempt, not a failure.
        const cancelled = currentActivityContext()?.cancellationSignal;
        if (cancelled?.aborted && cancelled.reason instanceof Error) throw cancelled.reason;
        if (opts.shutdownSignal?.aborted) {
          log('info', `${name} abandoned: the worker is shutting down`, {});
          throw ApplicationFailure.create({ message: 'the worker running this sync is shutting down', type: WORKER_SHUTDOWN_ERROR, nonRetryable: true });
        }
        const attempt = currentActivityContext()?.info.attempt ?? 1;
        const classified = opts.details ? withDetails(err, opts.details) : toApplicationFailure(err);
        const failure = opts.retryAs ? opts.retryAs(args, classified, attempt) : classified;
        const retryable = !(failure instanceof ApplicationFailure && failure.nonRetryable);
        if (opts.onFailure) {
          const final = !retryable || (opts.finalAttempt !== undefined && attempt >= opts.finalAttempt(args));
          await opts.onFailure(args, failure, final).catch((e: unknown) =>
            log('warn', `${name}: could not record the failure`, { error: e instanceof Error ? e.message : String(e) }),
          );
        }
        const ref = args[0] as Partial<ProfileRef> | undefined;
        log(retryable ? 'warn' : 'info', `${name} failed`, {
          profile: ref ? `${ref.namespace}/${ref.name}` : undefined,
          error: failure.message,
          errorType: err instanceof Error ? err.name : typeof err,
          retryable,
        });
        throw failure;
      }
    };
    Object.defineProperty(wrapped, 'name', { value: name });
    return wrapped;
  };
}
