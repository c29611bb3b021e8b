// Plain counters, incremented in place; a metrics exporter reads them (flattenCounters gives
// name/labels/value triples, e.g. for Prometheus counters).

export const INFORMERS = ['clusterprofiles', 'source-secrets', 'managed-secrets', 'managed-sveltosclusters'] as const;
export type InformerName = (typeof INFORMERS)[number];

/** Lifecycle of the list+watch loops of one informer (all its namespaces together). */
export interface InformerCounters {
  /** Completed lists, initial ones included. */
  lists: number;
  listErrors: number;
  /** Relists after a 410 Gone (expired resourceVersion). */
  relistsGone: number;
  /** Safety-net relists on the relist period. */
  relistsPeriodic: number;
  /** Relists after repeated watch errors. */
  relistsError: number;
  /** Relists asked for by code (e.g. the watcher). */
  relistsRequested: number;
  /** Watch streams established right after a list. */
  watchConnects: number;
  /** Watch streams re-established from the last resourceVersion (after a close or an error). */
  watchReconnects: number;
  /** Watch streams the server ended normally (timeoutSeconds). */
  watchCloses: number;
  /** Watch streams that failed (network, HTTP status, ERROR events other than 410). */
  watchErrors: number;
  added: number;
  modified: number;
  deleted: number;
  bookmarks: number;
}

export interface SignalCounters {
  /** profileChanged delivered by signal-with-start. */
  profileChanged: number;
  /** deletionRequested delivered (to the running workflow, or by signal-with-start). */
  deletionRequested: number;
  /** Of those, by signal-with-start because no workflow was running. */
  deletionStarted: number;
  resyncRequested: number;
  /** signal-with-start refused: the workflow ID was already used by a completed run. */
  alreadyDone: number;
  /** resyncRequested for a workflow that does not run (dropped). */
  notFound: number;
  /** Failed Temporal calls (retried later). */
  errors: number;
  /** Visibility list queries (one per relist). */
  visibilityQueries: number;
  visibilityErrors: number;
}

export interface DecisionCounters {
  /** Decisions taken (one per coalesced window and uid). */
  evaluations: number;
  /** Decisions that sent nothing because the workflow already has this state. */
  dedupHits: number;
  /** Events merged into a decision already pending for the same uid. */
  coalesced: number;
  /** Change-triggered decisions held by the per-profile rate limit (delivered later, merged). */
  rateLimited: number;
  /** Source Secret changes mapped to profiles (per profile). */
  sourceSecretChanges: number;
  managedSecretDrift: number;
  managedSveltosClusterDrift: number;
  /** Managed-object events that were not drift. */
  managedNoDrift: number;
  /** Managed-object events whose owner is not a known profile. */
  managedOrphanEvents: number;
  /**
   * Running workflows whose ClusterProfile uid is missing from a complete list taken after they started
   * (force-deleted while no watcher ran): each is told deletionRequested once per finding.
   */
  orphanedWorkflows: number;
}

export interface WatcherCounters {
  informers: Record<InformerName, InformerCounters>;
  signals: SignalCounters;
  decisions: DecisionCounters;
}

export function newInformerCounters(): InformerCounters {
  return {
    lists: 0,
    listErrors: 0,
    relistsGone: 0,
    relistsPeriodic: 0,
    relistsError: 0,
    relistsRequested: 0,
    watchConnects: 0,
    watchReconnects: 0,
    watchCloses: 0,
    watchErrors: 0,
    added: 0,
    modified: 0,
    deleted: 0,
    bookmarks: 0,
  };
}

export function newSignalCounters(): SignalCounters {
  return {
    profileChanged: 0,
    deletionRequested: 0,
    deletionStarted: 0,
    resyncRequested: 0,
    alreadyDone: 0,
    notFound: 0,
    errors: 0,
    visibilityQueries: 0,
    visibilityErrors: 0,
  };
}

export function newWatcherCounters(): WatcherCounters {
  const informers = Object.fromEntries(INFORMERS.map((n) => [n, newInformerCounters()])) as Record<InformerName, InformerCounters>;
  return {
    informers,
    signals: newSignalCounters(),
    decisions: {
      evaluations: 0,
      dedupHits: 0,
      coalesced: 0,
      rateLimited: 0,
      sourceSecretChanges: 0,
      managedSecretDrift: 0,
      managedSveltosClusterDrift: 0,
      managedNoDrift: 0,
      managedOrphanEvents: 0,
      orphanedWorkflows: 0,
    },
  };
}

export interface CounterSample {
  /** snake_case, e.g. "watcher_informer_watch_reconnects". */
  name: string;
  labels: Record<string, string>;
  value: number;
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function flattenCounters(c: WatcherCounters): CounterSample[] {
  const out: CounterSample[] = [];
  for (const [informer, counters] of Object.entries(c.informers)) {
    for (const [k, v] of Object.entries(counters as unknown as Record<string, number>)) out.push({ name: `watcher_informer_${snake(k)}`, labels: { informer }, value: v });
  }
  for (const [k, v] of Object.entries(c.signals as unknown as Record<string, number>)) out.push({ name: `watcher_signals_${snake(k)}`, labels: {}, value: v });
  for (const [k, v] of Object.entries(c.decisions as unknown as Record<string, number>)) out.push({ name: `watcher_decisions_${snake(k)}`, labels: {}, value: v });
  return out;
}
