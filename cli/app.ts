// Composes the process for `clusterinventory run | worker | watcher`: Kubernetes client, Temporal
// connection, worker with activities, watcher, metrics, health endpoints, graceful shutdown.
import { loadFingerprintKey } from '../activities/credentials/kubeconfig.js';
import { readFile } from 'node:fs/promises';
import { Runtime, type Worker } from '@temporalio/worker';
import { createReconcileActivities } from '../activities/reconcile.js';
import { createKubeClient } from '../activities/kube/client.js';
import { kubeHttp } from '../activities/kube/http.js';
import { loadKubeAccess, type KubeAccess } from '../activities/kube/kube-access.js';
import { NO_PROVIDER_FILE, maxConcurrentRunsOf, parseProviderFile, type ProviderFile } from '../activities/credentials/provider-file.js';
import { DEFAULT_BULKHEAD, ProviderBulkheads, type BulkheadObserver } from '../activities/providers/bulkhead.js';
import { SYSTEM_CLOCK } from '../activities/providers/limiter.js';
import type { AppConfig } from './config.js';
import { startHealthServer, type HealthServer } from '../worker/health.js';
import { createLogger, type Logger } from '../worker/logger.js';
import {
  FleetGauges,
  createActivityMetrics,
  createExecHistogram,
  createProviderMetrics,
  exportWatcherCounters,
  initActivityMetrics,
  instrumentActivities,
  instrumentSpawn,
} from '../worker/metrics.js';
import { installRuntime } from '../worker/telemetry.js';
import { connectTemporal, type TemporalHandles } from '../worker/temporal-connection.js';
import { listProfiles } from './visibility.js';
import { warmUpSyncPath } from '../worker/warm-up.js';
import { createWorker } from '../worker/worker.js';
import { startWatcher, type RunningWatcher } from '../watcher/watcher.js';
import { startLeaderElection, type LeaderElection } from '../watcher/leader-election.js';
import { kubeLeaseApi } from '../watcher/lease-api.js';
import { defaultLeaseName, defaultLeaseNamespace, leaderIdentity } from '../watcher/lease-defaults.js';
import { createLeaderMetrics } from '../worker/leader-metrics.js';

export interface RunningApp {
  logger: Logger;
  temporal: TemporalHandles;
  worker?: Worker;
  watcher?: RunningWatcher;
  /** The watcher's leader election (absent in worker mode or with --leader-elect=false). */
  election?: LeaderElection;
  health?: HealthServer;
  /** "host:port" of /metrics (SDK worker metrics and ours); undefined when disabled. */
  metricsAddress?: string;
  /** Resolves when the worker stopped (or immediately for a watcher-only process). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface AppOverrides {
  /** Kubernetes access instead of the default kubeconfig (client-node's KubeConfig will do). */
  kubeConfig?: KubeAccess;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Fleet gauges (per-cluster expiry, profiles by phase): visibility scan and recompute periods. */
  fleetScanPeriodMs?: number;
  fleetRefreshPeriodMs?: number;
  /** How often the watcher's counters are copied into metrics. */
  counterFlushPeriodMs?: number;
  /** Syncs per workflow run before continue-as-new, for workflows the watcher starts (tests set it small). */
  maxCyclesPerRun?: number;
}

/** The readiness probe's GET /version; the health server bounds the whole check too (worker/health.ts). */
const KUBE_PROBE_TIMEOUT_MS = 5_000;

/** Visibility scans for the fleet gauges: cheap (one list call per 1,000 profiles), and a minute is fresh enough. */
const FLEET_SCAN_PERIOD_MS = 60_000;
/** "Seconds until expiry" is recomputed this often between scans. */
const FLEET_REFRESH_PERIOD_MS = 10_000;
const COUNTER_FLUSH_PERIOD_MS = 5_000;

/** The bulkheads' observer (metrics, when on), plus a log line whenever a provider's breaker changes state. */
function logBreakerChanges(logger: Logger, metrics: BulkheadObserver | undefined): BulkheadObserver {
  const known = new Set<string>();
  return {
    inFlight: (p, n) => metrics?.inFlight(p, n),
    ran: (p, o) => metrics?.ran(p, o),
    rejected: (p, r) => metrics?.rejected(p, r),
    queued: (p, ms) => metrics?.queued(p, ms),
    breaker: (provider, state) => {
      metrics?.breaker(provider, state);
      // The first report of each provider is its initial (closed) state, not a change.
      if (!known.has(provider)) return void known.add(provider);
      const msg = { open: 'provider breaker opened: plugin runs are refused for a cool-down', 'half-open': 'provider breaker half-open: the next run probes', closed: 'provider breaker closed: the provider answers again' }[state];
      logger[state === 'open' ? 'warn' : 'info']({ provider, breaker: state }, msg);
    },
  };
}

/** Reads and validates the provider file; errors name the path and the field. */
export async function loadProviders(path: string | undefined): Promise<ProviderFile> {
  if (!path) return NO_PROVIDER_FILE;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`--clusterprofile-provider-file=${path}: cannot read: ${(e as Error).message}`);
  }
  return parseProviderFile(text, path);
}

export async function startApp(config: AppConfig, overrides: AppOverrides = {}): Promise<RunningApp> {
  const logger = overrides.logger ?? createLogger(config.logLevel, process.stdout, config.logFormat);
  const env = overrides.env ?? process.env;
  const providers = await loadProviders(config.providerFile);
  const telemetry = installRuntime(logger, config.metricsAddr);

  const kc =
    overrides.kubeConfig ??
    (await loadKubeAccess({
      env,
      onClientNode: (reason) => logger.info({ reason }, 'kubeconfig: loading @kubernetes/client-node for what the built-in reader does not handle'),
    }));
  const kube = createKubeClient(kc, { qps: config.kubeApiQps, burst: config.kubeApiBurst });
  // The Lease and the readiness probe: their own keep-alive connections, apart from the activities' limiter.
  const kubeSend = kubeHttp(kc);
  const temporal = await connectTemporal(env);
  logger.info({ mode: config.mode, temporal: temporal.address, namespace: temporal.namespace, taskQueue: config.taskQueue }, 'starting');

  // Our metrics go through the SDK's meter (the runtime exists once connected), so that its Prometheus
  // exporter serves them with the worker metrics. Without --metrics-addr nothing is created.
  const meter = telemetry.metricsAddress ? Runtime.instance().metricMeter : undefined;
  const fleet =
    meter && config.mode !== 'worker'
      ? new FleetGauges({
          meter,
          list: () => listProfiles(temporal.client, { taskQueue: config.taskQueue }),
          onScanError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'fleet metrics: visibility scan failed; retrying on the next one'),
        })
      : undefined;

  let worker: Worker | undefined;
  const shuttingDown = new AbortController();
  let workerRun: Promise<void> = Promise.resolve();
  if (config.mode !== 'watcher') {
    // A configured fingerprint key that is too short fails the start, not the first sync.
    loadFingerprintKey(env);
    // One bulkhead per exec provider on this worker (concurrency limit and circuit breaker), ADR 9.
    const bulkheads = new ProviderBulkheads(
      (name) => maxConcurrentRunsOf(providers, name),
      DEFAULT_BULKHEAD,
      SYSTEM_CLOCK,
      logBreakerChanges(logger, meter ? createProviderMetrics(meter) : undefined),
    );
    for (const p of providers.providers) bulkheads.declare(p.name);
    let activities = createReconcileActivities({
      kube,
      providers,
      secretReaderNamespaces: config.secretReaderNamespaces,
      execTimeoutMs: config.execTimeoutMs,
      bulkheads,
      schedule: config.schedule,
      shutdownSignal: shuttingDown.signal,
      // In `run` the watcher's informer holds every ClusterProfile (started below).
      ...(config.mode === 'run' ? { profileCache: (ns: string, name: string) => watcher?.cachedProfile(ns, name) } : {}),
      now: () => Date.now(),
      baseEnv: env,
      logger,
      ...(meter ? { spawn: instrumentSpawn(createExecHistogram(meter), providers) } : {}),
    });
    if (meter) {
      const activityMetrics = createActivityMetrics(meter);
      initActivityMetrics(activityMetrics, providers);
      activities = instrumentActivities(activities, activityMetrics, fleet);
    }
    // The first syncs after a start otherwise pay for compiling the sync path while profiles wait.
    const warm = await warmUpSyncPath(env);
    if (warm.error) logger.warn({ ms: Math.round(warm.ms), err: warm.error }, 'warm-up of the sync path failed; the first syncs will be slower');
    else logger.debug({ ms: Math.round(warm.ms) }, 'sync path warmed up');
    worker = await createWorker({ connection: temporal.connection, namespace: temporal.namespace, taskQueue: config.taskQueue, activities, maxCachedWorkflows: config.maxCachedWorkflows, workflowStackTraces: config.workflowStackTraces });
    workerRun = worker.run();
  }

  let watcher: RunningWatcher | undefined;
  let election: LeaderElection | undefined;
  if (config.mode !== 'worker' && config.leaderElection.enabled) {
    const le = config.leaderElection;
    const namespace = le.namespace ?? defaultLeaseNamespace(kc, env, config.namespaces);
    const name = le.id ?? defaultLeaseName(config.taskQueue);
    election = startLeaderElection({
      api: kubeLeaseApi(kubeSend, namespace, name, Math.max(1000, Math.floor(le.timings.renewDeadlineMs / 2))),
      identity: leaderIdentity(env),
      lease: `${namespace}/${name}`,
      timings: le.timings,
      logger,
    });
  }
  if (config.mode !== 'worker') {
    watcher = startWatcher({
      ...(election ? { leadership: election } : {}),
      kubeConfig: kc,
      client: temporal.client,
      taskQueue: config.taskQueue,
      namespaces: config.namespaces,
      secretReaderNamespaces: config.secretReaderNamespaces,
      relistPeriodMs: config.relistPeriodMs,
      signalRateLimit: config.changeSyncLimit,
      ...(overrides.maxCyclesPerRun !== undefined ? { maxCyclesPerRun: overrides.maxCyclesPerRun } : {}),
      logger,
    });
  }

  const timers: NodeJS.Timeout[] = [];
  if (meter && watcher) {
    const counters = exportWatcherCounters(meter, watcher.counters);
    counters.flush();
    timers.push(setInterval(() => counters.flush(), overrides.counterFlushPeriodMs ?? COUNTER_FLUSH_PERIOD_MS).unref());
  }
  if (meter && election) {
    const leaderMetrics = createLeaderMetrics(meter);
    const e = election;
    leaderMetrics.update(e.status());
    e.onChange(() => leaderMetrics.update(e.status()));
    timers.push(setInterval(() => leaderMetrics.update(e.status()), overrides.counterFlushPeriodMs ?? COUNTER_FLUSH_PERIOD_MS).unref());
  }
  fleet?.start(overrides.fleetScanPeriodMs ?? FLEET_SCAN_PERIOD_MS, overrides.fleetRefreshPeriodMs ?? FLEET_REFRESH_PERIOD_MS);
  if (telemetry.metricsAddress) logger.info({ address: telemetry.metricsAddress }, 'Prometheus metrics on /metrics');

  let kubeReachable = false;
  const probeKube = async (): Promise<boolean> => {
    try {
      await kubeSend({ method: 'GET', path: '/version', timeoutMs: KUBE_PROBE_TIMEOUT_MS });
      kubeReachable = true;
    } catch {
      kubeReachable = false;
    }
    return kubeReachable;
  };
  let watcherSynced = !watcher;
  void watcher?.ready.then(() => (watcherSynced = true));
  const health = config.healthAddr
    ? await startHealthServer(config.healthAddr, {
        kubernetes: probeKube,
        temporal: async () => {
          try {
            await temporal.connection.healthService.check({});
            return true;
          } catch {
            return false;
          }
        },
        ...(worker ? { worker: () => worker.getState() === 'RUNNING' } : {}),
        ...(watcher ? { informers: () => watcherSynced } : {}),
      }, {
        // A standby is as healthy and ready as the leader: it only does not signal.
        documents: {
          '/leader': () => (election ? election.status() : { leader: watcher !== undefined, leaderElection: false }),
        },
      })
    : undefined;
  if (health) logger.info({ port: health.port }, 'health endpoints on /healthz and /readyz');

  // A watcher-only process has no worker run to wait on: it is done when stopped.
  let markStopped: () => void = () => undefined;
  const idle = new Promise<void>((r) => (markStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      // The worker first: its grace period for in-flight activities starts now, while the watcher stops.
      // Runtime.install is told not to handle signals, so nobody else has started its shutdown.
      if (worker?.getState() === 'RUNNING') worker.shutdown();
      // Syncs are local activities, which the worker's shutdown does not cancel: abandon them (their plugins
      // are killed) so that their workflow tasks end now and another worker syncs again.
      shuttingDown.abort();
      // Signals stop and the Lease is given up before anything else waits, so that a standby takes over
      // at its next try (within the retry period) instead of after the lease duration.
      await election?.stop().catch((e: unknown) => logger.error({ err: String(e) }, 'leader election stopped with an error'));
      await watcher?.stop().catch((e: unknown) => logger.error({ err: String(e) }, 'watcher stopped with an error'));
      for (const t of timers.splice(0)) clearInterval(t);
      await fleet?.stop();
      await workerRun.catch((e: unknown) => logger.error({ err: String(e) }, 'worker stopped with an error'));
      await health?.close();
      await temporal.connection.close();
      markStopped();
      logger.info('stopped');
    })());

  return {
    logger,
    temporal,
    ...(worker ? { worker } : {}),
    ...(watcher ? { watcher } : {}),
    ...(election ? { election } : {}),
    ...(health ? { health } : {}),
    ...(telemetry.metricsAddress ? { metricsAddress: telemetry.metricsAddress } : {}),
    done: worker ? workerRun : idle,
    stop,
  };
}
