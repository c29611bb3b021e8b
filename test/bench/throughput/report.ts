// The throughput benchmark's results: one JSON document (test-results/throughput-<time>.json) and the
// tables printed at the end. Ratios to the floors are computed here, never asserted.
import type { KubeFloorResult } from './kube-floor.js';
import type { ThroughputParams } from './params.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { ControllerResult, RefreshResult } from './scenarios.js';
import type { TemporalFloorResult } from './temporal-floor.js';

export interface Machine {
  date: string;
  nproc: number;
  memoryGiB: number;
  loadAverageAtStart: number[];
  cpuModel: string;
  node: string;
  go?: string;
  kubernetes?: string;
  temporalCli: string;
}

export interface Ratios {
  /** Backlog convergence time ÷ each floor's time (per activity kind: the fastest of its tunings). */
  convergedVsKubeFloor?: number;
  convergedVsTemporalFloor: Record<string, number>;
  /** (controller + Temporal server) CPU per backlog profile ÷ (floor process + server) CPU per workflow (the leanest tuning). */
  cpuVsTemporalFloor: Record<string, number>;
  /** Which tuning each ratio was taken against, per activity kind. */
  floorTuning?: Record<string, { time: string; cpu: string }>;
  /** History events per profile ÷ the floor's events per workflow. */
  eventsVsTemporalFloor: Record<string, number>;
}

export interface ThroughputResults {
  machine: Machine;
  params: ThroughputParams;
  kubeFloor?: KubeFloorResult;
  temporalFloor: TemporalFloorResult[];
  controller: Array<ControllerResult & { ratios: Ratios }>;
  refresh?: RefreshResult;
  cpuProfiles: Array<{ file: string; summary: ProfileSummary }>;
  errors: Array<{ phase: string; message: string }>;
}

export function ratiosFor(c: ControllerResult, kube: KubeFloorResult | undefined, floors: readonly TemporalFloorResult[]): Ratios {
  const conv = c.backlog.convergedSeconds;
  const out: Ratios = { convergedVsTemporalFloor: {}, cpuVsTemporalFloor: {}, eventsVsTemporalFloor: {}, floorTuning: {} };
  if (conv !== null && kube) out.convergedVsKubeFloor = conv / kube.seconds;
  const cpu = (f: TemporalFloorResult): number => f.cpuMsPerWorkflow.process + f.cpuMsPerWorkflow.server;
  for (const activity of new Set(floors.map((f) => f.activity))) {
    const kind = floors.filter((f) => f.activity === activity);
    const fastest = kind.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const leanest = kind.reduce((a, b) => (cpu(b) < cpu(a) ? b : a));
    if (conv !== null) out.convergedVsTemporalFloor[activity] = conv / fastest.seconds;
    out.cpuVsTemporalFloor[activity] = c.backlog.cpu.msPerProfile.controllerPlusTemporal / cpu(leanest);
    out.eventsVsTemporalFloor[activity] = c.backlog.histories.events.mean / fastest.histories.events.mean;
    out.floorTuning![activity] = { time: fastest.tuning, cpu: leanest.tuning };
  }
  return out;
}

const f1 = (n: number | null | undefined): string => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));
const f0 = (n: number | null | undefined): string => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(0));
const f2 = (n: number | null | undefined): string => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2));
const x = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '–' : `${n.toFixed(1)}×`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function breakdown(r: Record<string, number>, digits = 1): string {
  return Object.entries(r)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(digits)}`)
    .join(', ');
}

/** The tables as Markdown (printed, and pasted into docs/performance.md). */
export function formatResults(r: ThroughputResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`${m.date} · ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(0)} GiB · load at start ${m.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')} · node ${m.node} · ${m.go ?? 'go ?'} · kube-apiserver ${m.kubernetes ?? '?'} · Temporal CLI ${m.temporalCli}`);
  out.push(`backlog ${r.params.backlog}, burst ${r.params.burst} at ${r.params.burstRate}/s, history sample ${r.params.historySample}`);
  out.push('');

  if (r.kubeFloor) {
    const k = r.kubeFloor;
    out.push(`Kubernetes write floor: ${k.profiles} profiles × 3 writes at concurrency ${k.concurrency}: ${f1(k.seconds)} s (${f0(k.writesPerSecond)} writes/s), kube-apiserver CPU ${f1(k.apiServerCpuMsPerProfile)} ms/profile`);
    out.push('');
  }
  if (r.temporalFloor.length) {
    out.push(
      table(
        ['Temporal floor', 'workflows', 'done in', 'process CPU / wf', 'server CPU / wf', 'events', 'billable actions', 'peak RSS', 'cache'],
        r.temporalFloor.map((f) => [
          `${f.activity} activity, ${f.tuning} settings`,
          String(f.workflows),
          `${f1(f.seconds)} s`,
          `${f1(f.cpuMsPerWorkflow.process)} ms`,
          `${f1(f.cpuMsPerWorkflow.server)} ms`,
          f1(f.histories.events.mean),
          f1(f.histories.billableActions.mean),
          `${f0(f.peakRssMiB)} MiB`,
          String(f.worker.maxCachedWorkflows),
        ]),
      ),
    );
    out.push('');
  }
  if (r.controller.length) {
    const cs = r.controller;
    const row = (label: string, fn: (c: (typeof cs)[number]) => string): string[] => [label, ...cs.map(fn)];
    const floors = [...new Set(r.temporalFloor.map((f) => f.activity))];
    out.push(
      table(
        ['clusterinventory run', ...cs.map((c) => c.label)],
        [
          row('flags', (c) => c.flags.join(' ') || '(defaults)'),
          row(`backlog ${r.params.backlog} converged`, (c) => (c.backlog.convergedSeconds === null ? `NOT (${c.backlog.converged})` : `${f1(c.backlog.convergedSeconds)} s`)),
          row('  of which start until /readyz (CPU)', (c) => (c.backlog.startup ? `${f1(c.backlog.startup.readySeconds)} s (${f1(c.backlog.startup.cpuSeconds)} CPU s)` : '–')),
          row('  ÷ Kubernetes write floor', (c) => x(c.ratios.convergedVsKubeFloor)),
          ...floors.map((a) => row(`  ÷ Temporal floor (${a}, fastest)`, (c) => `${x(c.ratios.convergedVsTemporalFloor[a])} (${c.ratios.floorTuning?.[a]?.time ?? '–'})`)),
          row('backlog CPU: controller + Temporal server', (c) => `${f1(c.backlog.cpu.seconds.controller)} + ${f1(c.backlog.cpu.seconds.temporalServer)} s`),
          row('  per profile', (c) => `${f1(c.backlog.cpu.msPerProfile.controller)} + ${f1(c.backlog.cpu.msPerProfile.temporalServer)} ms`),
          ...floors.map((a) => row(`  ÷ Temporal floor (${a}, leanest)`, (c) => `${x(c.ratios.cpuVsTemporalFloor[a])} (${c.ratios.floorTuning?.[a]?.cpu ?? '–'})`)),
          row('  kube-apiserver CPU per profile', (c) => `${f1(c.backlog.cpu.msPerProfile.apiServer)} ms`),
          row('peak RSS of the controller', (c) => `${f0(c.peakRssMiB)} MiB`),
          row('Kubernetes requests / profile', (c) => `${f1(c.backlog.requestsPerProfile.total)} (${f1(c.backlog.requestsPerProfile.writes)} writes)`),
          row('  by verb', (c) => breakdown(c.backlog.requestsPerProfile.byVerb)),
          row('history events / profile', (c) => `${f1(c.backlog.histories.events.mean)} (${f0(c.backlog.histories.events.min)}–${f0(c.backlog.histories.events.max)})`),
          ...floors.map((a) => row(`  ÷ Temporal floor (${a})`, (c) => x(c.ratios.eventsVsTemporalFloor[a]))),
          row('billable actions / new profile (histories)', (c) => f1(c.backlog.histories.billableActions.mean)),
          row('  counted by the server', (c) => (c.backlog.serverActions ? f2(c.backlog.serverActions.total) : '–')),
          row('  counted by the server, burst', (c) => (c.burst?.serverActions ? f2(c.burst.serverActions.total) : '–')),
          row(`burst ${r.params.burst} at ${r.params.burstRate}/s${r.params.burstAfterRestart ? ', right after a restart' : ''}: create → SveltosCluster p50 / p90 / p99 / max`, (c) => {
            const p = c.burst?.sveltosClusterLatencyMs;
            return p ? `${f2(p.p50 / 1000)} / ${f2(p.p90 / 1000)} / ${f2(p.p99 / 1000)} / ${f2(p.max / 1000)} s` : '–';
          }),
          row('  created in its first seconds / after them: p50 / p99', (c) => {
            const s = c.burst?.split;
            return s ? `${f2(s.opening.p50 / 1000)} / ${f2(s.opening.p99 / 1000)} s (${s.opening.n} in ${f0(s.openingMs / 1000)} s) · ${f2(s.rest.p50 / 1000)} / ${f2(s.rest.p99 / 1000)} s (${s.rest.n})` : '–';
          }),
          row('  lost', (c) => (c.burst ? String(c.burst.lost) : '–')),
          row('  CPU per profile: controller + Temporal server', (c) => (c.burst ? `${f1(c.burst.cpu.msPerProfile.controller)} + ${f1(c.burst.cpu.msPerProfile.temporalServer)} ms` : '–')),
          row('  Kubernetes requests / profile', (c) => (c.burst ? `${f1(c.burst.requestsPerProfile.total)} (${f1(c.burst.requestsPerProfile.writes)} writes)` : '–')),
        ],
      ),
    );
    out.push('');
    for (const c of cs) {
      out.push(`${c.label}: requests per backlog profile: ${breakdown(c.backlog.requestsPerProfile.byKey, 2)} (API server background, not counted: ${breakdown(c.backlog.requestsPerProfile.background, 2) || 'none'})`);
      out.push(`${c.label}: events per profile: ${breakdown(c.backlog.histories.events.byType)}`);
      out.push(`${c.label}: billable actions per profile: ${breakdown(c.backlog.histories.billableActions.byKind)}`);
      if (c.backlog.serverActions) out.push(`${c.label}: server-counted actions per profile: ${breakdown(c.backlog.serverActions.byType, 2)}`);
    }
    out.push('');
  }
  if (r.refresh) {
    const f = r.refresh;
    out.push(`Unchanged refresh (${f.profiles} profiles, --sync-period ${f.syncPeriod}, ${f.cycles} refreshes in ${f1(f.windowSeconds)} s):`);
    out.push(`  Kubernetes requests / refresh: ${f2(f.requestsPerCycle.total)} (${f2(f.requestsPerCycle.writes)} writes): ${breakdown(f.requestsPerCycle.byKey, 2)} (API server background, not counted: ${breakdown(f.requestsPerCycle.background, 2) || 'none'})`);
    out.push(`  history events / refresh: ${f1(f.history.events.mean)}: ${breakdown(f.history.events.byType)}`);
    out.push(`  billable actions / refresh (histories): ${f2(f.history.billableActions.mean)}: ${breakdown(f.history.billableActions.byKind)}`);
    if (f.serverActionsPerCycle) out.push(`  billable actions / refresh (server): ${f2(f.serverActionsPerCycle.total)}: ${breakdown(f.serverActionsPerCycle.byType, 2)}`);
    for (const s of f.signals ?? []) {
      out.push(
        `  ${s.kind}: ${s.signals} signals; actions / signal (histories): ${f2(s.historyActionsPerSignal.mean)}: ${breakdown(s.historyActionsPerSignal.byKind, 2)}` +
          (s.serverActionsPerSignal ? `; (server): ${f2(s.serverActionsPerSignal.total)}: ${breakdown(s.serverActionsPerSignal.byType, 2)}` : ''),
      );
    }
    out.push(`  CPU / refresh: controller ${f1(f.cpuMsPerCycle.controller)} ms, Temporal server ${f1(f.cpuMsPerCycle.temporalServer)} ms`);
    out.push('');
  }
  for (const c of r.controller) {
    const s = c.burst?.stages;
    if (!s) continue;
    const ms = (n: number): string => (Number.isNaN(n) ? '–' : n.toFixed(0));
    out.push(`${c.label}: burst, stage by stage (ms, p50 / p90 / p99; ${s.profiles} profiles, ${s.signalledTwice} signalled twice):`);
    for (const [k, p] of Object.entries(s.stages)) out.push(`  ${k}: ${ms(p.p50)} / ${ms(p.p90)} / ${ms(p.p99)}`);
  }
  for (const p of r.cpuProfiles) {
    out.push(`CPU profile ${p.file}: busy ${f1(p.summary.busyMs / 1000)} s; top modules: ${p.summary.byModule.slice(0, 12).map((t) => `${t.name} ${(t.share * 100).toFixed(0)} %`).join(', ')}`);
  }
  for (const e of r.errors) out.push(`ERROR in ${e.phase}: ${e.message}`);
  return out.join('\n');
}
