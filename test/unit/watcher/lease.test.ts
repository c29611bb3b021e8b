// Leader election without a server: the pure Lease state machine (lease.ts) driven with explicit times,
// and the elector loop (leader-election.ts) with a fake clock and an in-memory Lease that enforces
// resourceVersions like the API server does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeaseConflictError, startLeaderElection, type LeaderElection, type LeaseApi } from '../../../watcher/leader-election.js';
import { DEFAULT_LEASE_TIMINGS, LeaseStateMachine, microTime, validateTimings, type LeaseSpec, type ObservedLease } from '../../../watcher/lease.js';
import { defaultLeaseName, defaultLeaseNamespace } from '../../../watcher/lease-defaults.js';
import { silentLogger } from '../../../watcher/log.js';
import { FakeClock, drain } from './fakes.js';

const T = DEFAULT_LEASE_TIMINGS;

describe('Lease state machine', () => {
  test('no Lease: create it as holder; leads until the renew deadline after the write started', () => {
    const sm = new LeaseStateMachine('me', T);
    sm.observe(undefined, 0);
    const plan = sm.plan(1000);
    assert.equal(plan.kind, 'create');
    assert.deepEqual(plan.kind === 'create' && plan.spec, { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: microTime(1000), renewTime: microTime(1000), leaseTransitions: 0 });
    assert.equal(sm.isLeader(1000), false, 'not before the write succeeded');
    sm.wrote({ spec: plan.kind === 'create' ? plan.spec : {}, resourceVersion: '1' }, 1000, 1050);
    assert.equal(sm.isLeader(1050), true);
    assert.equal(sm.isLeader(1000 + T.renewDeadlineMs - 1), true);
    assert.equal(sm.isLeader(1000 + T.renewDeadlineMs), false, 'the deadline counts from the start of the write');
  });

  test("another holder's Lease is taken only after it stayed unchanged for its duration on our clock", () => {
    const sm = new LeaseStateMachine('me', T);
    // The holder's renewTime is far in the past by our clock: clock skew must not matter.
    const held: ObservedLease = { spec: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: microTime(0), leaseTransitions: 3 }, resourceVersion: '7' };
    sm.observe(held, 100_000);
    assert.deepEqual(sm.plan(100_000), { kind: 'wait', holder: 'other', validUntilMs: 115_000 });
    // It renews: the wait starts again from when we saw the change.
    sm.observe({ ...held, spec: { ...held.spec, renewTime: microTime(2000) }, resourceVersion: '8' }, 110_000);
    assert.equal(sm.plan(120_000).kind, 'wait');
    assert.equal(sm.othersLastSeenAtMs(), 110_000);
    // Silent for 15 s: take it, one transition more, with the resourceVersion read.
    sm.observe({ ...held, spec: { ...held.spec, renewTime: microTime(2000) }, resourceVersion: '8' }, 125_000);
    const plan = sm.plan(125_000);
    assert.equal(plan.kind, 'update');
    assert.equal(plan.kind === 'update' && plan.resourceVersion, '8');
    assert.equal(plan.kind === 'update' && plan.spec.leaseTransitions, 4);
    assert.equal(plan.kind === 'update' && plan.spec.acquireTime, microTime(125_000));
  });

  test("the holder's own leaseDurationSeconds counts, not ours", () => {
    const sm = new LeaseStateMachine('me', T);
    sm.observe({ spec: { holderIdentity: 'other', leaseDurationSeconds: 60 }, resourceVersion: '1' }, 0);
    assert.equal(sm.plan(59_999).kind, 'wait');
    assert.equal(sm.plan(60_000).kind, 'update');
  });

  test('a released Lease (no holder) is taken at once; renewals keep acquireTime and transitions', () => {
    const sm = new LeaseStateMachine('me', T);
    sm.observe({ spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 }, resourceVersion: '5' }, 0);
    const take = sm.plan(10);
    assert.equal(take.kind, 'update');
    if (take.kind !== 'update') return;
    sm.wrote({ spec: take.spec, resourceVersion: '6' }, 10, 20);
    const renew = sm.plan(2010);
    assert.equal(renew.kind, 'update');
    if (renew.kind !== 'update') return;
    assert.equal(renew.resourceVersion, '6');
    assert.equal(renew.spec.acquireTime, take.spec.acquireTime);
    assert.equal(renew.spec.leaseTransitions, 3);
    assert.equal(renew.spec.renewTime, microTime(2010));
  });

  test('seeing another holder ends our leadership at once', () => {
    const sm = new LeaseStateMachine('me', T);
    sm.observe(undefined, 0);
    const p = sm.plan(0);
    sm.wrote({ spec: p.kind === 'create' ? p.spec : {}, resourceVersion: '1' }, 0, 0);
    assert.equal(sm.isLeader(100), true);
    sm.observe({ spec: { holderIdentity: 'other', leaseDurationSeconds: 15 }, resourceVersion: '2' }, 100);
    assert.equal(sm.isLeader(100), false);
  });

  test('release: no holder, one second, and leadership ends whether or not the write lands', () => {
    const sm = new LeaseStateMachine('me', T);
    assert.equal(sm.release(0), undefined, 'nothing to release before holding');
    sm.observe(undefined, 0);
    const p = sm.plan(0);
    sm.wrote({ spec: p.kind === 'create' ? p.spec : {}, resourceVersion: '1' }, 0, 0);
    const r = sm.release(500);
    assert.deepEqual(r, { spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(500), renewTime: microTime(500), leaseTransitions: 0 }, resourceVersion: '1' });
    assert.equal(sm.isLeader(500), false);
  });

  test('MicroTime has six fractional digits; timings are checked like client-go checks them', () => {
    assert.equal(microTime(Date.UTC(2026, 11, 7, 3, 4, 5, 67)), '2026-12-07T03:04:05.067000Z');
    assert.equal(validateTimings(T), undefined);
    assert.match(validateTimings({ ...T, renewDeadlineMs: 15_000 }) ?? '', /lease-duration must be greater/);
    assert.match(validateTimings({ ...T, retryPeriodMs: 9_000 }) ?? '', /renew-deadline must be greater/);
    assert.match(validateTimings({ ...T, leaseDurationMs: 15_500 }) ?? '', /whole seconds/);
  });

  test('default Lease name and namespace', () => {
    assert.equal(defaultLeaseName('clusterinventory'), 'clusterinventory-watcher');
    assert.match(defaultLeaseName('Tenant_A'), /^clusterinventory-watcher-[0-9a-f]{16}$/);
    assert.notEqual(defaultLeaseName('Tenant_A'), defaultLeaseName('Tenant_B'));
    const nofile = () => {
      throw new Error('ENOENT');
    };
    assert.equal(defaultLeaseNamespace(undefined, {}, ['fleet'], () => 'projectsveltos\n'), 'projectsveltos');
    assert.equal(defaultLeaseNamespace(undefined, { POD_NAMESPACE: 'pods' }, ['fleet'], nofile), 'pods');
    assert.equal(defaultLeaseNamespace(undefined, {}, ['fleet'], nofile), 'fleet');
    assert.equal(defaultLeaseNamespace(undefined, {}, ['a', 'b'], nofile), 'default');
    assert.equal(defaultLeaseNamespace(undefined, {}, [], nofile), 'default');
  });
});

// ---- the elector loop --------------------------------------------------------------------------------

/** One Lease object with resourceVersions; each replica reaches it through its own view (to kill it). */
class FakeLeaseStore {
  lease: ObservedLease | undefined;
  private rv = 0;
  writes = 0;
  view(): LeaseApi & { dead: boolean; failing: boolean } {
    const hang = new Promise<never>(() => undefined);
    const reach = async <T>(fn: () => T): Promise<T> => {
      if (view.dead) return hang;
      if (view.failing) throw new Error('HTTP 503');
      return fn();
    };
    const view = {
      dead: false,
      failing: false,
      get: () => reach(() => this.lease && structuredClone(this.lease)),
      create: (spec: LeaseSpec) =>
        reach(() => {
          if (this.lease) throw new LeaseConflictError('exists');
          return this.put(spec);
        }),
      update: (spec: LeaseSpec, resourceVersion: string) =>
        reach(() => {
          if (!this.lease || this.lease.resourceVersion !== resourceVersion) throw new LeaseConflictError('409');
          return this.put(spec);
        }),
    };
    return view;
  }
  private put(spec: LeaseSpec): ObservedLease {
    this.writes++;
    this.lease = { spec: structuredClone(spec), resourceVersion: String(++this.rv) };
    return structuredClone(this.lease);
  }
}

function replica(store: FakeLeaseStore, clock: FakeClock, identity: string, random = () => 0.5) {
  const api = store.view();
  const changes: boolean[] = [];
  const election: LeaderElection = startLeaderElection({ api, identity, lease: 'ns/lease', timings: T, logger: silentLogger, clock, random });
  election.onChange((leading) => changes.push(leading));
  return { api, election, changes };
}

/** Advances in small steps, asserting that at most one replica leads at every step. */
async function run(clock: FakeClock, ms: number, replicas: Array<{ election: LeaderElection }>, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    const leaders = replicas.filter((r) => r.election.isLeader()).length;
    assert.ok(leaders <= 1, `${leaders} leaders at once`);
  }
}

describe('leader election loop (fake clock, in-memory Lease)', () => {
  test('two replicas: one leads, the other waits; the leader renews every retry period with one write', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = replica(store, clock, 'a');
    await drain();
    const b = replica(store, clock, 'b');
    await run(clock, 20_000, [a, b]);
    assert.equal(a.election.isLeader(), true);
    assert.equal(b.election.isLeader(), false);
    assert.deepEqual(a.changes, [true]);
    assert.deepEqual(b.changes, []);
    assert.equal(b.election.status().holder, 'a');
    // 1 create + a renewal every 2 s for 20 s.
    assert.ok(store.writes >= 10 && store.writes <= 11, `writes: ${store.writes}`);
    await a.election.stop();
    await b.election.stop();
  });

  test('the leader dies (SIGKILL: no release): it stops leading at its renew deadline, the standby leads within lease duration + one retry', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = replica(store, clock, 'a');
    await drain();
    const b = replica(store, clock, 'b');
    await run(clock, 5_000, [a, b]);
    assert.equal(a.election.isLeader(), true);
    const diedAt = clock.now();
    a.api.dead = true;
    let bLeadsAt: number | undefined;
    for (let t = 0; t < 30_000; t += 100) {
      await run(clock, 100, [a, b]);
      if (!bLeadsAt && b.election.isLeader()) bLeadsAt = clock.now();
    }
    assert.deepEqual(a.changes, [true, false], 'a told its listeners that it stopped');
    assert.ok(bLeadsAt !== undefined, 'b took over');
    const takeover = bLeadsAt - diedAt;
    // Its last renewal was at most one retry before the death; b waits 15 s from seeing it, plus up to one jittered retry.
    assert.ok(takeover >= T.leaseDurationMs - T.retryPeriodMs && takeover <= T.leaseDurationMs + T.retryPeriodMs * 1.2 + 100, `takeover after ${takeover} ms`);
    assert.equal(store.lease?.spec.holderIdentity, 'b');
    assert.equal(store.lease?.spec.leaseTransitions, 1);
    await b.election.stop();
  });

  test('graceful stop releases the Lease: the standby leads at its next try', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = replica(store, clock, 'a');
    await drain();
    const b = replica(store, clock, 'b', () => 1);
    await run(clock, 5_000, [a, b]);
    const stoppedAt = clock.now();
    await a.election.stop();
    assert.equal(a.election.isLeader(), false);
    assert.equal(store.lease?.spec.holderIdentity, '');
    assert.equal(a.election.status().transitions.released, 1);
    let bLeadsAt: number | undefined;
    for (let t = 0; t < 10_000 && !bLeadsAt; t += 100) {
      await run(clock, 100, [a, b]);
      if (b.election.isLeader()) bLeadsAt = clock.now();
    }
    assert.ok(bLeadsAt !== undefined && bLeadsAt - stoppedAt <= T.retryPeriodMs * 1.2 + 100, `b leads ${bLeadsAt! - stoppedAt} ms after the release`);
    await b.election.stop();
  });

  test('a leader that cannot reach the API server stops leading at the renew deadline, and leads again once it can', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = replica(store, clock, 'a');
    await run(clock, 3_000, [a]);
    const lastRenewal = store.lease!.spec.renewTime!;
    a.api.failing = true;
    await run(clock, T.renewDeadlineMs - 2_100, [a]);
    assert.equal(a.election.isLeader(), true, 'still within the deadline');
    await run(clock, 2_200, [a]);
    assert.equal(a.election.isLeader(), false, 'past the deadline');
    assert.equal(store.lease!.spec.renewTime, lastRenewal);
    assert.deepEqual(a.changes, [true, false]);
    a.api.failing = false;
    await run(clock, 10_000, [a]);
    assert.equal(a.election.isLeader(), true);
    assert.deepEqual(a.changes, [true, false, true]);
    assert.deepEqual(a.election.status().transitions, { acquired: 2, lost: 1, released: 0 });
    await a.election.stop();
  });

  test('many candidates starting together: exactly one wins, the others never lead while it renews', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const rs = ['a', 'b', 'c', 'd'].map((id, i) => replica(store, clock, id, () => i / 4));
    await run(clock, 30_000, rs);
    assert.equal(rs.filter((r) => r.election.isLeader()).length, 1);
    assert.equal(rs.reduce((n, r) => n + r.changes.length, 0), 1, 'one acquisition in all');
    for (const r of rs) await r.election.stop();
  });
});
