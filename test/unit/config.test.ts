import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, type AppConfig } from '../../cli/config.js';
import { formatDuration, parseDuration } from '../../cli/duration.js';

const parse = (...argv: string[]): AppConfig => {
  const c = parseConfig(argv);
  assert.notEqual(c, 'help');
  return c as AppConfig;
};

describe('durations', () => {
  test('parses Go-style durations', () => {
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('0'), 0);
  });
  test('rejects what is not a duration', () => {
    for (const bad of ['', '10', 'm', '10x', '10m junk', '-5s', '1d']) assert.equal(parseDuration(bad), undefined, bad);
  });
  test('formats back', () => {
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(1500), '1500ms');
  });
});

describe('command-line configuration', () => {
  test("defaults keep the Go controller's values", () => {
    const c = parse('run');
    assert.equal(c.schedule.syncPeriodMs, 600_000);
    assert.equal(c.schedule.minRefreshMs, 60_000);
    assert.equal(c.kubeApiQps, 20);
    assert.equal(c.kubeApiBurst, 30);
    assert.deepEqual(c.healthAddr, { host: '0.0.0.0', port: 9440 });
    assert.equal(c.taskQueue, 'clusterinventory');
    assert.deepEqual(c.namespaces, []);
    assert.deepEqual(c.secretReaderNamespaces, []);
    assert.equal(c.execTimeoutMs, 30_000);
    assert.deepEqual(c.changeSyncLimit, { burst: 3, intervalMs: 5000 });
    assert.equal(c.providerFile, undefined);
  });
  test('reads every flag', () => {
    const c = parse(
      'worker',
      '--clusterprofile-provider-file=/etc/p.json',
      '--sync-period=2m',
      '--kube-api-qps=5',
      '--kube-api-burst=7',
      '--health-addr=127.0.0.1:0',
      '--task-queue=q1',
      '--namespaces=a, b',
      '--secret-reader-namespaces=*',
      '--exec-timeout=5s',
      '--log-level=debug',
      '--change-sync-interval=2s',
      '--change-sync-burst=5',
    );
    assert.deepEqual(c.changeSyncLimit, { burst: 5, intervalMs: 2000 });
    assert.deepEqual(parse('watcher', '--change-sync-interval=0').changeSyncLimit, { burst: 3, intervalMs: 0 });
    assert.equal(c.mode, 'worker');
    assert.equal(c.providerFile, '/etc/p.json');
    assert.equal(c.schedule.syncPeriodMs, 120_000);
    assert.deepEqual(c.healthAddr, { host: '127.0.0.1', port: 0 });
    assert.deepEqual(c.namespaces, ['a', 'b']);
    assert.deepEqual(c.secretReaderNamespaces, ['*']);
    assert.equal(c.execTimeoutMs, 5000);
    assert.equal(c.logLevel, 'debug');
  });
  test('bad flags are errors that name the flag', () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', '--sync-period=often'], /--sync-period=often/],
      [['run', '--kube-api-qps=-1'], /--kube-api-qps/],
      [['run', '--health-addr=nope'], /--health-addr/],
      [['run', '--secret-reader-namespaces=*,a'], /--secret-reader-namespaces/],
      [['run', '--log-level=loud'], /--log-level/],
      [['run', '--change-sync-interval=10ms'], /--change-sync-interval/],
      [['run', '--change-sync-burst=0'], /--change-sync-burst/],
      [['run', '--no-such-flag'], /no-such-flag/],
      [['serve'], /unknown command "serve"/],
    ];
    for (const [argv, msg] of cases) assert.throws(() => parseConfig(argv), (e: unknown) => e instanceof ConfigError && msg.test(e.message), argv.join(' '));
  });
  test("leader election: on by default with controller-runtime's timings; every flag read and checked", () => {
    assert.deepEqual(parse('run').leaderElection, { enabled: true, timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } });
    assert.equal(parse('watcher', '--leader-elect').leaderElection.enabled, true);
    assert.equal(parse('watcher', '--leader-elect=false').leaderElection.enabled, false);
    const c = parse(
      'run',
      '--leader-elect-lease-duration=30s',
      '--leader-elect-renew-deadline=20s',
      '--leader-elect-retry-period=4s',
      '--leader-elect-namespace=ops',
      '--leader-elect-id=fleet.watcher',
    );
    assert.deepEqual(c.leaderElection, { enabled: true, namespace: 'ops', id: 'fleet.watcher', timings: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4_000 } });
    const cases: Array<[string[], RegExp]> = [
      [['run', '--leader-elect=yes'], /--leader-elect=yes/],
      [['run', '--leader-elect-renew-deadline=15s'], /lease-duration must be greater than --leader-elect-renew-deadline/],
      [['run', '--leader-elect-retry-period=9s'], /renew-deadline must be greater than --leader-elect-retry-period/],
      [['run', '--leader-elect-namespace=Ops'], /--leader-elect-namespace=Ops/],
      [['run', '--leader-elect-id=a_b'], /--leader-elect-id=a_b/],
    ];
    for (const [argv, msg] of cases) assert.throws(() => parseConfig(argv), (e: unknown) => e instanceof ConfigError && msg.test(e.message), argv.join(' '));
  });
  test('workflow stack traces: off by default; a bare flag or =true turns them on; anything else is refused', () => {
    assert.equal(parse('run').workflowStackTraces, false);
    assert.equal(parse('worker', '--workflow-stack-traces').workflowStackTraces, true);
    assert.equal(parse('worker', '--workflow-stack-traces=true').workflowStackTraces, true);
    assert.equal(parse('run', '--workflow-stack-traces=false').workflowStackTraces, false);
    assert.throws(
      () => parseConfig(['run', '--workflow-stack-traces=on']),
      (e: unknown) => e instanceof ConfigError && /--workflow-stack-traces=on: expected true or false/.test(e.message),
    );
  });
  test('help', () => {
    assert.equal(parseConfig([]), 'help');
    assert.equal(parseConfig(['run', '--help']), 'help');
  });
});
