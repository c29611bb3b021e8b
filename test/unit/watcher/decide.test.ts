import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProfileSnapshot, ResyncRequest } from '../../../workflows/api.js';
import { Coalescer, decide, knownHash, mergePending, planHold, takeToken, type DecisionInput, type Pending, type TokenBucket } from '../../../watcher/decide.js';
import { FakeClock } from './fakes.js';

const snap = (hash: string, deleting = false): ProfileSnapshot => ({
  resourceVersion: '7',
  generation: 1,
  observedHash: hash,
  providerCount: 1,
  deleting,
});
const NOW = 1_000_000;
const resync: ResyncRequest = { reason: 'source-secret-changed', object: 'fleet/src' };

function input(over: Partial<DecisionInput>): DecisionInput {
  return {
    snapshot: snap('H1'),
    gone: false,
    workflow: { running: false },
    workflowViewAtMs: NOW,
    deletionSignalled: false,
    visibilityGraceMs: 60_000,
    ...over,
  };
}

describe('knownHash', () => {
  test('a running workflow: what we last sent, else what it reports', () => {
    assert.equal(knownHash(input({ workflow: { running: true, observedHash: 'H0' } })), 'H0');
    assert.equal(knownHash(input({ workflow: { running: true, observedHash: 'H0' }, lastSent: { hash: 'H1', atMs: 1 } })), 'H1');
  });
  test('no running workflow: our own recent send counts (visibility lag), an old one does not', () => {
    assert.equal(knownHash(input({ lastSent: { hash: 'H1', atMs: NOW + 5 } })), 'H1');
    assert.equal(knownHash(input({ lastSent: { hash: 'H1', atMs: NOW - 30_000 } })), 'H1');
    assert.equal(knownHash(input({ lastSent: { hash: 'H1', atMs: NOW - 61_000 } })), undefined);
    assert.equal(knownHash(input({})), undefined);
  });
  test('visibility not loaded yet: our own send counts', () => {
    assert.equal(knownHash(input({ workflow: undefined, lastSent: { hash: 'H1', atMs: 0 } })), 'H1');
  });
});

describe('decide: decision table', () => {
  const rows: Array<[string, Partial<DecisionInput>, string, string?]> = [
    // [case, input, action, reason]
    ['new profile, no workflow', {}, 'profileChanged'],
    ['workflow reports the same hash (after a restart)', { workflow: { running: true, observedHash: 'H1' } }, 'none', 'unchanged'],
    ['workflow reports an older hash', { workflow: { running: true, observedHash: 'H0' } }, 'profileChanged'],
    ['workflow reports no hash', { workflow: { running: true } }, 'profileChanged'],
    ['we already sent this hash', { workflow: { running: true, observedHash: 'H0' }, lastSent: { hash: 'H1', atMs: NOW } }, 'none', 'unchanged'],
    ['we sent an older hash', { workflow: { running: true, observedHash: 'H0' }, lastSent: { hash: 'H0', atMs: NOW } }, 'profileChanged'],
    ['we sent it just now, visibility does not list it yet', { lastSent: { hash: 'H1', atMs: NOW + 10 } }, 'none', 'unchanged'],
    ['we sent it long ago and the workflow is gone', { lastSent: { hash: 'H1', atMs: NOW - 3_600_000 } }, 'profileChanged'],
    ['resync, converged', { workflow: { running: true, observedHash: 'H1' }, resync }, 'resyncRequested'],
    ['resync, but the profile changed too (profileChanged implies a resync)', { workflow: { running: true, observedHash: 'H0' }, resync }, 'profileChanged'],
    ['deletionTimestamp set', { snapshot: snap('HD', true), workflow: { running: true, observedHash: 'H1' } }, 'deletionRequested'],
    ['deletionTimestamp, already signalled', { snapshot: snap('HD', true), deletionSignalled: true }, 'none', 'deletion-already-signalled'],
    ['deletionTimestamp, workflow already Deleting (restart)', { snapshot: snap('HD', true), workflow: { running: true, observedHash: 'H1', phase: 'Deleting' } }, 'none', 'deletion-observed'],
    ['deletionTimestamp, workflow observed that hash', { snapshot: snap('HD', true), workflow: { running: true, observedHash: 'HD' } }, 'none', 'deletion-observed'],
    ['deletionTimestamp and a resync: deletion only', { snapshot: snap('HD', true), workflow: { running: true, observedHash: 'H1' }, resync }, 'deletionRequested'],
    ['deletionTimestamp, no workflow (never ran): deletion (started for cleanup)', { snapshot: snap('HD', true) }, 'deletionRequested'],
    ['gone', { gone: true, workflow: { running: true, observedHash: 'H1' } }, 'deletionRequested'],
    ['gone, already signalled', { gone: true, deletionSignalled: true }, 'none', 'deletion-already-signalled'],
    ['gone while the workflow cleans up', { gone: true, workflow: { running: true, phase: 'Deleting' } }, 'none', 'deletion-observed'],
    ['unknown profile', { snapshot: undefined }, 'none', 'unknown-profile'],
    ['signal-with-start of this hash was refused (closed workflow ID)', { closedHash: 'H1' }, 'none', 'workflow-closed'],
    ['refused for an older hash: try the new one', { closedHash: 'H0' }, 'profileChanged'],
  ];
  for (const [what, over, action, reason] of rows) {
    test(what, () => {
      const d = decide(input(over));
      assert.equal(d.action, action);
      if (reason) assert.equal(d.action === 'none' ? d.reason : undefined, reason);
    });
  }

  test('profileChanged carries the snapshot; a gone profile is sent as deleting', () => {
    const d1 = decide(input({}));
    assert.deepEqual(d1, { action: 'profileChanged', snapshot: snap('H1') });
    const d2 = decide(input({ gone: true }));
    assert.equal(d2.action, 'deletionRequested');
    assert.equal(d2.action === 'deletionRequested' && d2.snapshot.deleting, true);
  });

  test('resync carries the request', () => {
    assert.deepEqual(decide(input({ workflow: { running: true, observedHash: 'H1' }, resync })), { action: 'resyncRequested', request: resync });
  });
});

describe('mergePending', () => {
  test('profile flags or together; the latest resync wins', () => {
    const a: Pending = { profile: true };
    const b: Pending = { profile: false, resync };
    const other: ResyncRequest = { reason: 'managed-secret-changed', object: 'fleet/x' };
    assert.deepEqual(mergePending(undefined, b), b);
    assert.deepEqual(mergePending(a, b), { profile: true, resync });
    assert.deepEqual(mergePending(mergePending(a, b), { profile: false, resync: other }), { profile: true, resync: other });
    assert.deepEqual(mergePending(b, { profile: false }), { profile: false, resync });
  });
});

describe('Coalescer (injected clock)', () => {
  function setup(flushImpl?: (key: string, v: Pending) => Promise<void>) {
    const clock = new FakeClock();
    const flushed: Array<[string, Pending]> = [];
    const c = new Coalescer<string, Pending>({
      windowMs: 1000,
      clock,
      merge: mergePending,
      flush: flushImpl ?? ((k, v) => {
        flushed.push([k, v]);
        return Promise.resolve();
      }),
    });
    return { clock, c, flushed };
  }

  test('events within the window make one flush with the merged value, at the end of the window', async () => {
    const { clock, c, flushed } = setup();
    c.touch('uid-1', { profile: true });
    await clock.advance(400);
    c.touch('uid-1', { profile: false, resync });
    c.touch('uid-1', { profile: true });
    await clock.advance(599);
    assert.equal(flushed.length, 0, 'not before the window ends');
    await clock.advance(1);
    assert.deepEqual(flushed, [['uid-1', { profile: true, resync }]]);
    assert.deepEqual(c.stats, { touches: 3, coalesced: 2, flushes: 1 });
    assert.equal(c.isIdle(), true);
  });

  test('a touch with `now` ends its window at once, with everything merged so far', async () => {
    const { clock, c, flushed } = setup();
    c.touch('uid-1', { profile: false, resync });
    await clock.advance(10);
    c.touch('uid-1', { profile: true }, { now: true });
    await clock.advance(0);
    assert.deepEqual(flushed, [['uid-1', { profile: true, resync }]]);
    await clock.advance(5000);
    assert.equal(flushed.length, 1, 'the ended window does not fire again');
    c.touch('uid-2', { profile: true }, { now: true });
    await clock.advance(0);
    assert.deepEqual(flushed.map(([k]) => k), ['uid-1', 'uid-2'], 'no window open: flushed at once');
    assert.equal(c.isIdle(), true);
  });

  test('keys are independent', async () => {
    const { clock, c, flushed } = setup();
    c.touch('a', { profile: true });
    await clock.advance(500);
    c.touch('b', { profile: true });
    await clock.advance(500);
    assert.deepEqual(flushed.map(([k]) => k), ['a']);
    await clock.advance(500);
    assert.deepEqual(flushed.map(([k]) => k), ['a', 'b']);
  });

  test('a constant stream still flushes once per window (no starvation)', async () => {
    const { clock, c, flushed } = setup();
    for (let i = 0; i < 10; i++) {
      c.touch('a', { profile: true });
      await clock.advance(300);
    }
    // Windows [0, 1000), [1200, 2200), [2400, 3400): two flushed by t = 3000, the third pending.
    assert.equal(flushed.length, 2);
    await clock.advance(1000);
    assert.equal(flushed.length, 3);
  });

  test('flushes of one key never overlap and keep their order', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const { clock, c } = setup(async (k, v) => {
      order.push(`start ${v.resync?.object ?? 'profile'}`);
      if (!v.resync) await new Promise<void>((r) => (release = r));
      order.push(`end ${v.resync?.object ?? 'profile'}`);
    });
    c.touch('a', { profile: true });
    await clock.advance(1000);
    assert.deepEqual(order, ['start profile']);
    c.touch('a', { profile: false, resync });
    await clock.advance(1000);
    assert.deepEqual(order, ['start profile'], 'the second flush waits for the first');
    assert.equal(c.isIdle(), false);
    release();
    await clock.advance(0);
    assert.deepEqual(order, ['start profile', 'end profile', 'start fleet/src', 'end fleet/src']);
    assert.equal(c.isIdle(), true);
  });

  test('idle() waits for pending, running and delayed work', async () => {
    const { clock, c, flushed } = setup();
    let idle = false;
    c.touchLater('a', { profile: true }, 5000);
    void c.idle().then(() => (idle = true));
    await clock.advance(5000);
    assert.equal(idle, false, 'the retry is now pending');
    await clock.advance(1000);
    assert.equal(flushed.length, 1);
    assert.equal(idle, true);
  });

  test('a failing flush does not wedge the key', async () => {
    let calls = 0;
    const { clock, c } = setup(() => {
      calls++;
      return Promise.reject(new Error('boom'));
    });
    c.touch('a', { profile: true });
    await clock.advance(1000);
    c.touch('a', { profile: true });
    await clock.advance(1000);
    assert.equal(calls, 2);
    assert.equal(c.isIdle(), true);
  });

  test('stop() drops pending work', async () => {
    const { clock, c, flushed } = setup();
    c.touch('a', { profile: true });
    await c.stop();
    await clock.advance(5000);
    assert.equal(flushed.length, 0);
    c.touch('a', { profile: true });
    assert.equal(c.isIdle(), true);
  });
});

describe('takeToken (per-profile rate limit)', () => {
  const limit = { burst: 3, intervalMs: 5000 };
  test('starts full: the burst goes at once, then one per interval', () => {
    let bucket: TokenBucket | undefined;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = takeToken(bucket, limit, 1000);
      bucket = r.bucket;
      waits.push(r.waitMs);
    }
    assert.deepEqual(waits, [0, 0, 0, 5000]);
    assert.equal(takeToken(bucket, limit, 3500).waitMs, 2500, 'half a token refilled');
    const later = takeToken(bucket, limit, 6000);
    assert.equal(later.waitMs, 0);
    assert.ok(Math.abs(later.bucket.tokens) < 1e-9);
    assert.equal(takeToken(undefined, limit, 0).waitMs, 0);
  });
  test('never more than the burst, however long idle; intervalMs 0 never waits', () => {
    const r = takeToken({ tokens: 0, atMs: 0 }, limit, 10 ** 9);
    assert.equal(r.bucket.tokens, 2);
    let b: TokenBucket | undefined;
    for (let i = 0; i < 100; i++) {
      const x = takeToken(b, { burst: 1, intervalMs: 0 }, 5);
      assert.equal(x.waitMs, 0);
      b = x.bucket;
    }
  });
});

describe('planHold (what the rate limit does with a change-triggered decision)', () => {
  const limit = { burst: 1, intervalMs: 5000 };
  test('a free token passes (and is spent); none free holds until one is; a hold still running takes the decision in', () => {
    const first = planHold({}, limit, 1000);
    assert.equal(first.kind, 'pass');
    const bucket = first.kind === 'pass' ? first.bucket : undefined;
    assert.deepEqual(planHold({ bucket }, limit, 2000), { kind: 'hold', bucket: { tokens: 0.2, atMs: 2000 }, waitMs: 4000 });
    assert.deepEqual(planHold({ bucket, held: { untilMs: 6000 } }, limit, 5999), { kind: 'merge' });
    // At the trailing edge the hold is over: the re-decision takes the token that refilled meanwhile.
    assert.equal(planHold({ bucket, held: { untilMs: 6000 } }, limit, 6000).kind, 'pass');
  });
  test('intervalMs 0 (limit off) always passes', () => {
    assert.equal(planHold({ bucket: { tokens: 0, atMs: 0 } }, { burst: 1, intervalMs: 0 }, 0).kind, 'pass');
  });
});
