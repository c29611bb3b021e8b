// `clusterinventory status [NAMESPACE/NAME]`.
//
// Without a name: one row per managed ClusterProfile (running workflow), from Temporal visibility only
// (search attributes and the status memo), streamed page by page; no workflow is queried, so 10,000
// profiles cost ten list calls and no worker round trip. With a name: the workflow of that ClusterProfile
// (its ID found by its search attributes; a reused name has one running incarnation), its `status`
// query sent to the workflow ID (the latest run), and its page in the Temporal Web UI.
//
// Exit codes (for scripts): 0 fine, 1 a listed profile (or the named one) is Degraded, 2 usage error,
// 3 could not tell (Temporal unreachable, not found, query failed).
import { parseArgs } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { UNHEALTHY_PHASES, statusQuery, type WorkflowStatus } from '../workflows/api.js';
import { parseDuration } from './duration.js';
import { DEFAULT_PAGE_SIZE, FilterError, checkFilter, type ProfileFilter, type ProfileRow } from '../workflows/visibility.js';
import { listProfiles, parseProfileName } from './visibility.js';
import { EXIT, UsageError, runOperatorCommand } from './command.js';
import { connectClient, workflowUiUrl, type CliClient } from './connect.js';
import { defaultSveltosReader, sveltosCell, sveltosLines, type SveltosReader, type SveltosView } from './sveltos-view.js';
import { humanDuration } from '../worker/console-format.js';
import { StreamingJsonList, StreamingTable, StreamingYamlList, emit, iso, oneLine, relative, yaml, type CliIo } from './format.js';

export const STATUS_USAGE = `usage: clusterinventory status [NAMESPACE/NAME] [flags]

Without NAMESPACE/NAME: every managed ClusterProfile, from Temporal visibility (no workflow is queried).
Beside our phase, what Sveltos reports for the cluster (its SveltosCluster's status: ready, version,
connectionStatus, failureMessage), read with the default kubeconfig; shown as "?" when unreachable.
Rows are sorted by namespace/name within each visibility page (1,000 rows). With NAMESPACE/NAME: the
running workflow's status query and its link in the Temporal Web UI.

flags:
  -n, --namespace NS     only ClusterProfiles of this namespace
      --phase PHASE      only this phase (Pending, Syncing, Ready, Degraded, Expired, Deleting)
  -o, --output FORMAT    table (default), wide (adds LAST SYNC, TASK QUEUE, WORKFLOW ID; still no queries),
                         json or yaml
      --task-queue NAME  only workflows of this task queue (default: every task queue)
      --ui-url URL       Temporal Web UI base URL for links (default $TEMPORAL_UI_URL)
      --timeout DURATION limit for the status query (default 10s)

exit codes: 0 fine, 1 Degraded or Expired (any listed profile, or the named one), 2 usage error, 3 could not tell
(Temporal unreachable, no running workflow for NAMESPACE/NAME, query failed).

Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE.`;

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';
const FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

export interface StatusArgs {
  profile?: { namespace: string; name: string };
  filter: ProfileFilter;
  output: OutputFormat;
  uiUrl?: string;
  timeoutMs: number;
  pageSize: number;
}

export function parseOutput(value: string | undefined): OutputFormat {
  const v = value ?? 'table';
  if (!(FORMATS as readonly string[]).includes(v)) throw new UsageError(`--output=${v}: expected one of ${FORMATS.join(', ')}`);
  return v as OutputFormat;
}

export function parseTimeout(value: string, flag = 'timeout'): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new UsageError(`--${flag}=${value}: not a positive duration (examples: 10s, 2m)`);
  return ms;
}

export function parseStatusArgs(argv: string[], env: NodeJS.ProcessEnv): StatusArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        namespace: { type: 'string', short: 'n' },
        phase: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'task-queue': { type: 'string' },
        'ui-url': { type: 'string' },
        timeout: { type: 'string', default: '10s' },
        'page-size': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`expected at most one NAMESPACE/NAME, got ${positionals.length} arguments`);
  const filter: ProfileFilter = {};
  if (values.namespace !== undefined) filter.namespace = values.namespace;
  if (values.phase !== undefined) filter.phase = values.phase;
  if (values['task-queue'] !== undefined) filter.taskQueue = values['task-queue'];
  let profile: StatusArgs['profile'];
  try {
    checkFilter(filter);
    if (positionals[0] !== undefined) profile = parseProfileName(positionals[0]);
  } catch (e) {
    if (e instanceof FilterError) throw new UsageError(e.message);
    throw e;
  }
  if (profile && (filter.namespace !== undefined || filter.phase !== undefined)) {
    throw new UsageError('--namespace and --phase filter the list; they do not go with NAMESPACE/NAME');
  }
  let pageSize = DEFAULT_PAGE_SIZE;
  if (values['page-size'] !== undefined) {
    pageSize = Number(values['page-size']);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) throw new UsageError(`--page-size=${values['page-size']}: expected 1..10000`);
  }
  const uiUrl = values['ui-url'] ?? env.TEMPORAL_UI_URL;
  return {
    ...(profile ? { profile } : {}),
    filter,
    output: parseOutput(values.output),
    ...(uiUrl ? { uiUrl } : {}),
    timeoutMs: parseTimeout(values.timeout),
    pageSize,
  };
}

// ---- the list -------------------------------------------------------------------------------------

const HEADER = ['NAMESPACE', 'NAME', 'PROVIDER', 'PHASE', 'SVELTOS', 'CREDENTIAL EXPIRY', 'NEXT REFRESH', 'LAST ERROR', 'AGE'];
const WIDE_HEADER = [...HEADER, 'LAST SYNC', 'TASK QUEUE', 'WORKFLOW ID'];
const DASH = '-';

/** Sveltos's view of each listed cluster, by "namespace/name"; undefined when Kubernetes was not asked or not reachable. */
export type SveltosViews = Map<string, SveltosView> | undefined;

const sveltosOf = (views: SveltosViews, row: ProfileRow): SveltosView | undefined => views && (views.get(`${row.namespace}/${row.name}`) ?? { found: false });

/** The table cells of one row. */
export function tableCells(row: ProfileRow, nowMs: number, wide = false, sveltos?: SveltosViews): string[] {
  const expiry =
    row.credentialExpiresAtMs === undefined
      ? DASH
      : row.credentialExpiresAtMs > nowMs
        ? `in ${humanDuration(row.credentialExpiresAtMs - nowMs)}`
        : `expired ${humanDuration(nowMs - row.credentialExpiresAtMs)} ago`;
  const next = row.nextRefreshAtMs === undefined ? DASH : row.nextRefreshAtMs > nowMs ? `in ${humanDuration(row.nextRefreshAtMs - nowMs)}` : 'due';
  const error = row.lastError ? oneLine(`${row.lastError.reason}: ${row.lastError.message}`, wide ? 160 : 60) : DASH;
  const cells = [row.namespace, row.name, row.provider ?? DASH, row.phase ?? DASH, sveltosCell(sveltosOf(sveltos, row)), expiry, next, error, humanDuration(nowMs - row.sinceMs)];
  if (wide) cells.push(row.lastSyncAtMs === undefined ? DASH : relative(row.lastSyncAtMs, nowMs), row.taskQueue, row.workflowId);
  return cells;
}

/** The JSON / YAML form of one row: times as RFC 3339, absent values left out. */
export function rowObject(row: ProfileRow, sveltos?: SveltosViews): Record<string, unknown> {
  return {
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    phase: row.phase,
    provider: row.provider,
    credentialExpiresAt: iso(row.credentialExpiresAtMs),
    nextRefreshAt: iso(row.nextRefreshAtMs),
    lastSyncAt: iso(row.lastSyncAtMs),
    lastError: row.lastError && { reason: row.lastError.reason, message: row.lastError.message, at: iso(row.lastError.atMs) },
    managedSince: iso(row.sinceMs),
    workflowId: row.workflowId,
    runId: row.runId,
    taskQueue: row.taskQueue,
    sveltos: sveltosOf(sveltos, row),
  };
}

/** JSON.stringify drops undefined; YAML would print it as null: drop it for both. */
function defined(obj: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
}

export interface ListSummary {
  rows: number;
  degraded: number;
}

/** Streams the list in the requested format; returns what it printed. */
export async function printList(rows: AsyncIterable<ProfileRow>, args: Pick<StatusArgs, 'output' | 'pageSize'>, io: CliIo, sveltos?: SveltosViews): Promise<ListSummary> {
  const now = io.now();
  const summary: ListSummary = { rows: 0, degraded: 0 };
  const count = (row: ProfileRow): void => {
    summary.rows++;
    if ((UNHEALTHY_PHASES as readonly string[]).includes(row.phase ?? '')) summary.degraded++;
  };
  if (args.output === 'json' || args.output === 'yaml') {
    const list = args.output === 'json' ? new StreamingJsonList(io.stdout) : new StreamingYamlList(io.stdout);
    for await (const row of rows) {
      count(row);
      await list.add(defined(rowObject(row, sveltos)));
    }
    await list.end();
    return summary;
  }
  const wide = args.output === 'wide';
  const table = new StreamingTable(io.stdout, wide ? WIDE_HEADER : HEADER, args.pageSize, (c) => `${c[0]}\u0000${c[1]}`, wide ? 80 : 60);
  for await (const row of rows) {
    count(row);
    await table.add(tableCells(row, now, wide, sveltos));
  }
  await table.flush();
  if (summary.rows === 0) await emit(io.stderr, 'No managed ClusterProfiles found.\n');
  return summary;
}

// ---- one profile ----------------------------------------------------------------------------------

/**
 * The workflow of one ClusterProfile, named by its workflow ID only. Visibility finds the ID (it holds
 * the profile's uid, so a reused name is told apart), but every call goes to the ID without a run ID:
 * the workflow continues as new every 50 syncs, visibility lags behind, and a run ID read from
 * it may name a run that has already closed.
 */
export interface FoundWorkflow {
  workflowId: string;
  taskQueue: string;
  /** What visibility says about it (phase, last error): for messages when the workflow cannot answer. */
  row: ProfileRow;
  /** Other running incarnations (a reused name whose old workflow is still cleaning up). */
  others: ProfileRow[];
}

const CONTINUED_AS_NEW = 'CONTINUED_AS_NEW';

/** The workflow of namespace/name: the newest incarnation when a reused name has several. */
export async function findWorkflow(client: Client, profile: { namespace: string; name: string }, taskQueue?: string): Promise<FoundWorkflow | undefined> {
  // Around a continue-as-new, visibility can list two runs of one ID: one entry per workflow ID.
  const byId = new Map<string, ProfileRow>();
  for await (const row of listProfiles(client, { ...profile, ...(taskQueue ? { taskQueue } : {}) }, 100)) {
    const seen = byId.get(row.workflowId);
    if (!seen || row.runStartedAtMs > seen.runStartedAtMs) byId.set(row.workflowId, row);
  }
  const rows = [...byId.values()].sort((a, b) => b.sinceMs - a.sinceMs || b.runStartedAtMs - a.runStartedAtMs);
  if (rows.length > 0) return { workflowId: rows[0]!.workflowId, taskQueue: rows[0]!.taskQueue, row: rows[0]!, others: rows.slice(1) };
  // Visibility may already show the run that continued as new but not yet its successor: the workflow runs on.
  const closed = await findClosed(client, profile, taskQueue);
  if (closed?.executionStatus === CONTINUED_AS_NEW) return { workflowId: closed.workflowId, taskQueue: closed.taskQueue, row: closed, others: [] };
  return undefined;
}

/** The most recently closed workflow of namespace/name, to explain why none runs. */
async function findClosed(client: Client, profile: { namespace: string; name: string }, taskQueue?: string): Promise<ProfileRow | undefined> {
  let latest: ProfileRow | undefined;
  for await (const row of listProfiles(client, { ...profile, running: false, ...(taskQueue ? { taskQueue } : {}) }, 100)) {
    if (!latest || (row.closedAtMs ?? 0) > (latest.closedAtMs ?? 0)) latest = row;
  }
  return latest;
}

/** The run that answered, for display only (never used to address the workflow); undefined if describe fails. */
async function latestRunId(handle: WorkflowHandle): Promise<string | undefined> {
  try {
    return (await handle.describe()).runId;
  } catch {
    return undefined;
  }
}

/** The status query result in output form: times as RFC 3339. */
export function statusObject(s: WorkflowStatus): Record<string, unknown> {
  return defined({
    namespace: s.ref.namespace,
    name: s.ref.name,
    uid: s.ref.uid,
    phase: s.phase,
    provider: s.provider,
    fingerprint: s.fingerprint,
    credentialExpiresAt: iso(s.credentialExpiresAtMs),
    lastSyncAt: iso(s.lastSyncAtMs),
    nextRefreshAt: iso(s.nextRefreshAtMs),
    lastError: s.lastError && { reason: s.lastError.reason, message: s.lastError.message, at: iso(s.lastError.atMs) },
    observedGeneration: s.observedGeneration,
    observedResourceVersion: s.observedResourceVersion,
    observedHash: s.observedHash,
    syncCount: s.syncCount,
    runCount: s.runCount,
  });
}

/** Where a status came from: the workflow ID, and the run that was the latest when asked. */
export interface WorkflowLocation {
  workflowId: string;
  runId?: string;
  taskQueue: string;
}

function when(ms: number | undefined, nowMs: number, none = DASH): string {
  return ms === undefined ? none : `${iso(ms)} (${relative(ms, nowMs)})`;
}

/** The human form of one profile's status. */
export function describeStatus(s: WorkflowStatus, found: WorkflowLocation, uiLink: string | undefined, nowMs: number, sveltos?: { view?: SveltosView; unavailable?: string }): string {
  const rows: Array<[string, string]> = [
    ['ClusterProfile', `${s.ref.namespace}/${s.ref.name} (uid ${s.ref.uid})`],
    ['Phase', s.phase],
    ['Provider', s.provider ?? DASH],
    ['Credential expiry', when(s.credentialExpiresAtMs, nowMs, s.lastSyncAtMs === undefined ? DASH : 'none stated (refreshed every sync period)')],
    ['Fingerprint', s.fingerprint ?? DASH],
    ['Last sync', when(s.lastSyncAtMs, nowMs, 'never')],
    ['Next refresh', when(s.nextRefreshAtMs, nowMs)],
    ['Last error', s.lastError ? `${s.lastError.reason} at ${iso(s.lastError.atMs)}: ${s.lastError.message}` : DASH],
    ...sveltosLines(sveltos?.view, sveltos?.unavailable),
    [
      'Observed',
      s.observedGeneration === undefined ? DASH : `generation ${s.observedGeneration}, resourceVersion ${s.observedResourceVersion ?? DASH}, hash ${s.observedHash ?? DASH}`,
    ],
    ['Syncs', `${s.syncCount} (workflow run ${s.runCount})`],
    ['Workflow', `${found.workflowId} (${found.runId ? `latest run ${found.runId}, ` : ''}task queue ${found.taskQueue})`],
    ['Web UI', uiLink ?? 'set --ui-url or TEMPORAL_UI_URL for a link'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}\n`).join('');
}

/** Sveltos's view, or why it is unknown: the status of our side never fails because Kubernetes does. */
async function readSveltos<T>(reader: SveltosReader | string, read: (r: SveltosReader) => Promise<T>): Promise<{ value?: T; unavailable?: string }> {
  if (typeof reader === 'string') return { unavailable: reader };
  try {
    return { value: await read(reader) };
  } catch (e) {
    return { unavailable: `reading SveltosClusters failed: ${oneLine((e as Error).message, 200)}` };
  }
}

async function statusOfOne(cli: CliClient, args: StatusArgs, io: CliIo, reader: SveltosReader | string): Promise<number> {
  const profile = args.profile!;
  const found = await findWorkflow(cli.client, profile, args.filter.taskQueue);
  if (!found) {
    const closed = await findClosed(cli.client, profile, args.filter.taskQueue);
    const detail = closed
      ? `; its last workflow ${closed.workflowId} is ${closed.executionStatus}${closed.closedAtMs ? ` since ${iso(closed.closedAtMs)}` : ''}${closed.phase ? ` (phase ${closed.phase})` : ''}`
      : '';
    await emit(io.stderr, `clusterinventory: no running workflow for ClusterProfile ${profile.namespace}/${profile.name}${detail}\n`);
    return EXIT.error;
  }
  const { row } = found;
  for (const other of found.others) {
    await emit(io.stderr, `note: another workflow also runs for ${profile.namespace}/${profile.name}: ${other.workflowId} (phase ${other.phase ?? DASH}; an earlier incarnation still cleaning up?)\n`);
  }
  const link = args.uiUrl ? workflowUiUrl(args.uiUrl, cli.namespace, found.workflowId) : undefined;
  const handle = cli.client.workflow.getHandle(found.workflowId);
  let status: WorkflowStatus;
  let runId: string | undefined;
  try {
    [status, runId] = await cli.client.withDeadline(io.now() + args.timeoutMs, () => Promise.all([handle.query(statusQuery), latestRunId(handle)]));
  } catch (e) {
    await emit(io.stderr, `clusterinventory: status query of ${found.workflowId} failed (is a worker running?): ${(e as Error).message}\n`);
    await emit(io.stderr, `visibility says: phase ${row.phase ?? DASH}${row.lastError ? `, last error ${row.lastError.reason}: ${row.lastError.message}` : ''}${link ? `\n${link}` : ''}\n`);
    return EXIT.error;
  }
  const where: WorkflowLocation = { workflowId: found.workflowId, ...(runId ? { runId } : {}), taskQueue: found.taskQueue };
  const sv = await readSveltos(reader, (r) => r.one(profile.namespace, profile.name));
  if (args.output === 'json' || args.output === 'yaml') {
    const doc = defined({ ...where, uiUrl: link, status: statusObject(status), sveltos: sv.value ?? { unavailable: sv.unavailable } });
    await emit(io.stdout, args.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : yaml(doc));
  } else {
    await emit(io.stdout, describeStatus(status, where, link, io.now(), { ...(sv.value ? { view: sv.value } : {}), ...(sv.unavailable ? { unavailable: sv.unavailable } : {}) }));
  }
  return UNHEALTHY_PHASES.includes(status.phase) ? EXIT.degraded : EXIT.ok;
}

export async function runStatus(
  argv: string[],
  io: CliIo,
  connect: (env: NodeJS.ProcessEnv) => Promise<CliClient> = connectClient,
  sveltosReader: () => SveltosReader | string = defaultSveltosReader,
): Promise<number> {
  return runOperatorCommand(
    io,
    {
      name: 'status',
      usage: STATUS_USAGE,
      parse: () => parseStatusArgs(argv, io.env),
      run: async (cli, args) => {
        const reader = sveltosReader();
        if (args.profile) return statusOfOne(cli, args, io, reader);
        const sv = await readSveltos(reader, (r) => r.all(args.filter.namespace));
        if (sv.unavailable) await emit(io.stderr, `note: Sveltos's view (SVELTOS column) unknown: ${sv.unavailable}\n`);
        const summary = await printList(listProfiles(cli.client, args.filter, args.pageSize), args, io, sv.value);
        return summary.degraded > 0 ? EXIT.degraded : EXIT.ok;
      },
    },
    connect,
  );
}
