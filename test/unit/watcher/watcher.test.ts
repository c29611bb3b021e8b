// The composed watcher with every edge faked: a scripted API server, a recording signaler and a manual
// clock. Covers the wiring the pure modules cannot: restart without re-signalling, coalescing, source
// Secret mapping, managed-object drift, one visibility query per relist, retries, deletion, stop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXEC_EXTENSION, FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SECRET_READER_PROVIDER, type ClusterProfile } from '../../../activities/kube/types.js';
import { clusterProfilePath, secretPath, sveltosClusterPath } from '../../../watcher/informers.js';
import { silentLogger } from '../../../watcher/log.js';
import { snapshotOf } from '../../../watcher/snapshot.js';
import type { RunningWorkflow } from '../../../watcher/signaler.js';
import { createWatcher, type RunningWatcher } from '../../../watcher/watcher.js';
import type { WatcherOptions } from '../../../watcher/options.js';
import { FakeClock, FakeSignaler, FakeTransport, drain, type FakeObject } from './fakes.js';

const NS = 'fleet';

function cp(name: string, opts: { ns?: string; labels?: Record<string, string>; source?: { name: string; namespace?: string } } = {}): FakeObject {
  const ns = opts.ns ?? NS;
  const extension = { name: opts.source?.name ?? `src-${name}`, key: 'kubeconfig', ...(opts.source?.namespace ? { namespace: opts.source.namespace } : {}) };
  return {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: { name, namespace: ns, uid: `uid-${name}`, generation: 1, labels: opts.labels ?? { env: 'a' } },
    spec: { clusterManager: { name: 'm' } },
    status: { accessProviders: [{ name: SECRET_READER_PROVIDER, cluster: { server: 'https://x', extensions: [{ name: EXEC_EXTENSION, extension }] } }] },
  };
}

const hashOf = (o: FakeObject): string => snapshotOf(o as unknown as ClusterProfile).observedHash;

function managed(name: string, ownerUid: string, managers: unknown[], ns = NS): FakeObject {
  return {
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${name}`,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ownerReferences: [{ apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: 'x', uid: ownerUid }],
      managedFields: managers,
    },
  };
}
const entry = (manager: string, fields: Record<string, unknown>, time: string) => ({ manager, operation: manager === FIELD_MANAGER ? 'Apply' : 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: fields, time });

function setup(over: Partial<WatcherOptions> = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const signaler = new FakeSignaler();
  const watchers: RunningWatcher[] = [];
  const start = (extra: Partial<WatcherOptions> = {}) => {
    const w = createWatcher({
      transport,
      signaler,
      clock,
      namespaces: [NS],
      debounceMs: 1000,
      relistPeriodMs: 300_000,
      visibilityGraceMs: 60_000,
      retryBackoff: { initialMs: 1000, maxMs: 8000 },
      watchTimeoutSeconds: 300,
      logger: silentLogger,
      ...over,
      ...extra,
    }).start();
    watchers.push(w);
    return w;
  };
  const stopAll = () => Promise.all(watchers.map((w) => w.stop()));
  const kinds = () => signaler.sent.map((s) => `${s.kind} ${s.ref.name}${s.request ? ` ${s.request.reason} ${s.request.object}` : ''}`);
  return { clock, transport, signaler, start, stopAll, kinds };
}

describe('watcher (faked edges)', () => {
  test('start-up: converged profiles are not re-signalled; stale and new ones are', async () => {
    const { clock, transport, signaler, start, stopAll, kinds } = setup();
    const a = transport.put(clusterProfilePath(NS), cp('a'));
    transport.put(clusterProfilePath(NS), cp('b'));
    transport.put(clusterProfilePath(NS), cp('c'));
    signaler.running.set('uid-a', { workflowId: 'clusterprofile/fleet/a/uid-a', runId: 'r', running: true, observedHash: hashOf(a) });
    signaler.running.set('uid-b', { workflowId: 'clusterprofile/fleet/b/uid-b', runId: 'r', running: true, observedHash: 'stale' });
    const w = start();
    await w.ready;
    assert.equal(w.isReady(), true);
    await clock.advance(1000);
    assert.deepEqual(kinds().sort(), ['profileChanged b', 'profileChanged c']);
    assert.equal(signaler.listCalls, 1, 'one visibility query');
    assert.equal(w.counters.signals.visibilityQueries, 0, 'counted by the real signaler only');
    assert.equal(w.counters.decisions.dedupHits, 1);
    assert.deepEqual(w.inspect('uid-a')?.sourceSecrets, ['fleet/src-a']);
    await stopAll();
  });

  test('events within the window make one signal; a status-only change makes none', async () => {
    const { clock, transport, start, stopAll, signaler } = setup();
    const w = start();
    await w.ready;
    const path = clusterProfilePath(NS);
    transport.emit(path, 'ADDED', cp('a'));
    await clock.advance(300);
    transport.emit(path, 'MODIFIED', cp('a', { labels: { env: 'b' } }));
    await clock.advance(700);
    assert.equal(signaler.sent.length, 1);
    assert.equal(signaler.sent[0]?.snapshot?.observedHash, hashOf(cp('a', { labels: { env: 'b' } })));
    assert.equal(w.counters.decisions.coalesced, 1);

    const statusOnly = cp('a', { labels: { env: 'b' } });
    (statusOnly.status as Record<string, unknown>).conditions = [{ type: 'Ready', status: 'True' }];
    transport.emit(path, 'MODIFIED', statusOnly);
    await clock.advance(1000);
    await w.settled();
    assert.equal(signaler.sent.length, 1);
    assert.equal(w.counters.decisions.dedupHits, 1);
    await stopAll();
  });

  test('a new profile is signalled as soon as its access providers appear, not at the end of the window', async () => {
    const { clock, transport, start, stopAll, signaler } = setup();
    const w = start();
    await w.ready;
    const path = clusterProfilePath(NS);
    // As the API server shows a new ClusterProfile: created without status, which a status update fills.
    const created = cp('a');
    delete created.status;
    transport.emit(path, 'ADDED', created);
    await clock.advance(20);
    assert.equal(signaler.sent.length, 0, 'nothing to sync without access providers: the window runs');
    const withProviders = cp('a');
    transport.emit(path, 'MODIFIED', withProviders);
    await clock.advance(0);
    assert.equal(signaler.sent.length, 1, 'signalled at once (window 1000 ms, 20 ms elapsed)');
    assert.equal(signaler.sent[0]?.snapshot?.observedHash, hashOf(withProviders));
    await clock.advance(1000);
    assert.equal(signaler.sent.length, 1, 'and only once');
    await stopAll();
  });

  test('a new profile without access providers waits for them (awaitProvidersMs), then is signalled once', async () => {
    const { clock, transport, start, stopAll, signaler } = setup({ debounceMs: 100, awaitProvidersMs: 1000 });
    const w = start();
    await w.ready;
    const path = clusterProfilePath(NS);
    const bare = (name: string): FakeObject => {
      const o = cp(name);
      delete o.status;
      return o;
    };
    transport.emit(path, 'ADDED', bare('late'));
    transport.emit(path, 'ADDED', bare('never'));
    await clock.advance(500);
    assert.equal(signaler.sent.length, 0, 'past the debounce window, still waiting for the access providers');
    transport.emit(path, 'MODIFIED', cp('late'));
    await clock.advance(0);
    assert.deepEqual(signaler.sent.map((s) => s.ref.name), ['late'], 'signalled once, with its providers');
    await clock.advance(500);
    assert.deepEqual(signaler.sent.map((s) => s.ref.name), ['late', 'never'], 'no providers after the wait: its workflow waits for them');
    await clock.advance(5000);
    assert.equal(signaler.sent.length, 2);
    await stopAll();
  });

  test('a source Secret change requests a resync of exactly the profiles that read it', async () => {
    const { clock, transport, start, stopAll, kinds } = setup();
    transport.put(clusterProfilePath(NS), cp('a', { source: { name: 'shared-src' } }));
    transport.put(clusterProfilePath(NS), cp('b', { source: { name: 'shared-src' } }));
    transport.put(clusterProfilePath(NS), cp('c'));
    transport.put(secretPath(NS), { metadata: { name: 'shared-src', namespace: NS, uid: 's1' } });
    const w = start();
    await w.ready;
    await clock.advance(1000);
    assert.equal(kinds().length, 3);
    transport.emit(secretPath(NS), 'MODIFIED', { metadata: { name: 'shared-src', namespace: NS, uid: 's1' } });
    transport.emit(secretPath(NS), 'MODIFIED', { metadata: { name: 'unrelated', namespace: NS, uid: 's2' } });
    await clock.advance(1000);
    assert.deepEqual(kinds().slice(3).sort(), [
      'resyncRequested a source-secret-changed fleet/shared-src',
      'resyncRequested b source-secret-changed fleet/shared-src',
    ]);
    assert.equal(w.counters.decisions.sourceSecretChanges, 2);
    await stopAll();
  });

  test("source Secrets in other namespaces are watched only where the Secret reader may read", async () => {
    for (const [allowed, watched] of [
      [['*'], true],
      [[], false],
      [['shared'], true],
    ] as const) {
      const { clock, transport, start, stopAll } = setup({ secretReaderNamespaces: allowed });
      transport.put(clusterProfilePath(NS), cp('a', { source: { name: 'ext', namespace: 'shared' } }));
      const w = start();
      await w.ready;
      await clock.advance(1000);
      assert.equal(transport.listCalls.some((c) => c.path === secretPath('shared')), watched, JSON.stringify(allowed));
      if (watched) assert.equal(transport.listCalls.find((c) => c.path === secretPath('shared'))?.metadataOnly, true);
      await stopAll();
    }
  });

  test('one profile cannot open thousands of source informers: repeated extensions or invalid namespaces open none', async () => {
    const { clock, transport, start, stopAll } = setup({ secretReaderNamespaces: ['*'] });
    const repeated = cp('many');
    const cluster = (repeated.status as { accessProviders: Array<{ cluster: { extensions: unknown[] } }> }).accessProviders[0]!.cluster;
    cluster.extensions = Array.from({ length: 2000 }, (_, i) => ({ name: EXEC_EXTENSION, extension: { name: `s-${i}`, key: 'kubeconfig', namespace: `ns-${i}` } }));
    transport.put(clusterProfilePath(NS), repeated);
    transport.put(clusterProfilePath(NS), cp('bad-ns', { source: { name: 's', namespace: 'Not_A_Namespace' } }));
    transport.put(clusterProfilePath(NS), cp('good', { source: { name: 's', namespace: 'shared' } }));
    const w = start();
    await w.ready;
    await clock.advance(1000);
    const sourceLists = new Set(transport.listCalls.filter((c) => c.path.endsWith('/secrets') && !c.labelSelector).map((c) => c.path));
    assert.deepEqual([...sourceLists], [secretPath('shared')], 'exactly one source informer, for the one valid reference');
    assert.deepEqual(w.inspect('uid-many')?.sourceSecrets, []);
    assert.deepEqual(w.inspect('uid-bad-ns')?.sourceSecrets, []);
    assert.deepEqual(w.inspect('uid-good')?.sourceSecrets, ['shared/s']);
    await stopAll();
  });

  test('managed objects: drift requests a resync for the owner; our writes and orphans do not', async () => {
    const { clock, transport, start, stopAll, kinds } = setup();
    transport.put(clusterProfilePath(NS), cp('a'));
    const ours = entry(FIELD_MANAGER, { 'f:data': { 'f:kubeconfig': {} } }, '2026-01-01T00:00:00Z');
    transport.put(secretPath(NS), managed('a-sveltos-kubeconfig', 'uid-a', [ours]));
    transport.put(sveltosClusterPath(NS), managed('a', 'uid-a', [entry(FIELD_MANAGER, { 'f:metadata': { 'f:labels': { 'f:env': {} } } }, '2026-01-01T00:00:00Z')]));
    const w = start();
    await w.ready;
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a']);

    // Our own rewrite: not drift.
    transport.emit(secretPath(NS), 'MODIFIED', managed('a-sveltos-kubeconfig', 'uid-a', [{ ...ours, time: '2026-01-01T00:10:00Z' }]));
    // A Secret of a profile we do not know: ignored.
    transport.emit(secretPath(NS), 'MODIFIED', managed('z-sveltos-kubeconfig', 'uid-z', [entry('intruder', {}, '2026-01-01T00:00:00Z')]));
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a']);
    assert.equal(w.counters.decisions.managedOrphanEvents, 1);


    // Somebody else writes the Secret; somebody deletes the SveltosCluster.
    transport.emit(
      secretPath(NS),
      'MODIFIED',
      managed('a-sveltos-kubeconfig', 'uid-a', [{ ...ours, time: '2026-01-01T00:10:00Z' }, entry('intruder', { 'f:metadata': { 'f:annotations': {} } }, '2026-01-01T00:20:00Z')]),
    );
    transport.emit(sveltosClusterPath(NS), 'DELETED', managed('a', 'uid-a', []));
    await clock.advance(1000);
    // Both in one window: one resync (the latest reason).
    assert.deepEqual(kinds().slice(1), ['resyncRequested a managed-sveltoscluster-changed fleet/a']);
    assert.equal(w.counters.decisions.managedSecretDrift, 1);
    assert.equal(w.counters.decisions.managedSveltosClusterDrift, 1);
    await stopAll();
  });

  test('managed objects count only in the profile namespace, under the expected name and owner uid (forged ones trigger nothing)', async () => {
    // Watching every namespace, so that objects elsewhere reach the watcher at all.
    const { clock, transport, start, stopAll, kinds } = setup({ namespaces: [] });
    transport.put(clusterProfilePath(), cp('a'));
    const w = start();
    await w.ready;
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a']);

    const intruder = [entry('intruder', { 'f:metadata': { 'f:annotations': {} } }, '2026-01-01T00:30:00Z')];
    const forged = [
      [secretPath(), managed('a-sveltos-kubeconfig', 'uid-a', intruder, 'elsewhere')],
      [sveltosClusterPath(), managed('a', 'uid-a', intruder, 'elsewhere')],
      [secretPath(), managed('b-sveltos-kubeconfig', 'uid-a', intruder)],
      [sveltosClusterPath(), managed('a-copy', 'uid-a', intruder)],
    ] as const;
    for (const [path, obj] of forged) transport.put(path, obj);
    for (const [path, obj] of forged) transport.emit(path, 'DELETED', obj);
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a']);
    assert.equal(w.counters.decisions.managedOrphanEvents, 4);

    // Control: the real one, deleted, is drift of a.
    transport.put(secretPath(), managed('a-sveltos-kubeconfig', 'uid-a', []));
    await clock.advance(1000);
    transport.emit(secretPath(), 'DELETED', managed('a-sveltos-kubeconfig', 'uid-a', []));
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a', 'resyncRequested a managed-secret-changed fleet/a-sveltos-kubeconfig']);
    await stopAll();
  });

  test('orphaned workflows (profile gone while unwatched) are told deletionRequested at start and at each relist', async () => {
    const { clock, transport, signaler, start, stopAll, kinds } = setup();
    const a = transport.put(clusterProfilePath(NS), cp('a'));
    const before = clock.now() - 60_000;
    const view = (name: string, uid: string, extra: Partial<RunningWorkflow> = {}): RunningWorkflow => ({
      workflowId: `clusterprofile/${extra.workflowId ?? NS}/${name}/${uid}`,
      runId: 'r',
      running: true,
      startedAtMs: before,
      observedHash: 'h',
      ...extra,
    });
    signaler.running.set('uid-a', { ...view('a', 'uid-a'), observedHash: hashOf(a) });
    // Gone while nobody watched: the one orphan.
    signaler.running.set('uid-gone', view('gone', 'uid-gone'));
    // Not orphans: already cleaning up; another namespace (not this watcher's); started after the list
    // began (its profile may be too new for the list); start time unknown.
    signaler.running.set('uid-del', view('del', 'uid-del', { phase: 'Deleting' }));
    signaler.running.set('uid-other', { ...view('o', 'uid-other'), workflowId: 'clusterprofile/other/o/uid-other' });
    signaler.running.set('uid-new', view('new', 'uid-new', { startedAtMs: clock.now() + 1 }));
    signaler.running.set('uid-unknown', { ...view('u', 'uid-unknown'), startedAtMs: undefined });
    const w = start();
    await w.ready;
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['deletionRequested gone']);
    assert.deepEqual(signaler.sent[0]?.ref, { namespace: NS, name: 'gone', uid: 'uid-gone' });
    assert.equal(signaler.sent[0]?.snapshot?.deleting, true);
    assert.equal(w.counters.decisions.orphanedWorkflows, 1);
    assert.equal(w.inspect('uid-gone'), undefined, 'forgotten once told');

    // Still running at the next periodic relist (e.g. its cleanup waits): told again, once. (The new
    // one would be an orphan too, by then: a later list lacks it. Here it completed meanwhile.)
    signaler.running.delete('uid-new');
    await clock.advance(300_000);
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['deletionRequested gone', 'deletionRequested gone']);
    assert.equal(w.counters.decisions.orphanedWorkflows, 2);
    // Once it reports Deleting, nothing more.
    signaler.running.set('uid-gone', view('gone', 'uid-gone', { phase: 'Deleting' }));
    await clock.advance(300_000);
    await clock.advance(1000);
    assert.equal(kinds().length, 2);
    await stopAll();
  });

  test('one visibility query per relist of all profile informers (two namespaces)', async () => {
    const { clock, transport, signaler, start, stopAll, kinds } = setup({ namespaces: ['fleet', 'other'] });
    const a = transport.put(clusterProfilePath('fleet'), cp('a'));
    const b = transport.put(clusterProfilePath('other'), cp('b', { ns: 'other' }));
    signaler.running.set('uid-a', { workflowId: 'w-a', runId: 'r', running: true, observedHash: hashOf(a) });
    signaler.running.set('uid-b', { workflowId: 'w-b', runId: 'r', running: true, observedHash: hashOf(b) });
    const w = start();
    await w.ready;
    await clock.advance(1000);
    assert.equal(signaler.listCalls, 1);
    assert.deepEqual(kinds(), []);

    await clock.advance(300_000);
    await clock.advance(1000);
    assert.equal(w.counters.informers.clusterprofiles.relistsPeriodic, 2);
    assert.equal(signaler.listCalls, 2, 'one query for the two relists');
    assert.deepEqual(kinds(), [], 'still converged');

    // The workflow of b closed (e.g. terminated by an operator): the next relist tries a signal-with-start
    // once; the server refuses it (the run completed), and later relists do not ask again.
    signaler.running.delete('uid-b');
    signaler.profileOutcome = 'already-done';
    await clock.advance(300_000);
    await clock.advance(1000);
    assert.equal(signaler.listCalls, 3);
    assert.deepEqual(kinds(), ['profileChanged b']);
    await clock.advance(301_000);
    assert.equal(signaler.listCalls, 4);
    assert.deepEqual(kinds(), ['profileChanged b']);
    await stopAll();
  });

  test('a failed signal is retried with backoff and counted', async () => {
    const { clock, transport, signaler, start, stopAll, kinds } = setup();
    const w = start();
    await w.ready;
    signaler.failures.push(new Error('UNAVAILABLE'), new Error('UNAVAILABLE'));
    transport.emit(clusterProfilePath(NS), 'ADDED', cp('a'));
    await clock.advance(1000);
    assert.equal(w.counters.signals.errors, 1);
    await clock.advance(1000 + 1000); // backoff 1 s, then the debounce window
    assert.equal(w.counters.signals.errors, 2);
    assert.deepEqual(kinds(), []);
    await clock.advance(2000 + 1000); // backoff 2 s, then the window
    assert.deepEqual(kinds(), ['profileChanged a']);
    await w.settled();
    await stopAll();
  });

  test('deletion: one deletionRequested while the profile lingers, nothing when it goes, then forgotten', async () => {
    const { clock, transport, start, stopAll, kinds } = setup();
    const path = clusterProfilePath(NS);
    transport.put(path, cp('a'));
    const w = start();
    await w.ready;
    await clock.advance(1000);
    const deleting = cp('a');
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    deleting.metadata.finalizers = ['x'];
    transport.emit(path, 'MODIFIED', deleting);
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a', 'deletionRequested a']);
    assert.equal(w.inspect('uid-a')?.deletionSignalled, true);
    assert.equal(w.inspect('uid-a')?.snapshot.deleting, true);
    // Drift while deleting is the cleanup itself: ignored.
    transport.emit(secretPath(NS), 'DELETED', managed('a-sveltos-kubeconfig', 'uid-a', []));
    deleting.metadata.finalizers = [];
    transport.emit(path, 'MODIFIED', deleting);
    transport.emit(path, 'DELETED', deleting);
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a', 'deletionRequested a']);
    assert.equal(w.inspect('uid-a'), undefined);
    await stopAll();
  });

  test('rate limit: a storm of 60 relevant changes in 7 s makes burst + refills signals, and the last state is delivered', async () => {
    const { clock, transport, start, stopAll, signaler } = setup({ debounceMs: 100, signalRateLimit: { burst: 3, intervalMs: 5000 } });
    const path = clusterProfilePath(NS);
    const w = start();
    await w.ready;
    transport.emit(path, 'ADDED', cp('a'));
    await clock.advance(100);
    assert.equal(signaler.sent.length, 1, "a new cluster's first signal-with-start is not delayed");
    let last = cp('a');
    for (let i = 0; i < 60; i++) {
      last = cp('a', { labels: { env: `v${i}` } });
      last.metadata.resourceVersion = String(100 + i);
      transport.emit(path, 'MODIFIED', last);
      await clock.advance(7000 / 60);
    }
    await clock.advance(20_000);
    await w.settled();
    const changed = signaler.sent.filter((x) => x.kind === 'profileChanged');
    // 1 (create) + 2 (rest of the burst) + one per 5 s over the ~7 s storm, + the trailing edge.
    assert.ok(changed.length <= 6, `${changed.length} profileChanged signals`);
    assert.ok(changed.length >= 3);
    assert.equal(changed.at(-1)?.snapshot?.observedHash, hashOf(last), 'the latest state is delivered at the trailing edge');
    assert.ok(w.counters.decisions.rateLimited > 0);
    await stopAll();
  });

  test('rate limit: deletion is never held, and a held change is dropped once the deletion went out', async () => {
    const { clock, transport, start, stopAll, kinds } = setup({ debounceMs: 100, signalRateLimit: { burst: 1, intervalMs: 60_000 } });
    const path = clusterProfilePath(NS);
    const w = start();
    await w.ready;
    transport.emit(path, 'ADDED', cp('a'));
    await clock.advance(100);
    transport.emit(path, 'MODIFIED', cp('a', { labels: { env: 'held' } }));
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a'], 'the change is held (the bucket is empty)');
    transport.emit(path, 'DELETED', cp('a', { labels: { env: 'held' } }));
    await clock.advance(100);
    assert.deepEqual(kinds(), ['profileChanged a', 'deletionRequested a'], 'deletion goes out at once');
    await clock.advance(120_000);
    await w.settled();
    assert.deepEqual(kinds(), ['profileChanged a', 'deletionRequested a']);
    await stopAll();
  });

  test('rate limit: other profiles are not held by one busy profile; intervalMs 0 disables it', async () => {
    const { clock, transport, start, stopAll, kinds } = setup({ debounceMs: 100, signalRateLimit: { burst: 1, intervalMs: 60_000 } });
    const path = clusterProfilePath(NS);
    const w = start();
    await w.ready;
    transport.emit(path, 'ADDED', cp('a'));
    await clock.advance(100);
    transport.emit(path, 'MODIFIED', cp('a', { labels: { env: 'b' } }));
    transport.emit(path, 'ADDED', cp('b'));
    await clock.advance(100);
    assert.deepEqual(kinds(), ['profileChanged a', 'profileChanged b']);
    await stopAll();

    const off = setup({ debounceMs: 100, signalRateLimit: { burst: 1, intervalMs: 0 } });
    const w2 = off.start();
    await w2.ready;
    for (let i = 0; i < 5; i++) {
      off.transport.emit(path, i === 0 ? 'ADDED' : 'MODIFIED', cp('a', { labels: { env: `v${i}` } }));
      await off.clock.advance(100);
    }
    assert.equal(off.kinds().length, 5);
    await off.stopAll();
  });

  test('a profile deleted outright (no finalizer) still gets deletionRequested', async () => {
    const { clock, transport, start, stopAll, kinds } = setup();
    const path = clusterProfilePath(NS);
    transport.put(path, cp('a'));
    const w = start();
    await w.ready;
    await clock.advance(1000);
    transport.emit(path, 'DELETED', cp('a'));
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a', 'deletionRequested a']);
    assert.equal(w.inspect('uid-a'), undefined);
    await stopAll();
  });

  test('decisions wait for the first visibility query, which is retried', async () => {
    const { clock, transport, signaler, start, stopAll, kinds } = setup();
    signaler.listBehaviour = 'fail';
    transport.put(clusterProfilePath(NS), cp('a'));
    const w = start();
    await clock.advance(5000);
    assert.equal(w.isReady(), false);
    assert.deepEqual(kinds(), []);
    signaler.listBehaviour = 'ok';
    await clock.advance(8000);
    await w.ready;
    await clock.advance(1000);
    assert.deepEqual(kinds(), ['profileChanged a']);
    await stopAll();
  });

  test('stop() does not hang on an unanswered visibility query or pending decisions', async () => {
    const { clock, transport, signaler, start } = setup();
    signaler.listBehaviour = 'hang';
    transport.put(clusterProfilePath(NS), cp('a'));
    const w = start();
    await clock.advance(1000);
    await w.stop();
    await drain();
    assert.equal(transport.openWatches().length, 0);
  });
});
