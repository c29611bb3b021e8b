import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { providerWaitFailure } from '../../../activities/providers/wait-retry.js';
import { ErrorType, PROVIDER_BUSY, PROVIDER_WAIT_BUDGET_MS, PROVIDER_WAIT_MAX_ATTEMPTS, TRANSIENT_CREDENTIAL_ERROR } from '../../../workflows/api.js';
import { PROVIDER_BUSY_MAX_MS } from '../../../workflows/schedule.js';

const NOW = Date.parse('2026-12-07T10:00:00Z');
const wait = { execMode: 'wait' as const };
const at = (attempt: number, random = 0.5) => ({ attempt, nowMs: NOW, random });
const failure = (type: string, details: object = {}) => ApplicationFailure.create({ message: `access provider "idp": ${type}`, type, nonRetryable: true, details: [details] });

void test('a busy, unavailable or failing provider in a wait leaves as a retry Temporal schedules, with the delay, details kept', () => {
  for (const type of [PROVIDER_BUSY, ErrorType.ProviderUnavailable, TRANSIENT_CREDENTIAL_ERROR]) {
    const out = providerWaitFailure(failure(type, { schedule: { syncPeriodMs: 600_000 } }), wait, at(1));
    assert.ok(out instanceof ApplicationFailure);
    assert.equal(out.nonRetryable, false, type);
    assert.equal(out.type, type);
    assert.ok(typeof out.nextRetryDelay === 'number' && out.nextRetryDelay >= 1_000, `${type}: ${String(out.nextRetryDelay)}`);
    assert.deepEqual(out.details, [{ schedule: { syncPeriodMs: 600_000 } }]);
  }
});

void test('the delay grows with the attempt, stays within the cap, and honours the breaker (retryAfterMs)', () => {
  const delay = (attempt: number, details: object = {}) => (providerWaitFailure(failure(PROVIDER_BUSY, details), wait, at(attempt, 1)) as ApplicationFailure).nextRetryDelay as number;
  assert.ok(delay(1) < delay(2) && delay(2) < delay(3), `${delay(1)} ${delay(2)} ${delay(3)}`);
  assert.ok(delay(10) <= PROVIDER_BUSY_MAX_MS);
  assert.ok(delay(1, { retryAfterMs: 20_000 }) >= 20_000, 'not before the breaker admits a probe');
});

void test('before the held credential expires: at most half the time left', () => {
  const out = providerWaitFailure(failure(ErrorType.ProviderUnavailable, { retryAfterMs: 60_000 }), { execMode: 'wait', previousExpiresAtMs: NOW + 8_000 }, at(3, 1));
  assert.ok((out as ApplicationFailure).nextRetryDelay as number <= 4_000);
});

void test('unchanged: the last attempt, other failures, other modes', () => {
  const last = failure(PROVIDER_BUSY);
  assert.equal(providerWaitFailure(last, wait, at(PROVIDER_WAIT_MAX_ATTEMPTS)), last);
  const invalid = failure(ErrorType.InvalidInput);
  assert.equal(providerWaitFailure(invalid, wait, at(1)), invalid);
  const busy = failure(PROVIDER_BUSY);
  assert.equal(providerWaitFailure(busy, { execMode: 'activity' }, at(1)), busy);
  assert.equal(providerWaitFailure(busy, {}, at(1)), busy);
  const plain = new Error('boom');
  assert.equal(providerWaitFailure(plain, wait, at(1)), plain);
});

void test('a wait gives up when its next attempt would start after the budget: the workflow records the outage', () => {
  const busy = failure(PROVIDER_BUSY);
  const early = providerWaitFailure(busy, wait, { ...at(3), waitingSinceMs: NOW - 10_000 });
  assert.equal((early as ApplicationFailure).nonRetryable, false);
  assert.equal(providerWaitFailure(busy, wait, { ...at(3), waitingSinceMs: NOW - PROVIDER_WAIT_BUDGET_MS }), busy);
});
