// The client-side token bucket (--kube-api-qps / --kube-api-burst), driven by a fake clock: no real time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket, type Clock } from '../../activities/kube/rate-limit.js';
import { rateLimitBucket } from '../../activities/kube/client.js';

/** A clock that only moves when told to; sleep() records the wait and advances time by it. */
function fakeClock(start = 1_000): Clock & { t: number; sleeps: number[]; advance(ms: number): void } {
  const clock = {
    t: start,
    sleeps: [] as number[],
    now: () => clock.t,
    advance(ms: number) {
      clock.t += ms;
    },
    sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      clock.sleeps.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

describe('TokenBucket', () => {
  test('lets a burst through at once, then spaces reservations by 1/qps', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 2, burst: 3, clock });
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(bucket.reserve(), 500);
    assert.equal(bucket.reserve(), 1000);
    assert.equal(bucket.reserve(), 1500);
  });

  test('refills with time, never above the burst', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 5, clock });
    for (let i = 0; i < 5; i++) bucket.reserve();
    assert.equal(bucket.available(), 0);
    clock.advance(200);
    assert.equal(bucket.available(), 2);
    clock.advance(60_000);
    assert.equal(bucket.available(), 5);
    for (let i = 0; i < 5; i++) assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 100);
  });

  test('take() waits exactly the reserved time on the injected clock', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 4, burst: 1, clock });
    await bucket.take();
    await bucket.take();
    await bucket.take();
    assert.deepEqual(clock.sleeps, [250, 250]);
  });

  test('concurrent callers are served in arrival order', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    const waits = [bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()];
    assert.deepEqual(waits, [0, 1000, 2000, 3000]);
  });

  test('an aborted wait gives its token back', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    bucket.reserve();
    const controller = new AbortController();
    controller.abort(new Error('activity cancelled'));
    await assert.rejects(bucket.take(controller.signal), /activity cancelled/);
    // Only the first reservation is outstanding: the next caller waits one interval, not two.
    assert.equal(bucket.reserve(), 1000);
  });

  test('tryTake() never waits', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 2, clock });
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
    clock.advance(1000);
    assert.equal(bucket.tryTake(), true);
  });

  test('qps <= 0 disables limiting', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 0, burst: 0, clock });
    for (let i = 0; i < 1000; i++) assert.equal(bucket.reserve(), 0);
    await bucket.take();
    assert.deepEqual(clock.sleeps, []);
    assert.equal(bucket.unlimited, true);
  });

  test('rejects a burst below 1 when limiting', () => {
    assert.throws(() => new TokenBucket({ qps: 5, burst: 0 }), /burst must be at least 1/);
    assert.throws(() => new TokenBucket({ qps: Number.NaN, burst: 1 }), /qps must be a number/);
  });

  test('a clock going backwards does not mint tokens', () => {
    const clock = fakeClock(10_000);
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    bucket.reserve();
    clock.advance(-5_000);
    assert.equal(bucket.available(), 0);
    clock.advance(5_000);
    assert.equal(bucket.available(), 0);
    clock.advance(1_000);
    assert.equal(bucket.available(), 1);
  });
});

describe('which bucket a request is charged to', () => {
  test('writes: one bucket per resource type, as the Go controller has one limiter per kind', () => {
    assert.equal(rateLimitBucket({ verb: 'apply', resource: 'secrets' }), 'secrets');
    assert.equal(rateLimitBucket({ verb: 'delete', resource: 'secrets' }), 'secrets');
    assert.equal(rateLimitBucket({ verb: 'apply', resource: 'sveltosclusters' }), 'sveltosclusters');
    assert.equal(rateLimitBucket({ verb: 'patch', resource: 'clusterprofiles' }), 'clusterprofiles');
    assert.equal(rateLimitBucket({ verb: 'create', resource: 'events' }), 'events');
  });

  test('reads are not charged (the Go controller reads from its cache)', () => {
    assert.equal(rateLimitBucket({ verb: 'get', resource: 'secrets' }), undefined);
    assert.equal(rateLimitBucket({ verb: 'get', resource: 'clusterprofiles' }), undefined);
  });
});
