import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExecPluginTransientError } from '../../../activities/credentials/exec-plugin.js';
import { CredentialSourceFailedError, InvalidInputError, ProviderBusyError, ProviderDeferredError, ProviderUnavailableError } from '../../../activities/errors.js';
import { ProviderBulkheads, type BulkheadObserver, type BulkheadSettings, type GatedCall } from '../../../activities/providers/bulkhead.js';
import type { ExecMode } from '../../../workflows/api.js';
import { FakeClock } from './fake-clock.js';

const SETTINGS: BulkheadSettings = {
  localBudgetMs: 2_000,
  queueWaitMs: 5_000,
  slowMarkMs: 60_000,
  probeReservationMs: 10_000,
  breaker: { failureThreshold: 3, coolDownMs: 15_000, maxCoolDownMs: 60_000 },
};

/** A fleet's calls: each from a profile of its own unless named (the breaker counts failing profiles). */
let calls = 0;
const call = (mode: ExecMode | undefined, object = `ClusterProfile fleet/p${calls++}`): GatedCall => ({
  provider: 'idp',
  object,
  field: 'status.accessProviders[0]',
  mode,
  execTimeoutMs: 30_000,
});

function recorder(): BulkheadObserver & { log: string[]; maxInFlight: number } {
  const r = {
    log: [] as string[],
    maxInFlight: 0,
    inFlight: (_p: string, n: number) => void (r.maxInFlight = Math.max(r.maxInFlight, n)),
    ran: (_p: string, o: string) => void r.log.push(`ran:${o}`),
    rejected: (_p: string, why: string) => void r.log.push(`rejected:${why}`),
    queued: (_p: string, ms: number) => void r.log.push(`queued:${ms}`),
    breaker: (_p: string, s: string) => void r.log.push(`breaker:${s}`),
  };
  return r;
}

function setup(limit = 2) {
  const clock = new FakeClock();
  const obs = recorder();
  return { clock, obs, b: new ProviderBulkheads(() => limit, SETTINGS, clock, obs) };
}

const exitFailure = () => Promise.reject(new ExecPluginTransientError('plugin exited with code 1', 'exit'));
const timeout = () => Promise.reject(new ExecPluginTransientError('plugin did not finish', 'timeout'));
/** A plugin run that ends when the test says. */
function pending<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

void describe('provider bulkheads', () => {
  void test('local: the plugin gets the short budget; activity (and earlier code): the full timeout', async () => {
    const { b } = setup();
    const budgets: number[] = [];
    const fn = (ms: number) => (budgets.push(ms), Promise.resolve('ok'));
    await b.run(call('local'), fn);
    await b.run(call('activity'), fn);
    await b.run(call(undefined), fn);
    await b.run({ ...call('local'), execTimeoutMs: 500 }, fn);
    assert.deepEqual(budgets, [2_000, 30_000, 30_000, 500]);
  });

  void test('local never waits: without a free slot it defers at once and runs nothing', async () => {
    const { b, obs } = setup(1);
    const hold = pending<string>();
    const first = b.run(call('activity'), () => hold.promise);
    let ran = false;
    await assert.rejects(
      b.run(call('local'), () => ((ran = true), Promise.resolve('x'))),
      (e: unknown) => e instanceof ProviderDeferredError && e.reason === 'busy',
    );
    assert.equal(ran, false);
    hold.resolve('done');
    assert.equal(await first, 'done');
    assert.ok(obs.log.includes('rejected:deferred-busy'));
  });

  void test('a local run cut short by the budget defers (not a failure) and marks the provider slow for a while', async () => {
    const { b, clock, obs } = setup();
    await assert.rejects(b.run(call('local'), timeout), (e: unknown) => e instanceof ProviderDeferredError && e.reason === 'slow');
    let runs = 0;
    const ok = () => (runs++, Promise.resolve('ok'));
    await assert.rejects(b.run(call('local'), ok), (e: unknown) => e instanceof ProviderDeferredError && e.reason === 'slow');
    assert.equal(runs, 0, 'a slow provider is not tried inside a workflow task again');
    for (let i = 0; i < 5; i++) await assert.rejects(b.run(call('local'), timeout), ProviderDeferredError);
    assert.equal(await b.run(call('activity'), ok), 'ok', 'budget cuts never open the breaker');
    clock.advance(60_000);
    assert.equal(await b.run(call('local'), ok), 'ok', 'after the slow mark the local path runs again');
    assert.ok(obs.log.includes('ran:local-budget'));
    assert.ok(!obs.log.includes('breaker:open'));
  });

  void test('activity: waits in a short queue; beyond limit + queue it is busy at once', async () => {
    const { b, clock, obs } = setup(1);
    const hold = pending<string>();
    const running = b.run(call('activity'), () => hold.promise);
    const queued = b.run(call('activity'), () => Promise.resolve('second'));
    await assert.rejects(b.run(call('activity'), () => Promise.resolve('third')), ProviderBusyError);
    clock.advance(1_000);
    hold.resolve('first');
    assert.equal(await running, 'first');
    assert.equal(await queued, 'second');
    assert.ok(obs.log.includes('queued:1000'));
    assert.ok(obs.log.includes('rejected:busy'));
  });

  void test('a wait for a slot that runs out is busy, not a failure', async () => {
    const { b, clock } = setup(1);
    const hold = pending<string>();
    const running = b.run(call('activity'), () => hold.promise);
    const queued = b.run(call('activity'), () => Promise.resolve('late'));
    clock.advance(5_000);
    await assert.rejects(queued, ProviderBusyError);
    hold.resolve('ok');
    await running;
  });

  void test('consecutive failures open the breaker: calls fail at once with ProviderUnavailable and a retry time', async () => {
    const { b, clock, obs } = setup();
    for (let i = 0; i < 3; i++) await assert.rejects(b.run(call('local'), exitFailure), CredentialSourceFailedError);
    let runs = 0;
    const count = () => (runs++, Promise.resolve('ok'));
    await assert.rejects(b.run(call('local'), count), (e: unknown) => e instanceof ProviderUnavailableError && e.retryAfterMs === 15_000);
    clock.advance(5_000);
    await assert.rejects(b.run(call('activity'), count), (e: unknown) => e instanceof ProviderUnavailableError && e.retryAfterMs === 10_000);
    assert.equal(runs, 0, 'no plugin ran while the breaker was open');
    assert.ok(obs.log.includes('breaker:open'));
    assert.match(new ProviderUnavailableError('ClusterProfile fleet/a', 'status.accessProviders[0]', 'idp', 1).message, /fleet\/a.*"idp" is unavailable/);
  });

  void test('earlier workflow code keeps its own retry semantics: its plugin errors leave unchanged', async () => {
    const { b } = setup();
    await assert.rejects(b.run(call(undefined), exitFailure), ExecPluginTransientError);
  });

  void test('half-open: a local sync hands the probe to an activity once; its success closes the breaker', async () => {
    const { b, clock, obs } = setup();
    for (let i = 0; i < 3; i++) await assert.rejects(b.run(call('activity'), exitFailure), CredentialSourceFailedError);
    clock.advance(15_000);
    await assert.rejects(b.run(call('local'), exitFailure), (e: unknown) => e instanceof ProviderDeferredError && e.reason === 'probe');
    await assert.rejects(b.run(call('local'), exitFailure), ProviderUnavailableError, 'the probe is reserved: other local syncs wait');
    assert.equal(await b.run(call('activity'), () => Promise.resolve('probe ok')), 'probe ok');
    assert.equal(await b.run(call('local'), () => Promise.resolve('ok')), 'ok');
    assert.deepEqual(
      obs.log.filter((l) => l.startsWith('breaker:')),
      ['breaker:closed', 'breaker:open', 'breaker:half-open', 'breaker:closed'],
    );
  });

  void test('one profile failing again and again, or plugins answering with a bad credential, do not open the breaker', async () => {
    const { b } = setup();
    for (let i = 0; i < 6; i++) await assert.rejects(b.run(call('activity', 'ClusterProfile tenant/broken'), exitFailure), CredentialSourceFailedError);
    for (let i = 0; i < 6; i++) {
      await assert.rejects(
        b.run(call('activity'), () => Promise.reject(new InvalidInputError('ClusterProfile x', 'status.accessProviders[0]', 'returned neither a token nor a client certificate and key'))),
        InvalidInputError,
      );
    }
    assert.equal(await b.run(call('local'), () => Promise.resolve('ok')), 'ok', 'the provider stays open to everyone else');
  });

  void test('a failed probe re-opens for twice the cool-down', async () => {
    const { b, clock } = setup();
    for (let i = 0; i < 3; i++) await assert.rejects(b.run(call('activity'), exitFailure), CredentialSourceFailedError);
    clock.advance(15_000);
    await assert.rejects(b.run(call('activity'), timeout), CredentialSourceFailedError);
    await assert.rejects(b.run(call('activity'), exitFailure), (e: unknown) => e instanceof ProviderUnavailableError && e.retryAfterMs === 30_000);
  });

  void test('never more runs at once than the limit, whatever the mix of callers', async () => {
    const { b, obs } = setup(3);
    const holds = Array.from({ length: 12 }, () => pending<string>());
    const calls = holds.map((h, i) => b.run(call(i % 2 ? 'local' : 'activity'), () => h.promise).catch((e: unknown) => (e as Error).name));
    await new Promise((r) => setImmediate(r));
    for (const h of holds) h.resolve('ok');
    const results = await Promise.all(calls);
    assert.equal(obs.maxInFlight, 3);
    assert.ok(results.filter((r) => r === 'ok').length >= 3);
    assert.ok(results.includes('ProviderDeferredError') && results.includes('ProviderBusyError'), results.join(','));
  });

  void test('providers are isolated: one provider failing leaves another closed', async () => {
    const clock = new FakeClock();
    const b = new ProviderBulkheads(() => 2, SETTINGS, clock);
    for (let i = 0; i < 3; i++) await assert.rejects(b.run(call('local'), exitFailure), CredentialSourceFailedError);
    assert.equal(await b.run({ ...call('local'), provider: 'other' }, () => Promise.resolve('fine')), 'fine');
  });

  void test('a cancelled run is neither a failure nor a lost probe', async () => {
    const { b, clock } = setup();
    const cancelled = () => Promise.reject(new ExecPluginTransientError('cancelled', 'cancelled'));
    for (let i = 0; i < 5; i++) await assert.rejects(b.run(call('local'), cancelled), ExecPluginTransientError);
    assert.equal(await b.run(call('local'), () => Promise.resolve('ok')), 'ok');
    for (let i = 0; i < 3; i++) await assert.rejects(b.run(call('activity'), exitFailure), CredentialSourceFailedError);
    clock.advance(15_000);
    await assert.rejects(b.run(call('activity'), cancelled), ExecPluginTransientError);
    assert.equal(await b.run(call('activity'), () => Promise.resolve('probe')), 'probe', 'the next caller probes');
  });
});
