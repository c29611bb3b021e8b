import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { ConflictError, InvalidInputError, ProfileGoneError, toApplicationFailure } from '../../../activities/errors.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../../../workflows/api.js';

void describe('errors', () => {
  void test('InvalidInputError names the object and the field', () => {
    const field = 'status.accessProviders[0].cluster.extensions[client.authentication.k8s.io/exec].key';
    const err = new InvalidInputError('ClusterProfile fleet/spoke-1', field, 'is required');
    assert.ok(err.message.includes('ClusterProfile fleet/spoke-1'));
    assert.ok(err.message.includes(field));
    assert.ok(err.message.includes('is required'));
    assert.equal(err.object, 'ClusterProfile fleet/spoke-1');
    assert.equal(err.field, field);
  });

  void test('InvalidInputError without a field still names the object', () => {
    const err = new InvalidInputError('provider file /p.json', undefined, 'cannot be read');
    assert.equal(err.message, 'provider file /p.json: cannot be read');
  });

  const cases: [string, Error, ErrorType][] = [
    ['InvalidInputError', new InvalidInputError('ClusterProfile a/b', 'spec', 'bad'), ErrorType.InvalidInput],
    ['ConflictError', new ConflictError('Secret a/b-sveltos-kubeconfig', 'exists and is not managed by us'), ErrorType.Conflict],
    ['ProfileGoneError', new ProfileGoneError('ClusterProfile a/b'), ErrorType.ProfileGone],
  ];
  for (const [name, err, type] of cases) {
    void test(`${name} becomes a non-retryable ApplicationFailure of type ${type}`, () => {
      const failure = toApplicationFailure(err);
      assert.ok(failure instanceof ApplicationFailure);
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, type);
      assert.equal(failure.message, err.message);
      assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(type));
      assert.equal(failure.cause, undefined, 'no cause: the original may carry data we do not want in history');
    });
  }

  void test('other errors are returned unchanged, so they stay retryable', () => {
    const err = new Error('connect ECONNREFUSED');
    assert.equal(toApplicationFailure(err), err);
    const retryable = ApplicationFailure.retryable('x', 'Y');
    assert.equal(toApplicationFailure(retryable), retryable);
  });

  void test('a thrown non-Error becomes an Error', () => {
    const failure = toApplicationFailure('boom');
    assert.ok(failure instanceof Error);
    assert.equal(failure.message, 'boom');
    assert.ok(!(failure instanceof ApplicationFailure));
    assert.ok(toApplicationFailure({ token: 'x' }) instanceof Error);
    assert.ok(!toApplicationFailure({ token: 'x' }).message.includes('x'));
  });
});
