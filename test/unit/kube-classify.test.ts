// Classification of Kubernetes API failures: which become non-retryable (ProfileGone, InvalidInput) and
// which stay retryable (KubeApiError), what the messages say, and that they never carry secrets,
// request bodies or response headers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { InvalidInputError, ProfileGoneError, toApplicationFailure } from '../../activities/errors.js';
import { classifyKubeError, isTransient, KubeApiError, parseStatus, type KubeOp } from '../../activities/kube/classify.js';
import { ErrorType } from '../../workflows/api.js';
import { assertNoSecret, JWT_TOKEN } from './credentials/fixtures.js';

function apiError(code: number, status: Record<string, unknown>, headers: Record<string, string> = {}): ApiException<string> {
  return new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', apiVersion: 'v1', code, ...status }), headers);
}

const secretApply: KubeOp = { verb: 'apply', kind: 'Secret', resource: 'secrets', namespace: 'fleet', name: 'spoke-1-sveltos-kubeconfig' };
const secretGet: KubeOp = { ...secretApply, verb: 'get' };
const profileGet: KubeOp = { verb: 'get', kind: 'ClusterProfile', resource: 'clusterprofiles.multicluster.x-k8s.io', namespace: 'fleet', name: 'spoke-1', profile: true };

describe('classifyKubeError', () => {
  test('404 of the ClusterProfile is ProfileGone (non-retryable)', () => {
    const err = classifyKubeError(apiError(404, { reason: 'NotFound', message: 'clusterprofiles "spoke-1" not found' }), profileGet);
    assert.ok(err instanceof ProfileGoneError);
    assert.equal(err.message, 'ClusterProfile fleet/spoke-1: no longer exists');
    const failure = toApplicationFailure(err);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, ErrorType.ProfileGone);
    assert.equal(failure.nonRetryable, true);
  });

  test('404 of anything else stays retryable', () => {
    const err = classifyKubeError(apiError(404, { reason: 'NotFound', message: 'the server could not find the requested resource' }), secretGet);
    assert.ok(err instanceof KubeApiError);
    assert.equal(err.status, 404);
    assert.equal(isTransient(err), true);
  });

  for (const [code, reason, pattern] of [
    [409, 'Conflict', /conflict on apply Secret fleet\/spoke-1-sveltos-kubeconfig, will retry/],
    [429, 'TooManyRequests', /throttled by the API server/],
    [500, 'InternalError', /API server error 500/],
    [503, 'ServiceUnavailable', /API server error 503/],
    [504, 'Timeout', /API server error 504/],
  ] as const) {
    test(`${code} ${reason} is a retryable KubeApiError`, () => {
      const err = classifyKubeError(apiError(code, { reason, message: 'the object has been modified' }), secretApply);
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.status, code);
      assert.match(err.message, pattern);
      assert.equal(isTransient(err), true);
      // toApplicationFailure leaves it alone, so Temporal retries it.
      assert.equal(toApplicationFailure(err), err);
    });
  }

  test('422 of our own write is InvalidInput naming the object and the field', () => {
    const err = classifyKubeError(
      apiError(422, {
        reason: 'Invalid',
        message: 'Secret "spoke-1-sveltos-kubeconfig" is invalid: metadata.labels: Invalid value: "x y": a valid label must be …',
        details: { name: 'spoke-1-sveltos-kubeconfig', kind: 'Secret', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.labels', message: 'Invalid value' }] },
      }),
      secretApply,
    );
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.object, 'Secret fleet/spoke-1-sveltos-kubeconfig');
    assert.equal(err.field, 'metadata.labels');
    assert.match(err.message, /rejected the apply \(422 Invalid\)/);
    const failure = toApplicationFailure(err) as ApplicationFailure;
    assert.equal(failure.type, ErrorType.InvalidInput);
    assert.equal(failure.nonRetryable, true);
  });

  test('400 of our own write is InvalidInput even without a field', () => {
    const err = classifyKubeError(apiError(400, { reason: 'BadRequest', message: 'error decoding patch' }), secretApply);
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, undefined);
  });

  test('400/422 of a read stays retryable', () => {
    assert.ok(classifyKubeError(apiError(422, { reason: 'Invalid', message: 'x' }), secretGet) instanceof KubeApiError);
  });

  test('403 names verb, resource and namespace and stays retryable', () => {
    const err = classifyKubeError(
      apiError(403, {
        reason: 'Forbidden',
        message: 'secrets "spoke-1-sveltos-kubeconfig" is forbidden: User "system:serviceaccount:x:y" cannot patch resource "secrets"',
      }),
      secretApply,
    );
    assert.ok(err instanceof KubeApiError);
    assert.match(err.message, /^forbidden: the controller may not apply secrets in namespace "fleet"/);
    assert.match(err.message, /RBAC/);
    assert.equal(isTransient(err), true);
  });

  test('network failures and timeouts are retryable and do not quote the URL', () => {
    const fetchError = Object.assign(new Error('request to https://10.0.0.1:6443/api/v1/namespaces/fleet/secrets/x failed, reason: connect ECONNREFUSED'), {
      name: 'FetchError',
      type: 'system',
      code: 'ECONNREFUSED',
      errno: 'ECONNREFUSED',
    });
    const err = classifyKubeError(fetchError, secretGet);
    assert.ok(err instanceof KubeApiError);
    assert.equal(err.reason, 'ECONNREFUSED');
    assert.doesNotMatch(err.message, /10\.0\.0\.1/);

    const timeout = classifyKubeError(new DOMException('timed out', 'TimeoutError'), secretGet, 30_000);
    assert.ok(timeout instanceof KubeApiError);
    assert.match(timeout.message, /timed out after 30000 ms/);

    const aborted = classifyKubeError(Object.assign(new Error('The user aborted a request.'), { name: 'AbortError', type: 'aborted' }), secretGet);
    assert.ok(aborted instanceof KubeApiError);
    assert.equal(aborted.reason, 'Aborted');
  });

  test('our own error classes pass through unchanged', () => {
    const invalid = new InvalidInputError('ClusterProfile fleet/a', 'spec', 'bad');
    assert.equal(classifyKubeError(invalid, secretApply), invalid);
  });

  test('messages carry neither secrets, nor request bodies, nor response headers', () => {
    const err = classifyKubeError(
      apiError(
        422,
        { reason: 'Invalid', message: `Secret "x" is invalid: data[kubeconfig]: token ${JWT_TOKEN} is not allowed` },
        { authorization: `Bearer ${JWT_TOKEN}`, 'audit-id': 'abc' },
      ),
      secretApply,
    );
    assertNoSecret(err.message);
    assert.doesNotMatch(err.message, /audit-id|HTTP-Code|Headers/);
    const unknown = classifyKubeError(new Error(`boom ${JWT_TOKEN}`), secretApply);
    assertNoSecret(unknown.message);
  });

  test('parseStatus copes with parsed and unparseable bodies', () => {
    assert.deepEqual(parseStatus({ code: 500, body: 'not json' }), { causes: [] });
    assert.equal(parseStatus({ code: 409, body: { message: 'm', reason: 'Conflict' } }).reason, 'Conflict');
    assert.deepEqual(parseStatus(undefined), { causes: [] });
  });
});
