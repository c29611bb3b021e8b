// What every reconcile step shares (cluster-api calls it the scope): the Kubernetes client, the log, the
// credential resolver's dependencies and the worker's settings, built once per worker from ReconcileDeps.
import { hostname } from 'node:os';
import { DEFAULT_SCHEDULE, type ProfileRef, type ScheduleConfig } from '../../workflows/api.js';
import { currentActivityContext } from '../activity-context.js';
import { maxConcurrentRunsOf } from '../credentials/provider-file.js';
import type { ResolveDeps } from '../credentials/resolve.js';
import type { KubeClient } from '../kube/client.js';
import type { ClusterProfile } from '../kube/types.js';
import { ProviderBulkheads } from '../providers/bulkhead.js';

/** pino-style structured logger (object first, message second), as the worker injects. */
export interface StructuredLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface ReconcileDeps extends Omit<ResolveDeps, 'getSecret' | 'signal' | 'execMode'> {
  kube: KubeClient;
  /** Used outside an activity context; inside one, Context.current().log is used. */
  logger?: StructuredLogger;
  /** reportingInstance of Events (default: the host name). */
  eventInstance?: string;
  /** Guarded patches (finalizer, stale ownerReference) tried per activity attempt before Temporal's retry takes over (default 5). */
  guardAttempts?: number;
  /** This worker's refresh schedule (--sync-period, --min-refresh-interval), reported to the workflow by every sync. */
  schedule?: ScheduleConfig;
  /** Aborted when the process shuts down: running plugins are killed and the sync is abandoned (WORKER_SHUTDOWN_ERROR). */
  shutdownSignal?: AbortSignal;
  /** ClusterProfiles from the watcher's informer, when the process runs one (`run`): saves a GET per sync. */
  profileCache?: (namespace: string, name: string) => ClusterProfile | undefined;
}

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type ActivityLog = (level: Level, msg: string, meta: Record<string, unknown>) => void;

export interface ReconcileScope {
  kube: KubeClient;
  log: ActivityLog;
  guardAttempts: number;
  /** reportingInstance of Events. */
  eventInstance: string;
  now: () => number;
  schedule: ScheduleConfig;
  /** The credential resolver's dependencies, but for the per-call abort signal and exec mode. */
  resolveDeps: ResolveDeps;
  shutdownSignal?: AbortSignal;
  profileCache?: ReconcileDeps['profileCache'];
}

export function scopeOf(deps: ReconcileDeps): ReconcileScope {
  const { kube } = deps;
  return {
    kube,
    log: activityLog(deps.logger),
    guardAttempts: Math.max(1, deps.guardAttempts ?? 5),
    eventInstance: (deps.eventInstance ?? hostname()).slice(0, 128),
    now: deps.now,
    schedule: deps.schedule ?? DEFAULT_SCHEDULE,
    resolveDeps: {
      providers: deps.providers,
      secretReaderNamespaces: deps.secretReaderNamespaces,
      execTimeoutMs: deps.execTimeoutMs,
      now: deps.now,
      baseEnv: deps.baseEnv,
      getSecret: (namespace, name) => kube.getSecret(namespace, name),
      bulkheads: deps.bulkheads ?? new ProviderBulkheads((name) => maxConcurrentRunsOf(deps.providers, name)),
      ...(deps.spawn ? { spawn: deps.spawn } : {}),
      ...(deps.killProcessGroup ? { killProcessGroup: deps.killProcessGroup } : {}),
    },
    ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
    ...(deps.profileCache ? { profileCache: deps.profileCache } : {}),
  };
}

/** Logs through the activity context when there is one, else through the injected logger. Never pass credentials. */
export function activityLog(logger: StructuredLogger | undefined): ActivityLog {
  return (level, msg, meta) => {
    const ctx = currentActivityContext();
    if (ctx) {
      ctx.log[level](msg, meta);
      return;
    }
    logger?.[level](meta, msg);
  };
}

export function describe(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}

export function profileObject(ref: ProfileRef): string {
  return describe('ClusterProfile', ref.namespace, ref.name);
}

/** "namespace/name", as logs name a profile. */
export function profileName(ref: Pick<ProfileRef, 'namespace' | 'name'>): string {
  return `${ref.namespace}/${ref.name}`;
}
