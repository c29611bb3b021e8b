import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConcurrencyLimiter } from '../../../activities/providers/limiter.js';
import { FakeClock } from './fake-clock.js';

const tick = () => new Promise((r) => setImmediate(r));

void describe('concurrency limiter', () => {
  void test('tryAcquire: at most `limit` slots, never queues; a release frees one (once)', () => {
    const l = new ConcurrencyLimiter(2, 2, new FakeClock());
    const a = l.tryAcquire();
    const b = l.tryAcquire();
    assert.ok(a && b);
    assert.equal(l.tryAcquire(), undefined);
    assert.equal(l.inFlight, 2);
    a();
    a();
    assert.equal(l.inFlight, 1, 'a second release of the same slot changes nothing');
    assert.ok(l.tryAcquire());
    assert.equal(l.inFlight, 2);
  });

  void test('acquire waits in line, first come first served, and reports the wait', async () => {
    const clock = new FakeClock();
    const l = new ConcurrencyLimiter(1, 2, clock);
    const first = l.tryAcquire();
    assert.ok(first);
    const order: string[] = [];
    const p1 = l.acquire(5_000).then((s) => (order.push('p1'), s));
    const p2 = l.acquire(5_000).then((s) => (order.push('p2'), s));
    assert.equal(l.queued, 2);
    assert.equal(l.tryAcquire(), undefined, 'tryAcquire does not jump the queue');
    clock.advance(1_500);
    first();
    const s1 = await p1;
    assert.equal(s1?.waitedMs, 1_500);
    assert.equal(l.inFlight, 1, 'the slot passed straight to the waiter');
    clock.advance(500);
    s1?.release();
    const s2 = await p2;
    assert.equal(s2?.waitedMs, 2_000);
    assert.deepEqual(order, ['p1', 'p2']);
    s2?.release();
    assert.equal(l.inFlight, 0);
  });

  void test('a full queue answers at once; a wait that runs out answers undefined and leaves the line', async () => {
    const clock = new FakeClock();
    const l = new ConcurrencyLimiter(1, 1, clock);
    const held = l.tryAcquire();
    assert.ok(held);
    const waiting = l.acquire(3_000);
    assert.equal(await l.acquire(3_000), undefined, 'the queue (1) is full');
    clock.advance(3_000);
    assert.equal(await waiting, undefined);
    assert.equal(l.queued, 0);
    held();
    assert.equal(l.inFlight, 0);
  });

  void test('an abort signal takes a waiter out of the line', async () => {
    const l = new ConcurrencyLimiter(1, 4, new FakeClock());
    const held = l.tryAcquire();
    const ac = new AbortController();
    const waiting = l.acquire(60_000, ac.signal);
    await tick();
    ac.abort();
    assert.equal(await waiting, undefined);
    assert.equal(l.queued, 0);
    held?.();
    assert.equal(l.inFlight, 0);
  });

  void test('the limit must be a positive integer', () => {
    assert.throws(() => new ConcurrencyLimiter(0, 0), RangeError);
  });
});
