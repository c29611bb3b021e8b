// Proves the time-skipping harness: the Java test server from Maven Central (tools/test-server) runs
// a workflow that sleeps 30 days of workflow time. Both launch routes are exercised: the SDK starting
// the wrapper as an `existing-path` executable, and the JVM started by us (no 5 s start window).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { startTimeSkippingEnvironment, type TimeSkippingEnvironment } from '../../tools/test-server/env.js';
import { ensureTestServer } from '../../tools/test-server/ensure.js';
import type { sleeper } from '../workflows/sleeper.js';

const DAY_MS = 86_400_000;
const workflowsPath = fileURLToPath(new URL('../workflows/sleeper.ts', import.meta.url));

before(async () => {
  await ensureTestServer();
});

async function sleepThirtyDays(ts: TimeSkippingEnvironment, taskQueue: string): Promise<void> {
  const { env } = ts;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath });
  const serverStart = await env.currentTimeMs();
  const result = await worker.runUntil(
    env.client.workflow.execute<typeof sleeper>('sleeper', {
      args: [30 * DAY_MS],
      taskQueue,
      workflowId: `sleeper-${taskQueue}`,
    }),
  );
  const serverEnd = await env.currentTimeMs();
  assert.ok(result.finishedAtMs - result.startedAtMs >= 30 * DAY_MS, `workflow clock advanced ${result.finishedAtMs - result.startedAtMs} ms`);
  assert.ok(serverEnd - serverStart >= 30 * DAY_MS, `server clock advanced ${serverEnd - serverStart} ms`);
}

const envs: TimeSkippingEnvironment[] = [];
after(async () => {
  for (const ts of envs) await ts.env.teardown();
});

void test('SDK-launched test server (existing-path wrapper): a 30-day sleep completes', async () => {
  const ts = await startTimeSkippingEnvironment({ launch: 'sdk' });
  envs.push(ts);
  process.stderr.write(`[time-skipping] SDK launch connected after ${ts.startupMs} ms\n`);
  assert.equal(ts.launchedBy, 'sdk');
  await sleepThirtyDays(ts, 'time-skipping-sdk');
});

void test('self-launched test server: a 30-day sleep completes', async () => {
  const ts = await startTimeSkippingEnvironment({ launch: 'self' });
  envs.push(ts);
  process.stderr.write(`[time-skipping] self launch connected after ${ts.startupMs} ms\n`);
  assert.equal(ts.launchedBy, 'self');
  assert.equal(ts.env.supportsTimeSkipping, true);
  await sleepThirtyDays(ts, 'time-skipping-self');
});
