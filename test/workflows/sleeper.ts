// Test-only workflow for the time-skipping harness proof (test/integration/time-skipping.test.ts).
import { sleep } from '@temporalio/workflow';

export interface SleepResult {
  startedAtMs: number;
  finishedAtMs: number;
}

/** Sleeps `ms` of workflow time and reports the workflow clock before and after. */
export async function sleeper(ms: number): Promise<SleepResult> {
  const startedAtMs = Date.now();
  await sleep(ms, { summary: `sleep ${Math.round(ms / 86_400_000)} days` });
  return { startedAtMs, finishedAtMs: Date.now() };
}
