// Measures what the dev server's SQLite settings cost: N signal-with-starts of a trivial workflow
// (one local activity, then a sleep) against a throwaway `temporal server start-dev` per setting, each
// with a fresh SQLite file. Reports wall time until every workflow ran its activity, and the server's
// CPU seconds from /proc. Settings alternate (A B A B …) so that background load hits both alike.
//
//   npx tsx tools/measure/dev-server-storage.ts [--workflows 300] [--rounds 2] [--concurrency 10]
//
// Needs the stack's Temporal CLI (`npm run stack -- up` builds it; TEMPORAL_CLI_PATH in .stack/env).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { quietBundlerLogger } from '../../worker/bundle.js';
import { freePort, waitFor } from '../stack/processes.js';
import { envFile } from '../stack/paths.js';
import { TEMPORAL_SQLITE_PRAGMAS } from '../stack/stack.js';
import { temporalReady } from '../stack/temporal.js';

const { values } = parseArgs({
  options: {
    workflows: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '10' },
  },
});
const N = Number(values.workflows);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);

const SETTINGS: Array<{ name: string; pragmas: string[] }> = [
  { name: 'SQLite file, default journal', pragmas: [] },
  { name: `SQLite file + ${TEMPORAL_SQLITE_PRAGMAS.join(', ')}`, pragmas: TEMPORAL_SQLITE_PRAGMAS },
];

function temporalCli(): string {
  const m = /^export TEMPORAL_CLI_PATH=(.*)$/m.exec(readFileSync(envFile, 'utf8'));
  if (!m) throw new Error(`${envFile} has no TEMPORAL_CLI_PATH: run \`npm run stack -- up\``);
  return m[1]!;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime (fields 14 and 15 of stat; 12 and 13 after the command name), in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Result {
  setting: string;
  seconds: number;
  serverCpuSeconds: number;
}

async function measure(setting: (typeof SETTINGS)[number], workflowBundle: { code: string }): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'dev-server-storage-'));
  const port = await freePort();
  const server = spawn(
    temporalCli(),
    ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', join(dir, 'temporal.sqlite'), '--log-level', 'error', ...setting.pragmas.flatMap((p) => ['--sqlite-pragma', p])],
    { stdio: 'ignore' },
  );
  const address = `127.0.0.1:${port}`;
  try {
    await waitFor('dev server', 120_000, async () => ((await temporalReady(address, 'default')) ? true : undefined));
    const taskQueue = 'measure';
    let touched = 0;
    let allTouched: () => void = () => undefined;
    const done = new Promise<void>((r) => (allTouched = r));
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle,
      activities: {
        touch: () => {
          if (++touched === N) allTouched();
          return Promise.resolve();
        },
      },
      maxCachedWorkflows: N,
    });
    const running = worker.run();
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const cpu0 = cpuSeconds(server.pid!);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          await client.workflow.signalWithStart('trivialWorkflow', { taskQueue, workflowId: `trivial-${i}`, args: [String(i)], signal: 'hint', signalArgs: [] });
        }
      }),
    );
    await done;
    const seconds = (Date.now() - t0) / 1000;
    const serverCpuSeconds = cpuSeconds(server.pid!) - cpu0;
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    return { setting: setting.name, seconds, serverCpuSeconds };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: 'WARN' } } });
const workflowBundle = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('./trivial-workflow.ts', import.meta.url)),
  logger: quietBundlerLogger(),
});
const results: Result[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const setting of SETTINGS) {
    const r = await measure(setting, workflowBundle);
    results.push(r);
    console.log(`${r.setting}: ${N} signal-with-starts done in ${r.seconds.toFixed(1)} s, server CPU ${r.serverCpuSeconds.toFixed(1)} s (${((r.serverCpuSeconds * 1000) / N).toFixed(1)} ms/workflow)`);
  }
}
for (const setting of SETTINGS) {
  const rs = results.filter((r) => r.setting === setting.name);
  const avg = (f: (r: Result) => number): number => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  console.log(`mean over ${rs.length}: ${setting.name}: ${avg((r) => r.seconds).toFixed(1)} s, server CPU ${avg((r) => r.serverCpuSeconds).toFixed(1)} s`);
}
