// Entry point of the `clusterinventory` command: the operator commands (status, refresh) first, then
// the long-running processes (run, worker, watcher) with their flags (cli/config.ts).
import { ConfigError, USAGE, parseConfig } from './config.js';
import { processIo } from './format.js';
import { applyNodeMemoryFlags } from './memory.js';

/** `clusterinventory status | head`: the reader went away; stop quietly instead of crashing on EPIPE. */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'status' || argv[0] === 'refresh') quietOnClosedPipe();
  // Imported on demand: a status call does not load the worker, and a worker does not load the CLI.
  if (argv[0] === 'status') return (await import('./status.js')).runStatus(argv.slice(1), processIo());
  if (argv[0] === 'refresh') return (await import('./refresh.js')).runRefresh(argv.slice(1), processIo());
  let config;
  try {
    config = parseConfig(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`clusterinventory: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (config === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  applyNodeMemoryFlags();
  const { startApp } = await import('./app.js');
  const { SHUTDOWN_DEADLINE_MS } = await import('../worker/worker.js');
  const app = await startApp(config);
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (signalled) {
        app.logger.warn({ signal }, 'second signal: exiting without waiting for the shutdown');
        process.exit(1);
      }
      signalled = true;
      app.logger.info({ signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'signal received: shutting down');
      // The backstop under the pod's termination grace period: a shutdown step that hangs (a connection
      // that never closes) must not turn a clean stop into a SIGKILL.
      setTimeout(() => {
        app.logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time: exiting');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      app.stop().catch((err: unknown) => app.logger.error({ err: String(err) }, 'shutdown failed'));
    });
  }
  await app.done;
  await app.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Start-up errors (provider file, connections) name the flag, path or field; credentials never reach them.
    process.stderr.write(`clusterinventory: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
