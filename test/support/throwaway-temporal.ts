// A Temporal dev server of our own, for tests that stop it (the shared stack's server must stay up for
// everyone else): the stack's Temporal CLI binary ($TEMPORAL_CLI_PATH from .stack/env), headless, in
// memory, on a free loopback port, in its own process group, stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { freePort } from '../../tools/stack/processes.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../workflows/api.js';
import { eventually, stackEnv } from './stack.js';

export interface ThrowawayTemporal {
  address: string;
  namespace: string;
  /** The server's own output, for failure messages. */
  output(): string;
  /** SIGTERM to its process group, SIGKILL after graceMs; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

export async function startThrowawayTemporal(): Promise<ThrowawayTemporal> {
  stackEnv();
  const cli = process.env.TEMPORAL_CLI_PATH;
  if (!cli) throw new Error('TEMPORAL_CLI_PATH is not set: run `npm run stack -- up` (it writes .stack/env)');
  const port = await freePort();
  const args = [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_DECLARATIONS.flatMap((d) => ['--search-attribute', `${d.name}=${d.type}`]),
  ];
  const child: ChildProcess = spawn(cli, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  const signal = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  const server: ThrowawayTemporal = {
    address,
    namespace: 'default',
    output: () => output,
    async stop(graceMs = 15_000) {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await eventually(
      `throwaway Temporal dev server on ${address}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output}`);
        const connection = await Connection.connect({ address, connectTimeout: 1_000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return true;
        } finally {
          await connection.close();
        }
      },
      60_000,
    );
  } catch (e) {
    await server.stop(2_000);
    throw e;
  }
  return server;
}
