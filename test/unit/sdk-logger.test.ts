import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { LogTimestamp } from '@temporalio/worker';
import { createLogger } from '../../worker/logger.js';
import { sdkLogger } from '../../worker/telemetry.js';

function capture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('an SDK log line carries the time it was logged, not the time the SDK handed it over', () => {
  // The SDK buffers workflow and activity log lines (to order them with Core's) and hands them over up to
  // ~0.2 s later, with the original time in LogTimestamp (nanoseconds).
  const { stream, lines } = capture();
  const sdk = sdkLogger(createLogger('info', stream, 'json'));
  const loggedAt = Date.parse('2026-12-07T10:00:00.123Z');
  sdk.info('sync', { [LogTimestamp]: BigInt(loggedAt) * 1_000_000n, profile: 'demo/spoke-1' });
  sdk.log('WARN', 'no timestamp', { profile: 'demo/spoke-2' });
  const [stamped, now] = lines();
  assert.equal(stamped?.time, '2026-12-07T10:00:00.123Z');
  assert.equal(stamped?.profile, 'demo/spoke-1');
  assert.ok(Math.abs(Date.parse(String(now?.time)) - Date.now()) < 5_000, 'a line without one gets the current time');
  assert.equal(now?.level, 40);
  assert.equal(Object.keys(stamped ?? {}).filter((k) => k === 'time').length, 1);
});
