// The Temporal Core runtime, installed once per process before any connection: logs forwarded to our
// pino logger, and (with --metrics-addr) the SDK's Prometheus exporter, which serves the SDK's worker
// metrics and ours (created through Runtime.instance().metricMeter, worker/metrics.ts) on one /metrics.
import { LogTimestamp, Runtime, makeTelemetryFilterString, type Logger as SdkLogger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { logAt, type Logger } from './logger.js';
import { HISTOGRAM_BUCKETS } from './metrics.js';

export interface TelemetryState {
  /** "host:port" the exporter was asked to bind; undefined: no metrics in this process. */
  metricsAddress: string | undefined;
}

let installed: TelemetryState | undefined;

/** The SDK's logs (workflows, activities, the worker, Core) into ours. */
export function sdkLogger(logger: Logger): SdkLogger {
  // The SDK hands workflow and activity lines over in batches, up to ~0.2 s after they were logged, with the
  // original time in LogTimestamp (ns): stamped with it, a line's time is when it happened.
  const write = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const nanos: unknown = meta?.[LogTimestamp];
    logAt(typeof nanos === 'bigint' ? Number(nanos / 1_000_000n) : undefined, () =>
      logger[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')]({ ...meta }, message),
    );
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

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
      logger: sdkLogger(logger),
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
