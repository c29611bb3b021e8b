import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
  validateDerivedNames,
  validateLabels,
  validateSecretName,
} from '../../../activities/credentials/names.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, secretNameFor } from '../../../activities/kube/types.js';
import { profile, thrown } from './fixtures.js';

void describe('derived names', () => {
  void test('secretNameFor appends -sveltos-kubeconfig', () => {
    assert.equal(secretNameFor('my-cluster'), 'my-cluster-sveltos-kubeconfig');
  });

  void test('the longest profile name whose Secret name fits is accepted', () => {
    const suffix = secretNameFor('').length;
    const name = 'a'.repeat(253 - suffix);
    assert.equal(validateSecretName(profile({ name })).length, 253);
  });

  void test('one character more is a clear error naming the profile and metadata.name', () => {
    const suffix = secretNameFor('').length;
    const name = 'a'.repeat(254 - suffix);
    const err = thrown(() => validateSecretName(profile({ name, namespace: 'fleet' })));
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, 'metadata.name');
    assert.ok(err.message.includes(`ClusterProfile fleet/${name}`));
    assert.ok(err.message.includes('254'));
    assert.ok(err.message.includes('253'));
  });

  void test('labels are copied with managed-by added', () => {
    const labels = validateLabels(profile({ labels: { env: 'prod', 'example.com/tier': 'gold', empty: '' } }));
    assert.deepEqual(labels, { env: 'prod', 'example.com/tier': 'gold', empty: '', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
  });

  void test('a label value of 63 characters is fine, 64 is an error naming the label', () => {
    validateLabels(profile({ labels: { ok: 'v'.repeat(63) } }));
    const err = thrown(() => validateLabels(profile({ labels: { region: 'v'.repeat(64) } })));
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, 'metadata.labels["region"]');
    assert.ok(err.message.includes('64'));
    assert.ok(err.message.includes('63'));
  });

  void test('label values with invalid syntax are an error', () => {
    for (const value of ['-starts-with-dash', 'ends.', 'has space', 'slash/inside']) {
      const err = thrown(() => validateLabels(profile({ labels: { k: value } })));
      assert.ok(err instanceof InvalidInputError, value);
      assert.equal(err.field, 'metadata.labels["k"]');
    }
  });

  void test('label keys are checked too', () => {
    for (const key of ['Bad_Prefix/x', `${'p'.repeat(254)}/x`, `x/${'n'.repeat(64)}`, '/x', 'a/b/c']) {
      assert.ok(thrown(() => validateLabels(profile({ labels: { [key]: 'v' } }))) instanceof InvalidInputError, key);
    }
  });

  void test('validateDerivedNames returns every derived name', () => {
    const names = validateDerivedNames(profile({ name: 'c1', labels: { a: 'b' } }));
    assert.equal(names.secretName, 'c1-sveltos-kubeconfig');
    assert.equal(names.sveltosClusterName, 'c1');
    assert.equal(names.sveltosClusterLabels.a, 'b');
    assert.ok(thrown(() => validateDerivedNames(profile({ name: 'Upper' }))) instanceof InvalidInputError);
  });

  void test('syntax helpers', () => {
    assert.ok(isDnsSubdomain('a.b-c.d'));
    assert.ok(!isDnsSubdomain('A'));
    assert.ok(!isDnsSubdomain(''));
    assert.ok(isLabelValue(''));
    assert.ok(isLabelValue('A_b.c-9'));
    assert.ok(!isLabelValue('_a'));
    assert.ok(isLabelKey('app.kubernetes.io/name'));
    assert.ok(!isLabelKey(''));
  });
});
