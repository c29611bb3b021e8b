// The watcher's options, their defaults, and the two collaborators built from them when a test does not
// inject its own: the Temporal signaler and the Kubernetes list/watch transport.
import type { Client } from '@temporalio/client';
import { loadKubeAccess, type KubeAccess } from '../activities/kube/kube-access.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/api.js';
import type { Clock } from './clock.js';
import type { WatcherCounters } from './counters.js';
import { DEFAULT_SIGNAL_RATE_LIMIT, type SignalRateLimit } from './decide.js';
import type { KubeObject, ReflectorOptions } from './informers.js';
import { kubeTransport, type ListWatchTransport } from './kube-transport.js';
import type { Leadership } from './leader-election.js';
import type { WatcherLogger } from './log.js';
import { temporalSignaler, type WorkflowSignaler } from './signaler.js';

export interface WatcherOptions {
  /** Kubernetes access (client-node's KubeConfig will do), or a kubeconfig file; default: KUBECONFIG / in-cluster. */
  kubeConfig?: KubeAccess;
  kubeconfigPath?: string;
  /** Temporal client (required unless `signaler` is given). */
  client?: Client;
  taskQueue?: string;
  /** ClusterProfile namespaces to watch; empty or absent: all. */
  namespaces?: readonly string[];
  /**
   * Namespaces, besides a profile's own, whose source Secrets are watched (`--secret-reader-namespaces`
   * of the worker: Secrets the worker would refuse are not watched). Default `['*']`: any.
   */
  secretReaderNamespaces?: readonly string[];
  /** Passed to workflows started by the watcher (tests set it small). */
  maxCyclesPerRun?: number;
  /** Safety-net relist period of every informer (default 5 min; 0 disables). */
  relistPeriodMs?: number;
  /**
   * Events for one ClusterProfile within this window make one decision (default 100 ms). A profile that
   * gets its access providers ends its window at once, so a new cluster does not wait for it.
   */
  debounceMs?: number;
  /**
   * A new ClusterProfile without access providers is signalled after this long (default 1 s) unless they
   * come sooner, which ends the wait at once. Its status is usually written right after it is created;
   * signalling before that costs a workflow start and a second signal for nothing to sync.
   */
  awaitProvidersMs?: number;
  /**
   * Change-triggered signals (profileChanged, resyncRequested) per profile: `burst` at once, then one per
   * `intervalMs`; what arrives meanwhile is held and the latest state delivered when a token is free.
   * Deletion is never held. Default 3 per 5 s; intervalMs 0 disables.
   */
  signalRateLimit?: SignalRateLimit;
  /** How long a workflow this watcher started may be missing from visibility (indexing lag; default 60 s). */
  visibilityGraceMs?: number;
  /** Temporal calls in flight at most (default 8). */
  maxConcurrentSignals?: number;
  /** Backoff of failed Temporal calls (per profile) and of failed visibility queries. */
  retryBackoff?: { initialMs: number; maxMs: number };
  /** Backoff of failed lists/watches. */
  informerBackoff?: { initialMs: number; maxMs: number };
  /** Server-side watch timeout (default 5–10 min, random). */
  watchTimeoutSeconds?: number;
  logger?: WatcherLogger;
  /** Only the leader signals (default: always the leader, for a single replica). */
  leadership?: Leadership;
  /** Test seams. */
  clock?: Clock;
  transport?: ListWatchTransport;
  signaler?: WorkflowSignaler;
}

/** The options with their defaults applied. */
export interface WatcherSettings {
  taskQueue: string;
  /** Watched ClusterProfile namespaces, deduplicated; empty: all. */
  namespaces: string[];
  /** One informer scope per namespace; `undefined`: all namespaces. */
  scopes: Array<string | undefined>;
  secretReaderNamespaces: readonly string[];
  relistPeriodMs: number;
  debounceMs: number;
  awaitProvidersMs: number;
  visibilityGraceMs: number;
  signalRateLimit: SignalRateLimit;
  retry: { initialMs: number; maxMs: number };
  maxConcurrentSignals: number;
}

export function settingsOf(opts: WatcherOptions): WatcherSettings {
  const namespaces = [...new Set(opts.namespaces ?? [])].filter(Boolean);
  return {
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    namespaces,
    scopes: namespaces.length ? namespaces : [undefined],
    secretReaderNamespaces: opts.secretReaderNamespaces ?? ['*'],
    relistPeriodMs: opts.relistPeriodMs ?? 5 * 60_000,
    debounceMs: opts.debounceMs ?? 100,
    awaitProvidersMs: Math.max(opts.debounceMs ?? 100, opts.awaitProvidersMs ?? 1_000),
    visibilityGraceMs: opts.visibilityGraceMs ?? 60_000,
    signalRateLimit: opts.signalRateLimit ?? DEFAULT_SIGNAL_RATE_LIMIT,
    retry: opts.retryBackoff ?? { initialMs: 1000, maxMs: 60_000 },
    maxConcurrentSignals: Math.max(1, opts.maxConcurrentSignals ?? 8),
  };
}

export function signalerOf(opts: WatcherOptions, taskQueue: string, counters: WatcherCounters, logger: WatcherLogger): WorkflowSignaler {
  if (opts.signaler) return opts.signaler;
  if (!opts.client) throw new Error('createWatcher: a Temporal client (or a signaler) is required');
  return temporalSignaler({
    client: opts.client,
    taskQueue,
    counters: counters.signals,
    logger,
    ...(opts.maxCyclesPerRun !== undefined ? { maxCyclesPerRun: opts.maxCyclesPerRun } : {}),
  });
}

export function transportOf(opts: WatcherOptions): ListWatchTransport {
  if (opts.transport) return opts.transport;
  return kubeTransport(opts.kubeConfig ?? loadKubeAccess(opts.kubeconfigPath ? { path: opts.kubeconfigPath } : {}));
}

/** What every informer of one watcher shares. */
export type InformerCommon = Pick<ReflectorOptions<KubeObject>, 'transport' | 'clock' | 'logger' | 'watchTimeoutSeconds' | 'backoff'>;

export function informerCommonOf(opts: WatcherOptions, transport: ListWatchTransport, clock: Clock, logger: WatcherLogger): InformerCommon {
  return {
    transport,
    clock,
    logger,
    ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
    ...(opts.informerBackoff ? { backoff: opts.informerBackoff } : {}),
  };
}
