// Helpers shared by the benchmarks: bounded concurrency, percentiles, and terminating the workflows a
// benchmark started (a server-side batch, then one by one for whatever the batch left).
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto'; // CommonJS: its namespaces come through the default import

export const log = (s = ''): void => void process.stdout.write(`${s}\n`);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most n in flight. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(xs: readonly number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

/**
 * Terminates every running workflow that matches a visibility query: one batch operation, then one call
 * per workflow still listed (visibility lags, and a batch can fail on a busy dev server).
 */
export async function terminateMatching(client: Client, namespace: string, query: string, reason: string): Promise<number> {
  const running = `(${query}) AND ExecutionStatus = 'Running'`;
  const jobId = `bench-cleanup-${randomUUID()}`;
  try {
    await client.workflowService.startBatchOperation({ namespace, jobId, reason, visibilityQuery: running, terminationOperation: {} });
    for (;;) {
      const d = await client.workflowService.describeBatchOperation({ namespace, jobId });
      if (d.state !== proto.temporal.api.enums.v1.BatchOperationState.BATCH_OPERATION_STATE_RUNNING) break;
      await sleep(500);
    }
  } catch (e) {
    log(`batch terminate failed (${(e as Error).message}); terminating one by one`);
  }
  const left: Array<{ workflowId: string; runId: string }> = [];
  for await (const wf of client.workflow.list({ query: running })) left.push({ workflowId: wf.workflowId, runId: wf.runId });
  await pool(left, 32, async (w) => {
    await client.workflow
      .getHandle(w.workflowId, w.runId)
      .terminate(reason)
      .catch(() => undefined);
  });
  return left.length;
}

/**
 * Deletes every workflow the query matches, closed ones too, and waits until visibility shows none (at most
 * `timeoutMs`). A benchmark phase leaves the server's store as it found it: terminated workflows kept piling
 * up in the dev server's SQLite file (about 2,400 per phase), and every later phase on the same stack ran
 * slower for it (docs/performance.md). Returns how many were still listed at the end.
 */
export async function deleteMatching(client: Client, namespace: string, query: string, reason: string, timeoutMs = 120_000): Promise<number> {
  await client.workflowService.startBatchOperation({ namespace, jobId: `bench-delete-${randomUUID()}`, reason, visibilityQuery: query, deletionOperation: {} });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Number((await client.workflowService.countWorkflowExecutions({ namespace, query })).count ?? 0);
    if (left === 0 || Date.now() > deadline) return left;
    await sleep(1000);
  }
}

/** Deletes the workflows of a finished phase's task queue (deleteMatching); logs what it could not. */
export async function forgetTaskQueue(client: Client, namespace: string, taskQueue: string): Promise<void> {
  // The dev server deletes about 50 workflows/s: 10,000 take over 3 minutes.
  const left = await deleteMatching(client, namespace, `TaskQueue = '${taskQueue}'`, 'benchmark finished', 15 * 60_000).catch((e: Error) => {
    log(`  cleanup: deleting the workflows of ${taskQueue} failed: ${e.message}`);
    return 0;
  });
  if (left) log(`  cleanup: ${left} workflows of ${taskQueue} still listed after the deletion`);
}
