// Fault matrix, an identity provider's bad day (issue 17): the real `clusterinventory run` as a child
// process against the real stack. First a provider that fails fast (exit 1) for a whole fleet; then 200
// profiles on a provider that hangs, healthy secret-reader profiles alongside, one by one and in a burst of
// 20/s, and the provider's recovery. What must hold: healthy profiles are not slowed
// down, no storm of slow workflow tasks, the provider never sees more calls at once than its limit, the
// breaker opens and reports ProviderUnavailable, and everything converges once the provider is back.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { statusQuery } from '../../workflows/api.js';
import { Fleet, SOURCE_SECRET } from '../bench/throughput/fleet.js';
import { KubeHttp } from '../bench/throughput/kube-http.js';
import { percentiles } from '../bench/support.js';
import { spokeKubeconfig } from '../support/e2e.js';
import { find, parsePrometheus } from '../support/prometheus.js';
import { eventually, stackEnv } from '../support/stack.js';
import { FaultFixture, IDP_MAX_CONCURRENT_RUNS, Roster, names, report, type Incarnation } from './harness.js';

const GUARD = { timeout: 15 * 60_000 };
const HANGING = 200;
const HEALTHY_ONE_BY_ONE = 10;
const BURST = 40;
const BURST_RATE = 20;
/**
 * Convergence bound after the provider recovers: the breaker's cool-down left (at most 60 s this early in an
 * outage), plus a profile's retry delay (at most the 30 s sync period here), plus the recovering fleet's
 * writes (Secret, SveltosCluster, Event for 260 profiles at the default 20 writes/s per resource, slower on a
 * loaded machine: measured 90–120 s in all).
 */
const RECOVERY_BOUND_MS = 180_000;
/**
 * Slow-workflow-task warnings tolerated per scenario (the old code logged 421 in the first three minutes of
 * the hang scenario). Not zero: on a loaded 2-core machine a few syncs that write (20 writes/s per resource
 * on the client side) while a recovering fleet writes too take a little over 5 s, plugin or not.
 */
const SLOW_TASK_WARNINGS_MAX = 10;
/** Measured 5.5–9.0 s (p99) and 2.1–2.8 s (burst p50) on an otherwise idle 2-core machine. */
const HEALTHY_P99_BOUND_S = 30;
const BURST_P50_BOUND_S = 10;
/**
 * Workflow tasks per hanging profile per minute while the provider stays down. Retried on workflow timers it
 * was 2–3 tasks every 30–60 s; a profile waiting for its provider in one activity (ADR 9) costs two tasks
 * per wait of up to 150 s.
 */
const HANGING_TASKS_PER_PROFILE_MINUTE_MAX = 1.5;

describe('fault matrix: an identity provider that hangs or fails', GUARD, () => {
  const fx = new FaultFixture();
  const roster = new Roster();
  let kube: KubeHttp;
  let fleet: Fleet;

  before(async () => {
    // Retries of failed syncs back off up to the sync period: short here so that recovery is quick to see.
    // A 10 s exec timeout (30 s by default) keeps the file short; the local budget (2 s) does not depend on it.
    // FAULT_CONTROLLER_FLAGS="--kube-api-qps 1000 …" runs the same scenarios under other controller flags.
    const extra = process.env.FAULT_CONTROLLER_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
    await fx.start({ flags: ['--sync-period', '30s', '--exec-timeout', '10s', ...extra] });
    await fx.client();
    kube = new KubeHttp(16);
    fleet = new Fleet(kube, fx.namespace);
    await fx.createSecret(SOURCE_SECRET, { kubeconfig: spokeKubeconfig('bench-token') });
    await fleet.watch();
  });

  after(async () => {
    // For a look at what the controller did: FAULT_CONTROLLER_LOG=/path.
    if (process.env.FAULT_CONTROLLER_LOG) await writeFile(process.env.FAULT_CONTROLLER_LOG, fx.controller.logs.join('\n'));
    await rm(fx.plugins.file('idp-hang'), { force: true });
    await rm(fx.plugins.file('idp-fail'), { force: true });
    await fx.stop();
    // The stack runs no namespace controller: the objects go before the namespace does.
    await fleet?.destroy().catch(() => undefined);
    kube?.close();
  });

  test('a provider that fails fast for the whole fleet: the breaker opens, ProviderUnavailable shows, plugin runs stay bounded, then recovery', async () => {
    // On its own feet even if the hang scenario failed half-way: the provider no longer hangs, it fails.
    await rm(fx.plugins.file('idp-hang'), { force: true });
    const runsBefore = await runs(fx);
    const warningsBefore = slowTaskWarnings(fx);
    await writeFile(fx.plugins.file('idp-fail'), '');
    const fleetNames = names('failing', 60);
    const failing = await createExecProfiles(fx, fleetNames);
    const outageStart = Date.now();
    await eventually('the breaker of fault-idp opened', async () => ((await breakerState(fx)) === 2 ? true : undefined), 60_000);
    const victim = failing.at(-1)!;
    await eventually(
      'a failing profile is Degraded with ProviderUnavailable, and its Event says so',
      async () => {
        const s = await fx.handleOf(victim).query(statusQuery);
        const events = await fx.events(victim.name);
        return s.phase === 'Degraded' && s.lastError?.reason === 'ProviderUnavailable' && events.some((e) => e.type === 'Warning' && e.reason === 'ProviderUnavailable')
          ? true
          : undefined;
      },
      60_000,
    );
    const metrics = await fx.controller.metrics();
    const refused = find(metrics, 'clusterinventory_provider_rejections_total', { provider: 'fault-idp', reason: 'unavailable' }).reduce((a, s) => a + s.value, 0);
    assert.ok(refused > 0, 'syncs were refused by the breaker');
    // Keep the outage on for a while: the fleet keeps retrying, the provider barely sees it.
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - outageStart))));
    const outageRuns = (await runs(fx)) - runsBefore;
    const outageS = (Date.now() - outageStart) / 1000;
    console.log(`# fault-matrix: failing provider: ${outageRuns} plugin runs for ${fleetNames.length} profiles in ${outageS.toFixed(0)} s of outage`);
    // Before the breaker opens: its threshold plus the runs already started; then one probe per cool-down (≥ 15 s).
    const bound = 5 + IDP_MAX_CONCURRENT_RUNS + Math.ceil(outageS / 15) + 2;
    assert.ok(outageRuns <= bound, `${outageRuns} plugin runs during the outage (bound ${bound})`);

    await rm(fx.plugins.file('idp-fail'));
    const recovered = Date.now();
    await fx.converge(failing, [], RECOVERY_BOUND_MS);
    report('failing provider', `recovery to ${failing.length} converged`, Date.now() - recovered);
    roster.live.push(...failing);
    assert.equal(await breakerState(fx), 0, 'the breaker closed again');
    assert.ok((await peakConcurrency(fx)) <= IDP_MAX_CONCURRENT_RUNS);
    const warnings = slowTaskWarnings(fx) - warningsBefore;
    console.log(`# fault-matrix: failing provider: slow-workflow-task warnings: ${warnings}`);
    assert.ok(warnings <= SLOW_TASK_WARNINGS_MAX, `${warnings} slow workflow task warnings (TMPRL1104)`);
  });

  test(`${HANGING} profiles on a hanging provider: healthy profiles stay fast; after recovery all converge within the limit`, async () => {
    // The floor of this run: the same healthy first syncs before any outage (the machine may be loaded).
    const control = names('control', HEALTHY_ONE_BY_ONE);
    for (const name of control) {
      await fleet.createProfile(name);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(await fleet.waitConverged(control, 60_000, (l) => console.log(l)), 'the control profiles converged');
    const floor = percentiles(control.map((n) => (fleet.sveltosClusterSeen.get(n)! - fleet.createdAt.get(n)!) / 1000));
    console.log(`# fault-matrix: hanging provider: floor (no outage) first sync p50/p90/p99/max ${fmt(floor)} s`);
    for (const name of control) roster.live.push(await incarnation(fx, name, 'bench-token'));

    await writeFile(fx.plugins.file('idp-hang'), '');
    const t0 = Date.now();
    const hanging = await createExecProfiles(fx, names('hang', HANGING));
    roster.live.push(...hanging);
    report('hanging provider', `${HANGING} profiles created`, Date.now() - t0);
    await new Promise((r) => setTimeout(r, 5_000));

    const oneByOne = names('healthy', HEALTHY_ONE_BY_ONE);
    for (const name of oneByOne) {
      await fleet.createProfile(name);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const burst = names('burst', BURST);
    await fleet.createProfilesAt(burst, BURST_RATE);
    const healthy = [...oneByOne, ...burst];
    const convergedAt = await fleet.waitConverged(healthy, 180_000, (l) => console.log(l));
    if (!convergedAt) {
      console.log(`# fault-matrix: hanging provider: ${fleet.converged(healthy)}/${healthy.length} healthy profiles converged in 180 s; ${slowTaskWarnings(fx)} slow-workflow-task warnings`);
    }
    assert.ok(convergedAt, 'the healthy profiles converged');
    const latency = (ns: string[]) => percentiles(ns.map((n) => (fleet.sveltosClusterSeen.get(n)! - fleet.createdAt.get(n)!) / 1000));
    const all = latency(healthy);
    const inBurst = latency(burst);
    console.log(`# fault-matrix: hanging provider: healthy first sync p50/p90/p99/max ${fmt(all)} s; burst ${fmt(inBurst)} s`);
    await printTimeline(fx, fleet, healthy);
    const warningsDuringOutage = slowTaskWarnings(fx);
    console.log(`# fault-matrix: hanging provider: slow-workflow-task warnings during the outage: ${warningsDuringOutage}`);
    for (const name of healthy) roster.live.push(await incarnation(fx, name, 'bench-token'));
    // Issue 17's targets are p99 <= 1 s and burst p50 <= 0.15 s (docs/performance.md has the runs); speed
    // stays out of timed tests on shared 2-core machines, so what is asserted is what broke before the
    // bulkheads (no healthy profile converged at all within 180 s), with room for a loaded machine.
    assert.ok(all.p99 <= HEALTHY_P99_BOUND_S, `healthy first syncs p99 ${all.p99} s > ${HEALTHY_P99_BOUND_S} s`);
    assert.ok(inBurst.p50 <= BURST_P50_BOUND_S, `burst p50 ${inBurst.p50} s > ${BURST_P50_BOUND_S} s`);
    assert.ok(warningsDuringOutage <= SLOW_TASK_WARNINGS_MAX, `${warningsDuringOutage} slow workflow task warnings (TMPRL1104)`);

    // The provider is still down: its breaker opens, and the profiles say why.
    const tasksBefore = await workflowTasksCompleted();
    const windowStart = Date.now();
    await eventually('the breaker of fault-idp opened', async () => ((await breakerState(fx)) === 2 ? true : undefined), 90_000);
    const victim = hanging[0]!;
    const status = await eventually(
      'a hanging profile reports ProviderUnavailable',
      async () => {
        const s = await fx.handleOf(victim).query(statusQuery);
        return s.lastError?.reason === 'ProviderUnavailable' ? s : undefined;
      },
      // A profile waiting for its provider reports the wait's outcome when the wait gives up (ADR 9).
      300_000,
    );
    assert.ok(['Syncing', 'Degraded'].includes(status.phase), status.phase);
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - windowStart))));
    const perProfileMinute = ((await workflowTasksCompleted()) - tasksBefore) / HANGING / ((Date.now() - windowStart) / 60_000);
    console.log(`# fault-matrix: hanging provider: workflow tasks per hanging profile per minute of outage: ${perProfileMinute.toFixed(2)}`);
    assert.ok(perProfileMinute <= HANGING_TASKS_PER_PROFILE_MINUTE_MAX, `${perProfileMinute.toFixed(2)} workflow tasks per hanging profile per minute`);

    // Nothing was written for a profile whose credential could not be had, not even the finalizer: the
    // outage's fleet left the ClusterProfiles' write limit to the healthy ones (ADR 9, third amendment).
    const finalized = await fx.finalized();
    assert.deepEqual(hanging.filter((p) => finalized.has(p.name)).map((p) => p.name), [], 'hanging profiles with a finalizer');
    assert.ok(healthy.every((n) => finalized.has(n)), 'every healthy profile carries the finalizer');

    // Recovery: calls in flight complete, new ones answer at once.
    await rm(fx.plugins.file('idp-hang'));
    const recovered = Date.now();
    const ms = await fx.converge(roster.live, roster.deleted, RECOVERY_BOUND_MS);
    report('hanging provider', `recovery to ${roster.live.length} converged`, Date.now() - recovered);
    assert.ok(ms <= RECOVERY_BOUND_MS);
    const peak = await peakConcurrency(fx);
    console.log(`# fault-matrix: hanging provider: peak concurrent plugin runs ${peak} (limit ${IDP_MAX_CONCURRENT_RUNS})`);
    assert.ok(peak >= 1 && peak <= IDP_MAX_CONCURRENT_RUNS, `the provider saw ${peak} calls at once`);
    const warnings = slowTaskWarnings(fx);
    assert.ok(warnings <= SLOW_TASK_WARNINGS_MAX, `${warnings} slow workflow task warnings (TMPRL1104)`);
  });
});

function fmt(p: { p50: number; p90: number; p99: number; max: number }): string {
  return [p.p50, p.p90, p.p99, p.max].map((x) => x.toFixed(2)).join(' / ');
}

async function createExecProfiles(fx: FaultFixture, ns: string[]): Promise<Incarnation[]> {
  const out: Incarnation[] = [];
  for (let i = 0; i < ns.length; i += 10) out.push(...(await Promise.all(ns.slice(i, i + 10).map((n) => fx.createExecProfile(n, 'fault-idp')))));
  return out;
}

async function incarnation(fx: FaultFixture, name: string, token: string): Promise<Incarnation> {
  const p = await fx.getProfile(name);
  return { name, uid: p!.metadata.uid!, token };
}

/** `[TMPRL1104] … Workflow task duration exceeded` lines in the controller's log. */
function slowTaskWarnings(fx: FaultFixture): number {
  return fx.controller.logs.filter((l) => l.includes('TMPRL1104')).length;
}

async function breakerState(fx: FaultFixture): Promise<number | undefined> {
  return find(await fx.controller.metrics(), 'clusterinventory_provider_breaker_state', { provider: 'fault-idp' })[0]?.value;
}

/** Where the slowest healthy first sync spent its time: before its workflow started, queued, in its first task. */
async function printTimeline(fx: FaultFixture, fleet: Fleet, healthy: string[]): Promise<void> {
  const latency = (n: string) => fleet.sveltosClusterSeen.get(n)! - fleet.createdAt.get(n)!;
  const slowest = healthy.reduce((a, b) => (latency(b) > latency(a) ? b : a));
  const created = performance.timeOrigin + fleet.createdAt.get(slowest)!;
  const events = (await fx.handleOf(await incarnation(fx, slowest, 'bench-token')).fetchHistory()).events ?? [];
  const at = (e: (typeof events)[number] | undefined) => (e?.eventTime ? Number(e.eventTime.seconds) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 - created : NaN);
  const stages = [
    ['workflow started', events[0]],
    ['first task started', events.find((e) => e.workflowTaskStartedEventAttributes)],
    ['first task completed', events.find((e) => e.workflowTaskCompletedEventAttributes)],
  ] as const;
  const parts = stages.map(([what, e]) => `${what} +${(at(e) / 1000).toFixed(2)} s`);
  console.log(`# fault-matrix: hanging provider: slowest healthy profile ${slowest}: ${parts.join(', ')}, SveltosCluster +${(latency(slowest) / 1000).toFixed(2)} s`);
}

/** Workflow tasks the Temporal server has seen completed (its own counter; every profile in the namespace). */
async function workflowTasksCompleted(): Promise<number> {
  const url = stackEnv().TEMPORAL_METRICS_URL;
  assert.ok(url, 'TEMPORAL_METRICS_URL in .stack/env');
  const samples = parsePrometheus(await (await fetch(url)).text());
  return find(samples, 'service_requests', { operation: 'RespondWorkflowTaskCompleted', service_name: 'frontend' }).reduce((a, s) => a + s.value, 0);
}

async function runs(fx: FaultFixture): Promise<number> {
  return (await readFile(fx.plugins.file('idp-runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
}

async function peakConcurrency(fx: FaultFixture): Promise<number> {
  const lines = (await readFile(fx.plugins.file('idp-concurrency'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return Math.max(0, ...lines.map(Number));
}
