// The pure "decide" half of the Kubernetes activities: desired objects, ownership verdicts, Secret
// comparison, Event naming, and the guarded finalizer patches.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../activities/errors.js';
import { addFinalizerPatch, removeFinalizerPatch, removeOwnerReferencesPatch } from '../../activities/kube/client.js';
import {
  desiredEvent,
  desiredSecret,
  desiredSveltosCluster,
  EVENT_COMPONENT,
  eventName,
  ownerReferenceFor,
  secretDifferences,
} from '../../activities/kube/desired.js';
import { isOurs, ownership, staleOwnerReferences } from '../../activities/profile/ownership.js';
import {
  DISPLAY_NAME_ANNOTATION,
  FINALIZER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  type ClusterProfile,
  type V1ObjectMeta,
  type V1Secret,
} from '../../activities/kube/types.js';

function cp(opts: { name?: string; uid?: string; labels?: Record<string, string>; displayName?: string; finalizers?: string[] } = {}): ClusterProfile {
  const p: ClusterProfile = {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: { name: opts.name ?? 'spoke-1', namespace: 'fleet', uid: opts.uid ?? 'uid-1' },
    spec: { clusterManager: { name: 'test' } },
  };
  if (opts.labels) p.metadata.labels = opts.labels;
  if (opts.finalizers) p.metadata.finalizers = opts.finalizers;
  if (opts.displayName !== undefined) p.spec.displayName = opts.displayName;
  return p;
}

const KUBECONFIG = 'apiVersion: v1\nkind: Config\n';

describe('desiredSecret', () => {
  test('names, type, data, label and a controller ownerReference with the uid', () => {
    const s = desiredSecret(cp(), KUBECONFIG);
    assert.deepEqual(s, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'spoke-1-sveltos-kubeconfig',
        namespace: 'fleet',
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
        ownerReferences: [
          { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: 'spoke-1', uid: 'uid-1', controller: true, blockOwnerDeletion: false },
        ],
      },
      type: 'Opaque',
      data: { kubeconfig: Buffer.from(KUBECONFIG).toString('base64') },
    });
  });

  test('a name whose Secret name would be too long is InvalidInput', () => {
    assert.throws(() => desiredSecret(cp({ name: 'a'.repeat(240) }), KUBECONFIG), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.equal(e.field, 'metadata.name');
      return true;
    });
  });
});

describe('desiredSveltosCluster', () => {
  test('every profile label plus managed-by (which wins), spec names, no renewal option', () => {
    const sc = desiredSveltosCluster(cp({ labels: { env: 'prod', [MANAGED_BY_LABEL]: 'someone-else' } }));
    assert.equal(sc.metadata.name, 'spoke-1');
    assert.equal(sc.metadata.namespace, 'fleet');
    assert.deepEqual(sc.metadata.labels, { env: 'prod', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    assert.deepEqual(sc.spec, { kubeconfigName: 'spoke-1-sveltos-kubeconfig', kubeconfigKeyName: 'kubeconfig' });
    assert.equal('tokenRequestRenewalOption' in sc.spec, false);
    assert.equal(sc.metadata.ownerReferences[0]?.uid, 'uid-1');
    assert.equal('status' in sc, false);
  });

  test("Sveltos' own labels (projectsveltos.io/ and its subdomains) are not copied; managed-by stays", () => {
    const sc = desiredSveltosCluster(
      cp({ labels: { env: 'prod', 'projectsveltos.io/k8s-version': 'v1.30.0', 'sharding.projectsveltos.io/key': 's1', 'example.com/projectsveltos.io': 'kept' } }),
    );
    assert.deepEqual(sc.metadata.labels, { env: 'prod', 'example.com/projectsveltos.io': 'kept', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
  });

  test('display-name annotation only when spec.displayName is non-empty', () => {
    assert.deepEqual(desiredSveltosCluster(cp({ displayName: 'My Cluster' })).metadata.annotations, { [DISPLAY_NAME_ANNOTATION]: 'My Cluster' });
    assert.equal(desiredSveltosCluster(cp({ displayName: '' })).metadata.annotations, undefined);
    assert.equal(desiredSveltosCluster(cp()).metadata.annotations, undefined);
  });

  test('an invalid label value is InvalidInput naming the label', () => {
    assert.throws(
      () => desiredSveltosCluster(cp({ labels: { env: 'x'.repeat(64) } })),
      (e: unknown) => e instanceof InvalidInputError && e.field === 'metadata.labels["env"]',
    );
  });
});

describe('ownership', () => {
  const ref = { name: 'spoke-1', uid: 'uid-1' };
  const owner = (name: string, uid: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    name,
    uid,
    controller: true,
    ...extra,
  });
  const managed = (meta: Partial<V1ObjectMeta> = {}): V1ObjectMeta => ({ labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ...meta });

  test('without the managed-by label: foreign, whatever the owner', () => {
    assert.equal(ownership({}, ref).kind, 'foreign');
    assert.equal(ownership({ ownerReferences: [owner('spoke-1', 'uid-1')] }, ref).kind, 'foreign');
    const v = ownership({ labels: { [MANAGED_BY_LABEL]: 'sveltosctl' } }, ref);
    assert.equal(v.kind, 'foreign');
    assert.match(v.kind === 'foreign' ? v.why : '', /"sveltosctl"/);
  });

  test('managed-by and owned by this incarnation: ours', () => {
    assert.deepEqual(ownership(managed({ ownerReferences: [owner('spoke-1', 'uid-1')] }), ref), { kind: 'ours' });
  });

  test('managed-by without owner (made by the Go controller): adoptable', () => {
    assert.equal(ownership(managed(), ref).kind, 'adoptable');
  });

  test('owned by an earlier ClusterProfile of the same name: adoptable', () => {
    const v = ownership(managed({ ownerReferences: [owner('spoke-1', 'uid-0')] }), ref);
    assert.equal(v.kind, 'adoptable');
    assert.match(v.kind === 'adoptable' ? v.why : '', /uid-0/);
  });

  test('owned by another ClusterProfile, or controlled by something else: foreign', () => {
    assert.equal(ownership(managed({ ownerReferences: [owner('spoke-2', 'uid-9')] }), ref).kind, 'foreign');
    assert.equal(ownership(managed({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'u', controller: true }] }), ref).kind, 'foreign');
    // A non-controller owner of another kind does not matter.
    assert.equal(ownership(managed({ ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u' }] }), ref).kind, 'adoptable');
  });

  test('isOurs is "not foreign"', () => {
    assert.equal(isOurs(undefined, ref), false);
    assert.equal(isOurs({ metadata: managed() }, ref), true);
    assert.equal(isOurs({ metadata: {} }, ref), false);
  });
});

describe('secretDifferences', () => {
  const profile = cp();
  const desired = desiredSecret(profile, KUBECONFIG);
  const existing = (over: Partial<V1Secret> = {}, meta: Partial<V1ObjectMeta> = {}): V1Secret => ({
    metadata: {
      name: desired.metadata.name,
      namespace: 'fleet',
      labels: { ...desired.metadata.labels, 'someone/else': 'x' },
      annotations: { note: 'kept' },
      ownerReferences: [ownerReferenceFor(profile)],
      ...meta,
    },
    type: 'Opaque',
    data: { ...desired.data, 're-kubeconfig': 'b3RoZXI=' },
    ...over,
  });

  test('nothing to write when our key, label, owner and type match (others\' keys and labels are ignored)', () => {
    assert.deepEqual(secretDifferences(existing(), desired), []);
  });

  test('a changed kubeconfig, a lost label, a stale owner or a wrong type are differences', () => {
    assert.deepEqual(secretDifferences(existing({ data: { kubeconfig: Buffer.from('old').toString('base64') } }), desired), ['data.kubeconfig']);
    assert.deepEqual(secretDifferences(existing({}, { labels: {} }), desired), ['metadata.labels']);
    const stale = { ...ownerReferenceFor(profile), uid: 'uid-0' };
    assert.deepEqual(secretDifferences(existing({}, { ownerReferences: [stale] }), desired), ['metadata.ownerReferences']);
    assert.deepEqual(secretDifferences(existing({}, { ownerReferences: [ownerReferenceFor(profile), stale] }), desired), ['metadata.ownerReferences']);
    assert.deepEqual(secretDifferences(existing({}, { ownerReferences: [] }), desired), ['metadata.ownerReferences']);
    assert.deepEqual(secretDifferences(existing({ type: 'kubernetes.io/tls' }), desired), ['type']);
  });
});

describe('events', () => {
  const ref = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
  const event = { type: 'Warning' as const, reason: 'SyncFailed', message: 'ClusterProfile fleet/spoke-1: no supported access provider' };

  test('the same event maps to the same name; a different one does not', () => {
    assert.equal(eventName(ref, event), eventName(ref, { ...event }));
    assert.notEqual(eventName(ref, event), eventName(ref, { ...event, message: 'other' }));
    assert.notEqual(eventName(ref, event), eventName({ ...ref, uid: 'uid-2' }, event));
    assert.match(eventName(ref, event), /^spoke-1\.[0-9a-f]{16}$/);
    assert.ok(eventName({ ...ref, name: 'a'.repeat(253) }, event).length <= 253);
  });

  test('a core/v1 Event on the ClusterProfile with uid, source and reporting component', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const ev = desiredEvent(ref, event, now, 'worker-1');
    assert.equal(ev.metadata.namespace, 'fleet');
    assert.deepEqual(ev.involvedObject, { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' });
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.reason, 'SyncFailed');
    assert.equal(ev.source?.component, EVENT_COMPONENT);
    assert.equal(ev.reportingComponent, EVENT_COMPONENT);
    assert.equal(ev.reportingInstance, 'worker-1');
    assert.equal(ev.firstTimestamp, now);
    assert.equal(ev.count, 1);
    assert.equal(desiredEvent(ref, { ...event, message: 'x'.repeat(5000) }, now, 'w').message?.length, 1024);
  });
});

describe('finalizer patches', () => {
  test('adding to an absent list tests for null and creates it', () => {
    assert.deepEqual(addFinalizerPatch(cp(), FINALIZER), [
      { op: 'test', path: '/metadata/uid', value: 'uid-1' },
      { op: 'test', path: '/metadata/finalizers', value: null },
      { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
    ]);
  });

  test('adding to an existing list tests the whole list, then appends', () => {
    assert.deepEqual(addFinalizerPatch(cp({ finalizers: ['other/x'] }), FINALIZER), [
      { op: 'test', path: '/metadata/uid', value: 'uid-1' },
      { op: 'test', path: '/metadata/finalizers', value: ['other/x'] },
      { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER },
    ]);
  });

  test('removing tests the list and removes by index, keeping the others', () => {
    assert.deepEqual(removeFinalizerPatch(cp({ finalizers: ['a/b', FINALIZER, 'c/d'] }), FINALIZER), [
      { op: 'test', path: '/metadata/uid', value: 'uid-1' },
      { op: 'test', path: '/metadata/finalizers', value: ['a/b', FINALIZER, 'c/d'] },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
  });
});

describe('stale ownerReferences (name reuse)', () => {
  const ref = { name: 'spoke-1', uid: 'uid-1' };
  const cpRef = (name: string, uid: string) => ({ apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name, uid, controller: true });
  const meta: V1ObjectMeta = {
    resourceVersion: '42',
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'cm' }, cpRef('spoke-1', 'uid-0'), cpRef('spoke-1', 'uid-1')],
  };

  test('only references to an earlier ClusterProfile of the same name are stale', () => {
    assert.deepEqual(staleOwnerReferences(meta, ref), [1]);
    assert.deepEqual(staleOwnerReferences({ ownerReferences: [cpRef('spoke-2', 'uid-9')] }, ref), []);
    assert.deepEqual(staleOwnerReferences(undefined, ref), []);
  });

  test('their removal is guarded by the resourceVersion and the uid at each index', () => {
    assert.deepEqual(removeOwnerReferencesPatch(meta, [1]), [
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'test', path: '/metadata/ownerReferences/1/uid', value: 'uid-0' },
      { op: 'remove', path: '/metadata/ownerReferences/1' },
    ]);
    // Several: highest index first, so that earlier indexes stay valid.
    assert.deepEqual(
      removeOwnerReferencesPatch(meta, [0, 2]).map((o) => o.path),
      ['/metadata/resourceVersion', '/metadata/ownerReferences/2/uid', '/metadata/ownerReferences/2', '/metadata/ownerReferences/0/uid', '/metadata/ownerReferences/0'],
    );
  });
});
