// The Temporal floor's process (started by temporal-floor.ts): a worker with the controller's worker
// settings plus the client that signal-with-starts the workflows, in one process like `clusterinventory
// run`, so that its CPU compares with the controller's. Protocol: one JSON line per step on stdout
// ({"ready"}, then {"done"}); "go" and "stop" lines on stdin.
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { applyNodeMemoryFlags } from '../../../cli/memory.js';
import { SearchAttr } from '../../../workflows/api.js';
import { pool } from '../support.js';
import { FLOOR_WORKFLOW_TYPE, floorSignal, type FloorActivities, type FloorInput } from './floor-contract.js';

export interface FloorProcessConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  count: number;
  activity: FloorInput['activity'];
  /** Signal-with-starts in flight, like the watcher's Temporal calls in flight. */
  signalConcurrency: number;
  /** Worker options the controller's worker sets (worker/worker.ts), or none of them (the SDK's defaults). */
  workerOptions: { maxConcurrentActivityTaskExecutions?: number; maxConcurrentWorkflowTaskExecutions?: number; maxCachedWorkflows?: number; shutdownGraceTime: string };
  /** The controller's V8 memory flags (cli/memory.ts), or V8's defaults. */
  memoryFlags: boolean;
}

const send = (msg: object): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);

const config = JSON.parse(process.argv[2]!) as FloorProcessConfig;
if (config.memoryFlags) applyNodeMemoryFlags();
const lines = createInterface({ input: process.stdin });
const next = (want: string): Promise<void> =>
  new Promise((resolve) => {
    const on = (line: string): void => {
      if (line.trim() !== want) return;
      lines.off('line', on);
      resolve();
    };
    lines.on('line', on);
  });

let synced = 0;
let allSynced: () => void = () => undefined;
const done = new Promise<void>((r) => (allSynced = r));
const activities: FloorActivities = {
  sync: () => {
    if (++synced === config.count) allSynced();
    return Promise.resolve({ changed: true });
  },
};

// Warnings only, like the controller's worker (whose info lines go to its log file, not a terminal).
Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } } });
const nativeConnection = await NativeConnection.connect({ address: config.address });
const worker = await Worker.create({
  connection: nativeConnection,
  namespace: config.namespace,
  taskQueue: config.taskQueue,
  workflowBundle: { codePath: config.bundlePath },
  activities,
  ...config.workerOptions,
});
const running = worker.run();
const connection = await Connection.connect({ address: config.address });
const client = new Client({ connection, namespace: config.namespace });
// Slot limits live in the compiled tuner; the cache size is the figure that decides memory.
send({ ready: true, maxCachedWorkflows: worker.options.maxCachedWorkflows });

await next('go');
const t0 = performance.now();
const keys = Array.from({ length: config.count }, (_, i) => `floor-${String(i).padStart(5, '0')}`);
await pool(keys, config.signalConcurrency, async (key) => {
  const input: FloorInput = { key, activity: config.activity };
  await client.workflow.signalWithStart(FLOOR_WORKFLOW_TYPE, {
    workflowId: `${config.taskQueue}/${key}`,
    taskQueue: config.taskQueue,
    args: [input],
    signal: floorSignal,
    signalArgs: [{ key }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    // The same search attributes the controller gives its workflows at start.
    typedSearchAttributes: [
      { key: SearchAttr.namespace, value: 'floor' },
      { key: SearchAttr.name, value: key },
      { key: SearchAttr.observedHash, value: key },
      { key: SearchAttr.phase, value: 'Pending' },
    ],
    staticSummary: `floor ${key}`,
  });
});
const startedMs = performance.now() - t0;
await done;
send({ done: true, ms: performance.now() - t0, startedMs });

await next('stop');
worker.shutdown();
await running;
await connection.close();
await nativeConnection.close();
process.exit(0);
