// Phase transitions and the "what next" decision of the ClusterProfile workflow, pure and deterministic:
// the workflow feeds in its state and acts on the answer (decide apart from act), so both are unit-tested
// without a server.
import type { CredentialSyncResult, Phase, ProfileEvent, ProfileRef, SyncRequest } from './api.js';

// ---------------------------------------------------------------------------------------------------
// Phase reducer
//
//   Pending ──syncStarted──▶ Syncing ──syncSucceeded──▶ Ready ◀──┐
//                               └──────syncFailed──▶ Degraded ───┘ (syncSucceeded)
//                               └─syncFailed (held credential expired)─▶ Expired ─(syncSucceeded)─▶ Ready
//   any (except Deleted) ──deletionStarted──▶ Deleting ──cleanupCompleted──▶ Deleted (terminal)
//
// Syncing is the first sync only: a routine refresh of a Ready or Degraded profile keeps its phase, so
// the phase (and its search attribute) does not flap twice per refresh cycle. Once Deleting, sync events
// no longer change the phase.
// ---------------------------------------------------------------------------------------------------

export type PhaseEvent =
  | { type: 'syncStarted' }
  | { type: 'syncSucceeded' }
  /**
   * A sync failed (after the activity's own retries). `expired`: the credential held in the Secret has
   * expired by now, so Sveltos has nothing valid: Expired rather than Degraded.
   */
  | { type: 'syncFailed'; expired?: boolean }
  | { type: 'deletionStarted' }
  /** The API server shows the ClusterProfile alive: the deletion request was forged or stale. */
  | { type: 'deletionNotConfirmed'; previous: Phase }
  | { type: 'cleanupCompleted' };

export function nextPhase(phase: Phase, event: PhaseEvent): Phase {
  if (phase === 'Deleted') return 'Deleted';
  switch (event.type) {
    case 'deletionStarted':
      return 'Deleting';
    case 'cleanupCompleted':
      return phase === 'Deleting' ? 'Deleted' : phase;
    case 'deletionNotConfirmed':
      return phase === 'Deleting' && event.previous !== 'Deleting' ? event.previous : phase;
    case 'syncStarted':
      return phase === 'Pending' ? 'Syncing' : phase;
    case 'syncSucceeded':
      return phase === 'Deleting' ? phase : 'Ready';
    case 'syncFailed':
      return phase === 'Deleting' ? phase : event.expired ? 'Expired' : 'Degraded';
  }
}

export function reducePhase(phase: Phase, events: readonly PhaseEvent[]): Phase {
  return events.reduce(nextPhase, phase);
}

// ---------------------------------------------------------------------------------------------------
// Decision
// ---------------------------------------------------------------------------------------------------

export interface LoopState {
  phase: Phase;
  /** Deletion was requested (signal, snapshot.deleting, ensureFinalizer saw it, or the profile is gone). */
  deleting: boolean;
  /** A relevant change arrived that has not been synced yet. */
  dirty: boolean;
  /** Workflow time now. */
  nowMs: number;
  /** When the next sync is due (refresh at 80% of the credential lifetime, sync period, Degraded retry);
   *  undefined = never synced, so due now. */
  nextSyncAtMs: number | undefined;
  /** The last wait ended because its timer fired. */
  timerFired: boolean;
  /** Syncs done in this run. */
  cyclesThisRun: number;
  maxCyclesPerRun: number;
  continueAsNewSuggested: boolean;
}

export type WaitPurpose = 'refresh' | 'degraded-retry';

export type NextAction =
  | { kind: 'complete' }
  | { kind: 'cleanup' }
  | { kind: 'continueAsNew' }
  | { kind: 'sync' }
  | { kind: 'wait'; ms: number; purpose: WaitPurpose };

/**
 * Order: a finished deletion completes; a requested deletion cleans up (before anything else: stop
 * refreshing); a full history continues as new (before syncing, so that a stream of changes cannot keep
 * a run growing; the dirty flag is carried over and the new run syncs first); a change or a due timer
 * syncs; otherwise wait until the next sync is due.
 */
export function decideNext(s: LoopState): NextAction {
  if (s.phase === 'Deleted') return { kind: 'complete' };
  if (s.deleting || s.phase === 'Deleting') return { kind: 'cleanup' };
  if (s.continueAsNewSuggested || s.cyclesThisRun >= Math.max(1, s.maxCyclesPerRun)) return { kind: 'continueAsNew' };
  if (s.dirty || s.timerFired || s.nextSyncAtMs === undefined || s.nowMs >= s.nextSyncAtMs) return { kind: 'sync' };
  return {
    kind: 'wait',
    ms: Math.max(1, s.nextSyncAtMs - s.nowMs),
    purpose: s.phase === 'Degraded' || s.phase === 'Expired' ? 'degraded-retry' : 'refresh',
  };
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes Events: only on transitions, never once per refresh cycle of an unchanged state.
// ---------------------------------------------------------------------------------------------------

export const EventReason = {
  Synced: 'Synced',
  CredentialsRefreshed: 'CredentialsRefreshed',
  Recovered: 'Recovered',
  Deleting: 'Deleting',
} as const;

export interface SyncSuccessFacts {
  /** Phase before this sync started. */
  previousPhase: Phase;
  /** Some earlier sync (in any run) succeeded. */
  syncedBefore: boolean;
  secretChanged: boolean;
  /** A scheduled refresh of a credential that states an expiry: new content is the expected rotation. */
  routineRotation: boolean;
  provider: string;
  /** "namespace/name" of the ClusterProfile. */
  profile: string;
  expiresAtMs?: number;
}

/**
 * First sync → Synced; leaving Degraded → Recovered; new credential content → CredentialsRefreshed, except
 * for the routine rotation of an expiring token on its 80% timer (that would be an Event every cycle).
 */
export function eventForSyncSuccess(f: SyncSuccessFacts): ProfileEvent | undefined {
  const expiry = f.expiresAtMs !== undefined ? `, expires ${new Date(f.expiresAtMs).toISOString()}` : '';
  if (!f.syncedBefore) {
    return {
      type: 'Normal',
      reason: EventReason.Synced,
      message: `SveltosCluster and kubeconfig Secret for ${f.profile} created with access provider ${f.provider}${expiry}`,
    };
  }
  if (f.previousPhase === 'Degraded' || f.previousPhase === 'Expired') {
    return {
      type: 'Normal',
      reason: EventReason.Recovered,
      message: `${f.profile} is in sync again (access provider ${f.provider}${expiry})`,
    };
  }
  if (f.secretChanged && !f.routineRotation) {
    return {
      type: 'Normal',
      reason: EventReason.CredentialsRefreshed,
      message: `kubeconfig Secret for ${f.profile} refreshed with access provider ${f.provider}${expiry}`,
    };
  }
  return undefined;
}

/** The Event of a successful sync (syncProfile), from what the workflow told it and what it wrote. */
export function eventForSyncReport(
  ref: ProfileRef,
  req: Pick<SyncRequest, 'previousPhase' | 'syncedBefore' | 'scheduled' | 'previousExpiresAtMs'>,
  cred: Pick<CredentialSyncResult, 'secretChanged' | 'provider' | 'expiresAtMs'>,
): ProfileEvent | undefined {
  return eventForSyncSuccess({
    previousPhase: req.previousPhase,
    syncedBefore: req.syncedBefore,
    secretChanged: cred.secretChanged,
    routineRotation: req.scheduled && req.previousExpiresAtMs !== undefined && cred.expiresAtMs !== undefined,
    provider: cred.provider,
    profile: `${ref.namespace}/${ref.name}`,
    ...(cred.expiresAtMs !== undefined ? { expiresAtMs: cred.expiresAtMs } : {}),
  });
}

/** A Warning for a new failure; the same failure again (Degraded retry every sync period) records nothing. */
export function eventForSyncFailure(
  previous: { reason: string; message: string } | undefined,
  reason: string,
  message: string,
): ProfileEvent | undefined {
  if (previous && previous.reason === reason && previous.message === message) return undefined;
  return { type: 'Warning', reason, message };
}
