import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { BoundedRetryError, ConflictError, InvalidInputError, ProfileGoneError, toApplicationFailure } from '../../../activities/errors.js';
import { EXEC_PLUGIN_MAX_ATTEMPTS, ExecPluginTransientError } from '../../../activities/credentials/exec-plugin.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../../../workflows/api.js';
import { MESSAGE_MAX } from '../../../workflows/text.js';

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

  void test('a BoundedRetryError stays retryable before its last attempt', () => {
    const err = new BoundedRetryError('ClusterProfile a/b: plugin did not finish within 2000 ms', 3);
    assert.equal(toApplicationFailure(err, 1), err);
    assert.equal(toApplicationFailure(err, 2), err);
    assert.equal(toApplicationFailure(err), err, 'outside an activity there is no attempt: retryable');
  });

  void test('a BoundedRetryError becomes non-retryable InvalidInput on its last attempt', () => {
    const err = new BoundedRetryError('ClusterProfile a/b: plugin did not finish within 2000 ms', 3);
    for (const attempt of [3, 4]) {
      const failure = toApplicationFailure(err, attempt);
      assert.ok(failure instanceof ApplicationFailure);
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, ErrorType.InvalidInput);
      assert.equal(failure.message, `${err.message} (gave up after ${attempt} attempts)`);
      assert.equal(failure.cause, undefined);
    }
  });

  void test('exec plugin timeouts are bounded retries', () => {
    const err = new ExecPluginTransientError('ClusterProfile a/b: status.accessProviders[0]: exec plugin "p" did not finish');
    assert.ok(err instanceof BoundedRetryError);
    assert.equal(err.name, 'ExecPluginTransientError');
    assert.equal(err.maxAttempts, EXEC_PLUGIN_MAX_ATTEMPTS);
    assert.equal(toApplicationFailure(err, EXEC_PLUGIN_MAX_ATTEMPTS - 1), err);
    assert.equal((toApplicationFailure(err, EXEC_PLUGIN_MAX_ATTEMPTS) as ApplicationFailure).nonRetryable, true);
  });

  void test('messages escape control characters and cap profile-sourced text', () => {
    const huge = `ctx\u001b[2J\u202e${'c'.repeat(1024 * 1024)}`;
    const err = new InvalidInputError('ClusterProfile a/b', `status.accessProviders[0].contexts[${huge}]`, `context "${huge}" does not exist`);
    assert.ok(!/[\p{Cc}\u202e]/u.test(err.message), 'no raw control or bidi characters');
    assert.ok(err.message.includes('ctx\\x1b[2J\\u202e'));
    assert.ok(err.message.length <= MESSAGE_MAX, `${err.message.length} characters`);
    assert.ok(err.message.startsWith('ClusterProfile a/b: status.accessProviders[0].contexts[ctx'));
    const failure = toApplicationFailure(err);
    assert.equal(failure.message, err.message, 'what reaches history is the safe message');
    for (const e of [new ConflictError('Secret a/b', huge), new ProfileGoneError('ClusterProfile a/b', huge), new BoundedRetryError(huge, 3)]) {
      assert.ok(e.message.length <= MESSAGE_MAX && !e.message.includes('\u001b'), e.name);
    }
  });

  void test('any other error keeps its name (retry classification) but gets a safe message', () => {
    const err = new Error(`admission webhook denied: label "\u001b]0;x\u0007${'v'.repeat(10_000)}"`);
    err.name = 'KubeApiError';
    const out = toApplicationFailure(err);
    assert.notEqual(out, err);
    assert.equal(out.name, 'KubeApiError');
    assert.ok(out.message.length <= MESSAGE_MAX && !out.message.includes('\u001b'));
    assert.ok(!(out.stack ?? '').includes('\u001b') && !(out.stack ?? '').includes('v'.repeat(MESSAGE_MAX)), 'the stack does not repeat the raw message');
  });
});
