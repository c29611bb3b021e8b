// The shared profile model (activities/profile/): the one reading of a ClusterProfile that the watcher
// and the activities both use, and the ownership rules for the objects we write.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../activities/errors.js';
import { FINALIZER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ClusterProfile } from '../../activities/kube/types.js';
import {
  chooseProvider,
  copiedLabels,
  displayNameOf,
  hasFinalizer,
  isDeleting,
  isNamespaceAllowed,
  isSveltosLabel,
  profileRef,
  secretReaderSource,
} from '../../activities/profile/model.js';
import { foreignContent, isManagedObjectOf, ownershipOf } from '../../activities/profile/ownership.js';
import { PROFILE_MAX_DEPTH, tooDeepField } from '../../activities/profile/bounds.js';

const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const CP_OWNER = { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', name: 'spoke-1', uid: 'uid-1', controller: true };

function profile(over: Partial<ClusterProfile['metadata']> = {}, extension: unknown = { name: 'src', key: 'kubeconfig' }): ClusterProfile {
  return {
    metadata: { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1', ...over },
    spec: { clusterManager: { name: 'm' }, displayName: 'Spoke' },
    status: {
      accessProviders: [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://x', extensions: [{ name: 'client.authentication.k8s.io/exec', extension }] } }],
    },
  };
}

describe('profile model', () => {
  test('identity, deletion, finalizer, display name', () => {
    assert.deepEqual(profileRef(profile()), REF);
    assert.equal(isDeleting(profile()), false);
    assert.equal(isDeleting(profile({ deletionTimestamp: new Date() })), true);
    assert.equal(hasFinalizer(profile()), false);
    assert.equal(hasFinalizer(profile({ finalizers: ['other', FINALIZER] })), true);
    assert.equal(displayNameOf(profile()), 'Spoke');
    assert.equal(displayNameOf({ spec: { clusterManager: { name: 'm' } } }), '');
  });

  test('Sveltos label domain: projectsveltos.io and its subdomains only', () => {
    for (const k of ['projectsveltos.io/k8s-version', 'sharding.projectsveltos.io/key', 'a.b.projectsveltos.io/x', 'ProjectSveltos.IO/x']) assert.equal(isSveltosLabel(k), true, k);
    for (const k of ['env', 'example.com/x', 'notprojectsveltos.io/x', 'projectsveltos.io.example.com/x', 'example.com/projectsveltos.io']) assert.equal(isSveltosLabel(k), false, k);
    assert.deepEqual(copiedLabels(profile({ labels: { env: 'a', 'projectsveltos.io/k8s-version': 'v1' } })), { env: 'a' });
  });

  test('namespace allow-list: own namespace always; listed ones; * any', () => {
    assert.equal(isNamespaceAllowed('fleet', 'fleet', []), true);
    assert.equal(isNamespaceAllowed('shared', 'fleet', []), false);
    assert.equal(isNamespaceAllowed('shared', 'fleet', ['shared']), true);
    assert.equal(isNamespaceAllowed('kube-system', 'fleet', ['*']), true);
  });

  test('secretReaderSource: one validated ref, or the activity\'s own InvalidInputError', () => {
    assert.deepEqual(secretReaderSource(profile(), []), { namespace: 'fleet', name: 'src', key: 'kubeconfig' });
    assert.throws(
      () => secretReaderSource(profile({}, { name: 'src', key: 'k', namespace: 'kube-system' }), []),
      (e: unknown) => e instanceof InvalidInputError && /\.namespace$/.test(e.field ?? '') && /--secret-reader-namespaces/.test(e.message),
    );
    const p = profile();
    p.status!.accessProviders![0]!.cluster!.extensions!.push({ name: 'client.authentication.k8s.io/exec', extension: { name: 'other', key: 'k' } });
    assert.throws(() => secretReaderSource(p, ['*']), /appears 2 times/);
    const plugin = profile();
    plugin.status!.accessProviders![0]!.name = 'eks';
    assert.equal(secretReaderSource(plugin, ['*']), undefined);
  });
});

describe('ownership of managed objects', () => {
  const label = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };

  test('foreignContent: an allowlist of what we write and the API defaults', () => {
    const sc = (spec: Record<string, unknown>) => ({ metadata: { labels: label }, spec });
    assert.equal(foreignContent('SveltosCluster', sc({ kubeconfigName: 'spoke-1-sveltos-kubeconfig', kubeconfigKeyName: 'kubeconfig', consecutiveFailureThreshold: 3, pullMode: false }), REF), undefined);
    // Token renewal is left to Sveltos (ADR 10): the option and the key it switches to do not block adoption.
    assert.equal(foreignContent('SveltosCluster', sc({ tokenRequestRenewalOption: { renewTokenRequestInterval: '1h' } }), REF), undefined);
    assert.equal(foreignContent('SveltosCluster', sc({ kubeconfigKeyName: 're-kubeconfig', tokenRequestRenewalOption: { renewTokenRequestInterval: '1h' } }), REF), undefined);
    assert.equal(foreignContent('SveltosCluster', sc({ kubeconfigKeyName: 'mine', tokenRequestRenewalOption: { renewTokenRequestInterval: '1h', kubeconfigKeyName: 'mine' } }), REF), undefined);
    assert.equal(foreignContent('SveltosCluster', sc({ kubeconfigKeyName: 're-kubeconfig' }), REF), 'spec.kubeconfigKeyName ("re-kubeconfig")');
    assert.equal(foreignContent('SveltosCluster', sc({ data: { a: 'b' } }), REF), 'spec.data');
    assert.equal(foreignContent('SveltosCluster', sc({ paused: true }), REF), 'spec.paused');
    assert.equal(foreignContent('SveltosCluster', sc({ consecutiveFailureThreshold: 5 }), REF), 'spec.consecutiveFailureThreshold');
    assert.equal(foreignContent('SveltosCluster', sc({ kubeconfigName: 'kamaji-admin' }), REF), 'spec.kubeconfigName ("kamaji-admin")');
    assert.equal(foreignContent('Secret', { type: 'Opaque', data: { kubeconfig: 'eA==' } }, REF), undefined);
    assert.equal(foreignContent('Secret', { type: 'Opaque', data: { kubeconfig: 'eA==', 're-kubeconfig': 'eQ==' } }, REF), undefined);
    assert.equal(foreignContent('Secret', { type: 'Opaque', data: { kubeconfig: 'eA==', other: 'eQ==' } }, REF), 'data["other"]');
    assert.equal(foreignContent('Secret', { type: 'kubernetes.io/service-account-token' }, REF), 'type ("kubernetes.io/service-account-token")');
  });

  test('ownershipOf: foreign content blocks adoption only; an object already ours stays ours', () => {
    const extra = { spec: { paused: true } };
    assert.equal(ownershipOf('SveltosCluster', { metadata: { labels: label }, ...extra }, REF).kind, 'foreign');
    assert.equal(ownershipOf('SveltosCluster', { metadata: { labels: label }, spec: {} }, REF).kind, 'adoptable');
    assert.equal(ownershipOf('SveltosCluster', { metadata: { labels: label, ownerReferences: [CP_OWNER] }, ...extra }, REF).kind, 'ours');
  });

  test('isManagedObjectOf: namespace, expected name and owner uid must all match', () => {
    const meta = (namespace: string, name: string, uid = 'uid-1') => ({ namespace, name, ownerReferences: [{ ...CP_OWNER, uid }] });
    assert.equal(isManagedObjectOf('Secret', meta('fleet', 'spoke-1-sveltos-kubeconfig'), REF), true);
    assert.equal(isManagedObjectOf('SveltosCluster', meta('fleet', 'spoke-1'), REF), true);
    assert.equal(isManagedObjectOf('Secret', meta('elsewhere', 'spoke-1-sveltos-kubeconfig'), REF), false);
    assert.equal(isManagedObjectOf('Secret', meta('fleet', 'spoke-1'), REF), false);
    assert.equal(isManagedObjectOf('SveltosCluster', meta('fleet', 'spoke-2'), REF), false);
    assert.equal(isManagedObjectOf('SveltosCluster', meta('fleet', 'spoke-1', 'uid-2'), REF), false);
    assert.equal(isManagedObjectOf('SveltosCluster', { namespace: 'fleet', name: 'spoke-1' }, REF), false);
  });
});

describe('profile depth bound', () => {
  const deep = (depth: number): Record<string, unknown> => {
    let v: Record<string, unknown> = { name: 'src', key: 'kubeconfig' };
    for (let i = 0; i < depth; i++) v = { ...(i === depth - 1 ? { name: 'src', key: 'kubeconfig' } : {}), nested: v };
    return v;
  };

  test('a 5,000-deep extension is refused before anything walks it, naming the field', () => {
    const p = profile({}, deep(5000));
    for (const run of [() => chooseProvider(p, { providers: [] } as never), () => secretReaderSource(p, ['*'])]) {
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof InvalidInputError, String(err));
        assert.ok(err.field?.startsWith('status.accessProviders[0].cluster.extensions[0].extension'), err.field);
        assert.match(err.message, /ClusterProfile fleet\/spoke-1/);
        assert.match(err.message, new RegExp(`nests deeper than ${PROFILE_MAX_DEPTH} levels`));
        return true;
      });
    }
  });

  test('tooDeepField: the bound, exactly', () => {
    const chain = (n: number) => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    // {x: [[…1]]}: the root is depth 0, x's array depth 1, …
    assert.equal(tooDeepField({ x: chain(PROFILE_MAX_DEPTH) }), undefined);
    assert.equal(tooDeepField({ x: chain(PROFILE_MAX_DEPTH + 1) }), 'x[0][0][0][0][0][0][0]…');
    assert.equal(tooDeepField({ a: { b: 1 }, c: [{ d: 'e' }] }), undefined);
  });

  test('a shallow profile with a big extension passes (size is the API server\'s to bound; the walk is iterative)', () => {
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, { v: i }]));
    assert.equal(secretReaderSource(profile({}, { name: 'src', key: 'kubeconfig', wide }), ['*'])?.name, 'src');
  });
});
