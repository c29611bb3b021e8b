// The list+watch loop's lifecycle, against a scripted transport and a manual clock: every step is
// counted (and the counters are what a metrics exporter will read).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newInformerCounters, type InformerCounters } from '../../../watcher/counters.js';
import { Reflector, listDiff, projectManaged, projectSourceSecret, type KubeObject, type ReflectorEvent, type RelistReason } from '../../../watcher/informers.js';
import { KubeHttpError } from '../../../watcher/kube-transport.js';
import { silentLogger } from '../../../watcher/log.js';
import { FakeClock, FakeTransport, drain } from './fakes.js';

const PATH = '/api/v1/namespaces/fleet/secrets';
const obj = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, namespace: 'fleet', uid: `uid-${name}`, ...extra } });

function setup(opts: { relistPeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const counters: InformerCounters = newInformerCounters();
  const events: Array<ReflectorEvent<KubeObject>> = [];
  const listed: RelistReason[] = [];
  const r = new Reflector<KubeObject>({
    informer: 'source-secrets',
    scope: 'fleet',
    path: PATH,
    metadataOnly: true,
    transport,
    clock,
    logger: silentLogger,
    counters,
    relistPeriodMs: opts.relistPeriodMs ?? 0,
    relistJitter: 0,
    watchTimeoutSeconds: 300,
    backoff: { initialMs: 1000, maxMs: 8000 },
    onEvent: (e) => events.push(e),
    onListed: ({ reason }) => listed.push(reason),
  });
  const summary = () => events.map((e) => `${e.type} ${e.object.metadata.name} ${e.via}${e.initial ? ' initial' : ''}`);
  return { clock, transport, counters, events, listed, r, summary };
}

describe('Reflector', () => {
  test('initial list (metadata-only), synced, then a watch from the list resourceVersion', async () => {
    const { transport, counters, r, summary, listed } = setup();
    transport.put(PATH, obj('a'));
    transport.put(PATH, obj('b'));
    r.start();
    await r.synced;
    await drain();
    assert.equal(r.hasSynced, true);
    assert.deepEqual(summary(), ['ADDED a list initial', 'ADDED b list initial']);
    assert.deepEqual(listed, ['initial']);
    assert.equal(transport.listCalls[0]?.metadataOnly, true);
    assert.equal(transport.watchCalls.length, 1);
    assert.equal(transport.watchCalls[0]?.resourceVersion, '102');
    assert.equal(transport.watchCalls[0]?.metadataOnly, true);
    assert.equal(counters.lists, 1);
    assert.equal(counters.watchConnects, 1);
    await r.stop();
  });

  test('watch events update the cache and carry the previous state', async () => {
    const { transport, counters, r, events, summary } = setup();
    r.start();
    await r.synced;
    await drain();
    transport.emit(PATH, 'ADDED', obj('a'));
    transport.emit(PATH, 'MODIFIED', obj('a', { labels: { x: 'y' } }));
    transport.raw(PATH, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '999' } } });
    transport.emit(PATH, 'DELETED', obj('a'));
    assert.deepEqual(summary(), ['ADDED a watch', 'MODIFIED a watch', 'DELETED a watch']);
    assert.equal(events[1]?.old?.metadata.resourceVersion, events[0]?.object.metadata.resourceVersion);
    assert.deepEqual(r.items(), []);
    assert.deepEqual([counters.added, counters.modified, counters.deleted, counters.bookmarks], [1, 1, 1, 1]);
    await r.stop();
  });

  test('410 Gone (ERROR event) → relist; the diff reports what changed meanwhile', async () => {
    const { transport, counters, r, summary, listed } = setup();
    transport.put(PATH, obj('keep'));
    transport.put(PATH, obj('change'));
    transport.put(PATH, obj('drop'));
    r.start();
    await r.synced;
    await drain();
    // Changes the watcher misses (no open watch sees them):
    transport.put(PATH, obj('change', { labels: { v: '2' } }));
    transport.remove(PATH, obj('drop'));
    transport.put(PATH, obj('new'));
    transport.raw(PATH, { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } });
    await drain();
    assert.equal(counters.relistsGone, 1);
    assert.equal(counters.lists, 2);
    assert.deepEqual(listed, ['initial', 'gone']);
    assert.deepEqual(summary().slice(3), ['MODIFIED change list', 'ADDED new list', 'DELETED drop list']);
    assert.equal(counters.watchConnects, 2, 'a fresh watch after the relist');
    await r.stop();
  });

  test('410 as an HTTP status of the watch request → relist', async () => {
    const { transport, counters, r } = setup();
    r.start();
    await r.synced;
    await drain();
    transport.failWatches(PATH, new KubeHttpError(410, 'Gone', 'watch: HTTP 410'));
    await drain();
    assert.equal(counters.relistsGone, 1);
    assert.equal(counters.lists, 2);
    assert.equal(counters.watchErrors, 0);
    await r.stop();
  });

  test('server-side close → reconnect from the last resourceVersion, counted', async () => {
    const { clock, transport, counters, r } = setup();
    r.start();
    await r.synced;
    await drain();
    await clock.advance(60_000); // the stream lived a while
    transport.emit(PATH, 'ADDED', obj('a'));
    transport.closeWatches(PATH);
    await drain();
    assert.equal(counters.watchCloses, 1);
    assert.equal(counters.watchReconnects, 1);
    assert.equal(counters.lists, 1, 'no relist');
    assert.equal(transport.watchCalls.at(-1)?.resourceVersion, r.items()[0]?.metadata.resourceVersion);
    await r.stop();
  });

  test('watch errors → backoff (on the clock) and reconnect; repeated failures → relist', async () => {
    const { clock, transport, counters, r } = setup();
    r.start();
    await r.synced;
    await drain();
    transport.failWatches(PATH, new Error('ECONNRESET'));
    await drain();
    assert.equal(counters.watchErrors, 1);
    assert.equal(transport.openWatches().length, 0, 'waiting for the backoff');
    await clock.advance(1000);
    assert.equal(transport.openWatches().length, 1);
    assert.equal(counters.watchReconnects, 1);
    // A non-410 ERROR event is a watch error too.
    transport.raw(PATH, { type: 'ERROR', object: { code: 500, reason: 'InternalError', message: 'boom' } });
    await drain();
    assert.equal(counters.watchErrors, 2);
    for (const wait of [2000, 4000, 8000]) {
      await clock.advance(wait);
      transport.failWatches(PATH, new Error('ECONNRESET'));
      await drain();
    }
    assert.equal(counters.watchErrors, 5);
    assert.equal(counters.relistsError, 1);
    await clock.advance(8000);
    assert.equal(counters.lists, 2);
    await r.stop();
  });

  test('list errors → backoff and retry until synced', async () => {
    const { clock, transport, counters, r } = setup();
    transport.listFailures.set(PATH, [new KubeHttpError(403, 'Forbidden', 'forbidden'), new Error('ECONNREFUSED')]);
    r.start();
    await drain();
    assert.equal(r.hasSynced, false);
    assert.equal(counters.listErrors, 1);
    await clock.advance(1000);
    assert.equal(counters.listErrors, 2);
    await clock.advance(2000);
    assert.equal(r.hasSynced, true);
    assert.equal(counters.lists, 1);
    await r.stop();
  });

  test('periodic relist as a safety net', async () => {
    const { clock, transport, counters, r, listed } = setup({ relistPeriodMs: 300_000 });
    r.start();
    await r.synced;
    await drain();
    await clock.advance(300_000);
    assert.equal(counters.relistsPeriodic, 1);
    assert.equal(counters.lists, 2);
    assert.deepEqual(listed, ['initial', 'periodic']);
    assert.equal(transport.openWatches().length, 1, 'the old watch was ended, a new one opened');
    await clock.advance(300_000);
    assert.equal(counters.relistsPeriodic, 2);
    await r.stop();
    assert.equal(clock.pendingTimers, 0, 'stop cancels the timers');
  });

  test('recreated under the same name while disconnected: DELETED old uid, ADDED new uid', async () => {
    const { transport, r, summary } = setup();
    transport.put(PATH, obj('a'));
    r.start();
    await r.synced;
    await drain();
    transport.put(PATH, { metadata: { name: 'a', namespace: 'fleet', uid: 'uid-a2' } });
    r.relist();
    await drain();
    assert.deepEqual(summary().slice(1), ['DELETED a list', 'ADDED a list']);
    await r.stop();
  });

  test('stop() ends the watch and the loop', async () => {
    const { transport, r } = setup();
    r.start();
    await r.synced;
    await drain();
    await r.stop();
    assert.equal(transport.openWatches().length, 0);
  });
});

describe('projections keep no Secret content', () => {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 's',
      namespace: 'fleet',
      uid: 'u',
      resourceVersion: '5',
      labels: { a: 'b' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"kubeconfig":"c2VjcmV0"}}' },
      ownerReferences: [{ apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: 'p', uid: 'pu' }],
      managedFields: [],
    },
    data: { kubeconfig: 'c2VjcmV0' },
    stringData: { kubeconfig: 'secret' },
  };
  test('source Secrets: identity and resourceVersion only', () => {
    assert.deepEqual(projectSourceSecret(secret), { metadata: { name: 's', namespace: 'fleet', uid: 'u', resourceVersion: '5' } });
  });
  test('managed objects: no annotations (last-applied-configuration can hold data), no data', () => {
    const p = projectManaged(secret)!;
    assert.equal(JSON.stringify(p).includes('c2VjcmV0'), false);
    assert.deepEqual(Object.keys(p), ['metadata']);
    assert.deepEqual(Object.keys(p.metadata).sort(), ['labels', 'managedFields', 'name', 'namespace', 'ownerReferences', 'resourceVersion', 'uid']);
  });
});

describe('listDiff (a relist against the cache)', () => {
  const obj = (name: string, uid: string, rv: string): KubeObject => ({ metadata: { namespace: 'fleet', name, uid, resourceVersion: rv } });
  const cache = (...objs: KubeObject[]) => new Map(objs.map((o) => [`fleet/${o.metadata.name}`, o]));
  const summary = (evs: Array<ReflectorEvent<KubeObject>>) => evs.map((e) => `${e.type} ${e.object.metadata.name}/${e.object.metadata.uid} ${e.initial ? 'initial' : ''}`.trim());

  test('added, modified (new resourceVersion), unchanged (nothing), deleted (missing from the list)', () => {
    const before = cache(obj('same', 'u1', '1'), obj('changed', 'u2', '1'), obj('gone', 'u3', '1'));
    const after = cache(obj('same', 'u1', '1'), obj('changed', 'u2', '2'), obj('new', 'u4', '1'));
    const evs = listDiff(before, after, false);
    assert.deepEqual(summary(evs), ['MODIFIED changed/u2', 'ADDED new/u4', 'DELETED gone/u3']);
    assert.equal(evs[0]?.old?.metadata.resourceVersion, '1');
    assert.ok(evs.every((e) => e.via === 'list'));
  });
  test('recreated under the same name (another uid): the old one DELETED, the new one ADDED', () => {
    assert.deepEqual(summary(listDiff(cache(obj('p', 'old', '1')), cache(obj('p', 'new', '2')), false)), ['DELETED p/old', 'ADDED p/new']);
  });
  test('only the first list\'s additions are initial', () => {
    assert.deepEqual(summary(listDiff(new Map<string, KubeObject>(), cache(obj('p', 'u', '1')), true)), ['ADDED p/u initial']);
    assert.deepEqual(summary(listDiff(new Map<string, KubeObject>(), cache(obj('p', 'u', '1')), false)), ['ADDED p/u']);
  });
});
