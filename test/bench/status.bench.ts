// How fast `clusterinventory status` builds its table, and with how much memory, for many profiles.
//
// Starts BENCH_PROFILES (default 2,000) ClusterProfile workflows on the stack's Temporal dev server, on a
// dummy task queue that no worker polls (they never run: only their visibility records matter), with the
// search attributes and status memo a real workflow keeps (a mix of phases, expiries and errors). Then
// it measures, over BENCH_ROUNDS rounds (default 3):
//   - the list in-process (visibility pages → rows → table / JSON into a null sink): time to the first
//     output, total time, rows per second, peak heap growth while streaming;
//   - the real command (`bin/clusterinventory.js status --task-queue …`, output to /dev/null) as a
//     child process: wall time and peak RSS (/usr/bin/time), i.e. what an operator waits for.
// Finally it terminates the workflows it started (a server-side batch; BENCH_KEEP=1 keeps them).
// Needs `npm run stack -- up`. Figures depend on the machine; they are reported, never asserted.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { connectClient } from '../../cli/connect.js';
import type { CliIo } from '../../cli/format.js';
import { printList, type OutputFormat } from '../../cli/status.js';
import { repoRoot } from '../../tools/stack/paths.js';
import { listProfiles } from '../../cli/visibility.js';
import { profilesQuery, type ProfileRow } from '../../workflows/visibility.js';
import { WORKFLOW_INPUT_VERSION, SearchAttr, WORKFLOW_TYPE, workflowIdFor, type ClusterProfileWorkflowInput, type StatusMemo } from '../../workflows/api.js';
import { stackEnv } from '../support/stack.js';
import { log, pool, terminateMatching } from './support.js';

const N = Number(process.env.BENCH_PROFILES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 32;
const MB = 1024 * 1024;

async function startProfiles(client: Client, taskQueue: string): Promise<number> {
  const now = Date.now();
  const phases = ['Ready', 'Ready', 'Ready', 'Ready', 'Ready', 'Ready', 'Degraded', 'Pending'];
  const t0 = performance.now();
  await pool(
    Array.from({ length: N }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const ref = { namespace: `bench-ns-${String(i % 25).padStart(2, '0')}`, name: `spoke-${String(i).padStart(5, '0')}`, uid: randomUUID() };
      const phase = phases[i % phases.length]!;
      const expires = i % 3 === 0 ? undefined : now + ((i * 7919) % 3600) * 1000;
      const sa: SearchAttributePair[] = [
        { key: SearchAttr.namespace, value: ref.namespace },
        { key: SearchAttr.name, value: ref.name },
        { key: SearchAttr.phase, value: phase },
        { key: SearchAttr.observedHash, value: `hash-${i}` },
      ];
      if (phase !== 'Pending') sa.push({ key: SearchAttr.provider, value: i % 3 === 0 ? 'kubeconfig-secretreader' : 'eks-token' });
      if (expires !== undefined && phase !== 'Pending') sa.push({ key: SearchAttr.credentialExpiry, value: new Date(expires) });
      const memo: StatusMemo = { managedSinceMs: now - i * 60_000 };
      if (phase !== 'Pending') Object.assign(memo, { lastSyncAtMs: now - 60_000, nextRefreshAtMs: now + 9 * 60_000 });
      if (phase === 'Degraded') {
        memo.lastError = {
          reason: 'InvalidInput',
          message: `ClusterProfile ${ref.namespace}/${ref.name}: status.accessProviders: no supported access provider: the profile carries "gke"; this controller supports "kubeconfig-secretreader", "eks-token"`,
          atMs: now - 60_000,
        };
      }
      const input: ClusterProfileWorkflowInput = {
        ref,
        snapshot: { resourceVersion: String(i), generation: 1, observedHash: `hash-${i}`, providerCount: 1, deleting: false },
        version: WORKFLOW_INPUT_VERSION,
      };
      await client.workflow.start(WORKFLOW_TYPE, {
        workflowId: workflowIdFor(ref),
        taskQueue,
        args: [input],
        typedSearchAttributes: sa,
        memo: memo as Record<string, unknown>,
        staticSummary: `ClusterProfile ${ref.namespace}/${ref.name}`,
      });
    },
  );
  return performance.now() - t0;
}

async function waitVisible(client: Client, taskQueue: string): Promise<number> {
  const t0 = performance.now();
  const query = profilesQuery({ taskQueue });
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= N) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface InProcess {
  format: OutputFormat;
  pageSize: number;
  ms: number;
  firstOutputMs: number;
  rows: number;
  bytes: number;
  peakHeapGrowthMb: number;
}

async function inProcess(client: Client, taskQueue: string, format: OutputFormat, pageSize: number): Promise<InProcess> {
  (globalThis as { gc?: () => void }).gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  let bytes = 0;
  let firstOutputMs = -1;
  const t0 = performance.now();
  const sink = {
    write: (s: string): boolean => {
      if (firstOutputMs < 0) firstOutputMs = performance.now() - t0;
      bytes += Buffer.byteLength(s);
      return true;
    },
  };
  const io: CliIo = { stdout: sink, stderr: { write: () => true }, env: {}, now: () => Date.now() };
  async function* sampled(rows: AsyncIterable<ProfileRow>): AsyncGenerator<ProfileRow> {
    let i = 0;
    for await (const r of rows) {
      if (++i % 50 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
      yield r;
    }
  }
  const summary = await printList(sampled(listProfiles(client, { taskQueue }, pageSize)), { output: format, pageSize }, io);
  const ms = performance.now() - t0;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return { format, pageSize, ms, firstOutputMs, rows: summary.rows, bytes, peakHeapGrowthMb: (peak - heap0) / MB };
}

interface Command {
  args: string;
  exitCode: number | null;
  wallS: number;
  maxRssMb: number;
}

async function command(taskQueue: string, extra: string[]): Promise<Command> {
  const stats = join(tmpdir(), `bench-time-${randomUUID()}`);
  const args = ['-f', '%e %M', '-o', stats, process.execPath, 'bin/clusterinventory.js', 'status', '--task-queue', taskQueue, ...extra];
  const exitCode = await new Promise<number | null>((resolve) => {
    const child = spawn('/usr/bin/time', args, { cwd: repoRoot, env: process.env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', resolve);
  });
  const [wall, rssKb] = (await readFile(stats, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
  await rm(stats, { force: true });
  return { args: ['status', ...extra].join(' '), exitCode, wallS: wall!, maxRssMb: rssKb! / 1024 };
}

async function terminateAll(client: Client, namespace: string, taskQueue: string): Promise<string> {
  const t0 = performance.now();
  await terminateMatching(client, namespace, profilesQuery({ taskQueue }), 'status benchmark finished');
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

const fmt = (ms: number): string => `${ms.toFixed(0)} ms`;

async function main(): Promise<void> {
  const env = stackEnv();
  const cli = await connectClient(process.env);
  const taskQueue = `bench-status-${randomUUID().slice(0, 8)}`;
  log(`status benchmark: ${N} profiles on ${env.TEMPORAL_ADDRESS} (namespace ${cli.namespace}), dummy task queue ${taskQueue}, ${ROUNDS} rounds`);
  try {
    const startMs = await startProfiles(cli.client, taskQueue);
    log(`started ${N} workflows in ${fmt(startMs)} (${((N * 1000) / startMs).toFixed(0)}/s, ${CONCURRENCY} in flight)`);
    log(`all visible to visibility after a further ${fmt(await waitVisible(cli.client, taskQueue))}`);

    const results: InProcess[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [format, pageSize] of [
        ['table', 1000],
        ['json', 1000],
        ['table', 100],
      ] as Array<[OutputFormat, number]>) {
        const r = await inProcess(cli.client, taskQueue, format, pageSize);
        if (r.rows !== N) throw new Error(`listed ${r.rows} rows, expected ${N}`);
        results.push(r);
      }
    }
    log('\nin-process list (visibility → rows → output into a null sink):');
    log('format  page   rows   total (median / min / max)      first output   rows/s   output     peak heap growth');
    for (const [format, pageSize] of [
      ['table', 1000],
      ['json', 1000],
      ['table', 100],
    ] as const) {
      const rs = results.filter((r) => r.format === format && r.pageSize === pageSize);
      const times = rs.map((r) => r.ms).sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      const first = rs.map((r) => r.firstOutputMs).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
      const heap = Math.max(...rs.map((r) => r.peakHeapGrowthMb));
      log(
        `${format.padEnd(7)} ${String(pageSize).padEnd(6)} ${String(N).padEnd(6)} ${`${fmt(median)} / ${fmt(times[0]!)} / ${fmt(times.at(-1)!)}`.padEnd(31)} ${fmt(first).padEnd(14)} ${((N * 1000) / median).toFixed(0).padEnd(8)} ${`${(rs[0]!.bytes / MB).toFixed(2)} MB`.padEnd(10)} ${heap.toFixed(1)} MB`,
      );
    }

    log('\nthe command, end to end (node bin/clusterinventory.js …, output to /dev/null):');
    for (const extra of [[], ['-o', 'json'], ['--phase', 'Degraded']]) {
      const runs: Command[] = [];
      for (let round = 1; round <= ROUNDS; round++) runs.push(await command(taskQueue, extra));
      const wall = runs.map((r) => r.wallS).sort((a, b) => a - b);
      log(
        `  ${runs[0]!.args.padEnd(34)} exit ${runs[0]!.exitCode}  wall ${wall[Math.floor(wall.length / 2)]!.toFixed(2)} s (min ${wall[0]!.toFixed(2)}, max ${wall.at(-1)!.toFixed(2)})  max RSS ${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB`,
      );
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') log(`\nkept the workflows (BENCH_KEEP=1): task queue ${taskQueue}`);
    else log(`\nterminated the benchmark's workflows in ${await terminateAll(cli.client, cli.namespace, taskQueue)}`);
    await cli.close();
  }
}

await main();
