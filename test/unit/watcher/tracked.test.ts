import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../../watcher/decide.js';
import { decisionInputOf, inspectionOf, isFinished, newTracked, recordProfileChanged } from '../../../watcher/tracked.js';
import type { ProfileSnapshot } from '../../../workflows/api.js';

const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const SNAP: ProfileSnapshot = { resourceVersion: '7', generation: 1, observedHash: 'h1', providerCount: 1, deleting: false };
const VIEW = { workflow: { running: true, observedHash: 'h0' }, atMs: 500, graceMs: 60_000 };

describe('tracked profile', () => {
  test('decisionInputOf carries the tracked state, the pending resync and the workflow view, and nothing absent', () => {
    const t = newTracked(REF, SNAP, false);
    const bare = decisionInputOf(t, { profile: true }, VIEW);
    assert.deepEqual(bare, { snapshot: SNAP, gone: false, workflow: VIEW.workflow, workflowViewAtMs: 500, deletionSignalled: false, visibilityGraceMs: 60_000 });
    t.lastSent = { hash: 'h1', atMs: 400 };
    t.closedHash = 'h9';
    const resync = { reason: 'source-secret-changed' as const, object: 'fleet/src' };
    const full = decisionInputOf(t, { profile: false, resync }, { ...VIEW, workflow: undefined });
    assert.deepEqual(full.resync, resync);
    assert.deepEqual(full.lastSent, { hash: 'h1', atMs: 400 });
    assert.equal(full.closedHash, 'h9');
    assert.equal(full.workflow, undefined);
  });

  test('recordProfileChanged: delivered → lastSent (closedHash cleared); already-done → closedHash (lastSent cleared), so the same hash is not asked again', () => {
    const t = newTracked(REF, SNAP, false);
    recordProfileChanged(t, 'h1', 'already-done', 100);
    assert.equal(t.closedHash, 'h1');
    assert.equal(t.lastSent, undefined);
    assert.deepEqual(decide(decisionInputOf(t, { profile: true }, { ...VIEW, workflow: { running: false } })), { action: 'none', reason: 'workflow-closed' });
    recordProfileChanged(t, 'h1', 'signalled', 200);
    assert.deepEqual(t.lastSent, { hash: 'h1', atMs: 200 });
    assert.equal(t.closedHash, undefined);
  });

  test('isFinished: only a gone profile, once its deletion was delivered or none is needed', () => {
    const live = newTracked(REF, SNAP, false);
    assert.equal(isFinished(live, { action: 'none', reason: 'unchanged' }), false);
    const gone = newTracked(REF, { ...SNAP, deleting: true }, true);
    assert.equal(isFinished(gone, { action: 'deletionRequested', snapshot: gone.snapshot }), false);
    assert.equal(isFinished(gone, { action: 'none', reason: 'deletion-observed' }), true);
    gone.deletionSignalled = true;
    assert.equal(isFinished(gone, { action: 'deletionRequested', snapshot: gone.snapshot }), true);
  });

  test('inspectionOf is a copy: changing it changes nothing tracked', () => {
    const t = newTracked(REF, SNAP, false);
    t.lastSent = { hash: 'h1', atMs: 1 };
    const seen = inspectionOf(t, ['fleet/src']);
    assert.equal(seen.lastSentHash, 'h1');
    seen.ref.name = 'changed';
    seen.snapshot.observedHash = 'changed';
    assert.equal(t.ref.name, 'spoke-1');
    assert.equal(t.snapshot.observedHash, 'h1');
  });
});
