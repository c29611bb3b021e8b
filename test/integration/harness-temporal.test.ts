// Proves the local Temporal side of the stack: the dev server runs a workflow with a durable timer,
// its history can be fetched, and the Web UI answers.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { stackEnv, uniqueName } from '../support/stack.js';
import { durableTimer } from '../workflows/durable-timer.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../workflows/api.js';

const EventType = proto.temporal.api.enums.v1.EventType;

describe('local Temporal dev server', () => {
  let connection: Connection;
  let client: Client;

  before(async () => {
    const env = stackEnv();
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  });
  after(async () => connection?.close());

  test('runs a workflow with a durable timer and returns its history', async () => {
    const env = stackEnv();
    const taskQueue = uniqueName('harness');
    const workerConnection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    try {
      const worker = await Worker.create({
        connection: workerConnection,
        namespace: env.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('../workflows/durable-timer.ts', import.meta.url)),
      });
      const workflowId = uniqueName('harness-timer');
      const result = await worker.runUntil(
        client.workflow.execute(durableTimer, { taskQueue, workflowId, args: [1500] }),
      );
      assert.ok(result.endedMs - result.startedMs >= 1500, `workflow time advanced ${result.endedMs - result.startedMs} ms`);
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const types = (history.events ?? []).map((e) => e.eventType);
      assert.ok(types.includes(EventType.EVENT_TYPE_TIMER_STARTED), 'history has TimerStarted');
      assert.ok(types.includes(EventType.EVENT_TYPE_TIMER_FIRED), 'history has TimerFired');
      assert.equal(types.at(-1), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    } finally {
      await workerConnection.close();
    }
  });

  test("registers this project's search attributes", async () => {
    const res = await connection.operatorService.listSearchAttributes({ namespace: stackEnv().TEMPORAL_NAMESPACE });
    for (const d of SEARCH_ATTRIBUTE_DECLARATIONS) {
      assert.ok(res.customAttributes?.[d.name] !== undefined, `search attribute ${d.name} is registered`);
    }
  });

  test('serves the Web UI', async () => {
    const res = await fetch(stackEnv().TEMPORAL_UI_URL);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<html/i);
  });
});
