// Where a new profile's time goes between its creation and its SveltosCluster: the benchmark's own
// timestamps (create request sent, status with the access providers answered, SveltosCluster seen by a
// watch) joined with the controller's JSON log lines for the same profile (the watcher's signal, the
// workflow's sync, the sync's writes). Per stage, percentiles over the burst; plus how many profiles were
// signalled more than once (created without providers and signalled before they came).
//   node --import tsx test/bench/throughput/burst-timeline.ts CONTROLLER.log TIMELINE.json
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { percentiles, type Percentiles } from '../support.js';

/** Wall-clock milliseconds (epoch) of what the benchmark itself saw, per burst profile. */
export interface BenchTimes {
  created: number;
  statusSet?: number;
  sveltosClusterSeen?: number;
}

/** The controller log lines that mark a step, by message. */
const STEPS = {
  'signalled profileChanged': 'signalled',
  sync: 'syncStarted',
  'finalizer added': 'finalizer',
  'kubeconfig Secret written': 'secret',
  'SveltosCluster applied': 'sveltosCluster',
} as const;
type Step = (typeof STEPS)[keyof typeof STEPS];

export interface ControllerTimes {
  /** The first time each step was logged for the profile. */
  first: Partial<Record<Step, number>>;
  /** The last signal (a profile signalled twice waits for the second). */
  lastSignalled?: number;
  signals: number;
}

/** Profile name → its steps, from the controller's JSON log (lines that do not parse are skipped). */
export function controllerTimes(log: string, namespace: string): Map<string, ControllerTimes> {
  const out = new Map<string, ControllerTimes>();
  for (const line of log.split('\n')) {
    if (!line.includes(namespace)) continue;
    let entry: { msg?: string; time?: string; profile?: string; workflowId?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const step = STEPS[entry.msg as keyof typeof STEPS] as Step | undefined;
    if (!step || !entry.time) continue;
    // "ns/name" in activity and workflow lines, "clusterprofile/ns/name/uid" in the watcher's.
    const ref = entry.profile ?? entry.workflowId?.split('/').slice(1, 3).join('/');
    const name = ref?.startsWith(`${namespace}/`) ? ref.slice(namespace.length + 1) : undefined;
    if (!name) continue;
    const at = Date.parse(entry.time);
    const t = out.get(name) ?? { first: {}, signals: 0 };
    t.first[step] ??= at;
    if (step === 'signalled') {
      t.signals++;
      t.lastSignalled = at;
    }
    out.set(name, t);
  }
  return out;
}

/** The burst's latencies (create → SveltosCluster seen), for profiles created in its first `openingMs` and after. */
export interface BurstSplit {
  openingMs: number;
  opening: Percentiles;
  rest: Percentiles;
}

/**
 * Splits a burst by creation time. Right after a restart the first profiles run code the new process has
 * never run (both of its threads are busy compiling for a moment); the split shows that tail apart from the
 * steady rate.
 */
export function splitBurst(times: ReadonlyMap<string, BenchTimes>, openingMs: number): BurstSplit {
  const created = [...times.values()].map((t) => t.created);
  const start = created.length ? Math.min(...created) : 0;
  const opening: number[] = [];
  const rest: number[] = [];
  for (const t of times.values()) {
    if (t.sveltosClusterSeen === undefined) continue;
    (t.created - start < openingMs ? opening : rest).push(t.sveltosClusterSeen - t.created);
  }
  return { openingMs, opening: percentiles(opening), rest: percentiles(rest) };
}

export interface StageSummary {
  profiles: number;
  /** Profiles the watcher signalled more than once before their first sync. */
  signalledTwice: number;
  /** ms per stage; the stages add up to created → SveltosCluster seen. */
  stages: Record<string, Percentiles>;
}

/** The stages of each profile that has all of them, and their percentiles. */
export function stageSummary(bench: ReadonlyMap<string, BenchTimes>, controller: ReadonlyMap<string, ControllerTimes>): StageSummary {
  const stages: Record<string, number[]> = {
    'create → status set (benchmark)': [],
    'status set → signalled (watch, debounce, signal-with-start)': [],
    'signalled → sync started (workflow task)': [],
    'sync started → finalizer added': [],
    'finalizer → Secret written': [],
    'Secret → SveltosCluster applied': [],
    'applied → seen by the benchmark watch': [],
    'create → SveltosCluster seen': [],
  };
  let profiles = 0;
  let signalledTwice = 0;
  for (const [name, b] of bench) {
    const c = controller.get(name);
    const f = c?.first;
    if (!c || !f || b.statusSet === undefined || b.sveltosClusterSeen === undefined || c.lastSignalled === undefined) continue;
    if (f.syncStarted === undefined || f.finalizer === undefined || f.secret === undefined || f.sveltosCluster === undefined) continue;
    profiles++;
    if (c.signals > 1) signalledTwice++;
    const values = [
      b.statusSet - b.created,
      c.lastSignalled - b.statusSet,
      f.syncStarted - c.lastSignalled,
      f.finalizer - f.syncStarted,
      f.secret - f.finalizer,
      f.sveltosCluster - f.secret,
      b.sveltosClusterSeen - f.sveltosCluster,
      b.sveltosClusterSeen - b.created,
    ];
    Object.values(stages).forEach((list, i) => list.push(values[i]!));
  }
  return { profiles, signalledTwice, stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, percentiles(v)])) };
}

export function formatStages(s: StageSummary): string {
  const ms = (n: number): string => (Number.isNaN(n) ? '–' : n.toFixed(0));
  return [
    `  ${s.profiles} profiles with every step logged; ${s.signalledTwice} signalled twice (the window ran out before the access providers came)`,
    ...Object.entries(s.stages).map(([k, p]) => `  ${k}: p50 ${ms(p.p50)} / p90 ${ms(p.p90)} / p99 ${ms(p.p99)} / max ${ms(p.max)} ms`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [logFile, timelineFile] = process.argv.slice(2);
  if (!logFile || !timelineFile) {
    process.stderr.write('usage: node --import tsx test/bench/throughput/burst-timeline.ts CONTROLLER.log TIMELINE.json\n');
    process.exit(2);
  }
  const timeline = JSON.parse(await readFile(timelineFile, 'utf8')) as { namespace: string; profiles: Record<string, BenchTimes> };
  const summary = stageSummary(new Map(Object.entries(timeline.profiles)), controllerTimes(await readFile(logFile, 'utf8'), timeline.namespace));
  process.stdout.write(`${formatStages(summary)}\n`);
}
