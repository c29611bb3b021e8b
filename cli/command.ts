// The shared frame of the operator commands (`status`, `refresh`): exit codes, usage errors, help,
// connecting to Temporal, reporting errors, closing the connection.
import type { CliClient } from './connect.js';
import { emit, type CliIo } from './format.js';

/** 0 fine, 1 a listed profile is Degraded, 2 usage error, 3 could not tell. */
export const EXIT = { ok: 0, degraded: 1, usage: 2, error: 3 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OperatorCommand<A> {
  /** For messages: `clusterinventory <name>: …`. */
  name: string;
  usage: string;
  /** Parses the arguments; throws UsageError for bad ones. */
  parse: () => A | 'help';
  run: (cli: CliClient, args: A) => Promise<number>;
}

export async function runOperatorCommand<A>(
  io: CliIo,
  command: OperatorCommand<A>,
  connect: (env: NodeJS.ProcessEnv) => Promise<CliClient>,
): Promise<number> {
  let args: A | 'help';
  try {
    args = command.parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await emit(io.stderr, `clusterinventory ${command.name}: ${e.message}\n\n${command.usage}\n`);
    return EXIT.usage;
  }
  if (args === 'help') {
    await emit(io.stdout, `${command.usage}\n`);
    return EXIT.ok;
  }
  let cli: CliClient;
  try {
    cli = await connect(io.env);
  } catch (e) {
    await emit(io.stderr, `clusterinventory: ${(e as Error).message}\n`);
    return EXIT.error;
  }
  try {
    return await command.run(cli, args);
  } catch (e) {
    await emit(io.stderr, `clusterinventory: ${(e as Error).message}\n`);
    return EXIT.error;
  } finally {
    await cli.close();
  }
}
