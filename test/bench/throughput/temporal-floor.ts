// The Temporal floor: `count` signal-with-starts of a trivial workflow (one activity, then a long sleep)
// on the stack's dev server, served by a worker with the controller's worker settings or with the SDK's
// defaults (params.ts FLOOR_TUNINGS), in a process of its own (floor-process.ts) so that its CPU is
// measured like the controller's. Reports the time until
// every workflow ran its activity, CPU per workflow of that process and of the Temporal server, and the
// events and billable actions of a sample of histories.
import { MALLOC_ARENA_MAX, NODE_MEMORY_FLAGS } from '../../../cli/memory.js';
import { limitWorkflowStackTraces } from '../../../worker/bundle.js';
import { WORKER_TUNING } from '../../../worker/worker.js';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot } from '../../../tools/stack/paths.js';
import { forgetTaskQueue, terminateMatching } from '../support.js';
import type { FloorInput } from './floor-contract.js';
import type { FloorTuning } from './params.js';
import type { FloorProcessConfig } from './floor-process.js';
import { fetchHistories, historyCosts, type HistoryCosts } from './histories.js';
import { CpuMeter, peakRssMiB } from './proc.js';

/**
 * The options worker/worker.ts gives the controller's worker (the rest are SDK defaults on both sides).
 * Kept in step by hand: createWorker does not export them.
 */
export const CONTROLLER_WORKER_OPTIONS: FloorProcessConfig['workerOptions'] = { ...WORKER_TUNING, shutdownGraceTime: '20s' };
/** The watcher's Temporal calls in flight (watcher/watcher.ts maxConcurrentSignals default). */
export const WATCHER_SIGNAL_CONCURRENCY = 8;
/** Starts in flight of the `defaults` tuning: enough to keep a 2-core stack's server busy. */
const DEFAULTS_SIGNAL_CONCURRENCY = 32;

export interface TemporalFloorResult {
  activity: FloorInput['activity'];
  tuning: FloorTuning;
  workflows: number;
  /** Until every workflow ran its activity. */
  seconds: number;
  /** Until every signal-with-start returned. */
  startedSeconds: number;
  cpuMsPerWorkflow: { process: number; server: number };
  peakRssMiB: number;
  /** The SDK's default workflow cache size on this machine (both the floor and the controller leave it unset). */
  worker: { maxCachedWorkflows: number };
  histories: HistoryCosts;
}

const bundlePaths = new Map<boolean, string>();

/**
 * The floor's bundle; `asController`: with the stack-trace limit the controller's worker runs by default
 * (worker/bundle.ts), which makes the floor cheaper too.
 */
async function floorBundle(asController: boolean): Promise<string> {
  const known = bundlePaths.get(asController);
  if (known) return known;
  const { code } = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./floor-workflow.ts', import.meta.url)), logger: quietLogger });
  const path = join(tmpdir(), `throughput-floor-bundle-${randomUUID()}.js`);
  await writeFile(path, asController ? limitWorkflowStackTraces(code) : code);
  bundlePaths.set(asController, path);
  return path;
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export async function runTemporalFloor(opts: {
  client: Client;
  address: string;
  namespace: string;
  serverPid: number;
  count: number;
  activity: FloorInput['activity'];
  tuning: FloorTuning;
  historySample: number;
}): Promise<TemporalFloorResult> {
  const taskQueue = `bench-floor-${opts.activity}-${randomUUID().slice(0, 8)}`;
  const asController = opts.tuning === 'controller';
  const config: FloorProcessConfig = {
    address: opts.address,
    namespace: opts.namespace,
    taskQueue,
    bundlePath: await floorBundle(asController),
    count: opts.count,
    activity: opts.activity,
    signalConcurrency: asController ? WATCHER_SIGNAL_CONCURRENCY : DEFAULTS_SIGNAL_CONCURRENCY,
    workerOptions: asController ? CONTROLLER_WORKER_OPTIONS : { shutdownGraceTime: CONTROLLER_WORKER_OPTIONS.shutdownGraceTime },
    memoryFlags: asController,
  };
  // The memory settings bin/clusterinventory gives the controller (floor-process.ts applies the rest).
  const memory = asController ? { MALLOC_ARENA_MAX: String(MALLOC_ARENA_MAX), NODE_OPTIONS: `--max-semi-space-size=${NODE_MEMORY_FLAGS['max-semi-space-size']}` } : {};
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./floor-process.ts', import.meta.url)), JSON.stringify(config)], {
    cwd: repoRoot,
    env: { ...process.env, ...memory },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const messages = createInterface({ input: child.stdout });
  const inbox: Array<Record<string, unknown>> = [];
  let wake: () => void = () => undefined;
  messages.on('line', (line) => {
    if (!line.startsWith('{')) return; // SDK log lines
    inbox.push(JSON.parse(line) as Record<string, unknown>);
    wake();
  });
  const receive = async (key: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = inbox.findIndex((m) => key in m);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      const died = exited.then((code) => {
        throw new Error(`the floor process exited (code ${code}) before "${key}"`);
      });
      await Promise.race([new Promise<void>((r) => (wake = r)), died]);
    }
  };

  try {
    const ready = await receive('ready');
    const cpu = new CpuMeter({ process: child.pid!, server: opts.serverPid });
    child.stdin.write('go\n');
    const done = await receive('done');
    const used = cpu.elapsed();
    const rss = peakRssMiB(child.pid!);
    const ids = Array.from({ length: Math.min(opts.historySample, opts.count) }, (_, i) => `${taskQueue}/floor-${String(i).padStart(5, '0')}`);
    const histories = historyCosts(await fetchHistories(opts.client, ids));
    return {
      activity: opts.activity,
      tuning: opts.tuning,
      workflows: opts.count,
      seconds: (done.ms as number) / 1000,
      startedSeconds: (done.startedMs as number) / 1000,
      cpuMsPerWorkflow: { process: (used.process * 1000) / opts.count, server: (used.server * 1000) / opts.count },
      peakRssMiB: rss,
      worker: { maxCachedWorkflows: ready.maxCachedWorkflows as number },
      histories,
    };
  } finally {
    child.stdin.end('stop\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    await terminateMatching(opts.client, opts.namespace, `TaskQueue = '${taskQueue}'`, 'throughput benchmark finished');
    await forgetTaskQueue(opts.client, opts.namespace, taskQueue);
  }
}
