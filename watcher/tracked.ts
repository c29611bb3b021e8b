// What the watcher holds about one ClusterProfile between events, and the pure reads of it: the input of
// a decision, what a signal's outcome changes, when the entry may be forgotten, and its inspection copy.
import type { ProfileRef, ProfileSnapshot } from '../workflows/api.js';
import type { Decision, DecisionInput, Pending, TokenBucket, WorkflowView } from './decide.js';
import type { SignalOutcome } from './signaler.js';

export interface Tracked {
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  gone: boolean;
  lastSent?: { hash: string; atMs: number };
  deletionSignalled: boolean;
  /** A profileChanged of this hash was refused: the workflow ID belongs to a completed run. */
  closedHash?: string;
  failures: number;
  /** Change-triggered signals left for this profile (rate limit). */
  bucket?: TokenBucket;
  /** Held by the rate limit: re-decided (with the then latest state) at `untilMs`, merged with what arrives meanwhile. */
  held?: { pending: Pending; untilMs: number };
}

/** Tracked profiles by ClusterProfile uid. */
export type TrackedProfiles = Map<string, Tracked>;

/** What the watcher currently holds about one ClusterProfile (a copy). */
export interface ProfileInspection {
  ref: ProfileRef;
  snapshot: ProfileSnapshot;
  gone: boolean;
  lastSentHash?: string;
  deletionSignalled: boolean;
  sourceSecrets: string[];
}

export function newTracked(ref: ProfileRef, snapshot: ProfileSnapshot, gone: boolean): Tracked {
  return { ref, snapshot, gone, deletionSignalled: false, failures: 0 };
}

/** "namespace/name", as logs name a profile. */
export function profileName(ref: Pick<ProfileRef, 'namespace' | 'name'>): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The decision's input: the tracked state, what is pending, and the workflow as visibility last listed it. */
export function decisionInputOf(
  t: Tracked,
  pending: Pending,
  view: { workflow: WorkflowView | undefined; atMs: number; graceMs: number },
): DecisionInput {
  return {
    snapshot: t.snapshot,
    gone: t.gone,
    ...(pending.resync ? { resync: pending.resync } : {}),
    workflow: view.workflow,
    workflowViewAtMs: view.atMs,
    ...(t.lastSent ? { lastSent: t.lastSent } : {}),
    deletionSignalled: t.deletionSignalled,
    ...(t.closedHash !== undefined ? { closedHash: t.closedHash } : {}),
    visibilityGraceMs: view.graceMs,
  };
}

/**
 * After a profileChanged: 'already-done' means the workflow ID belongs to a completed run, so this hash
 * must not be asked for again; otherwise it was delivered.
 */
export function recordProfileChanged(t: Tracked, hash: string, outcome: SignalOutcome, atMs: number): void {
  if (outcome === 'already-done') {
    t.closedHash = hash;
    delete t.lastSent;
  } else {
    t.lastSent = { hash, atMs };
    delete t.closedHash;
  }
}

/** A gone profile whose deletion was delivered (or needs none) is forgotten. */
export function isFinished(t: Tracked, decision: Decision): boolean {
  return t.gone && (t.deletionSignalled || decision.action === 'none');
}

export function inspectionOf(t: Tracked, sourceSecrets: string[]): ProfileInspection {
  return {
    ref: { ...t.ref },
    snapshot: { ...t.snapshot },
    gone: t.gone,
    ...(t.lastSent ? { lastSentHash: t.lastSent.hash } : {}),
    deletionSignalled: t.deletionSignalled,
    sourceSecrets,
  };
}
