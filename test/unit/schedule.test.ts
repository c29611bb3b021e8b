import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../../workflows/api.js';
import {
  REFRESH_FRACTION,
  RETRY_BASE_MS,
  RETRY_FLOOR_MS,
  RETRY_MIN_NEAR_EXPIRY_MS,
  failedRefreshDelayMs,
  formatDuration,
  nextRefreshAtMs,
  nextRefreshDelayMs,
  providerBusyDelayMs,
  spreadRetryDelayMs,
} from '../../workflows/schedule.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const schedule: ScheduleConfig = { syncPeriodMs: 10 * MIN, minRefreshMs: 1 * MIN };

void test('with expiry: refresh at 80% of the remaining lifetime (1 h TTL → 48 min)', () => {
  assert.equal(REFRESH_FRACTION, 0.8);
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now + HOUR, schedule }), 48 * MIN);
  assert.equal(nextRefreshAtMs({ nowMs: now, expiresAtMs: now + HOUR, schedule }), now + 48 * MIN);
});

void test('with expiry: long lifetimes are not capped by the sync period', () => {
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now + 24 * HOUR, schedule }), 19 * HOUR + 12 * MIN); // 0.8 × 24 h
});

void test('with expiry: the floor applies to short lifetimes', () => {
  // 0.8 × 1 min = 48 s < 1 min floor
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now + MIN, schedule }), MIN);
  // exactly at the floor: 0.8 × 75 s = 60 s
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now + 75_000, schedule }), MIN);
  // just above the floor
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now + 100_000, schedule }), 80_000);
});

void test('expiry now or in the past gives the floor, never zero or negative', () => {
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now, schedule }), MIN);
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now - HOUR, schedule }), MIN);
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: 0, schedule }), MIN);
});

void test('without expiry: every sync period', () => {
  assert.equal(nextRefreshDelayMs({ nowMs: now, schedule }), 10 * MIN);
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: undefined, schedule }), 10 * MIN);
  assert.equal(nextRefreshDelayMs({ nowMs: now, schedule: { syncPeriodMs: 3 * MIN, minRefreshMs: MIN } }), 3 * MIN);
  assert.equal(nextRefreshDelayMs({ nowMs: now, schedule: DEFAULT_SCHEDULE }), DEFAULT_SCHEDULE.syncPeriodMs);
});

void test('a non-finite expiry is treated as no expiry', () => {
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: Number.NaN, schedule }), 10 * MIN);
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: Number.POSITIVE_INFINITY, schedule }), 10 * MIN);
});

void test('fractions of a millisecond are rounded down; the delay is an integer', () => {
  const d = nextRefreshDelayMs({ nowMs: now, expiresAtMs: now + 123_457, schedule: { syncPeriodMs: MIN, minRefreshMs: 1 } });
  assert.equal(d, 98_765);
  assert.ok(Number.isInteger(d));
});

void test('degenerate schedules still give a positive timer', () => {
  const zero: ScheduleConfig = { syncPeriodMs: 0, minRefreshMs: 0 };
  assert.equal(nextRefreshDelayMs({ nowMs: now, schedule: zero }), 1);
  assert.equal(nextRefreshDelayMs({ nowMs: now, expiresAtMs: now - 1, schedule: zero }), 1);
});

void test('formatDuration for timer summaries', () => {
  assert.equal(formatDuration(48 * MIN), '48m');
  assert.equal(formatDuration(10 * MIN), '10m');
  assert.equal(formatDuration(90 * MIN), '1h30m');
  assert.equal(formatDuration(2 * 24 * HOUR + HOUR), '2d1h');
  assert.equal(formatDuration(80_000), '1m20s');
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(0), '0ms');
});

test('a failed refresh of a 150 s token is retried before the token expires, with shrinking steps', () => {
  // Refreshed at 80% (120 s after issue): 30 s left when the refresh fails.
  const schedule = DEFAULT_SCHEDULE;
  let nowMs = 120_000;
  const expiresAtMs = 150_000;
  const attempts: number[] = [];
  for (let failures = 1; nowMs < expiresAtMs; failures++) {
    nowMs += failedRefreshDelayMs({ nowMs, expiresAtMs, failures, transient: true, schedule });
    attempts.push(nowMs);
  }
  assert.ok(attempts.filter((t) => t < expiresAtMs).length >= 2, `at least two retries before expiry: ${attempts.join(', ')}`);
  for (let i = 1; i < attempts.length; i++) {
    // The floor holds while two floors of the credential are left; then half of what is left, at least 1 s.
    const left = expiresAtMs - attempts[i - 1]!;
    const floor = Math.min(RETRY_FLOOR_MS, Math.max(RETRY_MIN_NEAR_EXPIRY_MS, Math.floor(left / 2)));
    assert.ok(attempts[i]! - attempts[i - 1]! >= floor, `never closer than ${floor} ms: ${attempts.join(', ')}`);
  }
});

test('a refresh of a 30 s token that fails once at 80% is retried halfway to the expiry, not a 5 s floor later', () => {
  // 6 s left when the refresh fails: waiting the floor (5 s) would leave 1 s for the retry to write.
  const delay = failedRefreshDelayMs({ nowMs: 24_000, expiresAtMs: 30_000, failures: 1, transient: true, schedule: DEFAULT_SCHEDULE });
  assert.equal(delay, 3_000);
  assert.equal(failedRefreshDelayMs({ nowMs: 29_500, expiresAtMs: 30_000, failures: 3, transient: true, schedule: DEFAULT_SCHEDULE }), RETRY_MIN_NEAR_EXPIRY_MS);
});

test('transient failures back off exponentially up to the sync period; input errors wait for the sync period', () => {
  const schedule: ScheduleConfig = { syncPeriodMs: 10 * MIN, minRefreshMs: MIN };
  const d = (failures: number, transient = true) => failedRefreshDelayMs({ nowMs: 0, failures, transient, schedule });
  assert.equal(d(1), RETRY_BASE_MS);
  assert.equal(d(2), 2 * RETRY_BASE_MS);
  assert.equal(d(3), 4 * RETRY_BASE_MS);
  assert.equal(d(30), schedule.syncPeriodMs);
  assert.equal(d(1, false), schedule.syncPeriodMs);
});

test('an EKS 15-minute token refreshed at 12 min is retried before 15 min even for an input error', () => {
  const schedule: ScheduleConfig = { syncPeriodMs: 10 * MIN, minRefreshMs: MIN };
  const nowMs = 12 * MIN;
  const delay = failedRefreshDelayMs({ nowMs, expiresAtMs: 15 * MIN, failures: 1, transient: false, schedule });
  assert.ok(nowMs + delay < 15 * MIN);
  assert.equal(delay, 1.5 * MIN);
});

test('after expiry, retries keep backing off (no hot loop)', () => {
  const schedule: ScheduleConfig = { syncPeriodMs: 10 * MIN, minRefreshMs: MIN };
  const delays = [1, 2, 3, 4].map((failures) => failedRefreshDelayMs({ nowMs: 20 * MIN, expiresAtMs: 15 * MIN, failures, transient: true, schedule }));
  assert.deepEqual(delays, [RETRY_BASE_MS, 2 * RETRY_BASE_MS, 4 * RETRY_BASE_MS, 8 * RETRY_BASE_MS]);
});

void describe('retries spread over the fleet (provider outages)', () => {
  void test('spreadRetryDelayMs: between half the delay and the delay; never later, so the held-credential bound holds', () => {
    assert.equal(spreadRetryDelayMs({ delayMs: 60_000, random: 0 }), 30_000);
    assert.equal(spreadRetryDelayMs({ delayMs: 60_000, random: 0.999999 }), 59_999);
    const values = new Set(Array.from({ length: 50 }, (_, i) => spreadRetryDelayMs({ delayMs: 60_000, random: i / 50 })));
    assert.ok(values.size >= 45, 'distinct delays for distinct draws');
    for (const v of values) assert.ok(v >= 30_000 && v <= 60_000, String(v));
  });

  void test('spreadRetryDelayMs: not before the breaker admits a probe, unless that is later than the delay', () => {
    assert.equal(spreadRetryDelayMs({ delayMs: 60_000, notBeforeMs: 50_000, random: 0 }), 50_000);
    assert.equal(spreadRetryDelayMs({ delayMs: 20_000, notBeforeMs: 90_000, random: 0.5 }), 20_000, 'the expiry-bounded delay wins');
    assert.equal(spreadRetryDelayMs({ delayMs: 8_000, random: 0 }), 5_000, 'never under the retry floor');
    assert.equal(spreadRetryDelayMs({ delayMs: 3_000, random: 0 }), 3_000, 'a delay under the floor is kept as is');
  });

  void test('failedRefreshDelayMs with a breaker probe time: plans up to 1.5× that, within the period and the expiry bound', () => {
    const base = { nowMs: 0, failures: 1, transient: true, schedule: DEFAULT_SCHEDULE };
    assert.equal(failedRefreshDelayMs({ ...base, notBeforeMs: 40_000 }), 60_000);
    assert.equal(failedRefreshDelayMs({ ...base, notBeforeMs: 4_000 }), RETRY_BASE_MS, 'a back-off longer than the probe time wins');
    assert.equal(failedRefreshDelayMs({ ...base, notBeforeMs: 40_000, expiresAtMs: 50_000 }), 25_000, 'the held credential comes first');
    assert.equal(failedRefreshDelayMs({ ...base, notBeforeMs: 3_600_000 }), DEFAULT_SCHEDULE.syncPeriodMs);
  });

  void test('providerBusyDelayMs: short, growing, capped, spread, and at most half the time left on the credential', () => {
    const at = (busyRetries: number, random: number, expiresAtMs?: number) => providerBusyDelayMs({ nowMs: 0, busyRetries, random, expiresAtMs });
    assert.deepEqual([1, 2, 3, 10].map((n) => at(n, 1)), [5_000, 10_000, 20_000, 60_000]);
    assert.equal(at(1, 0), 2_500);
    assert.equal(at(10, 1, 20_000), 10_000);
    assert.equal(at(10, 1, 500), 1_000, 'a floor of a second');
    assert.equal(providerBusyDelayMs({ nowMs: 0, busyRetries: 1, random: 1, notBeforeMs: 10_000 }), 20_000, 'a slow provider: up to twice its timeout');
    assert.equal(providerBusyDelayMs({ nowMs: 0, busyRetries: 1, random: 0, notBeforeMs: 10_000 }), 10_000);
  });
});
