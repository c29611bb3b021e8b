import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Phase } from '../../workflows/api.js';
import {
  EventReason,
  decideNext,
  eventForSyncFailure,
  eventForSyncSuccess,
  nextPhase,
  reducePhase,
  type LoopState,
  type PhaseEvent,
} from '../../workflows/phase.js';

const ALL: Phase[] = ['Pending', 'Syncing', 'Ready', 'Degraded', 'Deleting', 'Deleted'];

void test('first sync: Pending → Syncing → Ready', () => {
  assert.equal(nextPhase('Pending', { type: 'syncStarted' }), 'Syncing');
  assert.equal(reducePhase('Pending', [{ type: 'syncStarted' }, { type: 'syncSucceeded' }]), 'Ready');
});

void test('first sync failing: Pending → Syncing → Degraded', () => {
  assert.equal(reducePhase('Pending', [{ type: 'syncStarted' }, { type: 'syncFailed' }]), 'Degraded');
});

void test('routine refreshes keep Ready and Degraded (no flapping through Syncing)', () => {
  assert.equal(nextPhase('Ready', { type: 'syncStarted' }), 'Ready');
  assert.equal(nextPhase('Degraded', { type: 'syncStarted' }), 'Degraded');
});

void test('Degraded recovers to Ready; Ready degrades', () => {
  assert.equal(reducePhase('Degraded', [{ type: 'syncStarted' }, { type: 'syncSucceeded' }]), 'Ready');
  assert.equal(reducePhase('Ready', [{ type: 'syncStarted' }, { type: 'syncFailed' }]), 'Degraded');
});

void test('deletion is reachable from every live phase and then ends in Deleted', () => {
  for (const phase of ALL.filter((p) => p !== 'Deleted')) {
    assert.equal(nextPhase(phase, { type: 'deletionStarted' }), 'Deleting', phase);
    assert.equal(reducePhase(phase, [{ type: 'deletionStarted' }, { type: 'cleanupCompleted' }]), 'Deleted', phase);
  }
});

void test('a sync finishing after deletion started does not leave Deleting', () => {
  assert.equal(reducePhase('Ready', [{ type: 'syncStarted' }, { type: 'deletionStarted' }, { type: 'syncSucceeded' }]), 'Deleting');
  assert.equal(reducePhase('Ready', [{ type: 'deletionStarted' }, { type: 'syncFailed' }]), 'Deleting');
  assert.equal(nextPhase('Deleting', { type: 'syncStarted' }), 'Deleting');
});

void test('cleanupCompleted only means something while Deleting', () => {
  for (const phase of ['Pending', 'Syncing', 'Ready', 'Degraded'] as const) {
    assert.equal(nextPhase(phase, { type: 'cleanupCompleted' }), phase);
  }
});

void test('Deleted is terminal', () => {
  const events: PhaseEvent[] = [
    { type: 'syncStarted' },
    { type: 'syncSucceeded' },
    { type: 'syncFailed' },
    { type: 'deletionStarted' },
    { type: 'cleanupCompleted' },
  ];
  for (const e of events) assert.equal(nextPhase('Deleted', e), 'Deleted', e.type);
});

const base: LoopState = {
  phase: 'Ready',
  deleting: false,
  dirty: false,
  nowMs: 1_000_000,
  nextSyncAtMs: 1_000_000 + 48 * 60_000,
  timerFired: false,
  cyclesThisRun: 3,
  maxCyclesPerRun: 500,
  continueAsNewSuggested: false,
};

void test('decide: waits until the next sync is due', () => {
  assert.deepEqual(decideNext(base), { kind: 'wait', ms: 48 * 60_000, purpose: 'refresh' });
});

void test('decide: Degraded waits with the degraded-retry purpose', () => {
  assert.deepEqual(decideNext({ ...base, phase: 'Degraded', nextSyncAtMs: base.nowMs + 600_000 }), {
    kind: 'wait',
    ms: 600_000,
    purpose: 'degraded-retry',
  });
});

void test('decide: never synced → sync now', () => {
  assert.deepEqual(decideNext({ ...base, phase: 'Pending', nextSyncAtMs: undefined, cyclesThisRun: 0 }), { kind: 'sync' });
});

void test('decide: dirty, a fired timer, or a due time → sync', () => {
  assert.deepEqual(decideNext({ ...base, dirty: true }), { kind: 'sync' });
  assert.deepEqual(decideNext({ ...base, timerFired: true }), { kind: 'sync' });
  assert.deepEqual(decideNext({ ...base, nowMs: base.nextSyncAtMs! }), { kind: 'sync' });
  assert.deepEqual(decideNext({ ...base, nowMs: base.nextSyncAtMs! + 1 }), { kind: 'sync' });
});

void test('decide: a Degraded profile syncs again only when dirty or due (no hot loop)', () => {
  const degraded = { ...base, phase: 'Degraded' as const, nextSyncAtMs: base.nowMs + 600_000 };
  assert.equal(decideNext(degraded).kind, 'wait');
  assert.equal(decideNext({ ...degraded, dirty: true }).kind, 'sync');
  assert.equal(decideNext({ ...degraded, nowMs: degraded.nextSyncAtMs }).kind, 'sync');
});

void test('decide: deletion wins over everything else', () => {
  const busy = { ...base, dirty: true, timerFired: true, continueAsNewSuggested: true, cyclesThisRun: 9999 };
  assert.deepEqual(decideNext({ ...busy, deleting: true }), { kind: 'cleanup' });
  assert.deepEqual(decideNext({ ...busy, phase: 'Deleting' }), { kind: 'cleanup' });
  assert.deepEqual(decideNext({ ...busy, phase: 'Deleting', deleting: true }), { kind: 'cleanup' });
});

void test('decide: Deleted completes, even if more deletion requests arrived', () => {
  assert.deepEqual(decideNext({ ...base, phase: 'Deleted', deleting: true, dirty: true }), { kind: 'complete' });
});

void test('decide: continue-as-new when suggested or at the cycle bound, before syncing', () => {
  assert.deepEqual(decideNext({ ...base, continueAsNewSuggested: true }), { kind: 'continueAsNew' });
  assert.deepEqual(decideNext({ ...base, cyclesThisRun: 500 }), { kind: 'continueAsNew' });
  assert.deepEqual(decideNext({ ...base, cyclesThisRun: 499 }).kind, 'wait');
  assert.deepEqual(decideNext({ ...base, cyclesThisRun: 500, dirty: true }), { kind: 'continueAsNew' });
});

void test('decide: a cycle bound below 1 behaves as 1 (a new run always syncs once)', () => {
  assert.deepEqual(decideNext({ ...base, maxCyclesPerRun: 0, cyclesThisRun: 0, dirty: true }), { kind: 'sync' });
  assert.deepEqual(decideNext({ ...base, maxCyclesPerRun: 0, cyclesThisRun: 1 }), { kind: 'continueAsNew' });
});

void test('decide: the wait is at least 1 ms', () => {
  assert.deepEqual(decideNext({ ...base, nextSyncAtMs: base.nowMs + 0.5 }), { kind: 'wait', ms: 1, purpose: 'refresh' });
});

const facts = {
  previousPhase: 'Ready' as Phase,
  syncedBefore: true,
  secretChanged: false,
  routineRotation: false,
  provider: 'p',
  profile: 'fleet/spoke-1',
};

void test('events: first sync records Synced', () => {
  const e = eventForSyncSuccess({ ...facts, previousPhase: 'Syncing', syncedBefore: false, secretChanged: true });
  assert.equal(e?.type, 'Normal');
  assert.equal(e?.reason, EventReason.Synced);
  assert.match(e?.message ?? '', /fleet\/spoke-1/);
});

void test('events: an unchanged refresh records nothing; a changed credential records CredentialsRefreshed', () => {
  assert.equal(eventForSyncSuccess(facts), undefined);
  const e = eventForSyncSuccess({ ...facts, secretChanged: true, expiresAtMs: Date.UTC(2026, 0, 1) });
  assert.equal(e?.reason, EventReason.CredentialsRefreshed);
  assert.match(e?.message ?? '', /expires 2026-01-01T00:00:00.000Z/);
});

void test('events: the routine rotation of an expiring token records nothing (not an Event per cycle)', () => {
  assert.equal(eventForSyncSuccess({ ...facts, secretChanged: true, routineRotation: true }), undefined);
  // ...but the very first sync and a recovery are still recorded
  assert.equal(eventForSyncSuccess({ ...facts, syncedBefore: false, secretChanged: true, routineRotation: true })?.reason, EventReason.Synced);
  assert.equal(eventForSyncSuccess({ ...facts, previousPhase: 'Degraded', secretChanged: true, routineRotation: true })?.reason, EventReason.Recovered);
});

void test('events: leaving Degraded records Recovered', () => {
  assert.equal(eventForSyncSuccess({ ...facts, previousPhase: 'Degraded' })?.reason, EventReason.Recovered);
  assert.equal(eventForSyncSuccess({ ...facts, previousPhase: 'Degraded', secretChanged: true })?.reason, EventReason.Recovered);
});

void test('events: a failure is recorded once, not on every retry', () => {
  const first = eventForSyncFailure(undefined, 'InvalidInput', 'no supported access provider');
  assert.deepEqual(first, { type: 'Warning', reason: 'InvalidInput', message: 'no supported access provider' });
  assert.equal(eventForSyncFailure({ reason: 'InvalidInput', message: 'no supported access provider' }, 'InvalidInput', 'no supported access provider'), undefined);
  assert.equal(eventForSyncFailure({ reason: 'InvalidInput', message: 'a' }, 'InvalidInput', 'b')?.message, 'b');
  assert.equal(eventForSyncFailure({ reason: 'InvalidInput', message: 'a' }, 'Conflict', 'a')?.reason, 'Conflict');
});

test('a failure after the held credential expired is Expired; success makes it Ready again', () => {
  assert.equal(nextPhase('Ready', { type: 'syncFailed', expired: true }), 'Expired');
  assert.equal(nextPhase('Degraded', { type: 'syncFailed', expired: true }), 'Expired');
  assert.equal(nextPhase('Ready', { type: 'syncFailed' }), 'Degraded');
  assert.equal(nextPhase('Expired', { type: 'syncSucceeded' }), 'Ready');
  assert.equal(nextPhase('Deleting', { type: 'syncFailed', expired: true }), 'Deleting');
});

test('a deletion the API server refutes restores the phase before it', () => {
  assert.equal(nextPhase('Deleting', { type: 'deletionNotConfirmed', previous: 'Ready' }), 'Ready');
  assert.equal(nextPhase('Deleting', { type: 'deletionNotConfirmed', previous: 'Expired' }), 'Expired');
  assert.equal(nextPhase('Deleted', { type: 'deletionNotConfirmed', previous: 'Ready' }), 'Deleted');
});

test('Expired waits as a retry, and leaving it records Recovered', () => {
  const base: LoopState = {
    phase: 'Expired', deleting: false, dirty: false, nowMs: 0, nextSyncAtMs: 5_000, timerFired: false,
    cyclesThisRun: 1, maxCyclesPerRun: 500, continueAsNewSuggested: false,
  };
  assert.deepEqual(decideNext(base), { kind: 'wait', ms: 5_000, purpose: 'degraded-retry' });
  const e = eventForSyncSuccess({ previousPhase: 'Expired', syncedBefore: true, secretChanged: true, routineRotation: false, provider: 'p', profile: 'a/b' });
  assert.equal(e?.reason, EventReason.Recovered);
});
