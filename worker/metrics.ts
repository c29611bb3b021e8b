// Our Prometheus metrics, created through the Temporal SDK's metric meter (Runtime.instance().metricMeter)
// so that the SDK's Prometheus exporter serves them next to its worker metrics on one endpoint
// (`--metrics-addr`). What each one means:
//
//   clusterinventory_syncs_total{provider,secret_changed}         credential syncs that succeeded
//   clusterinventory_sync_failures_total{activity,reason,retryable} failed activity attempts (retryable: retried by
//       Temporal or by the workflow, not waiting for a change); reason is the
//       failure type (InvalidInput, Conflict, ProfileGone) or the error class of a transient failure
//   clusterinventory_exec_plugin_duration_seconds{provider,outcome} exec credential plugin runs (histogram)
//   clusterinventory_credential_expiry_seconds{namespace,name}    seconds until the cluster's credential
//       expires; 0 once expired (SDK gauges cannot be negative); NaN once the profile is no longer managed
//   clusterinventory_profiles{phase}                               managed ClusterProfiles by phase
//   clusterinventory_provider_runs_in_flight{provider}              exec plugin runs of a provider now, on this worker
//   clusterinventory_provider_runs_total{provider,outcome}          ended plugin runs (success, timeout, exit, killed,
//       spawn, invalid-output, error, cancelled, local-budget = cut short inside a workflow task and run as an activity)
//   clusterinventory_provider_rejections_total{provider,reason}     syncs refused before a run: unavailable (breaker
//       open), busy (slots and queue full), deferred-busy/-slow/-probe (handed from the workflow task to an activity)
//   clusterinventory_provider_breaker_state{provider}              0 closed, 1 half-open, 2 open
//   clusterinventory_provider_queue_seconds{provider}              time a regular activity waited for a slot (histogram)
//   clusterinventory_watcher_*                                     the watcher's counters (events, lists,
//       relists, watch streams, signals, signal dedup hits, drift), see WATCHER_METRICS
//
// The per-cluster and per-phase gauges are fleet-wide facts: they come from Temporal visibility (the
// search attributes the workflows keep), scanned by the processes that run the watcher, plus the syncs
// this process itself just did; worker-only processes do not export them (each replica would only know
// the clusters it happened to sync, and a stale replica would report an expiry that is long refreshed).
import { spawn as nodeSpawn } from 'node:child_process';
import { ApplicationFailure, type MetricCounter, type MetricGauge, type MetricHistogram, type MetricMeter, type MetricTags } from '@temporalio/common';
import type { SpawnFn } from '../activities/credentials/exec-plugin.js';
import type { ProviderFile } from '../activities/credentials/provider-file.js';
import type { BulkheadObserver } from '../activities/providers/bulkhead.js';
import type { BreakerState } from '../activities/providers/breaker.js';
import type { InformerCounters, SignalCounters, DecisionCounters, WatcherCounters } from '../watcher/counters.js';
import { INFORMERS } from '../watcher/counters.js';
import { ErrorType, PHASES, isTransientFailureType, type ProfileRef } from '../workflows/api.js';
import type { ReconcileActivities } from '../workflows/registered-activities.js';
import type { ProfileRow } from '../workflows/visibility.js';

export const METRIC = {
  syncs: 'clusterinventory_syncs_total',
  syncFailures: 'clusterinventory_sync_failures_total',
  execDuration: 'clusterinventory_exec_plugin_duration_seconds',
  expiry: 'clusterinventory_credential_expiry_seconds',
  profiles: 'clusterinventory_profiles',
  providerInFlight: 'clusterinventory_provider_runs_in_flight',
  providerRuns: 'clusterinventory_provider_runs_total',
  providerRejections: 'clusterinventory_provider_rejections_total',
  providerBreaker: 'clusterinventory_provider_breaker_state',
  providerQueue: 'clusterinventory_provider_queue_seconds',
} as const;

/** Exec plugins run from tens of milliseconds to their timeout (30 s by default). */
export const EXEC_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

/** Bucket overrides for the SDK's Prometheus exporter (it applies them by metric name). */
/** A regular activity waits at most a few seconds for a provider slot. */
export const QUEUE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export const HISTOGRAM_BUCKETS: Record<string, number[]> = { [METRIC.execDuration]: EXEC_DURATION_BUCKETS, [METRIC.providerQueue]: QUEUE_BUCKETS };

// ---- activities ------------------------------------------------------------------------------------

/** What the activity instrumentation reports besides its own counters (the fleet gauges' local view). */
export interface SyncObserver {
  synced(ref: ProfileRef, expiresAtMs: number | undefined): void;
  forgotten(ref: ProfileRef): void;
}

export interface ActivityMetrics {
  syncs: MetricCounter;
  failures: MetricCounter;
}

export function createActivityMetrics(meter: MetricMeter): ActivityMetrics {
  const syncs = meter.createCounter(METRIC.syncs, undefined, 'Credential syncs that succeeded (kubeconfig Secret written or found up to date).');
  const failures = meter.createCounter(
    METRIC.syncFailures,
    undefined,
    'Failed reconcile activity attempts, by activity and failure type (InvalidInput, Conflict, ProfileGone, or the error class of a transient failure).',
  );
  return { syncs, failures };
}

/**
 * The failure type an activity attempt ended with, and whether it is retried: by Temporal, or by the
 * workflow itself (a failed plugin run or a refusing provider is reported at once and the workflow schedules
 * the retry, ADR 9), as opposed to input errors that wait for a change.
 */
export function failureReason(err: unknown): { reason: string; retryable: boolean } {
  if (err instanceof ApplicationFailure) {
    const reason = err.type ?? 'Error';
    return { reason, retryable: !err.nonRetryable || isTransientFailureType(reason) };
  }
  if (err instanceof Error) return { reason: err.name || 'Error', retryable: true };
  return { reason: 'Error', retryable: true };
}

/** Wraps the reconcile activities so that every attempt is counted by outcome. */
export function instrumentActivities(acts: ReconcileActivities, m: ActivityMetrics, observer?: SyncObserver): ReconcileActivities {
  const wrap = <A extends [ProfileRef, ...unknown[]], R>(name: keyof ReconcileActivities, fn: (...args: A) => Promise<R>, onSuccess?: (ref: ProfileRef, r: R) => void) => {
    const wrapped = async (...args: A): Promise<R> => {
      let result: R;
      try {
        result = await fn(...args);
      } catch (err) {
        const { reason, retryable } = failureReason(err);
        m.failures.add(1, { activity: name, reason, retryable: String(retryable) });
        throw err;
      }
      onSuccess?.(args[0], result);
      return result;
    };
    Object.defineProperty(wrapped, 'name', { value: name });
    return wrapped;
  };
  return {
    ensureFinalizer: wrap('ensureFinalizer', acts.ensureFinalizer.bind(acts)),
    syncCredentials: wrap('syncCredentials', acts.syncCredentials.bind(acts), (ref, r) => {
      m.syncs.add(1, { provider: r.provider, secret_changed: String(r.secretChanged) });
      observer?.synced(ref, r.expiresAtMs);
    }),
    applySveltosCluster: wrap('applySveltosCluster', acts.applySveltosCluster.bind(acts)),
    cleanup: wrap('cleanup', acts.cleanup.bind(acts), (ref) => observer?.forgotten(ref)),
    syncProfile: wrap('syncProfile', acts.syncProfile.bind(acts), (ref, r) => {
      m.syncs.add(1, { provider: r.provider, secret_changed: String(r.secretChanged) });
      observer?.synced(ref, r.expiresAtMs);
    }),
    cleanupProfile: wrap('cleanupProfile', acts.cleanupProfile.bind(acts), (ref) => observer?.forgotten(ref)),
    recordEvent: wrap('recordEvent', acts.recordEvent.bind(acts)),
  };
}

/** Registers the label sets every dashboard expects, at 0, so that the series exist before the first sync. */
export function initActivityMetrics(m: ActivityMetrics, providers: ProviderFile): void {
  for (const provider of ['kubeconfig-secretreader', ...providers.providers.map((p) => p.name)]) {
    for (const changed of ['true', 'false']) m.syncs.add(0, { provider, secret_changed: changed });
  }
  for (const activity of ['syncProfile'] as const) {
    for (const reason of [ErrorType.InvalidInput, ErrorType.Conflict]) m.failures.add(0, { activity, reason, retryable: 'false' });
  }
}

// ---- exec plugins ------------------------------------------------------------------------------------

export function createExecHistogram(meter: MetricMeter): MetricHistogram {
  return meter.createHistogram(METRIC.execDuration, 'float', 's', 'Exec credential plugin run time, by provider and outcome (success, error, killed, spawn-error).');
}

/**
 * A SpawnFn (activities/credentials/exec-plugin.ts) that times every plugin process from spawn to exit.
 * Providers are told apart by their command, as the provider file maps names to commands.
 */
export function instrumentSpawn(histogram: MetricHistogram, providers: ProviderFile, spawn: SpawnFn = nodeSpawn, now: () => number = () => performance.now()): SpawnFn {
  const byCommand = new Map<string, string>();
  for (const p of providers.providers) if (!byCommand.has(p.execConfig.command)) byCommand.set(p.execConfig.command, p.name);
  return (command, args, options) => {
    const provider = byCommand.get(command) ?? 'unknown';
    const started = now();
    let recorded = false;
    const record = (outcome: string): void => {
      if (recorded) return;
      recorded = true;
      histogram.record(Math.max(0, (now() - started) / 1000), { provider, outcome });
    };
    let child;
    try {
      child = spawn(command, args, options);
    } catch (err) {
      record('spawn-error');
      throw err;
    }
    child.on('error', () => record('spawn-error'));
    child.on('close', (code) => record(code === 0 ? 'success' : code === null ? 'killed' : 'error'));
    return child;
  };
}

// ---- provider bulkheads --------------------------------------------------------------------------------

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The bulkheads' observer (activities/providers/bulkhead.ts) as Prometheus series, per provider. */
export function createProviderMetrics(meter: MetricMeter): BulkheadObserver {
  const inFlight = meter.createGauge(METRIC.providerInFlight, 'int', undefined, 'Exec plugin runs of the provider in progress on this worker.');
  const runs = meter.createCounter(METRIC.providerRuns, undefined, 'Ended exec plugin runs under the provider bulkhead, by outcome.');
  const rejections = meter.createCounter(
    METRIC.providerRejections,
    undefined,
    'Syncs refused before a plugin ran: unavailable (breaker open), busy (slots and queue full), deferred-* (moved from the workflow task to a regular activity).',
  );
  const breaker = meter.createGauge(METRIC.providerBreaker, 'int', undefined, 'Circuit breaker of the provider on this worker: 0 closed, 1 half-open, 2 open.');
  const queue = meter.createHistogram(METRIC.providerQueue, 'float', 's', 'Time a regular activity waited for a slot of the provider.');
  return {
    inFlight: (provider, running) => inFlight.set(running, { provider }),
    ran: (provider, outcome) => runs.add(1, { provider, outcome }),
    rejected: (provider, reason) => rejections.add(1, { provider, reason }),
    queued: (provider, waitedMs) => queue.record(Math.max(0, waitedMs / 1000), { provider }),
    breaker: (provider, state) => breaker.set(BREAKER_STATE_VALUE[state], { provider }),
  };
}

// ---- watcher counters ----------------------------------------------------------------------------------

type Mapping = readonly [metric: string, tags: MetricTags];

/** Where each informer counter goes (informer tag added). Typed exhaustively: a new counter must be mapped. */
const INFORMER_METRICS: Record<keyof InformerCounters, Mapping> = {
  lists: ['clusterinventory_watcher_lists_total', {}],
  listErrors: ['clusterinventory_watcher_list_errors_total', {}],
  relistsGone: ['clusterinventory_watcher_relists_total', { reason: 'gone' }],
  relistsPeriodic: ['clusterinventory_watcher_relists_total', { reason: 'periodic' }],
  relistsError: ['clusterinventory_watcher_relists_total', { reason: 'error' }],
  relistsRequested: ['clusterinventory_watcher_relists_total', { reason: 'requested' }],
  watchConnects: ['clusterinventory_watcher_watch_streams_total', { event: 'connect' }],
  watchReconnects: ['clusterinventory_watcher_watch_streams_total', { event: 'reconnect' }],
  watchCloses: ['clusterinventory_watcher_watch_streams_total', { event: 'close' }],
  watchErrors: ['clusterinventory_watcher_watch_streams_total', { event: 'error' }],
  added: ['clusterinventory_watcher_events_total', { type: 'added' }],
  modified: ['clusterinventory_watcher_events_total', { type: 'modified' }],
  deleted: ['clusterinventory_watcher_events_total', { type: 'deleted' }],
  bookmarks: ['clusterinventory_watcher_events_total', { type: 'bookmark' }],
};

const SIGNAL_METRICS: Record<keyof SignalCounters, Mapping> = {
  profileChanged: ['clusterinventory_watcher_signals_total', { signal: 'profileChanged' }],
  deletionRequested: ['clusterinventory_watcher_signals_total', { signal: 'deletionRequested' }],
  resyncRequested: ['clusterinventory_watcher_signals_total', { signal: 'resyncRequested' }],
  deletionStarted: ['clusterinventory_watcher_deletion_starts_total', {}],
  alreadyDone: ['clusterinventory_watcher_signal_skips_total', { reason: 'already-done' }],
  notFound: ['clusterinventory_watcher_signal_skips_total', { reason: 'not-found' }],
  errors: ['clusterinventory_watcher_signal_errors_total', {}],
  visibilityQueries: ['clusterinventory_watcher_visibility_queries_total', {}],
  visibilityErrors: ['clusterinventory_watcher_visibility_errors_total', {}],
};

const DECISION_METRICS: Record<keyof DecisionCounters, Mapping> = {
  evaluations: ['clusterinventory_watcher_decisions_total', {}],
  dedupHits: ['clusterinventory_watcher_signal_dedup_hits_total', {}],
  coalesced: ['clusterinventory_watcher_coalesced_events_total', {}],
  rateLimited: ['clusterinventory_watcher_rate_limited_decisions_total', {}],
  sourceSecretChanges: ['clusterinventory_watcher_source_secret_changes_total', {}],
  managedSecretDrift: ['clusterinventory_watcher_drift_total', { object: 'Secret' }],
  managedSveltosClusterDrift: ['clusterinventory_watcher_drift_total', { object: 'SveltosCluster' }],
  managedNoDrift: ['clusterinventory_watcher_managed_events_total', { result: 'no-drift' }],
  managedOrphanEvents: ['clusterinventory_watcher_managed_events_total', { result: 'orphan' }],
  orphanedWorkflows: ['clusterinventory_watcher_orphaned_workflows_total', {}],
};

const DESCRIPTIONS: Record<string, string> = {
  clusterinventory_watcher_rate_limited_decisions_total:
    'Change-triggered signals held by the per-profile rate limit (--change-sync-interval/--change-sync-burst); the latest state is delivered later.',
  clusterinventory_watcher_lists_total: 'Completed informer lists (initial lists included).',
  clusterinventory_watcher_list_errors_total: 'Failed informer lists.',
  clusterinventory_watcher_relists_total: 'Informer relists, by reason (gone = 410 expired resourceVersion, periodic safety net, error, requested).',
  clusterinventory_watcher_watch_streams_total: 'Watch stream lifecycle events.',
  clusterinventory_watcher_events_total: 'Watch events received, by informer and type.',
  clusterinventory_watcher_signals_total: 'Signals delivered to ClusterProfile workflows (signal-with-start included).',
  clusterinventory_watcher_deletion_starts_total: 'deletionRequested delivered by signal-with-start because no workflow was running.',
  clusterinventory_watcher_orphaned_workflows_total:
    'Running workflows found without their ClusterProfile (deleted while unwatched) and told deletionRequested.',
  clusterinventory_watcher_signal_skips_total: 'Signals not sent: the workflow ID is closed (already-done) or no workflow runs (not-found).',
  clusterinventory_watcher_signal_errors_total: 'Failed Temporal calls of the watcher (retried).',
  clusterinventory_watcher_visibility_queries_total: 'Visibility list queries of the watcher (one per relist).',
  clusterinventory_watcher_visibility_errors_total: 'Failed visibility list queries of the watcher.',
  clusterinventory_watcher_decisions_total: 'Decisions taken (one per coalesced window and ClusterProfile).',
  clusterinventory_watcher_signal_dedup_hits_total: 'Decisions that sent nothing because the workflow already had that state.',
  clusterinventory_watcher_coalesced_events_total: 'Events merged into a decision already pending for the same ClusterProfile.',
  clusterinventory_watcher_source_secret_changes_total: 'Source Secret changes mapped to ClusterProfiles.',
  clusterinventory_watcher_drift_total: 'Drift of managed objects (edited or deleted), by kind.',
  clusterinventory_watcher_managed_events_total: 'Managed-object events that were not drift, or whose owner is unknown.',
};

/** The names of every watcher metric (for tests and docs). */
export const WATCHER_METRIC_NAMES: readonly string[] = [
  ...new Set([...Object.values(INFORMER_METRICS), ...Object.values(SIGNAL_METRICS), ...Object.values(DECISION_METRICS)].map(([n]) => n)),
];

export interface CounterExport {
  /** Adds what each counter gained since the last flush. */
  flush(): void;
}

/**
 * Exports the watcher's plain counters (watcher/counters.ts) as SDK counters: each flush adds the delta
 * since the previous one. The first flush registers every series (at its current value).
 */
export function exportWatcherCounters(meter: MetricMeter, counters: WatcherCounters): CounterExport {
  const instruments = new Map<string, MetricCounter>();
  const instrument = (name: string): MetricCounter => {
    let c = instruments.get(name);
    if (!c) {
      c = meter.createCounter(name, undefined, DESCRIPTIONS[name]);
      instruments.set(name, c);
    }
    return c;
  };
  const last = new Map<string, number>();
  const samples = (): Array<{ key: string; counter: MetricCounter; tags: MetricTags; value: number }> => {
    const out: Array<{ key: string; counter: MetricCounter; tags: MetricTags; value: number }> = [];
    const push = (mapping: Mapping, extra: MetricTags, value: number, field: string): void => {
      const [name, tags] = mapping;
      const all = { ...extra, ...tags };
      out.push({ key: `${name}|${field}|${JSON.stringify(extra)}`, counter: instrument(name), tags: all, value });
    };
    for (const informer of INFORMERS) {
      const c = counters.informers[informer];
      for (const field of Object.keys(INFORMER_METRICS) as Array<keyof InformerCounters>) push(INFORMER_METRICS[field], { informer }, c[field], field);
    }
    for (const field of Object.keys(SIGNAL_METRICS) as Array<keyof SignalCounters>) push(SIGNAL_METRICS[field], {}, counters.signals[field], field);
    for (const field of Object.keys(DECISION_METRICS) as Array<keyof DecisionCounters>) push(DECISION_METRICS[field], {}, counters.decisions[field], field);
    return out;
  };
  return {
    flush() {
      for (const s of samples()) {
        const delta = s.value - (last.get(s.key) ?? 0);
        // Counters only grow; a reset (a new watcher in the same process) restarts from its value.
        const add = delta >= 0 ? delta : s.value;
        if (add > 0 || !last.has(s.key)) s.counter.add(add, s.tags);
        last.set(s.key, s.value);
      }
    },
  };
}

// ---- fleet gauges -------------------------------------------------------------------------------------

export interface FleetGaugeOptions {
  meter: MetricMeter;
  /** The managed profiles (running workflows of this task queue), from visibility. */
  list: () => AsyncIterable<ProfileRow>;
  now?: () => number;
  /** Errors of a scan (kept short: the next scan retries). */
  onScanError?: (err: unknown) => void;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * Seconds until credential expiry per cluster, and profiles per phase. A scan of visibility replaces what
 * is known; syncs done in this process update it at once in between (the later expiry wins, as a refresh
 * only ever moves it forward). The gauge values are recomputed by refresh(), since "seconds until" moves
 * with the clock.
 */
export class FleetGauges implements SyncObserver {
  private readonly expiry: MetricGauge;
  private readonly phases: MetricGauge;
  private readonly now: () => number;
  /** namespace/name → expiry in ms, as last scanned. */
  private scanned = new Map<string, number>();
  /** namespace/name → expiry in ms, from syncs in this process not yet surely in a scan. */
  private readonly local = new Map<string, { expiresAtMs: number; atMs: number }>();
  /** When the previous scan started: local updates older than that are in the latest scan. */
  private previousScanAtMs = -Infinity;
  /** Series that have a value (to mark them NaN when they go away). */
  private exported = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private scanning: Promise<void> | undefined;

  constructor(private readonly o: FleetGaugeOptions) {
    this.now = o.now ?? Date.now;
    this.expiry = o.meter.createGauge(
      METRIC.expiry,
      'float',
      's',
      'Seconds until the cluster credential expires (0 once expired; NaN once the ClusterProfile is no longer managed). Only for credentials that state an expiry.',
    );
    this.phases = o.meter.createGauge(METRIC.profiles, 'int', undefined, 'Managed ClusterProfiles (running workflows) by phase.');
  }

  /** One pass over visibility. Concurrent calls share the pass. */
  scan(): Promise<void> {
    this.scanning ??= this.doScan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async doScan(): Promise<void> {
    const startedAt = this.now();
    const seen = new Map<string, number>();
    const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
    try {
      for await (const row of this.o.list()) {
        if (row.phase) counts.set(row.phase, (counts.get(row.phase) ?? 0) + 1);
        if (row.credentialExpiresAtMs !== undefined) seen.set(key(row.namespace, row.name), row.credentialExpiresAtMs);
      }
    } catch (err) {
      this.o.onScanError?.(err);
      return;
    }
    for (const [phase, n] of counts) this.phases.set(n, { phase });
    this.scanned = seen;
    // The workflow upserts its search attributes a moment after the sync: a local update is kept until a
    // scan that started well after it (the one after next) has certainly seen it.
    for (const [k, l] of this.local) if (l.atMs < this.previousScanAtMs) this.local.delete(k);
    this.previousScanAtMs = startedAt;
    this.refresh();
  }

  // A sync or a clean-up updates its own series only: called on every sync, a full refresh() here made a
  // fleet's start-up quadratic (every sync set every profile's gauge).
  synced(ref: ProfileRef, expiresAtMs: number | undefined): void {
    const k = key(ref.namespace, ref.name);
    if (expiresAtMs === undefined) this.local.delete(k);
    else this.local.set(k, { expiresAtMs, atMs: this.now() });
    this.publish(k, this.now());
  }

  forgotten(ref: ProfileRef): void {
    const k = key(ref.namespace, ref.name);
    this.local.delete(k);
    this.scanned.delete(k);
    this.publish(k, this.now());
  }

  /** Sets every gauge from what is known now. */
  refresh(): void {
    const now = this.now();
    for (const k of new Set([...this.scanned.keys(), ...this.local.keys(), ...this.exported])) this.publish(k, now);
  }

  /** One profile's series: seconds until its later known expiry, or NaN once nothing is known of it. */
  private publish(k: string, now: number): void {
    const scanned = this.scanned.get(k);
    const local = this.local.get(k)?.expiresAtMs;
    const expiresAtMs = scanned === undefined ? local : local === undefined ? scanned : Math.max(scanned, local);
    if (expiresAtMs === undefined && !this.exported.has(k)) return;
    const [namespace, name] = splitKey(k);
    if (expiresAtMs === undefined) {
      this.expiry.set(NaN, { namespace, name });
      this.exported.delete(k);
      return;
    }
    this.expiry.set(Math.max(0, (expiresAtMs - now) / 1000), { namespace, name });
    this.exported.add(k);
  }

  /** Scans now and every scanMs, recomputes every refreshMs. */
  start(scanMs: number, refreshMs: number): void {
    void this.scan();
    this.timers.push(setInterval(() => void this.scan(), scanMs).unref(), setInterval(() => this.refresh(), refreshMs).unref());
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.scanning;
  }
}

function splitKey(k: string): [string, string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}
