import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, type BreakerState } from '../../../activities/providers/breaker.js';
import { FakeClock } from './fake-clock.js';

const SETTINGS = { failureThreshold: 3, coolDownMs: 10_000, maxCoolDownMs: 30_000 };

function breaker(): { b: CircuitBreaker; clock: FakeClock; changes: BreakerState[] } {
  const clock = new FakeClock();
  const changes: BreakerState[] = [];
  return { b: new CircuitBreaker(SETTINGS, () => clock.now(), (s) => changes.push(s)), clock, changes };
}

void describe('circuit breaker', () => {
  void test('stays closed below the threshold; a success resets the count', () => {
    const { b } = breaker();
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    assert.equal(b.state, 'closed');
    assert.deepEqual(b.admit(), { allowed: true, probe: false });
  });

  void test('opens after N consecutive failures and refuses at once until the cool-down is over', () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    assert.equal(b.state, 'open');
    assert.deepEqual(b.admit(), { allowed: false, retryAfterMs: 10_000 });
    clock.advance(4_000);
    assert.deepEqual(b.admit(), { allowed: false, retryAfterMs: 6_000 });
    assert.deepEqual(changes, ['open']);
  });

  void test('half-open after the cool-down: exactly one probe at a time', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(10_000);
    assert.equal(b.state, 'half-open');
    assert.deepEqual(b.admit(), { allowed: true, probe: true });
    const second = b.admit();
    assert.equal(second.allowed, false, 'a second caller is refused while the probe runs');
    assert.equal(b.retryAfterMs(), 10_000);
  });

  void test('a successful probe closes the breaker and resets the cool-down', () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(10_000);
    assert.ok(b.admit().allowed);
    b.success();
    assert.equal(b.state, 'closed');
    assert.equal(b.consecutiveFailures, 0);
    assert.deepEqual(changes, ['open', 'half-open', 'closed']);
    for (let i = 0; i < 3; i++) b.failure();
    assert.deepEqual(b.admit(), { allowed: false, retryAfterMs: 10_000 }, 'the next outage starts from the first cool-down');
  });

  void test('a failed probe opens it again for twice as long, up to the maximum', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    const cooldowns: number[] = [];
    for (let round = 0; round < 4; round++) {
      clock.advance(60_000);
      assert.deepEqual(b.admit(), { allowed: true, probe: true });
      b.failure();
      const refused = b.admit();
      assert.equal(refused.allowed, false);
      cooldowns.push(refused.allowed ? 0 : refused.retryAfterMs);
    }
    assert.deepEqual(cooldowns, [20_000, 30_000, 30_000, 30_000]);
  });

  void test('an abandoned probe (cancelled) lets the next caller probe', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    clock.advance(10_000);
    assert.ok(b.admit().allowed);
    b.abandoned(true);
    assert.deepEqual(b.admit(), { allowed: true, probe: true });
    assert.equal(b.state, 'half-open');
  });
});
