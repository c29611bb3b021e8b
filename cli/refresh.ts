// `clusterinventory refresh NAMESPACE/NAME`: runs the workflow's `refresh` update (a credential sync now,
// serialized with any sync in progress) and prints its outcome. Exit codes as for `status`: 0 synced,
// 1 the outcome is Degraded, 2 usage error, 3 could not refresh (not found, rejected, timed out).
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { UNHEALTHY_PHASES, refreshUpdate, type SyncOutcome } from '../workflows/api.js';
import { FilterError, checkFilter } from '../workflows/visibility.js';
import { parseProfileName } from './visibility.js';
import { connectClient, workflowUiUrl, type CliClient } from './connect.js';
import { emit, iso, relative, yaml, type CliIo } from './format.js';
import { EXIT, UsageError, runOperatorCommand } from './command.js';
import { findWorkflow, parseOutput, parseTimeout, type OutputFormat } from './status.js';

export const REFRESH_USAGE = `usage: clusterinventory refresh NAMESPACE/NAME [flags]

Syncs the ClusterProfile's credentials now (the workflow's refresh update; it waits for a sync already
in progress) and prints the outcome.

flags:
      --reason TEXT      recorded with the update (default: "clusterinventory refresh by USER@HOST")
  -o, --output FORMAT    text (default), json or yaml
      --task-queue NAME  only a workflow of this task queue
      --ui-url URL       Temporal Web UI base URL for the link (default $TEMPORAL_UI_URL)
      --timeout DURATION give up waiting after this long (default 3m; an exec plugin may run for 30s and
                         transient failures are retried with backoff)

exit codes: 0 synced, 1 the outcome is Degraded, 2 usage error, 3 could not refresh (no running
workflow, refresh rejected because the ClusterProfile is being deleted, timed out, Temporal unreachable).`;

interface RefreshArgs {
  profile: { namespace: string; name: string };
  reason: string;
  output: Exclude<OutputFormat, 'table' | 'wide'> | 'text';
  taskQueue?: string;
  uiUrl?: string;
  timeoutMs: number;
}

function defaultReason(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `clusterinventory refresh by ${user}@${hostname()}`;
}

export function parseRefreshArgs(argv: string[], env: NodeJS.ProcessEnv): RefreshArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        reason: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'task-queue': { type: 'string' },
        'ui-url': { type: 'string' },
        timeout: { type: 'string', default: '3m' },
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
  if (positionals.length !== 1) throw new UsageError('expected exactly one NAMESPACE/NAME');
  let profile;
  try {
    profile = parseProfileName(positionals[0]!);
    if (values['task-queue'] !== undefined) checkFilter({ taskQueue: values['task-queue'] });
  } catch (e) {
    if (e instanceof FilterError) throw new UsageError(e.message);
    throw e;
  }
  const output = values.output === undefined || values.output === 'text' ? 'text' : parseOutput(values.output);
  if (output === 'table' || output === 'wide') throw new UsageError(`--output=${output}: expected text, json or yaml`);
  const uiUrl = values['ui-url'] ?? env.TEMPORAL_UI_URL;
  return {
    profile,
    reason: values.reason ?? defaultReason(),
    output,
    ...(values['task-queue'] !== undefined ? { taskQueue: values['task-queue'] } : {}),
    ...(uiUrl ? { uiUrl } : {}),
    timeoutMs: parseTimeout(values.timeout),
  };
}

export function outcomeObject(o: SyncOutcome): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({
      phase: o.phase,
      changed: o.changed,
      fingerprint: o.fingerprint,
      credentialExpiresAt: iso(o.expiresAtMs),
      nextRefreshAt: iso(o.nextRefreshAtMs),
      error: o.error,
    }),
  ) as Record<string, unknown>;
}

export function describeOutcome(profile: string, o: SyncOutcome, nowMs: number, link: string | undefined): string {
  const lines = [
    o.error
      ? `${profile}: ${o.phase}: ${o.error}`
      : `${profile}: ${o.phase}; kubeconfig Secret / SveltosCluster ${o.changed ? 'changed' : 'already up to date'}`,
  ];
  if (o.expiresAtMs !== undefined) lines.push(`credential expires ${iso(o.expiresAtMs)} (${relative(o.expiresAtMs, nowMs)})`);
  if (o.nextRefreshAtMs !== undefined) lines.push(`next refresh ${iso(o.nextRefreshAtMs)} (${relative(o.nextRefreshAtMs, nowMs)})`);
  if (link) lines.push(link);
  return `${lines.join('\n')}\n`;
}

async function refreshOne(cli: CliClient, args: RefreshArgs, io: CliIo): Promise<number> {
  const name = `${args.profile.namespace}/${args.profile.name}`;
  const found = await findWorkflow(cli.client, args.profile, args.taskQueue);
  if (!found) {
    await emit(io.stderr, `clusterinventory: no running workflow for ClusterProfile ${name}\n`);
    return EXIT.error;
  }
  const link = args.uiUrl ? workflowUiUrl(args.uiUrl, cli.namespace, found.workflowId) : undefined;
  let outcome: SyncOutcome;
  try {
    // No run ID: the update goes to the latest run, whatever visibility last saw.
    outcome = await cli.client.withDeadline(io.now() + args.timeoutMs, () =>
      cli.client.workflow.getHandle(found.workflowId).executeUpdate(refreshUpdate, { args: [{ reason: args.reason }] }),
    );
  } catch (e) {
    const why = e instanceof WorkflowUpdateFailedError && e.cause ? e.cause.message : (e as Error).message;
    await emit(io.stderr, `clusterinventory: refresh of ${name} failed: ${why}\n`);
    return EXIT.error;
  }
  if (args.output === 'text') {
    await emit(io.stdout, describeOutcome(name, outcome, io.now(), link));
  } else {
    const doc = JSON.parse(JSON.stringify({ workflowId: found.workflowId, uiUrl: link, outcome: outcomeObject(outcome) })) as unknown;
    await emit(io.stdout, args.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : yaml(doc));
  }
  return UNHEALTHY_PHASES.includes(outcome.phase) ? EXIT.degraded : EXIT.ok;
}

export async function runRefresh(argv: string[], io: CliIo, connect: (env: NodeJS.ProcessEnv) => Promise<CliClient> = connectClient): Promise<number> {
  return runOperatorCommand(
    io,
    { name: 'refresh', usage: REFRESH_USAGE, parse: () => parseRefreshArgs(argv, io.env), run: (cli, args) => refreshOne(cli, args, io) },
    connect,
  );
}
