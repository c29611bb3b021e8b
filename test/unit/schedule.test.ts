import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../../workflows/api.js';
import {
  REFRESH_FRACTION,
  degradedRetryDelayMs,
  formatDuration,
  nextRefreshAtMs,
  nextRefreshDelayMs,
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
  assert.equal(degradedRetryDelayMs(zero), 1);
});

void test('Degraded waits for the sync period', () => {
  assert.equal(degradedRetryDelayMs(schedule), 10 * MIN);
  assert.equal(degradedRetryDelayMs(DEFAULT_SCHEDULE), 10 * MIN);
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
