// Entry point of the `clusterinventory` command.
import { ConfigError, USAGE, parseConfig } from '../worker/config.js';
import { startApp } from './app.js';

async function main(argv: string[]): Promise<number> {
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
  const app = await startApp(config);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.logger.info({ signal }, 'signal received');
      void app.stop();
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
