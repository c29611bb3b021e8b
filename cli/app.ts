// Composes the process for `clusterinventory run | worker | watcher`: Kubernetes client, Temporal
// connection, worker with activities, watcher, health endpoints, graceful shutdown.
import { readFile } from 'node:fs/promises';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { createReconcileActivities } from '../activities/reconcile.js';
import { createKubeClient } from '../activities/kube/client.js';
import { NO_PROVIDER_FILE, parseProviderFile, type ProviderFile } from '../activities/credentials/provider-file.js';
import type { AppConfig } from '../worker/config.js';
import { startHealthServer, type HealthServer } from '../worker/health.js';
import { createLogger, type Logger } from '../worker/logger.js';
import { connectTemporal, type TemporalHandles } from '../worker/temporal-connection.js';
import { createWorker } from '../worker/worker.js';
import { startWatcher, type RunningWatcher } from '../watcher/watcher.js';

export interface RunningApp {
  logger: Logger;
  temporal: TemporalHandles;
  worker?: Worker;
  watcher?: RunningWatcher;
  health?: HealthServer;
  /** Resolves when the worker stopped (or immediately for a watcher-only process). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface AppOverrides {
  kubeConfig?: KubeConfig;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
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

let runtimeInstalled = false;
function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: {
      log: (level, message, meta) => logger[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')]({ ...meta }, message),
      trace: (message, meta) => logger.trace({ ...meta }, message),
      debug: (message, meta) => logger.debug({ ...meta }, message),
      info: (message, meta) => logger.info({ ...meta }, message),
      warn: (message, meta) => logger.warn({ ...meta }, message),
      error: (message, meta) => logger.error({ ...meta }, message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
    // We handle signals ourselves, to stop the watcher before the worker.
    shutdownSignals: [],
  });
}

export async function startApp(config: AppConfig, overrides: AppOverrides = {}): Promise<RunningApp> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const env = overrides.env ?? process.env;
  const providers = await loadProviders(config.providerFile);
  installRuntime(logger);

  const kc = overrides.kubeConfig ?? new KubeConfig();
  if (!overrides.kubeConfig) kc.loadFromDefault();
  const kube = createKubeClient(kc, { qps: config.kubeApiQps, burst: config.kubeApiBurst });
  const temporal = await connectTemporal(env);
  logger.info({ mode: config.mode, temporal: temporal.address, namespace: temporal.namespace, taskQueue: config.taskQueue }, 'starting');

  let worker: Worker | undefined;
  let workerRun: Promise<void> = Promise.resolve();
  if (config.mode !== 'watcher') {
    const activities = createReconcileActivities({
      kube,
      providers,
      secretReaderNamespaces: config.secretReaderNamespaces,
      execTimeoutMs: config.execTimeoutMs,
      now: () => Date.now(),
      baseEnv: env,
      logger,
    });
    worker = await createWorker({ connection: temporal.connection, namespace: temporal.namespace, taskQueue: config.taskQueue, activities });
    workerRun = worker.run();
  }

  let watcher: RunningWatcher | undefined;
  if (config.mode !== 'worker') {
    watcher = startWatcher({
      kubeConfig: kc,
      client: temporal.client,
      taskQueue: config.taskQueue,
      namespaces: config.namespaces,
      schedule: config.schedule,
      relistPeriodMs: config.relistPeriodMs,
      logger,
    });
  }

  let kubeReachable = false;
  const version = kc.makeApiClient(VersionApi);
  const probeKube = async (): Promise<boolean> => {
    try {
      await version.getCode();
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
      await watcher?.stop();
      if (worker && worker.getState() !== 'STOPPED') worker.shutdown();
      await workerRun.catch((e: unknown) => logger.error({ err: String(e) }, 'worker stopped with an error'));
      await health?.close();
      await temporal.connection.close();
      markStopped();
      logger.info('stopped');
    })());

  return { logger, temporal, ...(worker ? { worker } : {}), ...(watcher ? { watcher } : {}), ...(health ? { health } : {}), done: worker ? workerRun : idle, stop };
}
