// A test-only workflow: one durable timer between two markers, to prove the dev server keeps history.
import { sleep, workflowInfo } from '@temporalio/workflow';

export async function durableTimer(ms: number): Promise<{ startedMs: number; endedMs: number; historyLength: number }> {
  const startedMs = Date.now();
  await sleep(ms, { summary: `harness timer of ${ms} ms` });
  return { startedMs, endedMs: Date.now(), historyLength: workflowInfo().historyLength };
}
