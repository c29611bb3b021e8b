// The pure parts of the throughput benchmark: billable actions and refresh cycles from history events,
// API server request counters, CPU profile summaries, parameters and percentiles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import proto from '@temporalio/proto';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { diffCounts, perUnit, requestCounts, summarize } from '../bench/throughput/apiserver-requests.js';
import { moduleOf, summarizeProfile, type CpuProfile } from '../bench/throughput/cpu-profile.js';
import { billableActions, countEventTypes, eventTypeName, refreshCycles, sumValues } from '../bench/throughput/history-costs.js';
import { PHASES, parseThroughputParams, type ThroughputParams } from '../bench/throughput/params.js';
import { percentile, percentiles } from '../bench/support.js';

type HistoryEvent = NonNullable<History['events']>[number];
const T = proto.temporal.api.enums.v1.EventType;

/** Histories carry int64 IDs as Long; the code under test compares them through String(), as numbers do. */
const long = (n: number): NonNullable<HistoryEvent['eventId']> => n as unknown as NonNullable<HistoryEvent['eventId']>;
let nextId = 1;
function ev(eventType: number, attrs: Partial<HistoryEvent> = {}): HistoryEvent {
  return { eventId: long(nextId++), eventType, ...attrs };
}
const started = (): HistoryEvent => ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, { workflowExecutionStartedEventAttributes: {} });
const signaled = (): HistoryEvent => ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, { workflowExecutionSignaledEventAttributes: { signalName: 'profileChanged' } });
const wft = (): HistoryEvent[] => [
  ev(T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: {} }),
  ev(T.EVENT_TYPE_WORKFLOW_TASK_STARTED, { workflowTaskStartedEventAttributes: {} }),
  ev(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, { workflowTaskCompletedEventAttributes: {} }),
];
function activity(attempt: number): HistoryEvent[] {
  const scheduled = ev(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, { activityTaskScheduledEventAttributes: { activityType: { name: 'sync' } } });
  return [
    scheduled,
    ev(T.EVENT_TYPE_ACTIVITY_TASK_STARTED, { activityTaskStartedEventAttributes: { scheduledEventId: scheduled.eventId, attempt } }),
    ev(T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, { activityTaskCompletedEventAttributes: { scheduledEventId: scheduled.eventId } }),
  ];
}
const localActivityMarker = (workflowTaskCompletedEventId: number): HistoryEvent =>
  ev(T.EVENT_TYPE_MARKER_RECORDED, { markerRecordedEventAttributes: { markerName: 'core_local_activity', workflowTaskCompletedEventId: long(workflowTaskCompletedEventId) } });
const timerStarted = (): HistoryEvent => ev(T.EVENT_TYPE_TIMER_STARTED, { timerStartedEventAttributes: { timerId: '1' } });
const timerFired = (): HistoryEvent => ev(T.EVENT_TYPE_TIMER_FIRED, { timerFiredEventAttributes: { timerId: '1' } });
const upsert = (...keys: string[]): HistoryEvent =>
  ev(T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
    upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: Object.fromEntries(keys.map((k) => [k, {}])) } },
  });
const memo = (): HistoryEvent => ev(T.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, { workflowPropertiesModifiedEventAttributes: {} });

void test('billable actions: a signal-with-start is one action, a later signal is another', () => {
  const events = [started(), signaled(), ...wft(), signaled(), ...wft()];
  assert.deepEqual(billableActions(events), { 'workflow started': 1, signal: 1 });
});

void test('billable actions: every attempt of a regular activity counts; timers started count, fired do not', () => {
  const events = [started(), ...wft(), ...activity(3), ...wft(), timerStarted(), timerFired()];
  assert.deepEqual(billableActions(events), { 'workflow started': 1, 'activity attempt': 3, 'timer started': 1 });
});

void test('billable actions: local activities count once per workflow task, however many ran in it', () => {
  const events = [started(), ...wft(), localActivityMarker(5), localActivityMarker(5), ...wft(), localActivityMarker(9)];
  assert.equal(billableActions(events)['local activities (per workflow task)'], 2);
});

void test('billable actions: memo upserts and patch markers are free; other search attribute upserts are not', () => {
  const events = [memo(), upsert('TemporalChangeVersion'), upsert('ClusterInventoryPhase', 'TemporalChangeVersion')];
  assert.deepEqual(billableActions(events), { 'search attribute upsert': 1 });
  const update = ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, { workflowExecutionUpdateAcceptedEventAttributes: {} });
  assert.equal(sumValues(billableActions([update])), 1);
});

void test('refresh cycles: from after one TimerFired through the next; the initial sync is not a cycle', () => {
  const initial = [started(), signaled(), ...wft(), ...activity(1), ...wft(), timerStarted()];
  const cycle = (): HistoryEvent[] => [timerFired(), ...wft(), ...activity(1), ...wft(), upsert('ClusterInventoryPhase'), timerStarted()];
  const events = [...initial, ...cycle(), ...cycle(), timerFired()];
  const cycles = refreshCycles(events);
  assert.equal(cycles.length, 2);
  for (const c of cycles) {
    assert.equal(c.length, 3 + 3 + 3 + 1 + 1 + 1); // wft, activity, wft, upsert, timer started, the next timer fired
    assert.ok(c.at(-1)!.timerFiredEventAttributes);
    assert.deepEqual(billableActions(c), { 'activity attempt': 1, 'search attribute upsert': 1, 'timer started': 1 });
  }
  assert.deepEqual(refreshCycles(initial), []);
});

void test('event type names are the short CamelCase forms', () => {
  assert.equal(eventTypeName(timerFired()), 'TimerFired');
  assert.equal(eventTypeName(started()), 'WorkflowExecutionStarted');
  assert.deepEqual(countEventTypes([timerFired(), timerFired(), memo()]), { TimerFired: 2, WorkflowPropertiesModified: 1 });
});

const METRICS = (n: number): string =>
  [
    '# HELP apiserver_request_total [STABLE] Counter of apiserver requests',
    '# TYPE apiserver_request_total counter',
    `apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} ${10 + n}`,
    `apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} ${n}`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="multicluster.x-k8s.io",resource="clusterprofiles",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} ${2 * n}`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} ${3 * n}`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="namespace",subresource="",verb="WATCH",version="v1"} ${n}`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} ${6 * n}`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="/healthz",verb="GET",version=""} ${100 * n}`,
    'apiserver_request_duration_seconds_count{verb="GET"} 5',
  ].join('\n');

void test('API server requests: summed over codes, differenced; watches, non-resource paths and other resources kept apart', () => {
  const before = requestCounts(METRICS(1));
  assert.equal(before['POST secrets'], 12);
  const diff = diffCounts(before, requestCounts(METRICS(5)));
  assert.deepEqual(diff, { 'POST secrets': 8, 'PATCH clusterprofiles/status': 8, 'GET secrets': 12, 'WATCH secrets': 4, 'PUT leases': 24 });
  const s = summarize(diff);
  assert.deepEqual(s.background, { 'PUT leases': 24 });
  assert.deepEqual(s.byVerb, { GET: 12, PATCH: 8, POST: 8 });
  assert.equal(s.writes, 16);
  assert.equal(s.reads, 12);
  assert.equal(s.total, 28);
  assert.equal(perUnit(s, 4).total, 7);
  assert.equal(perUnit(s, 4).byKey['POST secrets'], 2);
});

void test('CPU profile: self time by module and function, idle left out of the busy time', () => {
  const node = (id: number, functionName: string, url: string): CpuProfile['nodes'][number] => ({ id, callFrame: { functionName, url, lineNumber: 9 } });
  const profile: CpuProfile = {
    nodes: [
      node(1, '(root)', ''),
      node(2, '(idle)', ''),
      node(3, 'parse', 'file:///repo/node_modules/yaml/dist/parse.js'),
      node(4, 'write', 'file:///repo/node_modules/@temporalio/worker/lib/worker.js'),
      node(5, '(garbage collector)', ''),
      node(6, 'sync', 'file:///repo/dist/activities/reconcile.js'),
    ],
    // Samples land in 3, 3, 4, 2, 5, 6; each gets the interval that follows it (1 ms each here).
    samples: [3, 3, 4, 2, 5, 6],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000],
    startTime: 0,
    endTime: 6000,
  };
  const s = summarizeProfile(profile);
  assert.equal(s.totalMs, 5);
  assert.equal(s.busyMs, 4);
  assert.deepEqual(
    s.byModule.map((m) => [m.name, m.ms]),
    [
      ['yaml', 2],
      ['@temporalio/worker', 1],
      ['(garbage collector)', 1],
    ],
  );
  assert.equal(s.byFunction[0]!.name, 'parse yaml/dist/parse.js:10');
  assert.equal(s.byModule[0]!.share, 0.5);
});

void test('CPU profile: modules of Node internals and of this project', () => {
  assert.equal(moduleOf('node:internal/tls/wrap', 'x'), 'node:tls');
  assert.equal(moduleOf('node:events', 'emit'), 'node:events');
  assert.equal(moduleOf('file:///w/dist/watcher/informers.js', 'f'), 'project:watcher');
  assert.equal(moduleOf('', '(program)'), '(program)');
});

void test('parameters: defaults, flags over environment, and errors that name the flag', () => {
  const d = parseThroughputParams([], {}) as ThroughputParams;
  assert.equal(d.backlog, 1000);
  assert.equal(d.burst, 200);
  assert.equal(d.burstRate, 20);
  assert.deepEqual(d.phases, [...PHASES]);
  assert.equal(d.syncPeriodMs, 20_000);
  assert.equal(d.timeoutMs, 120_000 + 3_000 * 1000);
  assert.deepEqual(d.floorTunings, ['controller', 'defaults'], 'ratios are taken against the fastest floor, not only the controller-tuned one');
  assert.deepEqual((parseThroughputParams(['--floor-tunings', 'defaults'], {}) as ThroughputParams).floorTunings, ['defaults']);
  const p = parseThroughputParams(['--backlog', '300', '--phases', 'default,refresh'], { BENCH_BACKLOG: '5', BENCH_BURST: '60' }) as ThroughputParams;
  assert.equal(p.backlog, 300);
  assert.equal(p.burst, 60);
  assert.deepEqual(p.phases, ['default', 'refresh']);
  assert.throws(() => parseThroughputParams(['--phases', 'default,fast'], {}), /--phases: unknown "fast"/);
  assert.throws(() => parseThroughputParams(['--backlog', '0'], {}), /--backlog=0/);
  assert.throws(() => parseThroughputParams(['--settle', 'soon'], {}), /--settle=soon: not a duration/);
  assert.equal(parseThroughputParams(['--help'], {}), 'help');
});

void test('percentiles: nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.deepEqual(percentiles([3, 1, 2]), { n: 3, p50: 2, p90: 3, p99: 3, max: 3 });
  assert.ok(Number.isNaN(percentile([], 50)));
});

void test('ratios: against the fastest floor of each activity kind for time, the leanest for CPU', async () => {
  const { ratiosFor } = await import('../bench/throughput/report.js');
  const floor = (tuning: 'controller' | 'defaults', seconds: number, cpu: number) =>
    ({ activity: 'local', tuning, seconds, cpuMsPerWorkflow: { process: cpu, server: 0 }, histories: { events: { mean: 7 } } }) as never;
  const controller = { backlog: { convergedSeconds: 30, cpu: { msPerProfile: { controllerPlusTemporal: 20 } }, histories: { events: { mean: 8 } } } } as never;
  const r = ratiosFor(controller, undefined, [floor('controller', 20, 8), floor('defaults', 15, 10)]);
  assert.equal(r.convergedVsTemporalFloor.local, 2);
  assert.equal(r.cpuVsTemporalFloor.local, 2.5);
  assert.deepEqual(r.floorTuning?.local, { time: 'defaults', cpu: 'controller' });
});

void test('burst timeline: controller log lines joined with the benchmark times, stage by stage', async () => {
  const { controllerTimes, stageSummary } = await import('../bench/throughput/burst-timeline.js');
  const at = (ms: number): string => new Date(Date.UTC(2026, 11, 7) + ms).toISOString();
  const line = (ms: number, msg: string, fields: object): string => JSON.stringify({ level: 30, time: at(ms), msg, ...fields });
  const log = [
    line(100, 'signalled profileChanged', { workflowId: 'clusterprofile/fleet/p-1/uid' }),
    line(130, 'signalled profileChanged', { workflowId: 'clusterprofile/fleet/p-1/uid' }),
    line(150, 'sync', { profile: 'fleet/p-1' }),
    line(160, 'finalizer added', { profile: 'fleet/p-1' }),
    line(170, 'kubeconfig Secret written', { profile: 'fleet/p-1' }),
    line(180, 'SveltosCluster applied', { profile: 'fleet/p-1' }),
    line(999, 'SveltosCluster applied', { profile: 'other/p-1' }),
    'not json',
  ].join('\n');
  const controller = controllerTimes(log, 'fleet');
  assert.equal(controller.get('p-1')?.signals, 2);
  const t0 = Date.UTC(2026, 11, 7);
  const summary = stageSummary(new Map([['p-1', { created: t0, statusSet: t0 + 20, sveltosClusterSeen: t0 + 190 }]]), controller);
  assert.equal(summary.profiles, 1);
  assert.equal(summary.signalledTwice, 1);
  const p50 = Object.values(summary.stages).map((p) => p.p50);
  // create→status 20, status→last signal 110, signal→sync 20, 10, 10, 10, applied→seen 10, total 190
  assert.deepEqual(p50, [20, 110, 20, 10, 10, 10, 10, 190]);
});

test('a burst splits into its opening seconds and the rest, by creation time', async () => {
  const { splitBurst } = await import('../bench/throughput/burst-timeline.js');
  const t0 = 1_700_000_000_000;
  const times = new Map([
    ['a', { created: t0, sveltosClusterSeen: t0 + 500 }],
    ['b', { created: t0 + 1_999, sveltosClusterSeen: t0 + 1_999 + 300 }],
    ['c', { created: t0 + 2_000, sveltosClusterSeen: t0 + 2_000 + 80 }],
    ['d', { created: t0 + 3_000, sveltosClusterSeen: t0 + 3_000 + 60 }],
    ['lost', { created: t0 + 3_500 }],
  ]);
  const split = splitBurst(times, 2_000);
  assert.deepEqual([split.opening.n, split.opening.max, split.rest.n, split.rest.max], [2, 500, 2, 80]);
});
