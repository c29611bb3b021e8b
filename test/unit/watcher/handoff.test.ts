// The watcher behind a leader election (faked edges, manual leadership): a standby keeps its caches
// and sends nothing; a new leader decides every profile against a fresh visibility list, signals only
// what the workflows have not seen, and replays the resync requests the previous leader may have
// missed; a leader that loses the Lease stops at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXEC_EXTENSION, SECRET_READER_PROVIDER, type ClusterProfile } from '../../../activities/kube/types.js';
import { clusterProfilePath, secretPath } from '../../../watcher/informers.js';
import type { Leadership } from '../../../watcher/leader-election.js';
import { silentLogger } from '../../../watcher/log.js';
import { snapshotOf } from '../../../watcher/snapshot.js';
import { HANDOFF_MARGIN_MS, isHandedOff } from '../../../watcher/handoff.js';
import { createWatcher, type RunningWatcher } from '../../../watcher/watcher.js';
import { FakeClock, FakeSignaler, FakeTransport, type FakeObject } from './fakes.js';

const NS = 'fleet';

function cp(name: string, env = 'a'): FakeObject {
  return {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, labels: { env } },
    spec: { clusterManager: { name: 'm' } },
    status: { accessProviders: [{ name: SECRET_READER_PROVIDER, cluster: { server: 'https://x', extensions: [{ name: EXEC_EXTENSION, extension: { name: `src-${name}`, key: 'kubeconfig' } }] } }] },
  };
}
const hashOf = (o: FakeObject): string => snapshotOf(o as unknown as ClusterProfile).observedHash;

class ManualLeadership implements Leadership {
  leading = false;
  others: number | undefined;
  private readonly listeners = new Set<(l: boolean) => void>();
  isLeader(): boolean {
    return this.leading;
  }
  onChange(l: (leading: boolean) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  othersLastSeenAtMs(): number | undefined {
    return this.others;
  }
  set(leading: boolean): void {
    this.leading = leading;
    for (const l of this.listeners) l(leading);
  }
}

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const signaler = new FakeSignaler();
  const leadership = new ManualLeadership();
  let w: RunningWatcher | undefined;
  const start = () =>
    (w = createWatcher({
      transport,
      signaler,
      clock,
      leadership,
      namespaces: [NS],
      debounceMs: 100,
      relistPeriodMs: 300_000,
      retryBackoff: { initialMs: 1000, maxMs: 8000 },
      watchTimeoutSeconds: 300,
      logger: silentLogger,
    }).start());
  const kinds = () => signaler.sent.map((s) => `${s.kind} ${s.ref.name}${s.request ? ` ${s.request.reason}` : ''}`).sort();
  const running = (o: FakeObject) =>
    signaler.running.set(o.metadata.uid as string, { workflowId: `clusterprofile/${NS}/${String(o.metadata.name)}/${String(o.metadata.uid)}`, runId: 'r', running: true, observedHash: hashOf(o) });
  return { clock, transport, signaler, leadership, start, kinds, running, stop: () => w?.stop() };
}

describe('watcher behind a leader election', () => {
  test('a standby is ready, keeps its cache, and sends nothing; as leader it signals only what the workflows have not seen', async () => {
    const { clock, transport, signaler, leadership, start, kinds, running, stop } = setup();
    const path = clusterProfilePath(NS);
    const a = transport.put(path, cp('a'));
    transport.put(path, cp('b'));
    running(a);
    running(cp('b'));
    const w = start();
    await w.ready;
    assert.equal(w.isReady(), true, 'a standby is ready');
    await clock.advance(1000);
    // Changes while standing by: an update, a new profile, a deletion.
    transport.emit(path, 'MODIFIED', cp('b', 'changed'));
    transport.emit(path, 'ADDED', cp('c'));
    await clock.advance(60_000);
    assert.deepEqual(signaler.sent, [], 'a standby signals nothing');
    assert.equal(w.cachedProfile(NS, 'c')?.metadata.name, 'c', 'the cache is warm');
    const listsBefore = signaler.listCalls;

    leadership.set(true);
    await clock.advance(1000);
    await w.settled();
    assert.equal(signaler.listCalls, listsBefore + 1, 'one visibility query on taking over');
    assert.deepEqual(kinds(), ['profileChanged b', 'profileChanged c'], 'a is converged: not signalled');
    await stop();
  });

  test('losing the leadership stops signals at once, including decisions already queued', async () => {
    const { clock, transport, signaler, leadership, start, stop } = setup();
    leadership.set(true);
    const w = start();
    await w.ready;
    const path = clusterProfilePath(NS);
    transport.emit(path, 'ADDED', cp('x'));
    await clock.advance(1000);
    assert.equal(signaler.sent.length, 1);
    // A change inside the debounce window, then the Lease is lost before the window ends.
    transport.emit(path, 'MODIFIED', cp('x', 'b'));
    await clock.advance(50);
    leadership.set(false);
    await clock.advance(10_000);
    assert.equal(signaler.sent.length, 1, 'nothing after the loss');
    // Leading again: the change the standby period swallowed goes out (lastSent of the old term is not trusted).
    leadership.set(true);
    await clock.advance(1000);
    await w.settled();
    assert.equal(signaler.sent.length, 2);
    assert.equal(signaler.sent[1]?.snapshot?.observedHash, hashOf(cp('x', 'b')));
    await stop();
  });

  test('a new leader replays resync requests the old leader may not have acted on, and forgets those it had time for', async () => {
    const { clock, transport, signaler, leadership, start, kinds, running, stop } = setup();
    const path = clusterProfilePath(NS);
    for (const n of ['early', 'late']) {
      running(transport.put(path, cp(n)));
      transport.put(secretPath(NS), { metadata: { name: `src-${n}`, namespace: NS, uid: `s-${n}` } });
    }
    const w = start();
    await w.ready;
    await clock.advance(1000);
    // The source Secret of "early" changes while the leader is alive (seen renewing 20 s later)...
    transport.emit(secretPath(NS), 'MODIFIED', { metadata: { name: 'src-early', namespace: NS, uid: 's-early' } });
    await clock.advance(20_000);
    leadership.others = clock.now();
    // ... that of "late" after its last renewal: it may have died before acting on it.
    await clock.advance(1000);
    transport.emit(secretPath(NS), 'MODIFIED', { metadata: { name: 'src-late', namespace: NS, uid: 's-late' } });
    await clock.advance(15_000);
    assert.deepEqual(signaler.sent, []);
    leadership.set(true);
    await clock.advance(1000);
    await w.settled();
    assert.deepEqual(kinds(), ['resyncRequested late source-secret-changed']);
    await stop();
  });
});

describe('isHandedOff', () => {
  test('what a standby saw is the leader\'s once the leader was seen renewing HANDOFF_MARGIN_MS after it, not before', () => {
    assert.equal(isHandedOff(1_000, 1_000 + HANDOFF_MARGIN_MS), true);
    assert.equal(isHandedOff(1_000, 1_000 + HANDOFF_MARGIN_MS - 1), false);
    assert.equal(isHandedOff(1_000, 0), false);
  });
});
