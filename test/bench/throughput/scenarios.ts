// The controller scenarios of the throughput benchmark, each in a fresh Kubernetes namespace and task
// queue, cleaned up afterwards (workflows terminated, finalizers removed, objects deleted):
//   - backlog + burst: `backlog` profiles exist before the controller starts → time until every
//     SveltosCluster and Secret exists; then `burst` new profiles at `rate`/s while it runs → per-profile
//     create → SveltosCluster latency, none lost;
//   - refresh: a few profiles under a short --sync-period → what one unchanged refresh costs.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { forgetTaskQueue, log, percentiles, sleep, terminateMatching, type Percentiles } from '../support.js';
import { diffCounts, perUnit, scrapeRequests, summarize, waitQuiet, type RequestCounts, type RequestSummary } from './apiserver-requests.js';
import { controllerTimes, stageSummary, formatStages, splitBurst, type BenchTimes, type BurstSplit, type StageSummary } from './burst-timeline.js';
import { Controller } from './controller.js';
import { Fleet, profileName } from './fleet.js';
import { fetchHistories, historyCosts, refreshCosts, timersFiredBetween, type HistoryCosts, type RefreshCosts } from './histories.js';
import type { KubeHttp } from './kube-http.js';
import { CpuMeter, cpuSeconds } from './proc.js';
import { actionsBetween, scrapeActions, type ServerActions } from './server-actions.js';
import { billableActions, eventTimeMs, meanRecord, sumValues } from './history-costs.js';
import { SOURCE_SECRET } from './fleet.js';
import { spokeKubeconfig } from '../../support/e2e.js';

export interface BenchContext {
  client: Client;
  temporalNamespace: string;
  kube: KubeHttp;
  pids: { temporal: number; apiServer: number };
  resultsDir: string;
  historySample: number;
  settleMs: number;
  cpuProfDir?: string;
  /** The Temporal server's Prometheus endpoint (its `action` counter); absent: server counts are not reported. */
  metricsUrl?: string;
}

export interface CpuFigures {
  /** CPU seconds in the phase. */
  seconds: { controller: number; temporalServer: number; apiServer: number };
  /** CPU milliseconds per profile in the phase. */
  msPerProfile: { controller: number; temporalServer: number; apiServer: number; controllerPlusTemporal: number };
}

export interface BacklogResult {
  profiles: number;
  /** From starting the process until /readyz answered 200, and the controller's CPU seconds by then. */
  startup: { readySeconds: number; cpuSeconds: number } | null;
  /** Creating the profiles (before the controller starts): not part of the convergence time. */
  createSeconds: number;
  /** From starting the controller process until every SveltosCluster and Secret exists; null: timed out. */
  convergedSeconds: number | null;
  converged: number;
  cpu: CpuFigures;
  requestsPerProfile: RequestSummary;
  histories: HistoryCosts;
  /** Billable actions per new profile as the server counted them (controller start → converged + settle). */
  serverActions?: ServerActions;
}

export interface BurstResult {
  profiles: number;
  ratePerSecond: number;
  /** Create request sent → SveltosCluster seen by a watch, ms. */
  sveltosClusterLatencyMs: Percentiles;
  /** Create request sent → both SveltosCluster and Secret seen, ms. */
  convergedLatencyMs: Percentiles;
  lost: number;
  cpu: CpuFigures;
  requestsPerProfile: RequestSummary;
  serverActions?: ServerActions;
  /** The controller was restarted over the converged backlog before the burst: its new process's start-up. */
  afterRestart?: { readySeconds: number };
  /** Where the time went, stage by stage (burst-timeline.ts); the raw times are in `timelineFile`. */
  stages?: StageSummary;
  /** Latencies of the profiles created in the burst's first BURST_OPENING_MS, and of the rest. */
  split?: BurstSplit;
  timelineFile?: string;
}

/** The opening of a burst reported apart: right after a restart, the profiles that meet cold code. */
export const BURST_OPENING_MS = 2_000;

export interface ControllerResult {
  label: string;
  /** The flags the scenario chose; `args` is the whole command line. */
  flags: string[];
  args: string[];
  logFile: string;
  backlog: BacklogResult;
  burst?: BurstResult;
  peakRssMiB: number;
  exitCode: number | null;
}

export interface RefreshResult {
  profiles: number;
  syncPeriod: string;
  windowSeconds: number;
  /** Refresh timers that fired in the window, over all profiles. */
  cycles: number;
  requestsPerCycle: RequestSummary;
  cpuMsPerCycle: { controller: number; temporalServer: number };
  history: RefreshCosts;
  /** Billable actions per refresh cycle as the server counted them over the idle window. */
  serverActionsPerCycle?: ServerActions;
  /** One signal of each kind to every profile, and what it cost (the signal and the work it causes). */
  signals: SignalCost[];
  logFile: string;
}

export interface SignalCost {
  kind: 'profileChanged' | 'resyncRequested';
  /** WorkflowExecutionSignaled events in the window, over all profiles. */
  signals: number;
  serverActionsPerSignal?: ServerActions;
  /** From the histories: billable actions of the events in the window, per signal, by kind. */
  historyActionsPerSignal: { mean: number; byKind: Record<string, number> };
}

function cpuFigures(seconds: CpuFigures['seconds'], profiles: number): CpuFigures {
  const per = (s: number): number => (s * 1000) / profiles;
  return {
    seconds,
    msPerProfile: {
      controller: per(seconds.controller),
      temporalServer: per(seconds.temporalServer),
      apiServer: per(seconds.apiServer),
      controllerPlusTemporal: per(seconds.controller + seconds.temporalServer),
    },
  };
}

async function workflowIds(client: Client, taskQueue: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'`, pageSize: Math.min(limit, 1000) })) {
    ids.push(wf.workflowId);
    if (ids.length >= limit) break;
  }
  return ids;
}

/** Requests the benchmark itself sent in a window (it creates profiles during the burst). */
function minus(counts: RequestCounts, own: RequestCounts): RequestCounts {
  const out = { ...counts };
  for (const [k, v] of Object.entries(own)) if (out[k] !== undefined) out[k] = Math.max(0, out[k] - v);
  return out;
}

/** Runs the fleet's scenario with one controller, then cleans up whatever happened. */
async function withFleet<T>(ctx: BenchContext, label: string, fn: (fleet: Fleet, taskQueue: string) => Promise<T>): Promise<T> {
  const id = randomUUID().slice(0, 6);
  const fleet = new Fleet(ctx.kube, `bench-${label}-${id}`);
  const taskQueue = `bench-${label}-${id}`;
  try {
    await fleet.create();
    return await fn(fleet, taskQueue);
  } finally {
    const left = await terminateMatching(ctx.client, ctx.temporalNamespace, `TaskQueue = '${taskQueue}'`, 'throughput benchmark finished').catch((e: Error) => {
      log(`  cleanup: terminating workflows of ${taskQueue} failed: ${e.message}`);
      return 0;
    });
    await forgetTaskQueue(ctx.client, ctx.temporalNamespace, taskQueue);
    await fleet.destroy().catch((e: Error) => log(`  cleanup: deleting ${fleet.namespace} failed: ${e.message}`));
    const quietAfterMs = await waitQuiet(ctx.kube).catch(() => 0);
    log(
      `  cleaned up ${fleet.namespace} (${fleet.profiles.length} profiles) and the workflows of ${taskQueue}${left ? ` (${left} terminated one by one)` : ''}; ` +
        `API server quiet after ${(quietAfterMs / 1000).toFixed(0)} s`,
    );
  }
}

export async function runControllerScenario(
  ctx: BenchContext,
  o: { label: string; flags: string[]; backlog: number; burst: number; burstRate: number; timeoutMs: number; restartBeforeBurst?: boolean },
): Promise<ControllerResult> {
  return withFleet(ctx, o.label, async (fleet, taskQueue) => {
    const backlogNames = Array.from({ length: o.backlog }, (_, i) => profileName('backlog', i));
    const c0 = performance.now();
    await fleet.createProfiles(backlogNames, 16);
    const createSeconds = (performance.now() - c0) / 1000;
    log(`  ${o.backlog} ClusterProfiles created in ${createSeconds.toFixed(1)} s; starting the controller: clusterinventory run ${o.flags.join(' ')}`);
    await fleet.watch();

    const logFile = join(ctx.resultsDir, `controller-${o.label}-${taskQueue}.log`);
    const requests0 = await scrapeRequests(ctx.kube);
    const actions0 = await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace);
    const servers = new CpuMeter({ temporalServer: ctx.pids.temporal, apiServer: ctx.pids.apiServer });
    const t0 = performance.now();
    const start = (): Promise<Controller> =>
      Controller.start({
        namespace: fleet.namespace,
        taskQueue,
        flags: o.flags,
        logFile,
        ...(ctx.cpuProfDir ? { cpuProfDir: ctx.cpuProfDir } : {}),
      });
    let controller = await start();
    const exitedEarly = (): string | undefined => (controller.running ? undefined : `the controller exited early; see ${logFile}`);
    let startup: BacklogResult['startup'] = null;
    const readiness = controller.ready().then(
      () => void (startup = { readySeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds(controller.pid) }),
      () => undefined,
    );
    try {
      const tConverged = await fleet.waitConverged(backlogNames, o.timeoutMs, log, exitedEarly);
      const serverCpu = servers.elapsed();
      const backlogCpu = cpuFigures({ controller: cpuSeconds(controller.pid), ...serverCpu }, o.backlog);
      const converged = fleet.converged(backlogNames);
      const convergedSeconds = tConverged === undefined ? null : (tConverged - t0) / 1000;
      log(
        convergedSeconds === null
          ? `  backlog NOT converged after ${(o.timeoutMs / 1000).toFixed(0)} s: ${converged}/${o.backlog}`
          : `  backlog converged in ${convergedSeconds.toFixed(1)} s`,
      );
      await readiness;
      await sleep(ctx.settleMs);
      const backlogRequests = perUnit(summarize(diffCounts(requests0, await scrapeRequests(ctx.kube))), o.backlog);
      const backlogActions = actionsBetween(actions0, await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace), o.backlog);
      const histories = historyCosts(await fetchHistories(ctx.client, await workflowIds(ctx.client, taskQueue, ctx.historySample)));
      const result: ControllerResult = {
        label: o.label,
        flags: o.flags,
        args: controller.args,
        logFile,
        backlog: { profiles: o.backlog, startup, createSeconds, convergedSeconds, converged, cpu: backlogCpu, requestsPerProfile: backlogRequests, histories, ...(backlogActions ? { serverActions: backlogActions } : {}) },
        peakRssMiB: NaN,
        exitCode: null,
      };

      let afterRestart: BurstResult['afterRestart'];
      if (o.burst > 0 && o.restartBeforeBurst) {
        result.peakRssMiB = controller.peakRssMiB();
        await controller.stop();
        const r0 = performance.now();
        controller = await start();
        await controller.ready();
        afterRestart = { readySeconds: (performance.now() - r0) / 1000 };
        log(`  restarted the controller over ${o.backlog} converged profiles: ready in ${afterRestart.readySeconds.toFixed(1)} s`);
        await sleep(ctx.settleMs);
      }
      if (o.burst > 0) {
        const burstNames = Array.from({ length: o.burst }, (_, i) => profileName('burst', i));
        const requests1 = await scrapeRequests(ctx.kube);
        const actions1 = await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace);
        const burstServers = new CpuMeter({ temporalServer: ctx.pids.temporal, apiServer: ctx.pids.apiServer });
        const controllerCpu1 = cpuSeconds(controller.pid);
        log(`  burst: ${o.burst} new ClusterProfiles at ${o.burstRate}/s`);
        await fleet.createProfilesAt(burstNames, o.burstRate);
        await fleet.waitConverged(burstNames, Math.max(120_000, o.timeoutMs / 4), log, exitedEarly);
        const burstCpu = cpuFigures({ controller: cpuSeconds(controller.pid) - controllerCpu1, ...burstServers.elapsed() }, o.burst);
        await sleep(ctx.settleMs);
        const own = { 'POST clusterprofiles': o.burst, 'PATCH clusterprofiles/status': o.burst };
        const burstRequests = perUnit(summarize(minus(diffCounts(requests1, await scrapeRequests(ctx.kube)), own)), o.burst);
        const burstActions = actionsBetween(actions1, await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace), o.burst);
        const latency = (seen: (n: string) => number | undefined): number[] =>
          burstNames.flatMap((n) => {
            const t = seen(n);
            return t === undefined ? [] : [t - fleet.createdAt.get(n)!];
          });
        const sc = latency((n) => fleet.sveltosClusterSeen.get(n));
        const both = latency((n) => (fleet.sveltosClusterSeen.has(n) && fleet.secretSeen.has(n) ? Math.max(fleet.sveltosClusterSeen.get(n)!, fleet.secretSeen.get(n)!) : undefined));
        result.burst = {
          profiles: o.burst,
          ratePerSecond: o.burstRate,
          sveltosClusterLatencyMs: percentiles(sc),
          convergedLatencyMs: percentiles(both),
          lost: o.burst - both.length,
          cpu: burstCpu,
          requestsPerProfile: burstRequests,
          ...(burstActions ? { serverActions: burstActions } : {}),
          ...(afterRestart ? { afterRestart } : {}),
        };
        const p = result.burst.sveltosClusterLatencyMs;
        log(`  burst: create → SveltosCluster p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms, max ${p.max.toFixed(0)} ms; lost ${result.burst.lost}`);
      }
      result.peakRssMiB = Math.max(controller.peakRssMiB(), Number.isNaN(result.peakRssMiB) ? 0 : result.peakRssMiB);
      result.exitCode = await controller.stop();
      if (result.burst) {
        const timelineFile = join(ctx.resultsDir, `burst-${o.label}-${taskQueue}.json`);
        const bench = burstTimes(fleet, result.burst.profiles);
        await writeFile(timelineFile, `${JSON.stringify({ namespace: fleet.namespace, profiles: Object.fromEntries(bench) })}\n`);
        result.burst.timelineFile = timelineFile;
        result.burst.stages = stageSummary(bench, controllerTimes(await readFile(logFile, 'utf8'), fleet.namespace));
        result.burst.split = splitBurst(bench, BURST_OPENING_MS);
        log(`  burst, stage by stage:\n${formatStages(result.burst.stages)}`);
      }
      return result;
    } finally {
      await controller.stop();
    }
  });
}

/**
 * The benchmark's own times of the burst profiles, as epoch milliseconds (the controller logs wall-clock
 * time): mapped with the wall clock's offset now, not performance.timeOrigin, from which a long run drifts.
 */
function burstTimes(fleet: Fleet, count: number): Map<string, BenchTimes> {
  const offset = Date.now() - performance.now();
  const epoch = (t: number | undefined): number | undefined => (t === undefined ? undefined : offset + t);
  const out = new Map<string, BenchTimes>();
  for (let i = 0; i < count; i++) {
    const name = profileName('burst', i);
    const created = epoch(fleet.createdAt.get(name));
    if (created === undefined) continue;
    const t: BenchTimes = { created };
    const statusSet = epoch(fleet.statusSetAt.get(name));
    const seen = epoch(fleet.sveltosClusterSeen.get(name));
    if (statusSet !== undefined) t.statusSet = statusSet;
    if (seen !== undefined) t.sveltosClusterSeen = seen;
    out.set(name, t);
  }
  return out;
}

export async function runRefreshScenario(
  ctx: BenchContext,
  o: { profiles: number; syncPeriod: string; syncPeriodMs: number; cycles: number; timeoutMs: number; controllerArgs: string[] },
): Promise<RefreshResult> {
  return withFleet(ctx, 'refresh', async (fleet, taskQueue) => {
    const names = Array.from({ length: o.profiles }, (_, i) => profileName('refresh', i));
    await fleet.createProfiles(names, 16);
    await fleet.watch();
    const logFile = join(ctx.resultsDir, `controller-refresh-${taskQueue}.log`);
    const controller = await Controller.start({ namespace: fleet.namespace, taskQueue, flags: ['--sync-period', o.syncPeriod, ...o.controllerArgs], logFile });
    try {
      const converged = await fleet.waitConverged(names, o.timeoutMs, log, () => (controller.running ? undefined : `the controller exited early; see ${logFile}`));
      if (converged === undefined) throw new Error(`refresh scenario: ${fleet.converged(names)}/${names.length} profiles converged within ${o.timeoutMs / 1000} s`);
      await sleep(ctx.settleMs);
      log(`  ${names.length} profiles converged; measuring ${o.cycles} sync periods of ${o.syncPeriod}`);
      const from = Date.now();
      const requests0 = await scrapeRequests(ctx.kube);
      const actions0 = await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace);
      const cpu = new CpuMeter({ controller: controller.pid, temporalServer: ctx.pids.temporal });
      await sleep(o.cycles * o.syncPeriodMs);
      const used = cpu.elapsed();
      const requests = summarize(diffCounts(requests0, await scrapeRequests(ctx.kube)));
      const actions1 = await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace);
      const to = Date.now();
      const ids = await workflowIds(ctx.client, taskQueue, names.length);
      const histories = await fetchHistories(ctx.client, ids);
      const cycles = timersFiredBetween(histories, from, to);
      if (cycles === 0) throw new Error(`refresh scenario: no refresh timer fired in ${((to - from) / 1000).toFixed(0)} s (sync period ${o.syncPeriod})`);
      const serverActionsPerCycle = actionsBetween(actions0, actions1, cycles);
      // One signal of each kind to every profile: a label change (profileChanged), then a change of the
      // source Secret they all read (resyncRequested).
      const signals: SignalCost[] = [];
      signals.push(await signalCost(ctx, ids, 'profileChanged', () => Promise.all(names.map((n) => fleet.kube.request('PATCH', `/apis/multicluster.x-k8s.io/v1alpha1/namespaces/${fleet.namespace}/clusterprofiles/${n}`, { metadata: { labels: { wave: 'two' } } }, { contentType: 'application/merge-patch+json' }))).then(() => undefined)));
      signals.push(await signalCost(ctx, ids, 'resyncRequested', () => fleet.kube.request('PATCH', `/api/v1/namespaces/${fleet.namespace}/secrets/${SOURCE_SECRET}`, { stringData: { kubeconfig: spokeKubeconfig('bench-token-rotated') } }, { contentType: 'application/merge-patch+json' }).then(() => undefined)));
      return {
        profiles: names.length,
        syncPeriod: o.syncPeriod,
        windowSeconds: (to - from) / 1000,
        cycles,
        requestsPerCycle: perUnit(requests, cycles),
        cpuMsPerCycle: { controller: (used.controller * 1000) / cycles, temporalServer: (used.temporalServer * 1000) / cycles },
        history: refreshCosts(histories),
        ...(serverActionsPerCycle ? { serverActionsPerCycle } : {}),
        signals,
        logFile,
      };
    } finally {
      await controller.stop();
    }
  });
}

const SIGNALED = 'workflowExecutionSignaledEventAttributes';

/**
 * Sends one signal of `kind` to each workflow (through `change`), waits until every history shows it,
 * lets the work it causes finish, and reports what the server and the histories count for the window.
 */
async function signalCost(ctx: BenchContext, ids: string[], kind: SignalCost['kind'], change: () => Promise<void>): Promise<SignalCost> {
  const count = async (): Promise<number> => (await fetchHistories(ctx.client, ids)).reduce((n, h) => n + (h.events ?? []).filter((e) => e[SIGNALED]).length, 0);
  const before = await count();
  const a0 = await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace);
  const from = Date.now();
  await change();
  const deadline = Date.now() + 120_000;
  let signals = 0;
  while (Date.now() < deadline) {
    signals = (await count()) - before;
    if (signals >= ids.length) break;
    await sleep(500);
  }
  await sleep(ctx.settleMs);
  const a1 = await scrapeActions(ctx.metricsUrl, ctx.temporalNamespace);
  const histories = await fetchHistories(ctx.client, ids);
  const windowed = histories.map((h) => billableActions((h.events ?? []).filter((e) => eventTimeMs(e) >= from)));
  const per = Math.max(1, signals);
  const byKind = meanRecord(windowed);
  for (const k of Object.keys(byKind)) byKind[k] = (byKind[k]! * windowed.length) / per;
  log(`  ${kind}: ${signals} signals for ${ids.length} workflows`);
  const server = actionsBetween(a0, a1, per);
  return { kind, signals, ...(server ? { serverActionsPerSignal: server } : {}), historyActionsPerSignal: { mean: sumValues(byKind), byKind } };
}
