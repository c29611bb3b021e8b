// Command-line configuration for `clusterinventory run | worker | watcher`. Flag names keep the Go
// controller's where they exist. Parsing is pure: errors name the flag and never exit by themselves.
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../worker/worker.js';
import { parseArgs } from 'node:util';
import { DEFAULT_SCHEDULE, DEFAULT_TASK_QUEUE, type ScheduleConfig } from '../workflows/api.js';
import { parseDuration } from './duration.js';
import { LOG_FORMATS, type LogFormat } from '../worker/console-format.js';
import { DEFAULT_LEASE_TIMINGS, validateTimings, type LeaseTimings } from '../watcher/lease.js';

export type Mode = 'run' | 'worker' | 'watcher';

export interface AppConfig {
  mode: Mode;
  providerFile?: string;
  schedule: ScheduleConfig;
  kubeApiQps: number;
  kubeApiBurst: number;
  healthAddr: { host: string; port: number } | undefined;
  /** Prometheus /metrics (SDK worker metrics and ours, one endpoint); undefined = disabled. */
  metricsAddr: { host: string; port: number } | undefined;
  taskQueue: string;
  /** Empty: every namespace. */
  namespaces: string[];
  /** Source namespaces the secret reader may read beyond the profile's own; ['*'] = any. */
  secretReaderNamespaces: string[];
  execTimeoutMs: number;
  relistPeriodMs: number;
  /** Per-profile limit of change-triggered signals (watcher): burst, then one per intervalMs; 0 = off. */
  changeSyncLimit: { burst: number; intervalMs: number };
  /** Workflows kept in the worker's cache (sticky execution); evicted ones are replayed when they wake. */
  maxCachedWorkflows: number;
  /** Full stack traces in workflow code (the Web UI's stack-trace query); off, they cost CPU on every promise. */
  workflowStackTraces: boolean;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** 'auto' (no flag): text when stdout is a terminal, JSON otherwise. */
  logFormat: LogFormat | 'auto';
  /** One signalling watcher among replicas (run and watcher modes; the worker ignores it). */
  leaderElection: LeaderElectionConfig;
}

export interface LeaderElectionConfig {
  enabled: boolean;
  /** Unset: the pod's namespace; out of a cluster the one watched namespace, else the kubeconfig context's, else "default". */
  namespace?: string;
  /** Lease name; unset: derived from the task queue (watcher/lease-defaults.ts). */
  id?: string;
  timings: LeaseTimings;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const options = {
  'clusterprofile-provider-file': { type: 'string' },
  'sync-period': { type: 'string', default: '10m' },
  'min-refresh-interval': { type: 'string', default: '1m' },
  'kube-api-qps': { type: 'string', default: '20' },
  'kube-api-burst': { type: 'string', default: '30' },
  'health-addr': { type: 'string', default: ':9440' },
  'metrics-addr': { type: 'string', default: ':9464' },
  'task-queue': { type: 'string', default: DEFAULT_TASK_QUEUE },
  namespaces: { type: 'string', default: '' },
  'secret-reader-namespaces': { type: 'string', default: '' },
  'exec-timeout': { type: 'string', default: '30s' },
  'relist-period': { type: 'string', default: '5m' },
  'change-sync-interval': { type: 'string', default: '5s' },
  'change-sync-burst': { type: 'string', default: '3' },
  'max-cached-workflows': { type: 'string', default: String(DEFAULT_MAX_CACHED_WORKFLOWS) },
  'workflow-stack-traces': { type: 'string', default: 'false' },
  'log-level': { type: 'string', default: 'info' },
  'log-format': { type: 'string' },
  'leader-elect': { type: 'string', default: 'true' },
  'leader-elect-lease-duration': { type: 'string', default: `${DEFAULT_LEASE_TIMINGS.leaseDurationMs / 1000}s` },
  'leader-elect-renew-deadline': { type: 'string', default: `${DEFAULT_LEASE_TIMINGS.renewDeadlineMs / 1000}s` },
  'leader-elect-retry-period': { type: 'string', default: `${DEFAULT_LEASE_TIMINGS.retryPeriodMs / 1000}s` },
  'leader-elect-namespace': { type: 'string' },
  'leader-elect-id': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const USAGE = `usage: clusterinventory <run|worker|watcher> [flags]

  run       watcher + worker in one process (the simple install)
  worker    Temporal worker: runs the workflows and the activities
  watcher   watches ClusterProfiles and signals their workflows

  status [NAMESPACE/NAME]   managed ClusterProfiles, or one in detail (see: clusterinventory status --help)
  refresh NAMESPACE/NAME    sync one ClusterProfile now and print the outcome (clusterinventory refresh --help)

flags of run, worker and watcher:
  --clusterprofile-provider-file PATH  exec-plugin providers (JSON); optional
  --sync-period DURATION               refresh period when credentials do not expire (default 10m)
  --min-refresh-interval DURATION      floor between two refreshes of expiring credentials (default 1m)
  --kube-api-qps N                     Kubernetes client QPS per resource type (default 20)
  --kube-api-burst N                   Kubernetes client burst per resource type (default 30)
  --health-addr [HOST]:PORT            /healthz and /readyz; "0" disables (default :9440)
  --metrics-addr [HOST]:PORT           Prometheus /metrics (Temporal SDK + ours); "0" disables (default :9464)
  --task-queue NAME                    Temporal task queue (default ${DEFAULT_TASK_QUEUE})
  --namespaces a,b                     ClusterProfile namespaces to watch (default all)
  --secret-reader-namespaces a,b|*     source Secret namespaces allowed beyond the profile's own (default none)
  --exec-timeout DURATION              exec credential plugin timeout (default 30s)
  --relist-period DURATION             watcher safety-net relist period (default 5m)
  --change-sync-interval DURATION      per profile, at most one change-triggered sync per DURATION once the
                                       burst is spent; the latest state is delivered after it; 0 disables (default 5s)
  --change-sync-burst N                change-triggered syncs a profile may cause at once (default 3)
  --max-cached-workflows N             workflows the worker keeps in memory (default ${DEFAULT_MAX_CACHED_WORKFLOWS})
  --workflow-stack-traces[=true|false] full stack traces in workflow code, for the Web UI's Stack Trace tab;
                                       they cost CPU on every workflow task (default false)
  --log-level LEVEL                    trace|debug|info|warn|error (default info)
  --log-format json|text               log lines as JSON or plain text (default: text on a terminal, else JSON)
  --leader-elect[=true|false]          only the Lease holder among watcher replicas signals (default true)
  --leader-elect-lease-duration DURATION  standbys take over after the holder is silent this long (default 15s)
  --leader-elect-renew-deadline DURATION  the leader stops signalling when it could not renew this long (default 10s)
  --leader-elect-retry-period DURATION    interval between tries to acquire or renew (default 2s)
  --leader-elect-namespace NAME        namespace of the Lease (default: the pod's; out of a cluster the one --namespaces, else the context's, else default)
  --leader-elect-id NAME               name of the Lease (default: <task-queue>-watcher)

Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE (envconfig). Kubernetes: KUBECONFIG or in-cluster.`;

function duration(flag: string, value: string, minMs: number): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`--${flag}=${value}: not a duration (examples: 30s, 10m, 1h30m)`);
  if (ms < minMs) throw new ConfigError(`--${flag}=${value}: must be at least ${minMs} ms`);
  return ms;
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--${flag}=${value}: must be a positive number`);
  return n;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function hostPort(flag: string, value: string, example: string): { host: string; port: number } | undefined {
  if (value === '0' || value === '') return undefined;
  const m = /^(.*):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 0 || port > 65535) throw new ConfigError(`--${flag}=${value}: expected [HOST]:PORT, e.g. ${example}`);
  return { host: m[1] || '0.0.0.0', port };
}

/** The SDK's exporter binds the address it is given: a fixed port (0 would give one nobody can find). */
function metricsAddr(value: string): { host: string; port: number } | undefined {
  const addr = hostPort('metrics-addr', value, ':9464');
  if (addr && addr.port === 0) throw new ConfigError(`--metrics-addr=${value}: needs a port (use "0" to disable metrics)`);
  return addr;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
const BOOLEAN_FLAGS = ['--leader-elect', '--workflow-stack-traces'];

function boolean(flag: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new ConfigError(`--${flag}=${value}: expected true or false`);
  return value === 'true';
}

export function parseConfig(argv: string[]): AppConfig | 'help' {
  const [mode, ...rest] = argv;
  if (mode === undefined || mode === '--help' || mode === '-h' || mode === 'help') return 'help';
  if (mode !== 'run' && mode !== 'worker' && mode !== 'watcher') throw new ConfigError(`unknown command "${mode}"\n\n${USAGE}`);
  let values;
  // Go-style booleans: a bare --leader-elect means true.
  const args = rest.map((a) => (BOOLEAN_FLAGS.includes(a) ? `${a}=true` : a));
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';
  const logLevel = values['log-level'];
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level=${logLevel}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const logFormat = values['log-format'] ?? 'auto';
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat) && logFormat !== 'auto') {
    throw new ConfigError(`--log-format=${logFormat}: expected one of ${LOG_FORMATS.join(', ')}`);
  }
  const taskQueue = values['task-queue'].trim();
  if (!taskQueue) throw new ConfigError('--task-queue: must not be empty');
  const secretReaderNamespaces = list(values['secret-reader-namespaces']);
  if (secretReaderNamespaces.includes('*') && secretReaderNamespaces.length > 1) {
    throw new ConfigError('--secret-reader-namespaces: "*" cannot be combined with namespace names');
  }
  const schedule: ScheduleConfig = {
    syncPeriodMs: duration('sync-period', values['sync-period'], 1000),
    minRefreshMs: duration('min-refresh-interval', values['min-refresh-interval'], 1000),
  };
  const leaderElection = parseLeaderElection(values);
  return {
    mode,
    ...(values['clusterprofile-provider-file'] ? { providerFile: values['clusterprofile-provider-file'] } : {}),
    schedule: { ...DEFAULT_SCHEDULE, ...schedule },
    kubeApiQps: positiveNumber('kube-api-qps', values['kube-api-qps']),
    kubeApiBurst: Math.floor(positiveNumber('kube-api-burst', values['kube-api-burst'])),
    healthAddr: hostPort('health-addr', values['health-addr'], ':9440'),
    metricsAddr: metricsAddr(values['metrics-addr']),
    taskQueue,
    namespaces: list(values.namespaces),
    secretReaderNamespaces,
    execTimeoutMs: duration('exec-timeout', values['exec-timeout'], 100),
    relistPeriodMs: duration('relist-period', values['relist-period'], 1000),
    changeSyncLimit: {
      burst: Math.floor(positiveNumber('change-sync-burst', values['change-sync-burst'])),
      intervalMs: values['change-sync-interval'].trim() === '0' ? 0 : duration('change-sync-interval', values['change-sync-interval'], 100),
    },
    maxCachedWorkflows: Math.floor(positiveNumber('max-cached-workflows', values['max-cached-workflows'])),
    workflowStackTraces: boolean('workflow-stack-traces', values['workflow-stack-traces']),
    logLevel: logLevel as AppConfig['logLevel'],
    logFormat: logFormat as AppConfig['logFormat'],
    leaderElection,
  };
}

const LEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function parseLeaderElection(values: Record<string, string | boolean | undefined>): LeaderElectionConfig {
  const enabled = boolean('leader-elect', String(values['leader-elect']));
  const timings: LeaseTimings = {
    leaseDurationMs: duration('leader-elect-lease-duration', String(values['leader-elect-lease-duration']), 1000),
    renewDeadlineMs: duration('leader-elect-renew-deadline', String(values['leader-elect-renew-deadline']), 100),
    retryPeriodMs: duration('leader-elect-retry-period', String(values['leader-elect-retry-period']), 10),
  };
  const invalid = validateTimings(timings);
  if (invalid) throw new ConfigError(invalid);
  const out: LeaderElectionConfig = { enabled, timings };
  const namespace = values['leader-elect-namespace'];
  if (typeof namespace === 'string' && namespace !== '') {
    if (namespace.length > 63 || !NAMESPACE_NAME.test(namespace)) throw new ConfigError(`--leader-elect-namespace=${namespace}: not a namespace name`);
    out.namespace = namespace;
  }
  const id = values['leader-elect-id'];
  if (typeof id === 'string' && id !== '') {
    if (id.length > 253 || !LEASE_NAME.test(id)) throw new ConfigError(`--leader-elect-id=${id}: not a valid Lease name (lower-case DNS subdomain)`);
    out.id = id;
  }
  return out;
}
