// Our metrics (worker/metrics.ts) against a recording MetricMeter: what each instrument receives for
// activity outcomes, exec plugin runs, the watcher's counters and the fleet gauges.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { ApplicationFailure, type MetricCounter, type MetricGauge, type MetricHistogram, type MetricMeter, type MetricTags } from '@temporalio/common';
import { ExecPluginTransientError, type SpawnFn } from '../../activities/credentials/exec-plugin.js';
import { DEFAULT_BULKHEAD, ProviderBulkheads } from '../../activities/providers/bulkhead.js';
import type { ProviderFile } from '../../activities/credentials/provider-file.js';
import { newWatcherCounters } from '../../watcher/counters.js';
import {
  BREAKER_STATE_VALUE,
  FleetGauges,
  METRIC,
  WATCHER_METRIC_NAMES,
  createActivityMetrics,
  createExecHistogram,
  createProviderMetrics,
  exportWatcherCounters,
  failureReason,
  initActivityMetrics,
  instrumentActivities,
  instrumentSpawn,
} from '../../worker/metrics.js';
import type { ProfileRow } from '../../workflows/visibility.js';
import { DEFAULT_SCHEDULE, type ProfileRef } from '../../workflows/api.js';
import type { ReconcileActivities } from '../../workflows/registered-activities.js';

interface Recorded {
  name: string;
  kind: string;
  value: number;
  tags: MetricTags;
}

/** A MetricMeter that records every value and keeps the last value per series. */
class RecordingMeter implements MetricMeter {
  readonly calls: Recorded[] = [];
  readonly created: Array<{ name: string; kind: string; unit?: string; description?: string }> = [];

  private metric<T>(name: string, kind: string, unit: string | undefined, description: string | undefined, valueType: 'int' | 'float', op: string): T {
    this.created.push({ name, kind, ...(unit ? { unit } : {}), ...(description ? { description } : {}) });
    const record = (value: number, tags: MetricTags = {}): void => {
      this.calls.push({ name, kind, value, tags });
    };
    const m = { name, kind, unit, description, valueType, [op]: record, withTags: () => m };
    return m as unknown as T;
  }
  createCounter(name: string, unit?: string, description?: string): MetricCounter {
    return this.metric(name, 'counter', unit, description, 'int', 'add');
  }
  createHistogram(name: string, valueType: 'int' | 'float' = 'int', unit?: string, description?: string): MetricHistogram {
    return this.metric(name, 'histogram', unit, description, valueType, 'record');
  }
  createGauge(name: string, valueType: 'int' | 'float' = 'int', unit?: string, description?: string): MetricGauge {
    return this.metric(name, 'gauge', unit, description, valueType, 'set');
  }
  withTags(): MetricMeter {
    return this;
  }

  /** Sum of counter adds for a series. */
  sum(name: string, tags: MetricTags = {}): number {
    return this.of(name, tags).reduce((a, c) => a + c.value, 0);
  }
  /** Last value set on a series (gauges). */
  last(name: string, tags: MetricTags = {}): number | undefined {
    return this.of(name, tags).at(-1)?.value;
  }
  of(name: string, tags: MetricTags = {}): Recorded[] {
    return this.calls.filter((c) => c.name === name && Object.entries(tags).every(([k, v]) => c.tags[k] === v));
  }
}

const ref: ProfileRef = { namespace: 'fleet', name: 'spoke-1', uid: 'u1' };

function fakeActivities(overrides: Partial<ReconcileActivities> = {}): ReconcileActivities {
  return {
    ensureFinalizer: () => Promise.resolve({ gone: false, deleting: false }),
    syncCredentials: () => Promise.resolve({ provider: 'p1', fingerprint: 'f', secretChanged: true, server: 'https://x', expiresAtMs: 5_000 }),
    applySveltosCluster: () => Promise.resolve({ changed: false }),
    cleanup: () => Promise.resolve({ sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] }),
    recordEvent: () => Promise.resolve(),
    syncProfile: () =>
      Promise.resolve({
        provider: 'p1',
        fingerprint: 'f',
        secretChanged: true,
        server: 'https://x',
        expiresAtMs: 5_000,
        sveltosClusterChanged: true,
        schedule: DEFAULT_SCHEDULE,
      }),
    cleanupProfile: () => Promise.resolve({ sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] }),
    ...overrides,
  };
}

describe('activity metrics', () => {
  test('successful syncs are counted by provider and whether the Secret changed; the observer learns the expiry', async () => {
    const meter = new RecordingMeter();
    const seen: Array<[string, number | undefined]> = [];
    const acts = instrumentActivities(fakeActivities(), createActivityMetrics(meter), {
      synced: (r, e) => seen.push([r.name, e]),
      forgotten: (r) => seen.push([`-${r.name}`, undefined]),
    });
    await acts.syncCredentials(ref);
    await acts.applySveltosCluster(ref);
    await acts.cleanup(ref);
    assert.equal(meter.sum(METRIC.syncs, { provider: 'p1', secret_changed: 'true' }), 1);
    assert.equal(meter.of(METRIC.syncFailures).length, 0);
    assert.deepEqual(seen, [
      ['spoke-1', 5_000],
      ['-spoke-1', undefined],
    ]);
    assert.equal(acts.syncCredentials.name, 'syncCredentials', 'the activity keeps its name');
  });

  test('failures are counted by activity, failure type and retryability, and rethrown unchanged', async () => {
    const meter = new RecordingMeter();
    const invalid = ApplicationFailure.nonRetryable('bad provider', 'InvalidInput');
    class KubeApiError extends Error {
      override name = 'KubeApiError';
    }
    const transient = new KubeApiError('503');
    const acts = instrumentActivities(
      fakeActivities({ syncCredentials: () => Promise.reject(invalid), applySveltosCluster: () => Promise.reject(transient) }),
      createActivityMetrics(meter),
    );
    await assert.rejects(acts.syncCredentials(ref), (e) => e === invalid);
    await assert.rejects(acts.applySveltosCluster(ref), (e) => e === transient);
    assert.equal(meter.sum(METRIC.syncFailures, { activity: 'syncCredentials', reason: 'InvalidInput', retryable: 'false' }), 1);
    assert.equal(meter.sum(METRIC.syncFailures, { activity: 'applySveltosCluster', reason: 'KubeApiError', retryable: 'true' }), 1);
    assert.equal(meter.sum(METRIC.syncs), 0);
  });

  test('failureReason', () => {
    assert.deepEqual(failureReason(ApplicationFailure.retryable('x', 'Throttled')), { reason: 'Throttled', retryable: true });
    assert.deepEqual(failureReason(new TypeError('x')), { reason: 'TypeError', retryable: true });
    assert.deepEqual(failureReason('thrown string'), { reason: 'Error', retryable: true });
  });

  test('the usual series exist at 0 before anything happens', () => {
    const meter = new RecordingMeter();
    const providers = { path: 'p.json', providers: [{ name: 'eks', execConfig: { command: '/bin/eks' } }] } as unknown as ProviderFile;
    initActivityMetrics(createActivityMetrics(meter), providers);
    for (const provider of ['kubeconfig-secretreader', 'eks']) {
      for (const changed of ['true', 'false']) assert.equal(meter.of(METRIC.syncs, { provider, secret_changed: changed }).length, 1);
    }
    assert.equal(meter.of(METRIC.syncFailures, { activity: 'syncProfile', reason: 'InvalidInput' }).length, 1);
    assert.ok(meter.calls.every((c) => c.value === 0));
  });
});

describe('exec plugin duration', () => {
  class FakeChild extends EventEmitter {
    readonly pid = 42;
    readonly stdout = null;
    readonly stderr = null;
    kill(): boolean {
      return true;
    }
  }

  function setup(): { meter: RecordingMeter; spawn: SpawnFn; children: FakeChild[]; clock: { t: number } } {
    const meter = new RecordingMeter();
    const children: FakeChild[] = [];
    const clock = { t: 1_000 };
    const inner: SpawnFn = (command) => {
      if (command === '/missing') throw new Error('ENOENT');
      const c = new FakeChild();
      children.push(c);
      return c;
    };
    const providers = {
      path: 'p.json',
      providers: [
        { name: 'eks', execConfig: { command: '/bin/eks-token' } },
        { name: 'gke', execConfig: { command: '/bin/gke-token' } },
      ],
    } as unknown as ProviderFile;
    return { meter, spawn: instrumentSpawn(createExecHistogram(meter), providers, inner, () => clock.t), children, clock };
  }

  test('each run is timed once, from spawn to exit, in seconds, by provider and outcome', () => {
    const { meter, spawn, children, clock } = setup();
    spawn('/bin/eks-token', [], {});
    clock.t += 250;
    children[0]!.emit('close', 0, null);
    children[0]!.emit('close', 0, null); // a second close changes nothing

    spawn('/bin/gke-token', [], {});
    clock.t += 30_000;
    children[1]!.emit('close', null, 'SIGKILL');

    spawn('/bin/other', [], {});
    children[2]!.emit('close', 3, null);

    spawn('/bin/eks-token', [], {});
    children[3]!.emit('error', new Error('EACCES'));
    children[3]!.emit('close', -13, null);

    assert.throws(() => spawn('/missing', [], {}), /ENOENT/);

    assert.deepEqual(
      meter.of(METRIC.execDuration).map((c) => [c.tags.provider, c.tags.outcome, c.value]),
      [
        ['eks', 'success', 0.25],
        ['gke', 'killed', 30],
        ['unknown', 'error', 0],
        ['eks', 'spawn-error', 0],
        ['unknown', 'spawn-error', 0],
      ],
    );
    assert.equal(meter.created.find((c) => c.name === METRIC.execDuration)?.unit, 's');
  });
});

describe('watcher counters', () => {
  test('every counter is exported, and each flush adds the delta since the last one', () => {
    const meter = new RecordingMeter();
    const counters = newWatcherCounters();
    const exporter = exportWatcherCounters(meter, counters);
    exporter.flush();
    assert.deepEqual(new Set(meter.created.map((c) => c.name)), new Set(WATCHER_METRIC_NAMES), 'every metric created');
    assert.ok(meter.calls.every((c) => c.value === 0), 'first flush registers series at 0');
    const firstFlush = meter.calls.length;

    counters.informers.clusterprofiles.added += 3;
    counters.informers['managed-secrets'].relistsGone += 1;
    counters.signals.profileChanged += 2;
    counters.decisions.dedupHits += 5;
    exporter.flush();
    counters.informers.clusterprofiles.added += 1;
    exporter.flush();
    exporter.flush();

    assert.equal(meter.sum('clusterinventory_watcher_events_total', { informer: 'clusterprofiles', type: 'added' }), 4);
    assert.equal(meter.sum('clusterinventory_watcher_relists_total', { informer: 'managed-secrets', reason: 'gone' }), 1);
    assert.equal(meter.sum('clusterinventory_watcher_signals_total', { signal: 'profileChanged' }), 2);
    assert.equal(meter.sum('clusterinventory_watcher_signal_dedup_hits_total'), 5);
    assert.equal(meter.calls.length - firstFlush, 5, 'unchanged counters add nothing');
  });
});

describe('fleet gauges', () => {
  const row = (name: string, phase: string, credentialExpiresAtMs?: number): ProfileRow => ({
    namespace: 'fleet',
    name,
    workflowId: `clusterprofile/fleet/${name}/u`,
    runId: 'r',
    taskQueue: 'q',
    executionStatus: 'Running',
    phase,
    sinceMs: 0,
    runStartedAtMs: 0,
    ...(credentialExpiresAtMs !== undefined ? { credentialExpiresAtMs } : {}),
  });

  function setup(rows: ProfileRow[] | Error) {
    const meter = new RecordingMeter();
    const clock = { t: 1_000_000 };
    const errors: unknown[] = [];
    const source = { rows };
    const gauges = new FleetGauges({
      meter,
      now: () => clock.t,
      onScanError: (e) => errors.push(e),
      list: async function* () {
        await Promise.resolve();
        if (source.rows instanceof Error) throw source.rows;
        yield* source.rows;
      },
    });
    return { meter, clock, errors, gauges, source };
  }

  test('a scan sets seconds until expiry per cluster (0 once expired) and profiles per phase', async () => {
    const { meter, clock, gauges } = setup([row('a', 'Ready', 1_000_000 + 3_600_000), row('b', 'Degraded', 1_000_000 - 5_000), row('c', 'Ready')]);
    await gauges.scan();
    assert.equal(meter.last(METRIC.expiry, { name: 'a' }), 3600);
    assert.equal(meter.last(METRIC.expiry, { name: 'b' }), 0);
    assert.equal(meter.of(METRIC.expiry, { name: 'c' }).length, 0, 'no series without a stated expiry');
    assert.equal(meter.last(METRIC.profiles, { phase: 'Ready' }), 2);
    assert.equal(meter.last(METRIC.profiles, { phase: 'Degraded' }), 1);
    assert.equal(meter.last(METRIC.profiles, { phase: 'Pending' }), 0);

    clock.t += 600_000;
    gauges.refresh();
    assert.equal(meter.last(METRIC.expiry, { name: 'a' }), 3000, 'moves with the clock between scans');
  });

  test('a cluster that is no longer listed, or cleaned up here, turns NaN', async () => {
    const { meter, gauges, source } = setup([row('a', 'Ready', 2_000_000), row('b', 'Ready', 2_000_000)]);
    await gauges.scan();
    source.rows = [row('a', 'Ready', 2_000_000)];
    await gauges.scan();
    assert.ok(Number.isNaN(meter.last(METRIC.expiry, { name: 'b' })));
    gauges.forgotten({ namespace: 'fleet', name: 'a', uid: 'u' });
    assert.ok(Number.isNaN(meter.last(METRIC.expiry, { name: 'a' })));
  });

  test('a sync in this process shows at once, and is not undone by a scan that predates its upsert', async () => {
    const { meter, clock, gauges } = setup([row('a', 'Ready', 2_000_000)]);
    await gauges.scan();
    clock.t += 1_000;
    gauges.synced({ namespace: 'fleet', name: 'a', uid: 'u' }, 5_001_000);
    assert.equal(meter.last(METRIC.expiry, { name: 'a' }), 4000);
    clock.t += 1_000;
    await gauges.scan(); // visibility does not have the new expiry yet
    assert.equal(meter.last(METRIC.expiry, { name: 'a' }), 3999);
  });

  test('a sync or a clean-up sets only its own series, whatever the size of the fleet', async () => {
    // Called on every sync: setting every series each time made a fleet's start-up quadratic.
    const fleet = Array.from({ length: 500 }, (_, i) => row(`p${i}`, 'Ready', 2_000_000 + i));
    const { meter, gauges } = setup(fleet);
    await gauges.scan();
    const before = meter.calls.length;
    gauges.synced({ namespace: 'fleet', name: 'p7', uid: 'u' }, 9_000_000);
    gauges.synced({ namespace: 'fleet', name: 'new', uid: 'u' }, 9_000_000);
    gauges.synced({ namespace: 'fleet', name: 'p8', uid: 'u' }, undefined);
    gauges.forgotten({ namespace: 'fleet', name: 'p9', uid: 'u' });
    assert.equal(meter.calls.length - before, 4, 'one gauge update per call');
    assert.equal(meter.last(METRIC.expiry, { name: 'p7' }), 8000);
    assert.equal(meter.last(METRIC.expiry, { name: 'new' }), 8000);
    assert.equal(meter.last(METRIC.expiry, { name: 'p8' }), 1000.008, 'a sync without a stated expiry keeps the scanned one');
    assert.ok(Number.isNaN(meter.last(METRIC.expiry, { name: 'p9' })));
  });

  test('a failed scan is reported and keeps what was known', async () => {
    const { meter, errors, gauges, source } = setup([row('a', 'Ready', 2_000_000)]);
    await gauges.scan();
    source.rows = new Error('visibility unavailable');
    await gauges.scan();
    assert.equal(errors.length, 1);
    assert.equal(meter.last(METRIC.expiry, { name: 'a' }), 1000);
  });
});

void describe('provider bulkhead metrics', () => {
  void test('runs in flight, outcomes, rejections, breaker state and queueing time, per provider', async () => {
    const meter = new RecordingMeter();
    const clock = { t: 0, now: () => clock.t, setTimeout: () => 0, clearTimeout: () => undefined };
    const settings = { ...DEFAULT_BULKHEAD, breaker: { failureThreshold: 2, coolDownMs: 10_000, maxCoolDownMs: 10_000 } };
    const b = new ProviderBulkheads(() => 1, settings, clock, createProviderMetrics(meter));
    b.declare('idp');
    const call = { provider: 'idp', object: 'ClusterProfile a/b', field: 'status.accessProviders[0]', execTimeoutMs: 30_000 } as const;
    let inFlightDuringRun = -1;
    await b.run({ ...call, mode: 'activity' }, () => {
      inFlightDuringRun = meter.last(METRIC.providerInFlight, { provider: 'idp' }) ?? -1;
      return Promise.resolve('ok');
    });
    const fail = () => Promise.reject(new ExecPluginTransientError('exited with code 1', 'exit'));
    for (let i = 0; i < 2; i++) await assert.rejects(b.run({ ...call, mode: 'local', object: `ClusterProfile fleet/p${i}` }, fail));
    await assert.rejects(b.run({ ...call, mode: 'local' }, fail));
    assert.equal(inFlightDuringRun, 1);
    assert.equal(meter.last(METRIC.providerInFlight, { provider: 'idp' }), 0);
    assert.equal(meter.sum(METRIC.providerRuns, { provider: 'idp', outcome: 'success' }), 1);
    assert.equal(meter.sum(METRIC.providerRuns, { provider: 'idp', outcome: 'exit' }), 2);
    assert.equal(meter.sum(METRIC.providerRejections, { provider: 'idp', reason: 'unavailable' }), 1);
    assert.equal(meter.last(METRIC.providerBreaker, { provider: 'idp' }), BREAKER_STATE_VALUE.open);
    assert.equal(meter.of(METRIC.providerQueue, { provider: 'idp' }).length, 1, 'the activity run recorded its (zero) wait');
    clock.t += 10_000;
    await b.run({ ...call, mode: 'activity' }, () => Promise.resolve('probe'));
    assert.equal(meter.last(METRIC.providerBreaker, { provider: 'idp' }), BREAKER_STATE_VALUE.closed);
  });
});
