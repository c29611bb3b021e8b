// The Temporal Core runtime, installed once per process before any connection: logs forwarded to our
// pino logger, and (with --metrics-addr) the SDK's Prometheus exporter, which serves the SDK's worker
// metrics and ours (created through Runtime.instance().metricMeter, worker/metrics.ts) on one /metrics.
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Logger } from './logger.js';
import { HISTOGRAM_BUCKETS } from './metrics.js';

export interface TelemetryState {
  /** "host:port" the exporter was asked to bind; undefined: no metrics in this process. */
  metricsAddress: string | undefined;
}

let installed: TelemetryState | undefined;

function bindAddress(addr: { host: string; port: number }): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/**
 * Installs the runtime the first time; later calls in the same process (tests start several apps) keep
 * the first installation, which the SDK re-creates with the same options after an idle shutdown.
 */
export function installRuntime(logger: Logger, metricsAddr: { host: string; port: number } | undefined): TelemetryState {
  if (installed) {
    const wanted = metricsAddr ? bindAddress(metricsAddr) : undefined;
    if (wanted !== installed.metricsAddress) {
      logger.warn({ wanted, serving: installed.metricsAddress }, 'the Temporal runtime was installed earlier in this process: metrics stay as they were set up then');
    }
    return installed;
  }
  const metricsAddress = metricsAddr ? bindAddress(metricsAddr) : undefined;
  try {
    Runtime.install({
      logger: {
        log: (level, message, meta) => logger[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')]({ ...meta }, message),
        trace: (message, meta) => logger.trace({ ...meta }, message),
        debug: (message, meta) => logger.debug({ ...meta }, message),
        info: (message, meta) => logger.info({ ...meta }, message),
        warn: (message, meta) => logger.warn({ ...meta }, message),
        error: (message, meta) => logger.error({ ...meta }, message),
      },
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
        ...(metricsAddress
          ? {
              metrics: {
                // SDK defaults otherwise (temporal_ prefix, milliseconds, no _total suffix), so that
                // Temporal's SDK dashboards work as published; our own names carry their suffixes.
                prometheus: { bindAddress: metricsAddress, histogramBucketOverrides: HISTOGRAM_BUCKETS },
                globalTags: { app: 'clusterinventory' },
              },
            }
          : {}),
      },
      // We handle signals ourselves, to stop the watcher before the worker.
      shutdownSignals: [],
    });
  } catch (e) {
    if (metricsAddress) throw new Error(`--metrics-addr=${metricsAddress}: cannot serve metrics: ${(e as Error).message}`);
    throw e;
  }
  installed = { metricsAddress };
  return installed;
}
