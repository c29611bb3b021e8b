// managedFields shapes below are what kube-apiserver v1.36 returned for these very operations
// (server-side apply by our manager, merge patches by others, a status update).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../activities/kube/types.js';
import { detectDrift, fieldPaths, foreignWriters, ownedPaths } from '../../../watcher/drift.js';

type Meta = Pick<V1ObjectMeta, 'managedFields' | 'resourceVersion' | 'labels'>;
const API = 'lib.projectsveltos.io/v1beta1';
const T1 = '2026-11-23T21:25:23Z';
const T2 = '2026-11-23T21:26:40Z';

const ourApply = (labels: string[], time = T1) => ({
  apiVersion: API,
  fieldsType: 'FieldsV1',
  fieldsV1: {
    'f:metadata': { 'f:labels': Object.fromEntries(labels.map((l) => [`f:${l}`, {}])), 'f:ownerReferences': { 'k:{"uid":"u1"}': {} } },
    'f:spec': { 'f:kubeconfigKeyName': {}, 'f:kubeconfigName': {} },
  },
  manager: FIELD_MANAGER,
  operation: 'Apply',
  time,
});
const kubectlLabel = (labels: string[], time = T1) => ({
  apiVersion: API,
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:labels': Object.fromEntries(labels.map((l) => [`f:${l}`, {}])) } },
  manager: 'kubectl-label',
  operation: 'Update',
  time,
});
const statusUpdate = (time = T1) => ({
  apiVersion: API,
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:status': { '.': {}, 'f:connectionFailures': {}, 'f:ready': {} } },
  manager: 'sveltoscluster-manager',
  operation: 'Update',
  subresource: 'status',
  time,
});

const meta = (rv: string, managedFields: unknown[], labels: Record<string, string> = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, env: 'prod' }): Meta =>
  ({ resourceVersion: rv, labels, managedFields }) as Meta;

const drift = (kind: 'Secret' | 'SveltosCluster', type: 'ADDED' | 'MODIFIED' | 'DELETED', old: Meta | undefined, object: Meta) =>
  detectDrift({ kind, type, ...(old ? { old } : {}), object, fieldManager: FIELD_MANAGER });

const applied = meta('311', [ourApply([MANAGED_BY_LABEL, 'env'])]);

describe('fieldPaths / ownedPaths', () => {
  test('flattens FieldsV1 without "." markers', () => {
    assert.deepEqual(fieldPaths({ 'f:status': { '.': {}, 'f:ready': {} } }), ['f:status', 'f:status/f:ready']);
  });
  test('only our entries on the main resource', () => {
    const owned = ownedPaths(meta('1', [ourApply(['env']), kubectlLabel(['foreign']), statusUpdate()]), FIELD_MANAGER);
    assert.ok(owned.has('f:metadata/f:labels/f:env'));
    assert.ok(!owned.has('f:metadata/f:labels/f:foreign'));
    assert.ok(![...owned].some((p) => p.startsWith('f:status')));
  });
});

describe('SveltosCluster drift', () => {
  test('created by us: not drift', () => {
    assert.equal(drift('SveltosCluster', 'ADDED', undefined, applied).drift, false);
  });

  test('a label added by somebody else: not drift', () => {
    const next = meta('312', [ourApply([MANAGED_BY_LABEL, 'env']), kubectlLabel(['foreign'])]);
    assert.equal(drift('SveltosCluster', 'MODIFIED', applied, next).drift, false);
  });

  test('a label we set, removed by somebody else: drift, naming the field', () => {
    const withForeign = meta('312', [ourApply([MANAGED_BY_LABEL, 'env']), kubectlLabel(['foreign'])]);
    const removed = meta('313', [ourApply([MANAGED_BY_LABEL]), kubectlLabel(['foreign'])], { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, foreign: 'x' });
    const v = drift('SveltosCluster', 'MODIFIED', withForeign, removed);
    assert.equal(v.drift, true);
    assert.match(v.why, /f:metadata\/f:labels\/f:env/);
  });

  test('a label we set, overwritten by somebody else (ownership moves to them): drift', () => {
    const next = meta('312', [ourApply([MANAGED_BY_LABEL]), kubectlLabel(['env'])]);
    assert.equal(drift('SveltosCluster', 'MODIFIED', applied, next).drift, true);
  });

  test('spec we own edited by somebody else: drift', () => {
    const edited = ourApply([MANAGED_BY_LABEL, 'env']);
    delete (edited.fieldsV1['f:spec'] as Record<string, unknown>)['f:kubeconfigName'];
    const next = meta('312', [edited, { ...kubectlLabel([]), manager: 'kubectl-edit', fieldsV1: { 'f:spec': { 'f:kubeconfigName': {} } } }]);
    assert.equal(drift('SveltosCluster', 'MODIFIED', applied, next).drift, true);
  });

  test('sveltoscluster-manager writing status: not drift', () => {
    const next = meta('312', [ourApply([MANAGED_BY_LABEL, 'env']), statusUpdate()]);
    assert.equal(drift('SveltosCluster', 'MODIFIED', applied, next).drift, false);
  });

  test('our own apply dropping a label (removed from the ClusterProfile): not drift', () => {
    const next = meta('312', [ourApply([MANAGED_BY_LABEL], T2)], { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    assert.equal(drift('SveltosCluster', 'MODIFIED', applied, next).drift, false);
  });

  test('deleted: drift', () => {
    const v = drift('SveltosCluster', 'DELETED', applied, applied);
    assert.deepEqual(v, { drift: true, why: 'SveltosCluster deleted' });
  });

  test('managed-by label removed (the selector drops it, reported as a deletion): drift', () => {
    const v = drift('SveltosCluster', 'DELETED', applied, meta('312', [ourApply(['env'])], { env: 'prod' }));
    assert.equal(v.drift, true);
    assert.match(v.why, /no longer carries/);
  });

  test('same resourceVersion (a relist replaying the state): not drift', () => {
    assert.equal(drift('SveltosCluster', 'MODIFIED', applied, applied).drift, false);
  });
});

describe('Secret drift', () => {
  const secretApply = (time = T1) => ({
    apiVersion: 'v1',
    fieldsType: 'FieldsV1',
    fieldsV1: {
      'f:data': { 'f:kubeconfig': {} },
      'f:metadata': { 'f:labels': { [`f:${MANAGED_BY_LABEL}`]: {} }, 'f:ownerReferences': { 'k:{"uid":"u1"}': {} } },
      'f:type': {},
    },
    manager: FIELD_MANAGER,
    operation: 'Apply',
    time,
  });
  const ours = meta('20', [secretApply()]);

  test('our own rewrite (new content): not drift', () => {
    assert.equal(drift('Secret', 'MODIFIED', ours, meta('21', [secretApply(T2)])).drift, false);
  });

  test('data overwritten by another field manager: drift', () => {
    const stolen = secretApply();
    delete (stolen.fieldsV1 as Record<string, unknown>)['f:data'];
    const next = meta('21', [stolen, { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:kubeconfig': {} } }, manager: 'intruder', operation: 'Update', time: T2 }]);
    assert.equal(drift('Secret', 'MODIFIED', ours, next).drift, true);
  });

  test('any write by another field manager (even a label): drift, naming the manager', () => {
    const next = meta('21', [secretApply(), { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:x': {} } } }, manager: 'kubectl-label', operation: 'Update', time: T2 }]);
    const v = drift('Secret', 'MODIFIED', ours, next);
    assert.equal(v.drift, true);
    assert.match(v.why, /kubectl-label/);
  });

  test('an older foreign entry that did not change: not drift', () => {
    const foreign = { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:x': {} } } }, manager: 'kubectl-label', operation: 'Update', time: T1 };
    assert.equal(drift('Secret', 'MODIFIED', meta('20', [secretApply(), foreign]), meta('21', [secretApply(T2), foreign])).drift, false);
  });

  test('previous state unknown: the newest managedFields entry decides', () => {
    const foreignNewest = meta('21', [secretApply(T1), { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} }, manager: 'intruder', operation: 'Update', time: T2 }]);
    assert.equal(drift('Secret', 'MODIFIED', undefined, foreignNewest).drift, true);
    const oursNewest = meta('21', [secretApply(T2), { apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} }, manager: 'intruder', operation: 'Update', time: T1 }]);
    assert.equal(drift('Secret', 'MODIFIED', undefined, oursNewest).drift, false);
  });

  test('deleted: drift', () => {
    assert.equal(drift('Secret', 'DELETED', ours, ours).drift, true);
  });

  test('foreignWriters ignores status subresource entries', () => {
    assert.deepEqual(foreignWriters(meta('1', []), meta('2', [statusUpdate()]), FIELD_MANAGER), []);
  });
});

describe('managedFields of any depth', () => {
  test('fieldPaths walks a 20,000-deep fieldsV1 without the call stack, in preorder', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) deep = { [`f:a${i % 3}`]: deep, '.': {} };
    const paths = fieldPaths(deep);
    assert.equal(paths.length, 20_000);
    assert.deepEqual(fieldPaths({ 'f:a': { 'f:b': {}, 'f:c': { 'f:d': {} } }, 'f:e': {} }), ['f:a', 'f:a/f:b', 'f:a/f:c', 'f:a/f:c/f:d', 'f:e']);
  });
});
