// Parameters of the throughput benchmark: flags (`npm run bench -- throughput --backlog 300`), each with
// an environment variable as a fallback (BENCH_BACKLOG=300), then the default.
import { parseArgs } from 'node:util';
import { parseDuration } from '../../../cli/duration.js';

export const PHASES = ['kube-floor', 'temporal-floor', 'default', 'qps1000', 'refresh'] as const;
export type Phase = (typeof PHASES)[number];
/**
 * How the Temporal floor's worker and client are set up: `controller`, the controller's own settings (20
 * workflow tasks at once, a cache of 50, its memory flags, 8 starts in flight); `defaults`, the SDK's
 * defaults with no memory flags and 32 starts in flight. The floor a ratio is taken against is the
 * fastest (and, for CPU, the leanest) of the tunings measured, not the controller's.
 */
export const FLOOR_TUNINGS = ['controller', 'defaults'] as const;
export type FloorTuning = (typeof FLOOR_TUNINGS)[number];

export interface ThroughputParams {
  backlog: number;
  burst: number;
  burstRate: number;
  phases: Phase[];
  floorActivities: Array<'local' | 'regular'>;
  floorTunings: FloorTuning[];
  /** Profiles in flight in the Kubernetes write floor. */
  floorConcurrency: number;
  historySample: number;
  refreshProfiles: number;
  syncPeriod: string;
  syncPeriodMs: number;
  refreshCycles: number;
  settleMs: number;
  /** Convergence timeout of the backlog, ms. */
  timeoutMs: number;
  /** Extra flags for every `clusterinventory run` the benchmark starts. */
  controllerArgs: string[];
  cpuProf: boolean;
  /** Restart the controller over the converged backlog before the burst (a burst right after a restart). */
  burstAfterRestart: boolean;
  skipBuild: boolean;
  outDir: string;
}

export const USAGE = `npm run bench -- throughput [flags]   (needs \`npm run stack -- up\`)

  --backlog N            ClusterProfiles present before the controller starts (BENCH_BACKLOG, default 1000)
  --burst N              ClusterProfiles created while it runs (BENCH_BURST, default 200)
  --burst-rate N         burst creations per second (BENCH_BURST_RATE, default 20)
  --phases a,b           any of ${PHASES.join(', ')} (BENCH_PHASES, default all)
  --floor-activities a,b local, regular (BENCH_FLOOR_ACTIVITIES, default local,regular)
  --floor-tunings a,b    ${FLOOR_TUNINGS.join(', ')}: the floor's worker and client settings (default both; ratios against the fastest)
  --floor-concurrency N  profiles in flight in the Kubernetes write floor (default 10)
  --history-sample N     workflow histories read per scenario (default 50)
  --refresh-profiles N   profiles in the refresh phase (default 20)
  --sync-period D        --sync-period of the refresh phase (default 20s)
  --refresh-cycles N     sync periods measured in the refresh phase (default 3)
  --settle D             quiet time before the request counters are read (default 5s)
  --timeout D            backlog convergence timeout (default 120s + 3s per profile)
  --controller-args "…"  extra flags for every \`clusterinventory run\` (BENCH_CONTROLLER_ARGS), e.g. "--max-cached-workflows 100"
  --cpu-prof             run the controller under node --cpu-prof and summarize where its CPU went
  --burst-after-restart  restart the controller over the converged backlog before the burst (BENCH_BURST_AFTER_RESTART=1)
  --skip-build           use dist/ as it is (default: npm run build first)
  --out DIR              where results go (default test-results/)`;

const options = {
  backlog: { type: 'string' },
  burst: { type: 'string' },
  'burst-rate': { type: 'string' },
  phases: { type: 'string' },
  'floor-activities': { type: 'string' },
  'floor-tunings': { type: 'string' },
  'floor-concurrency': { type: 'string' },
  'history-sample': { type: 'string' },
  'refresh-profiles': { type: 'string' },
  'sync-period': { type: 'string' },
  'refresh-cycles': { type: 'string' },
  settle: { type: 'string' },
  timeout: { type: 'string' },
  'controller-args': { type: 'string' },
  'cpu-prof': { type: 'boolean' },
  'burst-after-restart': { type: 'boolean' },
  'skip-build': { type: 'boolean' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };

function envName(flag: string): string {
  return `BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export function parseThroughputParams(argv: string[], env: NodeJS.ProcessEnv): ThroughputParams | 'help' {
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as { values: Values };
  if (values.help) return 'help';
  const raw = (flag: keyof typeof options): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName(flag)];
  };
  const count = (flag: keyof typeof options, dflt: number, min = 0): number => {
    const v = raw(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}=${v}: expected an integer ≥ ${min}`);
    return n;
  };
  const ms = (flag: keyof typeof options, dflt: string): number => {
    const v = raw(flag) ?? dflt;
    const d = parseDuration(v);
    if (d === undefined) throw new Error(`--${flag}=${v}: not a duration (e.g. 20s, 5m)`);
    return d;
  };
  const list = <T extends string>(flag: keyof typeof options, allowed: readonly T[], dflt: readonly T[]): T[] => {
    const v = raw(flag);
    if (v === undefined) return [...dflt];
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) if (!(allowed as readonly string[]).includes(item)) throw new Error(`--${flag}: unknown "${item}"; expected any of ${allowed.join(', ')}`);
    return items as T[];
  };
  const backlog = count('backlog', 1000, 1);
  const syncPeriod = raw('sync-period') ?? '20s';
  const rate = Number(raw('burst-rate') ?? 20);
  if (!(rate > 0)) throw new Error(`--burst-rate=${raw('burst-rate')}: expected a positive number`);
  return {
    backlog,
    burst: count('burst', 200),
    burstRate: rate,
    phases: list('phases', PHASES, PHASES),
    floorActivities: list('floor-activities', ['local', 'regular'] as const, ['local', 'regular']),
    floorTunings: list('floor-tunings', FLOOR_TUNINGS, FLOOR_TUNINGS),
    floorConcurrency: count('floor-concurrency', 10, 1),
    historySample: count('history-sample', 50, 1),
    refreshProfiles: count('refresh-profiles', 20, 1),
    syncPeriod,
    syncPeriodMs: ms('sync-period', '20s'),
    refreshCycles: count('refresh-cycles', 3, 2),
    settleMs: ms('settle', '5s'),
    timeoutMs: raw('timeout') === undefined ? 120_000 + 3_000 * backlog : ms('timeout', '0s'),
    controllerArgs: (raw('controller-args') ?? '').split(/\s+/).filter(Boolean),
    cpuProf: values['cpu-prof'] ?? env.BENCH_CPU_PROF === '1',
    burstAfterRestart: values['burst-after-restart'] ?? env.BENCH_BURST_AFTER_RESTART === '1',
    skipBuild: values['skip-build'] ?? env.BENCH_SKIP_BUILD === '1',
    outDir: raw('out') ?? 'test-results',
  };
}
